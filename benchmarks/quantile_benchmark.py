"""Quantile regression: skattn's 10%, 50% and 90% quantiles against HGB.

On the regression datasets of the shared tabular suite (``../shared/bench``; 3 seeded
80/20 splits each), ``AttentionMLPRegressor(loss="quantile", quantile=[0.1, 0.9])``
learns the three quantiles (the median is added) in one network, with its defaults
otherwise. The baseline fits one ``HistGradientBoostingRegressor(loss="quantile")``
per quantile, at its defaults. Reported on the test rows, as the mean over seeds:

- the pinball loss of each quantile (lower is better), in the units of ``y``;
- the empirical coverage of the 80% interval from the 10% to the 90% quantile (the
  share of test targets inside it; the target is 0.80).

Training rows are capped at ``--max-train-rows`` (5,000 by default: cps1988 has 22,524),
a random subset fixed by the seed, to keep the run to minutes on 2 cores; the test
rows are always the split's. Writes ``benchmarks/results/quantile.json``.
"""

from __future__ import annotations

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
import pandas as pd
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    require_suite,
    timed,
    write_json,
)
from sklearn.base import RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_pinball_loss

from skattn import AttentionMLPRegressor

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "quantile.json"
QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class Score:
    """One model's quantiles on one split."""

    dataset: str
    model: str
    seed: int
    pinball: tuple[float, ...]  # one per quantile of QUANTILES
    coverage: float  # share of test targets between the 10% and 90% quantiles
    fit_seconds: float


def skattn_quantiles(
    X: pd.DataFrame, y: np.ndarray, X_test: pd.DataFrame, seed: int
) -> tuple[np.ndarray, float]:
    """(n_test, 3) quantiles from one skattn network, and its fit time."""
    model = AttentionMLPRegressor(
        loss="quantile", quantile=[QUANTILES[0], QUANTILES[-1]], random_state=seed
    )
    _, seconds = timed(model.fit, X, y)
    assert tuple(model.quantiles_) == QUANTILES
    return model.predict_quantiles(X_test), seconds


def hgb_quantiles(
    X: pd.DataFrame, y: np.ndarray, X_test: pd.DataFrame, seed: int
) -> tuple[np.ndarray, float]:
    """(n_test, 3) quantiles from one HistGradientBoosting model per quantile."""
    columns, total = [], 0.0
    for quantile in QUANTILES:
        model: RegressorMixin = HistGradientBoostingRegressor(
            loss="quantile",
            quantile=quantile,
            categorical_features="from_dtype",
            random_state=seed,
        )
        _, seconds = timed(model.fit, X, y)
        columns.append(model.predict(X_test))
        total += seconds
    return np.column_stack(columns), total


MODELS = {
    "AttentionMLPRegressor": skattn_quantiles,
    "HistGradientBoostingRegressor": hgb_quantiles,
}


def score(
    dataset: str,
    model: str,
    seed: int,
    y_test: np.ndarray,
    quantiles: np.ndarray,
    seconds: float,
) -> Score:
    pinball = tuple(
        float(mean_pinball_loss(y_test, quantiles[:, i], alpha=q))
        for i, q in enumerate(QUANTILES)
    )
    inside = (y_test >= quantiles[:, 0]) & (y_test <= quantiles[:, -1])
    return Score(dataset, model, seed, pinball, float(inside.mean()), seconds)


def summarise(scores: list[Score]) -> list[dict]:
    """Mean (and seed-to-seed standard deviation of the coverage) per dataset and
    model."""
    rows = []
    keys = dict.fromkeys((s.dataset, s.model) for s in scores)
    for dataset, model in keys:
        mine = [s for s in scores if (s.dataset, s.model) == (dataset, model)]
        pinball = np.mean([s.pinball for s in mine], axis=0)
        coverage = [s.coverage for s in mine]
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "seeds": len(mine),
                "pinball": [float(v) for v in pinball],
                "coverage_mean": float(np.mean(coverage)),
                "coverage_std": float(np.std(coverage)),
                "fit_seconds": float(np.mean([s.fit_seconds for s in mine])),
            }
        )
    return rows


# The columns of the printed table and of the user guide's (summary_table).
TABLE_HEADER = (
    "dataset",
    "model",
    "pinball 10%",
    "pinball 50%",
    "pinball 90%",
    "80% coverage",
    "fit s",
)


def _bold(cell: str, better: bool) -> str:
    return f"**{cell}**" if better else cell


def _compared(pair: list[dict]) -> list[tuple[list[str], bool]]:
    """For the two models' rows of one dataset (``MODELS``' order): each one's
    pinball losses as cells, in bold where lower than the other's, and whether its
    80% coverage is the nearer to 80%."""
    gaps = [abs(r["coverage_mean"] - 0.8) for r in pair]
    compared = []
    for index, r in enumerate(pair):
        rival = pair[1 - index]
        losses = [
            _bold(f"{value:.4g}", value < other)
            for value, other in zip(r["pinball"], rival["pinball"], strict=True)
        ]
        compared.append((losses, gaps[index] < gaps[1 - index]))
    return compared


def summary_markdown(rows: list[dict]) -> str:
    """README's table from :func:`summarise`'s rows: per dataset, the three pinball
    losses of skattn and of HGB, then each one's coverage of the 80% interval; in
    bold the lower loss of the two, and the coverage nearer 80%."""
    by = {(r["dataset"], r["model"]): r for r in rows}
    lines = [
        "| dataset | skattn pinball 10/50/90% | HGB pinball 10/50/90% "
        "| skattn 80% coverage | HGB 80% coverage |",
        "|---|---|---|---:|---:|",
    ]
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        pair = [by[(dataset, model)] for model in MODELS]
        compared = _compared(pair)
        coverages = [
            _bold(f"{r['coverage_mean']:.3f}", nearer)
            for r, (_, nearer) in zip(pair, compared, strict=True)
        ]
        losses = [" / ".join(cells) for cells, _ in compared]
        cells = [dataset, *losses, *coverages]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_table(rows: list[dict]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The user guide's table from :func:`summarise`'s rows, as (header, rows): a
    row per dataset and model (the dataset named on its first), the three pinball
    losses, the coverage of the 80% interval (± its seed-to-seed standard
    deviation) and fit seconds; bold as in :func:`summary_markdown`."""
    by = {(r["dataset"], r["model"]): r for r in rows}
    lines = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        pair = [by[(dataset, model)] for model in MODELS]
        for index, (name, r, (losses, nearer)) in enumerate(
            zip(("skattn", "HGB"), pair, _compared(pair), strict=True)
        ):
            coverage = f"{r['coverage_mean']:.3f} ± {r['coverage_std']:.3f}"
            lines.append(
                (
                    dataset if index == 0 else "",
                    name,
                    *losses,
                    _bold(coverage, nearer),
                    f"{r['fit_seconds']:.1f}",
                )
            )
    return TABLE_HEADER, lines


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", help="suite names (default: all)")
    parser.add_argument("--seeds", type=int, default=3, help="splits per dataset")
    parser.add_argument("--max-train-rows", type=int, default=5_000)
    add_output_argument(parser, DEFAULT_OUTPUT)
    args = parser.parse_args()
    suite = require_suite()
    names = args.datasets or [
        n for n in suite.names("tabular") if suite.load(n)["task"] == "regression"
    ]
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    scores: list[Score] = []
    for name in names:
        data = suite.load(name)
        X, y = data["X"], data["y"]
        for seed, (train, test) in enumerate(suite.splits(name, n_seeds=args.seeds)):
            if len(train) > args.max_train_rows:
                rng = np.random.default_rng(seed)
                train = rng.choice(train, args.max_train_rows, replace=False)
            for model, fit in MODELS.items():
                print(f"{name} seed {seed}: {model} ...", flush=True)
                quantiles, seconds = fit(X.iloc[train], y[train], X.iloc[test], seed)
                scores.append(score(name, model, seed, y[test], quantiles, seconds))
    rows = summarise(scores)
    print()
    print(
        format_table(
            TABLE_HEADER,
            [
                (
                    r["dataset"],
                    r["model"],
                    *(f"{v:.4g}" for v in r["pinball"]),
                    f"{r['coverage_mean']:.3f} ± {r['coverage_std']:.3f}",
                    f"{r['fit_seconds']:.1f}",
                )
                for r in rows
            ],
            left=(0, 1),
        )
    )
    total = time.perf_counter() - start
    print(f"\ntotal: {total:.0f} s")
    report = {
        "environment": environment(),
        "quantiles": QUANTILES,
        "max_train_rows": args.max_train_rows,
        "total_seconds": total,
        "results": rows,
        "scores": [asdict(s) for s in scores],
    }
    write_json(report, args.output, ensure_ascii=False)
    print(f"wrote {args.output}")
    if set(MODELS) == {r["model"] for r in rows}:  # both models: README's table
        print("\nREADME's table:\n" + summary_markdown(rows))


if __name__ == "__main__":
    main()
