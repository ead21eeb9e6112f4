"""Pre-training benchmark: features learned without labels, and few-label fine-tuning.

On the classification datasets of the shared tabular suite (``../shared/bench``,
3 seeded 80/20 splits each, nothing downloaded), two questions:

1. **Unsupervised features.** Is ``Pipeline([AttentionFeatureExtractor(objective=
   "reconstruction"), LogisticRegression()])``, whose extractor never sees a label,
   better than ``LogisticRegression`` on the raw features (median / most-frequent
   imputation, standard scaling, one-hot encoding)? Rows ``lr_raw`` and
   ``lr_on_extractor``.
2. **Few labels.** With only ``fraction`` (5% and 10%) of the training labels (a
   stratified, seeded subset), does an :class:`AttentionMLPClassifier` started from
   that extractor (``pretrained=FrozenEstimator(extractor)``, the extractor fitted on
   all training rows without labels) beat one trained from scratch on the labelled
   rows? Rows ``scratch@5%``, ``pretrained@5%``, ..., and ``lr_raw@5%``, ... for
   scale.

Every skattn model runs at its default settings with ``random_state=seed``;
``LogisticRegression(max_iter=2000)`` otherwise at its defaults. The extractor is
fitted once per split and serves both questions; its fit seconds are reported on
the ``lr_on_extractor`` row and not counted again for ``pretrained``.

The table printed shows, per dataset and model, test accuracy and ROC AUC (binary
datasets; one-vs-rest macro average for multiclass) as mean ± standard deviation over
the seeds, and the mean fit seconds. The JSON holds the per-seed numbers and the
environment. A summary counts the datasets where each comparison wins.

Run from the repository root (about 20 minutes on 2 CPU cores)::

    python benchmarks/pretraining_benchmark.py
    python benchmarks/pretraining_benchmark.py --datasets credit_data --seeds 1
    python benchmarks/pretraining_benchmark.py --n-components 256 \
        --output benchmarks/results/pretraining_n_components_256.json
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
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from _baselines import one_hot_pipeline
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    markdown_table,
    require_suite,
    write_json,
)
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skattn import AttentionFeatureExtractor, AttentionMLPClassifier

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "pretraining.json"
LABEL_FRACTIONS = (0.05, 0.10)


@dataclass
class Score:
    """One model's test scores on one split.

    Attributes
    ----------
    dataset, model : str
        Names of the dataset and the model.
    seed : int
        Split seed (also the models' ``random_state``).
    n_labelled : int
        Training rows whose labels the model saw.
    accuracy, roc_auc : float
        Test accuracy and ROC AUC (macro one-vs-rest for multiclass).
    fit_seconds : float
        Wall-clock seconds of ``fit``.
    """

    dataset: str
    model: str
    seed: int
    n_labelled: int
    accuracy: float
    roc_auc: float
    fit_seconds: float


def linear_on_raw() -> BaseEstimator:
    """``LogisticRegression(max_iter=2000)`` behind the baselines' imputation,
    scaling and one-hot encoding (see ``_baselines.one_hot_pipeline``)."""
    return one_hot_pipeline(LogisticRegression(max_iter=2000))


def score(model: BaseEstimator, X: pd.DataFrame, y: np.ndarray) -> tuple[float, float]:
    """Accuracy and ROC AUC of a fitted classifier on ``(X, y)``.

    Parameters
    ----------
    model : classifier
        Fitted, with ``predict_proba``.
    X : DataFrame
        Test rows.
    y : ndarray
        Their labels.

    Returns
    -------
    accuracy, roc_auc : float
        ROC AUC is one-vs-rest, macro-averaged, for more than two classes.
    """
    proba = model.predict_proba(X)
    predicted = model.classes_[proba.argmax(axis=1)]
    if len(model.classes_) == 2:
        auc = roc_auc_score(y == model.classes_[1], proba[:, 1])
    else:
        auc = roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_)
    return float(accuracy_score(y, predicted)), float(auc)


def labelled_subset(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Positions of a stratified ``fraction`` of ``y`` (at least 2 per class).

    Parameters
    ----------
    y : ndarray
        Training labels.
    fraction : float
        Share of rows to keep.
    seed : int
        Seed of the draw.

    Returns
    -------
    rows : ndarray of int
        Positions into ``y``.
    """
    n_classes = len(np.unique(y))
    n_keep = max(int(round(fraction * len(y))), 2 * n_classes)
    rows, _ = train_test_split(
        np.arange(len(y)), train_size=n_keep, stratify=y, random_state=seed
    )
    return np.sort(rows)


def run_split(
    name: str,
    X_train: pd.DataFrame,
    y_train: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    seed: int,
    n_components: int | None = None,
) -> list[Score]:
    """Fit every model of the benchmark on one split and score it.

    Parameters
    ----------
    name : str
        Dataset name.
    X_train, y_train, X_test, y_test
        The split.
    seed : int
        Split seed and ``random_state`` of the skattn models.
    n_components : int or None, default=None
        The extractor's ``n_components`` (its default, None, when not given).

    Returns
    -------
    scores : list of Score
        One per model.
    """
    scores = []

    def evaluate(model_name: str, model: Any, rows: np.ndarray | None) -> Any:
        X, y = (
            (X_train, y_train) if rows is None else (X_train.iloc[rows], y_train[rows])
        )
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        accuracy, auc = score(model, X_test, y_test)
        scores.append(Score(name, model_name, seed, len(y), accuracy, auc, seconds))
        print(
            f"  {name} seed {seed} {model_name:<16} accuracy {accuracy:.4f} "
            f"auc {auc:.4f} fit {seconds:6.1f} s",
            flush=True,
        )
        return model

    evaluate("lr_raw", linear_on_raw(), None)
    # The extractor never sees y: objective="reconstruction" ignores it.
    pipeline = evaluate(
        "lr_on_extractor",
        make_pipeline(
            AttentionFeatureExtractor(
                objective="reconstruction",
                n_components=n_components,
                random_state=seed,
            ),
            LogisticRegression(max_iter=2000),
        ),
        None,
    )
    extractor = FrozenEstimator(pipeline[0])
    for fraction in LABEL_FRACTIONS:
        rows = labelled_subset(y_train, fraction, seed)
        tag = f"@{fraction:.0%}"
        evaluate("lr_raw" + tag, linear_on_raw(), rows)
        evaluate("scratch" + tag, AttentionMLPClassifier(random_state=seed), rows)
        evaluate(
            "pretrained" + tag,
            AttentionMLPClassifier(pretrained=extractor, random_state=seed),
            rows,
        )
    return scores


def summarise(scores: list[Score]) -> tuple[list[dict[str, Any]], list[str]]:
    """Mean and standard deviation per dataset and model, and the win counts.

    Parameters
    ----------
    scores : list of Score
        Per-seed scores.

    Returns
    -------
    rows : list of dict
        One per dataset and model: means and standard deviations (``ddof=0``).
    wins : list of str
        One line per comparison: on how many datasets the first model's mean
        accuracy beats the second's.
    """
    grouped: dict[tuple[str, str], list[Score]] = defaultdict(list)
    for s in scores:
        grouped[(s.dataset, s.model)].append(s)
    rows = []
    for (dataset, model), group in grouped.items():
        accuracy = np.array([s.accuracy for s in group])
        auc = np.array([s.roc_auc for s in group])
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "n_seeds": len(group),
                "n_labelled": int(np.mean([s.n_labelled for s in group])),
                "accuracy_mean": float(accuracy.mean()),
                "accuracy_std": float(accuracy.std()),
                "roc_auc_mean": float(auc.mean()),
                "roc_auc_std": float(auc.std()),
                "fit_seconds": float(np.mean([s.fit_seconds for s in group])),
            }
        )
    means = {(r["dataset"], r["model"]): r["accuracy_mean"] for r in rows}
    datasets = sorted({r["dataset"] for r in rows})
    comparisons = [("lr_on_extractor", "lr_raw")] + [
        (f"pretrained@{f:.0%}", f"scratch@{f:.0%}") for f in LABEL_FRACTIONS
    ]
    wins = []
    for first, second in comparisons:
        better = [d for d in datasets if means[(d, first)] > means[(d, second)]]
        wins.append(
            f"{first} > {second} in accuracy on {len(better)} of {len(datasets)} "
            f"datasets ({', '.join(better) or 'none'})"
        )
    return rows, wins


def summary_tables(
    rows: list[dict[str, Any]],
) -> list[tuple[tuple[str, ...], list[tuple[str, ...]]]]:
    """README's two tables from :func:`summarise`'s rows, as (header, rows): the
    pipeline without labels against the linear model on raw features, then the
    classifier with a share of the labels, from scratch or pretrained. In bold, the
    higher of the two models compared, at the precision shown (none when they
    print the same)."""
    by = {(r["dataset"], r["model"]): r for r in rows}
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))

    def compared(first: dict, second: dict, key: str, std: bool) -> list[str]:
        shown = [
            f"{r[key + '_mean']:.3f}" + (f" ± {r[key + '_std']:.3f}" if std else "")
            for r in (first, second)
        ]
        means = [float(cell.split(" ")[0]) for cell in shown]
        if means[0] != means[1]:
            best = int(means[1] > means[0])
            shown[best] = f"**{shown[best]}**"
        return shown

    unlabelled = [
        (
            name,
            *compared(
                by[(name, "lr_raw")], by[(name, "lr_on_extractor")], "accuracy", True
            ),
            f"{by[(name, 'lr_on_extractor')]['fit_seconds']:.0f}",
        )
        for name in datasets
    ]
    few_labels = []
    for fraction in LABEL_FRACTIONS:
        share = f"{fraction:.0%}"
        for name in datasets:
            scratch = by[(name, f"scratch@{share}")]
            pretrained = by[(name, f"pretrained@{share}")]
            raw = by[(name, f"lr_raw@{share}")]
            few_labels.append(
                (
                    name,
                    f"{share} ({scratch['n_labelled']})",
                    *compared(scratch, pretrained, "accuracy", True),
                    f"{raw['accuracy_mean']:.3f} ± {raw['accuracy_std']:.3f}",
                    *compared(scratch, pretrained, "roc_auc", False),
                )
            )
    return [
        (
            (
                "dataset",
                "LR on raw features",
                "LR on extractor fit without labels",
                "extractor fit s",
            ),
            unlabelled,
        ),
        (
            (
                "dataset",
                "labels",
                "from scratch",
                "pretrained",
                "LR on raw, same labels",
                "ROC AUC scratch",
                "ROC AUC pretrained",
            ),
            few_labels,
        ),
    ]


def summary_markdown(rows: list[dict[str, Any]]) -> tuple[str, str]:
    """:func:`summary_tables` as README's two markdown tables (dataset and labels
    left-aligned, numbers right-aligned)."""

    def markdown(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> str:
        align = ["---" if cell in ("dataset", "labels") else "---:" for cell in header]
        return markdown_table(header, lines, align)

    first, second = summary_tables(rows)
    return markdown(*first), markdown(*second)


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", help="suite names (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="splits per dataset")
    parser.add_argument(
        "--n-components",
        type=int,
        default=None,
        help="the extractor's n_components (default: None, its default)",
    )
    add_output_argument(parser, DEFAULT_OUTPUT)
    args = parser.parse_args()
    suite = require_suite()
    names = args.datasets or [
        n for n in suite.names("tabular") if suite.load(n)["task"] != "regression"
    ]
    # Warnings (e.g. ConvergenceWarning of a short fit) are counted, not printed.
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    scores: list[Score] = []
    for name in names:
        data = suite.load(name)
        X, y = data["X"], data["y"]
        for seed, (train, test) in enumerate(suite.splits(name, n_seeds=args.seeds)):
            scores += run_split(
                name,
                X.iloc[train],
                y[train],
                X.iloc[test],
                y[test],
                seed,
                args.n_components,
            )
    rows, wins = summarise(scores)
    print()
    print(
        format_table(
            ("dataset", "model", "labels", "accuracy", "roc auc", "fit s"),
            [
                (
                    r["dataset"],
                    r["model"],
                    str(r["n_labelled"]),
                    f"{r['accuracy_mean']:.4f} ± {r['accuracy_std']:.4f}",
                    f"{r['roc_auc_mean']:.4f} ± {r['roc_auc_std']:.4f}",
                    f"{r['fit_seconds']:.1f}",
                )
                for r in rows
            ],
            left={0, 1},
        )
    )
    print()
    print("\n".join(wins))
    report = {
        "environment": environment(),
        "total_seconds": time.perf_counter() - start,
        "label_fractions": list(LABEL_FRACTIONS),
        "n_components": args.n_components,
        "summary": rows,
        "wins": wins,
        "scores": [asdict(s) for s in scores],
    }
    write_json(report, args.output, ensure_ascii=False)
    print(f"results written to {args.output}")
    print("\nREADME's tables:\n")
    print("\n\n".join(summary_markdown(rows)))


if __name__ == "__main__":
    main()
