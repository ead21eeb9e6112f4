"""What a search over ``skattn.search_space`` buys over the defaults, on one dataset.

On each of the suite's seeded 80/20 splits of one dataset (default: ``concrete``, the
suite's dataset where default skattn is furthest from gradient boosting), the script
fits the default model and a ``RandomizedSearchCV`` over ``search_space("random")``
(``--n-iter`` candidates, 3-fold cross-validation on the training rows, refitted on
all of them), and scores both on the held-out 20%. It prints a table with the best
parameters and writes it as JSON.

Usage::

    python benchmarks/tuning_benchmark.py                    # concrete, seed 0
    python benchmarks/tuning_benchmark.py --dataset credit_data --n-iter 20 --seeds 0 1
"""

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn (see speed_benchmark.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import warnings
from typing import Any

import torch
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    require_suite,
    timed,
    write_json,
)
from sklearn.model_selection import RandomizedSearchCV

from skattn import AttentionMLPClassifier, AttentionMLPRegressor, search_space

RESULTS = Path(__file__).resolve().parent / "results" / "tuning.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="concrete")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    add_output_argument(parser, RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    suite = require_suite()
    data = suite.load(args.dataset)
    X, y = data["X"], data["y"]
    regression = data["task"] == "regression"
    estimator = AttentionMLPRegressor if regression else AttentionMLPClassifier
    scoring = "neg_root_mean_squared_error" if regression else "accuracy"
    records: list[dict[str, Any]] = []
    for seed, (train, test) in enumerate(suite.splits(args.dataset)):
        if seed not in args.seeds:
            continue
        X_train, y_train = X.iloc[train], y[train]
        X_test, y_test = X.iloc[test], y[test]
        default = estimator(random_state=seed)
        search = RandomizedSearchCV(
            estimator(random_state=seed),
            search_space("random"),
            n_iter=args.n_iter,
            cv=3,
            scoring=scoring,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning of short candidates
            _, default_s = timed(default.fit, X_train, y_train)
            _, search_s = timed(search.fit, X_train, y_train)
        records.append(
            {
                "seed": seed,
                "metric": "rmse" if regression else "accuracy",
                "default": _test_score(default, X_test, y_test, regression),
                "searched": _test_score(search, X_test, y_test, regression),
                "default_fit_s": default_s,
                "search_fit_s": search_s,
                "best_params": {k: _plain(v) for k, v in search.best_params_.items()},
            }
        )
        print(records[-1], flush=True)

    header = ("seed", "metric", "default", "searched", "default fit s", "search s")
    rows = [
        (
            str(r["seed"]),
            r["metric"],
            f"{r['default']:.4f}",
            f"{r['searched']:.4f}",
            f"{r['default_fit_s']:.1f}",
            f"{r['search_fit_s']:.0f}",
        )
        for r in records
    ]
    print(format_table(header, rows, left={1}))
    for r in records:
        print(f"seed {r['seed']} best parameters: {r['best_params']}")
    report = {
        "environment": environment(),
        "dataset": args.dataset,
        "n_iter": args.n_iter,
        "threads": args.threads,
        "records": records,
    }
    write_json(report, args.output, ensure_ascii=True)


def _test_score(model: Any, X: Any, y: Any, regression: bool) -> float:
    """RMSE for regression, accuracy for classification."""
    if regression:
        return float(((model.predict(X) - y) ** 2).mean() ** 0.5)
    return float(model.score(X, y))


def _plain(value: Any) -> Any:
    """A JSON value from a sampled parameter (numpy scalars included)."""
    return value.item() if hasattr(value, "item") else value


if __name__ == "__main__":
    main()
