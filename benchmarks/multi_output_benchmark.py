"""Multi-label and multi-output classification: one skattn network against per-column
models.

Two tasks built from the shared tabular suite (``../shared/bench``; its 3 seeded 80/20
splits of each table):

- ``digits_properties`` (multi-label): four properties of the handwritten digit, read
  off its class, from the 64 pixels: even, five or more, prime (2, 3, 5, 7), a
  multiple of 3 (0, 3, 6, 9). A binary indicator matrix of 4 columns whose labels
  overlap and share the features that tell digits apart.
- ``diamonds_grades`` (multi-output): the three quality grades of a diamond, cut (5
  classes), colour (7) and clarity (8), from its measures (carat, depth, table, x,
  y, z) and log price. Training rows capped at ``--max-train-rows`` (5,000 by
  default, a random subset fixed by the seed); the test rows are the split's.

Models, all at their defaults: ``AttentionMLPClassifier`` (one model for every
column: below 3,000 training rows five cross-fitted networks, each predicting every
column), ``MultiOutputClassifier(HistGradientBoostingClassifier())`` (one model per
column), and scikit-learn's ``MLPClassifier`` after a ``StandardScaler`` (natively
multi-label; wrapped in ``MultiOutputClassifier`` for diamonds, since it does not take
columns of several classes). Reported on the test rows, mean over seeds: subset
accuracy (every column right), mean per-column accuracy (one minus the Hamming loss),
mean per-column log loss, and fit seconds. Writes
``benchmarks/results/multi_output.json``.
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import ModuleType

import numpy as np
import pandas as pd
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    markdown_table,
    require_suite,
    timed,
    write_json,
)
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skattn import AttentionMLPClassifier

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "multi_output.json"


@dataclass
class Task:
    """A 2-D classification target built from one suite table."""

    name: str
    kind: str  # "multi-label" or "multi-output"
    table: str  # the suite dataset whose rows and splits it uses
    X: pd.DataFrame
    Y: np.ndarray  # (n_samples, n_columns)
    columns: tuple[str, ...]


def digits_properties(suite: ModuleType) -> Task:
    data = suite.load("digits")
    digit = np.asarray(data["y"]).astype(int)
    Y = np.column_stack(
        [
            digit % 2 == 0,
            digit >= 5,
            np.isin(digit, [2, 3, 5, 7]),
            digit % 3 == 0,
        ]
    ).astype(np.int64)
    columns = ("even", "five_or_more", "prime", "multiple_of_3")
    return Task("digits_properties", "multi-label", "digits", data["X"], Y, columns)


def diamonds_grades(suite: ModuleType) -> Task:
    data = suite.load("diamonds")
    grades = ("cut", "color", "clarity")
    X = data["X"].drop(columns=list(grades)).assign(log_price=np.asarray(data["y"]))
    Y = data["X"][list(grades)].astype(str).to_numpy(dtype=object)
    return Task("diamonds_grades", "multi-output", "diamonds", X, Y, grades)


TASKS: dict[str, Callable[[ModuleType], Task]] = {
    "digits_properties": digits_properties,
    "diamonds_grades": diamonds_grades,
}


def models(task: Task, seed: int) -> dict[str, BaseEstimator]:
    mlp = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
    return {
        "AttentionMLPClassifier": AttentionMLPClassifier(random_state=seed),
        "MultiOutputClassifier(HGB)": MultiOutputClassifier(
            HistGradientBoostingClassifier(random_state=seed)
        ),
        "MLPClassifier": mlp
        if task.kind == "multi-label"
        else MultiOutputClassifier(mlp),
    }


@dataclass
class Score:
    """One model on one split of one task."""

    task: str
    model: str
    seed: int
    subset_accuracy: float
    mean_accuracy: float
    log_loss: float
    fit_seconds: float


def probabilities_per_column(model: BaseEstimator, X: pd.DataFrame) -> list[np.ndarray]:
    """``predict_proba`` as one (n, n_classes) array per column: MLPClassifier
    returns a multi-label's as one (n, n_labels) array of positive probabilities."""
    proba = model.predict_proba(X)  # type: ignore[attr-defined]
    if isinstance(proba, np.ndarray):
        return [np.column_stack([1 - p, p]) for p in proba.T]
    return list(proba)


def classes_per_column(model: BaseEstimator, n_columns: int) -> list[np.ndarray]:
    classes = getattr(model, "classes_", None)
    if isinstance(classes, list):
        return classes
    if classes is not None and len(classes) == n_columns:  # MLPClassifier multi-label
        return [np.array([0, 1])] * n_columns
    return [step.classes_ for step in model[-1].estimators_]  # type: ignore[index]


def evaluate(task: Task, model_name: str, model: BaseEstimator, seed: int,
             train: np.ndarray, test: np.ndarray) -> Score:  # fmt: skip
    X, Y = task.X, task.Y
    _, seconds = timed(model.fit, X.iloc[train], Y[train])
    predicted = model.predict(X.iloc[test])  # type: ignore[attr-defined]
    truth = Y[test]
    proba = probabilities_per_column(model, X.iloc[test])
    classes = classes_per_column(model, Y.shape[1])
    losses = [
        log_loss(truth[:, k], proba[k], labels=classes[k]) for k in range(Y.shape[1])
    ]
    return Score(
        task=task.name,
        model=model_name,
        seed=seed,
        subset_accuracy=float(np.mean(np.all(predicted == truth, axis=1))),
        mean_accuracy=float(np.mean(predicted == truth)),
        log_loss=float(np.mean(losses)),
        fit_seconds=seconds,
    )


def summarise(scores: list[Score]) -> list[dict]:
    """Mean and seed-to-seed standard deviation per task and model."""
    rows = []
    for task, model in dict.fromkeys((s.task, s.model) for s in scores):
        mine = [s for s in scores if (s.task, s.model) == (task, model)]
        row: dict = {"task": task, "model": model, "seeds": len(mine)}
        for metric in ("subset_accuracy", "mean_accuracy", "log_loss", "fit_seconds"):
            values = [getattr(s, metric) for s in mine]
            row[metric] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values))
        rows.append(row)
    return rows


# README's names of the models, by task kind ("the MLP" is one network for labels,
# one per column for classes).
README_MODELS = {
    "AttentionMLPClassifier": "skattn (one model)",
    "MultiOutputClassifier(HGB)": "`MultiOutputClassifier(HGB)`",
    "MLPClassifier": {
        "multi-label": "`MLPClassifier` (scaled)",
        "multi-output": "`MultiOutputClassifier(MLPClassifier)` (scaled)",
    },
}


def summary_table(
    rows: list[dict], kinds: dict[str, str]
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The summary as (header, rows) from :func:`summarise`'s rows (``kinds``: each
    task's kind), models by README's names: in bold, per task, the best subset
    and mean accuracy and the lowest log loss."""
    header = ("task", "model", "subset accuracy", "mean accuracy", "log loss", "fit s")
    lines = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        best = {
            "subset_accuracy": max(r["subset_accuracy"] for r in mine),
            "mean_accuracy": max(r["mean_accuracy"] for r in mine),
            "log_loss": min(r["log_loss"] for r in mine),
        }
        for r in mine:
            name = README_MODELS[r["model"]]
            cells = [task, name if isinstance(name, str) else name[kinds[task]]]
            for metric in ("subset_accuracy", "mean_accuracy"):
                value = f"{r[metric]:.3f}"
                value = f"**{value}**" if r[metric] == best[metric] else value
                cells.append(f"{value} ± {r[metric + '_std']:.3f}")
            loss = f"{r['log_loss']:.3f}"
            cells.append(f"**{loss}**" if r["log_loss"] == best["log_loss"] else loss)
            cells.append(f"{r['fit_seconds']:.1f}")
            lines.append(tuple(cells))
    return header, lines


def summary_markdown(rows: list[dict], kinds: dict[str, str]) -> str:
    """README's table: :func:`summary_table` in markdown."""
    align = ["---", "---", "---:", "---:", "---:", "---:"]
    return markdown_table(*summary_table(rows, kinds), align)


def main() -> None:
    """Run the benchmark, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--seeds", type=int, default=3, help="splits per task")
    parser.add_argument("--max-train-rows", type=int, default=5_000)
    add_output_argument(parser, DEFAULT_OUTPUT)
    args = parser.parse_args()
    suite = require_suite()
    warnings.simplefilter("ignore", ConvergenceWarning)
    start = time.perf_counter()
    scores: list[Score] = []
    tasks = {name: TASKS[name](suite) for name in args.tasks}
    for task in tasks.values():
        for seed, (train, test) in enumerate(
            suite.splits(task.table, n_seeds=args.seeds)
        ):
            if len(train) > args.max_train_rows:
                rng = np.random.default_rng(seed)
                train = rng.choice(train, args.max_train_rows, replace=False)
            for name, model in models(task, seed).items():
                print(f"{task.name} seed {seed}: {name} ...", flush=True)
                scores.append(evaluate(task, name, model, seed, train, test))
    rows = summarise(scores)
    print()
    print(
        format_table(
            ("task", "model", "subset accuracy", "mean accuracy", "log loss", "fit s"),
            [
                (
                    r["task"],
                    r["model"],
                    f"{r['subset_accuracy']:.3f} ± {r['subset_accuracy_std']:.3f}",
                    f"{r['mean_accuracy']:.3f} ± {r['mean_accuracy_std']:.3f}",
                    f"{r['log_loss']:.3f}",
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
        "tasks": {
            name: {"kind": task.kind, "table": task.table, "columns": task.columns}
            for name, task in tasks.items()
        },
        "max_train_rows": args.max_train_rows,
        "total_seconds": total,
        "results": rows,
        "scores": [asdict(s) for s in scores],
    }
    write_json(report, args.output, ensure_ascii=False)
    print(f"wrote {args.output}")
    if {r["model"] for r in rows} <= set(README_MODELS):  # README's models only
        kinds = {name: task.kind for name, task in tasks.items()}
        print("\nREADME's table:\n" + summary_markdown(rows, kinds))


if __name__ == "__main__":
    main()
