"""Explanation benchmark: does attention rank features as permutation importance does?

For each tabular dataset of the shared suite (``../shared/bench``; its 3 seeded 80/20
splits, fewer with ``--seeds``), fit :class:`AttentionMLPClassifier`
or :class:`AttentionMLPRegressor` at its defaults (``random_state=seed``) and compare
two rankings of the features:

- ``feature_importances_``: the CLS token's attention, averaged over blocks, heads and
  (up to 2,048) training rows, as the FT-Transformer paper measures importance;
- :func:`sklearn.inspection.permutation_importance` of the same model on the test
  rows (``n_repeats=5``), how much the score drops when a feature's values are
  shuffled: the log loss for classifiers (accuracy would not move at all where the
  model predicts the majority class for every row, as on lending_club, and leave
  every importance at 0), R² for regressors.

It reports Spearman's rank correlation between the two, and how many of the
permutation ranking's top 3 features are among attention's top 3. A third ranking,
``feature_attention(X, value_norm=True)`` averaged over (up to 2,048) training rows,
weighs each attention weight by the norm of what the attended token contributes
(Kobayashi et al., 2020); its rank correlation with permutation importance is
reported beside the plain one. The two measure
different things (where the model looks against what it relies on), so a high
correlation is evidence that the attention explanation is informative, not a
guarantee for every feature.

Run from the repository root (about 15 minutes on 2 CPU cores)::

    python benchmarks/explanation_benchmark.py
    python benchmarks/explanation_benchmark.py --datasets credit_data concrete
"""

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn (see demo.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Benchmark the skattn of this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The helpers shared with the other benchmark scripts (_reporting.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    markdown_table,
    require_suite,
    write_json,
)
from scipy.stats import spearmanr
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance

from skattn import AttentionMLPClassifier, AttentionMLPRegressor

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "explanation.json"
# The datasets whose default fit takes minutes on 2 cores (diamonds, cps1988) are
# left to --datasets.
DEFAULT_DATASETS = (
    "credit_data",
    "mlc_churn",
    "lending_club",
    "concrete",
    "hpc_data",
    "digits",
)
TOP = 3
# Training rows averaged for the value-norm-weighted ranking, as for
# feature_importances_.
MAX_ROWS = 2048


@dataclass
class Agreement:
    """How attention and permutation importance rank one model's features.

    Attributes
    ----------
    dataset : str
        Suite name.
    seed : int
        Split seed and ``random_state``.
    n_features : int
        Columns of ``X``.
    spearman : float
        Rank correlation of ``feature_importances_`` and the mean permutation
        importances; NaN where either ranking is constant (left out of
        the means).
    spearman_value_norm : float
        The same for the value-norm-weighted attention.
    top_overlap : int
        Features among both rankings' top ``TOP``.
    test_score : float
        The model's ``score`` on the test rows (accuracy or R²).
    features : list of str
        Column names.
    attention : list of float
        ``feature_importances_``.
    attention_value_norm : list of float
        Mean ``feature_attention(X_train, value_norm=True)``.
    permutation : list of float
        Mean drop of the test score (negative log loss, or R²) per shuffled
        feature.
    fit_seconds : float
        Wall-clock seconds of ``fit``.
    """

    dataset: str
    seed: int
    n_features: int
    spearman: float
    spearman_value_norm: float
    top_overlap: int
    test_score: float
    features: list[str]
    attention: list[float]
    attention_value_norm: list[float]
    permutation: list[float]
    fit_seconds: float


def rank_correlation(importances: np.ndarray, permutation: np.ndarray) -> float:
    """Spearman's correlation of two rankings; NaN where one of them is constant
    (every permutation importance 0, say), which ranks nothing."""
    if np.ptp(importances) == 0 or np.ptp(permutation) == 0:
        return float("nan")
    return float(spearmanr(importances, permutation).statistic)


def summary_table(
    results: list[dict], regression: set[str]
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The summary as (header, rows) from the JSON's results: per dataset, the
    features, the mean test score (R² for the datasets in ``regression``), the
    Spearman correlation of ``feature_importances_`` (mean over the seeds, then
    each seed), that of the value-norm-weighted attention, and the mean top-3
    overlap."""
    header = (
        "dataset",
        "features",
        "test score",
        "Spearman, `feature_importances_`",
        "Spearman, value norm",
        "top 3 shared",
    )
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        mine = [r for r in results if r["dataset"] == dataset]
        spearman = [r["spearman"] for r in mine]
        score = f"{np.mean([r['test_score'] for r in mine]):.3f}"
        lines.append(
            (
                dataset,
                str(mine[0]["n_features"]),
                f"{score} (R²)" if dataset in regression else score,
                f"{np.nanmean(spearman):+.2f} ("
                + ", ".join(f"{v:+.2f}" for v in spearman)
                + ")",
                f"{np.nanmean([r['spearman_value_norm'] for r in mine]):+.2f}",
                f"{np.mean([r['top_overlap'] for r in mine]):.1f}",
            )
        )
    return header, lines


def summary_markdown(results: list[dict], regression: set[str]) -> str:
    """README's table: :func:`summary_table` in markdown."""
    align = ["---", "---:", "---:", "---", "---:", "---:"]
    return markdown_table(*summary_table(results, regression), align)


def main() -> None:
    """Run the comparison, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(DEFAULT_DATASETS))
    parser.add_argument("--seeds", type=int, default=3, help="splits per dataset")
    add_output_argument(parser, DEFAULT_OUTPUT)
    args = parser.parse_args()
    suite = require_suite()
    warnings.simplefilter("ignore", ConvergenceWarning)
    results = []
    regression = set()
    for name in args.datasets:
        data = suite.load(name)
        if data["task"] == "regression":
            regression.add(name)
        X, y = data["X"], data["y"]
        splits = suite.splits(name, n_seeds=args.seeds)
        for seed, (train, test) in enumerate(splits):
            estimator = (
                AttentionMLPRegressor
                if data["task"] == "regression"
                else AttentionMLPClassifier
            )
            model = estimator(random_state=seed)
            start = time.perf_counter()
            model.fit(X.iloc[train], y[train])
            seconds = time.perf_counter() - start
            permutation = permutation_importance(
                model,
                X.iloc[test],
                y[test],
                scoring=None if data["task"] == "regression" else "neg_log_loss",
                n_repeats=5,
                random_state=seed,
            ).importances_mean
            attention = model.feature_importances_
            rows = np.random.RandomState(seed).permutation(train)[:MAX_ROWS]
            value_norm = model.feature_attention(X.iloc[rows], value_norm=True)
            value_norm = value_norm.mean(axis=0)
            top_attention = set(np.argsort(attention)[::-1][:TOP])
            top_permutation = set(np.argsort(permutation)[::-1][:TOP])
            result = Agreement(
                dataset=name,
                seed=seed,
                n_features=X.shape[1],
                spearman=rank_correlation(attention, permutation),
                spearman_value_norm=rank_correlation(value_norm, permutation),
                top_overlap=len(top_attention & top_permutation),
                test_score=float(model.score(X.iloc[test], y[test])),
                features=[str(c) for c in X.columns],
                attention=attention.tolist(),
                attention_value_norm=value_norm.tolist(),
                permutation=permutation.tolist(),
                fit_seconds=seconds,
            )
            results.append(result)
            print(
                f"  {name} seed {seed}: spearman {result.spearman:+.3f} "
                f"(value norm {result.spearman_value_norm:+.3f}), top-{TOP} "
                f"overlap {result.top_overlap}, fit {seconds:.1f} s",
                flush=True,
            )
    print()
    print(
        format_table(
            (
                "dataset",
                "seed",
                "features",
                "score",
                "spearman",
                "spearman value norm",
                f"top-{TOP} shared",
            ),
            [
                (
                    r.dataset,
                    str(r.seed),
                    str(r.n_features),
                    f"{r.test_score:.4f}",
                    f"{r.spearman:+.3f}",
                    f"{r.spearman_value_norm:+.3f}",
                    f"{r.top_overlap}/{TOP}",
                )
                for r in results
            ],
            left={0},
        )
    )
    # Over the fits where both rankings are defined (see rank_correlation).
    mean = float(np.nanmean([r.spearman for r in results]))
    mean_value_norm = float(np.nanmean([r.spearman_value_norm for r in results]))
    print(
        f"\nmean Spearman correlation: {mean:+.3f} (feature_importances_), "
        f"{mean_value_norm:+.3f} (value-norm-weighted attention)"
    )
    report = {
        "environment": environment(),
        "mean_spearman": mean,
        "mean_spearman_value_norm": mean_value_norm,
        "results": [asdict(r) for r in results],
    }
    write_json(report, args.output, ensure_ascii=False)
    print(f"results written to {args.output}")
    table = summary_markdown(report["results"], regression)
    print("\nREADME's table:\n" + table)


if __name__ == "__main__":
    main()
