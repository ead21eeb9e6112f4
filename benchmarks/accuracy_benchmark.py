"""Accuracy of default skattn against the models users pick today, on the tabular suite.

Every model is fitted with its default settings on seeded 80/20 splits of each
tabular dataset of the shared suite (``../shared/bench/datasets.py``: 3 splits, 5 for
datasets under 1,000 rows), then scored on the held-out 20%:

- ``skattn``: ``AttentionMLPClassifier`` / ``AttentionMLPRegressor()``, on the
  DataFrame as it is (categorical columns and missing values included);
- ``hgb``: ``HistGradientBoosting*`` with native categoricals (``"from_dtype"``);
- ``lightgbm``: ``LGBM*`` with its native categoricals (pandas ``category`` columns);
- ``sk_mlp``: ``MLP*`` with ``hidden_layer_sizes=(256, 256)`` and early stopping,
  behind median / most-frequent imputation, scaling and one-hot encoding;
- ``linear``: ``LogisticRegression`` / ``RidgeCV`` behind the same preprocessing;
- ``catboost``: CatBoost at its defaults (1,000 trees), the ``category`` columns as
  its native categorical features;
- ``realmlp`` and ``tabm_d``: pytabkit's ``RealMLP_TD_*`` and ``TabM_D_*`` at their
  defaults (their own preprocessing and validation split), numerical gaps filled
  with the training median (they refuse NaN there);
- ``ft_transformer``: rtdl's FT-Transformer at its published default configuration
  (``FTTransformer.get_default_kwargs()``: 3 blocks of width 192, AdamW with
  lr=1e-4, weight decay 1e-5) and ``tabm``: TabM at its published defaults
  (``TabM.make``: k=32 heads, 3 blocks of 512, AdamW lr=2e-3, weight decay 3e-4).
  Both in the published training recipe: quantile-transformed numbers, standardised
  regression targets, batches of 256, early stopping with patience 16 on the score of
  20% of the training rows held out, best epoch restored. On CPU they are slow, so
  each fit also stops at ``--budget-s`` seconds (default 600, the 10 minutes skattn's
  own target allows on the largest dataset); the JSON records which fits hit it.

Scores: accuracy (and ROC AUC for binary tasks) or RMSE and R². Models are ranked on
each dataset by the mean over seeds of accuracy (classification) or RMSE
(regression), 1 being the best, ties sharing the mean rank; "mean rank" averages over
datasets. Fit and predict seconds are per split. Every model gets ``--threads``
threads (default 1: torch, OpenMP and LightGBM), so that two runs can share a 2-core
machine without fighting; the ratios of one run are the result.

Usage::

    python benchmarks/accuracy_benchmark.py                       # all models
    python benchmarks/accuracy_benchmark.py --models skattn hgb --datasets concrete
    python benchmarks/accuracy_benchmark.py --combine a.json b.json  # one table

``--combine`` merges the records of earlier runs (e.g. the slow reference networks
run in a second process) into one report. LightGBM, CatBoost and pytabkit are in the
``benchmarks`` extra; rtdl's reference networks need ``pip install
rtdl_revisiting_models tabm``; a model whose library is missing is skipped.
"""

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn (see speed_benchmark.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import copy
import importlib.util
import json
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from _baselines import (
    CatBoostNative,
    MedianImputed,
    categorical_columns,
    one_hot_pipeline,
)
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    require_suite,
    write_json,
)
from scipy.stats import rankdata
from sklearn.base import BaseEstimator
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    VotingClassifier,
    VotingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import (
    accuracy_score,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import (
    LabelEncoder,
    OrdinalEncoder,
    QuantileTransformer,
)
from skorch.callbacks import GradientNormClipping
from threadpoolctl import threadpool_limits
from torch import Tensor, nn

from skattn import AttentionMLPClassifier, AttentionMLPRegressor

RESULTS = Path(__file__).resolve().parent / "results" / "accuracy.json"
MODELS = (
    "skattn",
    "hgb",
    "lightgbm",
    "catboost",
    "sk_mlp",
    "linear",
    "realmlp",
    "tabm_d",
    "ft_transformer",
    "tabm",
)
LIBRARIES = {
    "lightgbm": "lightgbm",
    "catboost": "catboost",
    "realmlp": "pytabkit",
    "tabm_d": "pytabkit",
    "ft_transformer": "rtdl_revisiting_models",
    "tabm": "tabm",
}
# Datasets of fewer rows than this are split with --small-seeds (5 by default):
# their seed-to-seed spread is the larger.
SMALL_DATASET_ROWS = 1000


# --- the models ---------------------------------------------------------------------


def make_model(
    name: str,
    task: str,
    seed: int,
    threads: int,
    skattn_params: dict[str, Any],
    skattn_members: int = 1,
) -> Any:
    """The unfitted model ``name`` for ``task``, seeded with ``seed``; skattn as a
    soft vote of ``skattn_members`` networks when that is above 1. In
    ``skattn_params``, ``"max_grad_norm": x`` (an experiment, not a parameter)
    clips the gradients' norm to ``x`` with skorch's ``GradientNormClipping``."""
    classification = task != "regression"
    if name == "skattn":
        cls = AttentionMLPClassifier if classification else AttentionMLPRegressor
        skattn_params = dict(skattn_params)
        max_grad_norm = skattn_params.pop("max_grad_norm", None)
        if max_grad_norm is not None:
            clipping = GradientNormClipping(gradient_clip_value=max_grad_norm)
            skattn_params["callbacks"] = [clipping]
        if skattn_members == 1:
            return cls(random_state=seed, **skattn_params)
        # An experiment for the small-data defaults (issue 15): members of their
        # own seeds, so with early stopping each holds out a validation split of
        # its own, and together they train on (almost surely) every row.
        members = [
            (f"member_{i}", cls(random_state=seed * 1000 + i, **skattn_params))
            for i in range(skattn_members)
        ]
        if classification:
            return VotingClassifier(members, voting="soft")
        return VotingRegressor(members)
    if name == "hgb":
        cls = (
            HistGradientBoostingClassifier
            if classification
            else HistGradientBoostingRegressor
        )
        return cls(categorical_features="from_dtype", random_state=seed)
    if name == "lightgbm":
        import lightgbm

        cls = lightgbm.LGBMClassifier if classification else lightgbm.LGBMRegressor
        return cls(random_state=seed, n_jobs=threads, verbose=-1)
    if name == "catboost":
        return CatBoostNative(task=task, random_state=seed, threads=threads)
    if name in ("realmlp", "tabm_d"):
        import pytabkit

        kind = "RealMLP_TD" if name == "realmlp" else "TabM_D"
        suffix = "Classifier" if classification else "Regressor"
        cls = getattr(pytabkit, f"{kind}_{suffix}")
        return MedianImputed(
            cls(device="cpu", random_state=seed, n_threads=threads, verbosity=0)
        )
    if name == "sk_mlp":
        cls = MLPClassifier if classification else MLPRegressor
        return one_hot_pipeline(
            cls(hidden_layer_sizes=(256, 256), early_stopping=True, random_state=seed)
        )
    if name == "linear":
        return one_hot_pipeline(
            LogisticRegression(max_iter=1000) if classification else RidgeCV()
        )
    if name in ("ft_transformer", "tabm"):
        return ReferenceNetwork(kind=name, task=task, random_state=seed)
    raise ValueError(f"unknown model {name!r}; known: {MODELS}")


class ReferenceNetwork(BaseEstimator):
    """rtdl's FT-Transformer or TabM in their published training recipe.

    Numbers: mean imputation, then ``QuantileTransformer(output_distribution=
    "normal")`` fitted on the training rows with a little noise (rtdl's recipe);
    categories: ordinal codes with code 0 for missing and unseen values. Regression
    targets are standardised. AdamW, batches of 256, 20% of the training rows held out
    for early stopping (patience 16 epochs on accuracy or RMSE), best epoch restored;
    at most ``max_epochs`` epochs and ``budget_s`` seconds.
    """

    def __init__(
        self,
        *,
        kind: str = "ft_transformer",
        task: str = "binary",
        random_state: int = 0,
        budget_s: float = 600.0,
        max_epochs: int = 1000,
        patience: int = 16,
        batch_size: int = 256,
    ) -> None:
        self.kind = kind
        self.task = task
        self.random_state = random_state
        self.budget_s = budget_s
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size

    def _preprocess(self, X: pd.DataFrame, fit: bool) -> tuple[Tensor, Tensor]:
        categorical = categorical_columns(X)
        numerical = [c for c in X.columns if c not in categorical]
        if fit:
            self.numerical_, self.categorical_ = numerical, categorical
            values = X[numerical].to_numpy(np.float64)
            self.imputer_ = SimpleImputer(strategy="mean").fit(values)
            values = self.imputer_.transform(values)
            noise = np.random.default_rng(self.random_state).normal(
                0.0, 1e-5 * values.std(0, keepdims=True) + 1e-12, values.shape
            )
            self.quantiles_ = QuantileTransformer(
                n_quantiles=max(min(len(X) // 30, 1000), 10),
                output_distribution="normal",
                subsample=10**9,
                random_state=self.random_state,
            ).fit(values + noise)
            self.encoder_ = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=-1,
                encoded_missing_value=-1,
            ).fit(X[categorical])
        x_num = self.quantiles_.transform(
            self.imputer_.transform(X[numerical].to_numpy(np.float64))
        )
        x_cat = self.encoder_.transform(X[categorical]) + 1  # 0: missing or unseen
        return (
            torch.as_tensor(x_num, dtype=torch.float32),
            torch.as_tensor(x_cat, dtype=torch.long),
        )

    def _network(self, n_outputs: int) -> nn.Module:
        n_numerical = len(self.numerical_)
        cardinalities = [len(c) + 1 for c in self.encoder_.categories_]
        if self.kind == "ft_transformer":
            import rtdl_revisiting_models as rtdl

            return rtdl.FTTransformer(
                n_cont_features=n_numerical,
                cat_cardinalities=cardinalities,
                d_out=n_outputs,
                **rtdl.FTTransformer.get_default_kwargs(),
            )
        import tabm

        return tabm.TabM.make(
            n_num_features=n_numerical, cat_cardinalities=cardinalities, d_out=n_outputs
        )

    def _forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """Outputs (B, k, n_outputs): k=1 for the FT-Transformer, TabM's k heads."""
        x_cat_or_none = x_cat if x_cat.shape[1] else None
        if self.kind == "ft_transformer":
            return self.network_(x_num, x_cat_or_none)[:, None]
        return self.network_(x_num, x_cat_or_none)

    def _loss(self, outputs: Tensor, target: Tensor) -> Tensor:
        k = outputs.shape[1]
        flat = outputs.flatten(0, 1)  # (B * k, n_outputs): every head's own loss
        target = target.repeat_interleave(k)
        if self.task == "regression":
            return F.mse_loss(flat[:, 0], target)
        return F.cross_entropy(flat, target)

    def _predict_outputs(self, x_num: Tensor, x_cat: Tensor) -> np.ndarray:
        """Mean prediction (regression) or mean probability over the heads."""
        self.network_.eval()
        chunks = []
        with torch.no_grad():
            for start in range(0, len(x_num), 512):
                rows = slice(start, start + 512)
                outputs = self._forward(x_num[rows], x_cat[rows])  # (b, k, n_outputs)
                if self.task == "regression":
                    chunks.append(outputs[..., 0].mean(1))
                else:
                    chunks.append(outputs.softmax(-1).mean(1))
        return torch.cat(chunks).numpy()

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> "ReferenceNetwork":
        start = time.perf_counter()
        torch.manual_seed(self.random_state)
        regression = self.task == "regression"
        if regression:
            self.y_mean_, self.y_std_ = float(np.mean(y)), float(np.std(y)) or 1.0
            target = torch.as_tensor(
                (y - self.y_mean_) / self.y_std_, dtype=torch.float32
            )
            n_outputs = 1
        else:
            self.labels_ = LabelEncoder().fit(y)
            self.classes_ = self.labels_.classes_
            target = torch.as_tensor(self.labels_.transform(y), dtype=torch.long)
            n_outputs = len(self.labels_.classes_)
        train, valid = train_test_split(
            np.arange(len(y)),
            test_size=0.2,
            random_state=self.random_state,
            stratify=None if regression else y,
        )
        x_num, x_cat = self._preprocess(X.iloc[train], fit=True)
        v_num, v_cat = self._preprocess(X.iloc[valid], fit=False)
        y_train, y_valid = target[train], target[valid].numpy()
        self.network_ = self._network(n_outputs)
        parameters = (
            self.network_.make_parameter_groups()
            if self.kind == "ft_transformer"
            else self.network_.parameters()
        )
        lr, weight_decay = (
            (1e-4, 1e-5) if self.kind == "ft_transformer" else (2e-3, 3e-4)
        )
        optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
        generator = torch.Generator().manual_seed(self.random_state)
        best, best_state, stale = -np.inf, None, 0
        self.n_epochs_, self.stopped_by_ = 0, "max_epochs"
        for _ in range(self.max_epochs):
            self.network_.train()
            for rows in torch.randperm(len(y_train), generator=generator).split(
                self.batch_size
            ):
                optimizer.zero_grad()
                loss = self._loss(
                    self._forward(x_num[rows], x_cat[rows]), y_train[rows]
                )
                loss.backward()
                optimizer.step()
            self.n_epochs_ += 1
            predicted = self._predict_outputs(v_num, v_cat)
            if regression:
                score = -float(np.sqrt(np.mean((predicted - y_valid) ** 2)))
            else:
                score = float(np.mean(predicted.argmax(1) == y_valid))
            if score > best:
                best, stale = score, 0
                best_state = copy.deepcopy(self.network_.state_dict())
            else:
                stale += 1
            if stale >= self.patience:
                self.stopped_by_ = "patience"
                break
            if time.perf_counter() - start > self.budget_s:
                self.stopped_by_ = "budget"
                break
        self.network_.load_state_dict(best_state)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._predict_outputs(*self._preprocess(X, fit=False))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        outputs = self._predict_outputs(*self._preprocess(X, fit=False))
        if self.task == "regression":
            return outputs * self.y_std_ + self.y_mean_
        return self.labels_.inverse_transform(outputs.argmax(1))


# --- running ------------------------------------------------------------------------


def score(model: Any, task: str, X: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """Test scores, and the predict seconds."""
    start = time.perf_counter()
    predicted = model.predict(X)
    scores: dict[str, float] = {}
    if task == "regression":
        scores["rmse"] = float(root_mean_squared_error(y, predicted))
        scores["r2"] = float(r2_score(y, predicted))
    else:
        scores["accuracy"] = float(accuracy_score(y, predicted))
        if task == "binary":
            proba = model.predict_proba(X)
            positive = np.unique(y)[1]
            column = list(model.classes_).index(positive)
            scores["roc_auc"] = float(roc_auc_score(y == positive, proba[:, column]))
    scores["predict_s"] = time.perf_counter() - start
    return scores


def fit_details(name: str, model: Any) -> dict[str, Any]:
    """What a fit leaves worth recording: epochs, and why a reference net stopped."""
    if name == "skattn":
        members = getattr(model, "estimators_", [model])  # a vote: mean epochs
        return {"n_epochs": float(np.mean([m.n_iter_ for m in members]))}
    if isinstance(model, ReferenceNetwork):
        return {"n_epochs": model.n_epochs_, "stopped_by": model.stopped_by_}
    return {}


def run_one(
    name: str,
    dataset: str,
    data: dict[str, Any],
    seed: int,
    train: np.ndarray,
    test: np.ndarray,
    args: argparse.Namespace,
    skattn_params: dict[str, Any],
) -> dict[str, Any]:
    task = data["task"]
    model = make_model(
        name, task, seed, args.threads, skattn_params, args.skattn_members
    )
    if isinstance(model, ReferenceNetwork):
        model.set_params(budget_s=args.budget_s)
    X, y = data["X"], data["y"]
    with threadpool_limits(args.threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter of the baselines
        start = time.perf_counter()
        model.fit(X.iloc[train], y[train])
        fit_s = time.perf_counter() - start
        scores = score(model, task, X.iloc[test], y[test])
    return {
        "dataset": dataset,
        "task": task,
        "model": name + args.label,
        "seed": seed,
        **scores,
        "fit_s": fit_s,
        **fit_details(name, model),
    }


# --- the report ---------------------------------------------------------------------


def primary(task: str) -> tuple[str, bool]:
    """The ranking metric of ``task`` and whether higher is better."""
    return ("rmse", False) if task == "regression" else ("accuracy", True)


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per dataset and model: mean and std of each metric, rank; mean rank per model."""
    frame = pd.DataFrame(records)
    summary: dict[str, Any] = {"datasets": {}, "mean_rank": {}}
    ranks: dict[str, list[float]] = {}
    for dataset, rows in frame.groupby("dataset", sort=False):
        task = rows["task"].iloc[0]
        metric, higher = primary(task)
        numeric = rows.drop(
            columns=["dataset", "task", "model", "stopped_by"], errors="ignore"
        )
        means = numeric.groupby(rows["model"], sort=False).mean()
        stds = numeric.groupby(rows["model"], sort=False).std(ddof=0)
        order = rankdata(-means[metric] if higher else means[metric])
        best = means[metric].max() if higher else means[metric].min()
        entry = {}
        for (model, row), rank in zip(means.iterrows(), order, strict=True):
            gap = (best - row[metric]) if higher else (row[metric] - best) / best
            entry[model] = {
                "rank": float(rank),
                "gap_to_best": float(gap),
                "n_seeds": int((rows["model"] == model).sum()),
                **{k: float(v) for k, v in row.items() if k != "seed"},
                **{
                    f"{k}_std": float(v)
                    for k, v in stds.loc[model].items()
                    if k != "seed"
                },
            }
            ranks.setdefault(model, []).append(float(rank))
        summary["datasets"][dataset] = {"task": task, "metric": metric, "models": entry}
    summary["mean_rank"] = {m: float(np.mean(r)) for m, r in ranks.items()}
    return summary


def print_report(summary: dict[str, Any]) -> None:
    header = (
        "dataset",
        "model",
        "metric",
        "score",
        "± std",
        "gap",
        "rank",
        "fit s",
        "pred s",
        "epochs",
    )
    rows = []
    for dataset, entry in summary["datasets"].items():
        metric = entry["metric"]
        by_rank = sorted(entry["models"].items(), key=lambda item: item[1]["rank"])
        for model, values in by_rank:
            gap = values["gap_to_best"]
            rows.append(
                (
                    dataset,
                    model,
                    metric,
                    f"{values[metric]:.4f}",
                    f"{values[metric + '_std']:.4f}",
                    f"{100 * gap:.2f}%" if metric == "rmse" else f"{100 * gap:.2f} pt",
                    f"{values['rank']:g}",
                    f"{values['fit_s']:.1f}",
                    f"{values['predict_s']:.2f}",
                    f"{values['n_epochs']:.0f}" if "n_epochs" in values else "",
                )
            )
    print(format_table(header, rows, left={0, 1, 2}))
    print()
    ranks = sorted(summary["mean_rank"].items(), key=lambda item: item[1])
    print(
        format_table(
            ("model", "mean rank"), [(m, f"{r:.2f}") for m, r in ranks], left={0}
        )
    )


def score_grid(
    summary: dict[str, Any], value: str = "score", std: bool = False
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """One row per dataset, one column per model (best mean rank first).

    ``value="score"``: the mean score and the rank, e.g. ``0.8070 (1)`` (with
    ``std``, the seed-to-seed standard deviation too: ``0.8070 ± 0.0040 (1)``), and
    a last row of mean ranks; ``value="fit_s"``: mean fit seconds.
    """
    models = sorted(summary["mean_rank"], key=summary["mean_rank"].get)
    header = ("dataset", "metric", *models)
    rows = []
    for dataset, entry in summary["datasets"].items():
        metric = entry["metric"]
        cells = []
        for model in models:
            values = entry["models"].get(model)
            if values is None:
                cells.append("")
            elif value == "score":
                spread = f" ± {values[metric + '_std']:.4f}" if std else ""
                cells.append(f"{values[metric]:.4f}{spread} ({values['rank']:g})")
            else:
                cells.append(f"{values['fit_s']:.1f}")
        rows.append((dataset, metric, *cells))
    if value == "score":
        ranks = [f"{summary['mean_rank'][m]:.2f}" for m in models]
        rows.append(("mean rank", "", *ranks))
    return header, rows


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A GitHub markdown table, numbers right-aligned."""
    align = ["---" if i < 2 else "---:" for i in range(len(header))]
    lines = [header, tuple(align), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0, 1, 2],
        help=f"the seeds of datasets of {SMALL_DATASET_ROWS} rows or more",
    )
    parser.add_argument(
        "--small-seeds",
        nargs="+",
        type=int,
        default=[0, 1, 2, 3, 4],
        help=f"the seeds of datasets under {SMALL_DATASET_ROWS} rows",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--budget-s", type=float, default=600.0)
    parser.add_argument(
        "--skattn-params",
        type=json.loads,
        default={},
        help="JSON of parameters for skattn (experiments; default: none)",
    )
    parser.add_argument(
        "--skattn-members",
        type=int,
        default=1,
        help="skattn as a soft vote of this many networks (experiments)",
    )
    parser.add_argument("--label", default="", help="suffix of the skattn model's name")
    parser.add_argument("--combine", nargs="+", type=Path, default=None)
    parser.add_argument(
        "--markdown", action="store_true", help="also print the grids as markdown"
    )
    parser.add_argument(
        "--std", action="store_true", help="seed-to-seed std in the markdown grid"
    )
    add_output_argument(parser, RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    if args.combine:
        records = [
            r for path in args.combine for r in json.loads(path.read_text())["records"]
        ]
        report = {
            "environment": environment(),
            "combined": [str(p) for p in args.combine],
        }
    else:
        suite = require_suite()
        records = []
        report = {
            "environment": environment(
                lightgbm=_version("lightgbm"),
                rtdl_revisiting_models=_version("rtdl_revisiting_models"),
                tabm=_version("tabm"),
                catboost=_version("catboost"),
                pytabkit=_version("pytabkit"),
            ),
            "threads": args.threads,
            "budget_s": args.budget_s,
            "skattn_params": args.skattn_params,
            "skattn_members": args.skattn_members,
        }
        models = [m for m in args.models if _available(m)]
        for dataset in args.datasets or suite.names("tabular"):
            data = suite.load(dataset)
            small = len(data["y"]) < SMALL_DATASET_ROWS
            seeds = args.small_seeds if small else args.seeds
            splits = suite.splits(dataset, n_seeds=max(seeds) + 1)
            for seed, (train, test) in enumerate(splits):
                if seed not in seeds:
                    continue
                for name in models:
                    record = run_one(
                        name, dataset, data, seed, train, test, args, args.skattn_params
                    )
                    records.append(record)
                    print(json.dumps(record), flush=True)
                    write_json(
                        {**report, "records": records}, args.output, ensure_ascii=True
                    )
    summary = summarise(records)
    print_report(summary)
    if args.markdown:
        for value in ("score", "fit_s"):
            print()
            print(markdown(*score_grid(summary, value, std=args.std)))
    write_json(
        {**report, "records": records, "summary": summary},
        args.output,
        ensure_ascii=True,
    )


def _available(model: str) -> bool:
    library = LIBRARIES.get(model)
    if library is None or importlib.util.find_spec(library) is not None:
        return True
    print(f"skipped {model}: {library} is not installed")
    return False


def _version(library: str) -> str | None:
    if importlib.util.find_spec(library) is None:
        return None
    from importlib.metadata import version

    return version(library.replace("_", "-"))


if __name__ == "__main__":
    main()
