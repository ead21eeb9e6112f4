"""Demo: skattn's attention-MLP estimators against scikit-learn baselines.

Trains :class:`skattn.AttentionMLPClassifier` and :class:`skattn.AttentionMLPRegressor`
on datasets that ship with scikit-learn (no downloads), loaded as pandas DataFrames,
and compares them on a fixed train/test split with two baselines fitted in the same
run:

- ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``, with
  ``categorical_features="from_dtype"``;
- ``MLPClassifier`` / ``MLPRegressor`` in a Pipeline behind a ``StandardScaler``
  (behind a ``ColumnTransformer`` that imputes and one-hot encodes when the frame has
  categorical columns or missing values). The regressor also learns a standardised
  target, as skattn's regressor does internally.

Datasets:

- ``breast_cancer``: binary classification, 569 rows x 30 numerical features;
- ``digits``: 10-class classification, 1797 rows x 64 numerical features;
- ``diabetes``: regression, 442 rows x 10 numerical features;
- ``diabetes_mixed``: the unscaled diabetes frame with ``sex`` as a categorical column
  of strings, ``bmi`` replaced by a categorical BMI band (``pd.cut``), and about 5%
  missing values in ``bp``, ``s5`` and the BMI band. skattn takes this frame as it is:
  no imputation or encoding step.

skattn settings: the estimators' defaults (2 blocks, ``d_token=64``, 4 heads,
``learning_rate=1e-3``, ``max_iter=100`` epochs, ``batch_size="auto"``,
``early_stopping="auto"``, which is off below 10,000 rows) with ``random_state=0``.
Without a validation split, training stops when the training loss has not improved
by ``tol`` for ``n_iter_no_change=10`` epochs, or after 100 epochs with a
``ConvergenceWarning``; warnings are left visible on purpose. Every random state in
the script is 0.

The table printed shows accuracy and ROC AUC (binary only) for classification, R^2
and RMSE for regression, the wall-clock seconds of ``fit`` and ``predict``, and the
fitted ``n_iter_`` (epochs, or boosting iterations for HistGradientBoosting). The
same numbers, with the versions of Python, torch, scikit-learn and skattn, the date
and the CPU count, are written as JSON.

Run from the repository root (a few minutes on 2 CPU cores)::

    python benchmarks/demo.py
    python benchmarks/demo.py --output /tmp/demo.json
"""

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn: with the default (active)
# policy, the OpenMP runtimes of scikit-learn and torch spin against each other and
# can slow training 10-50x on machines with few cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Benchmark the skattn of this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.base import BaseEstimator
from sklearn.compose import (
    ColumnTransformer,
    TransformedTargetRegressor,
    make_column_selector,
)
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    accuracy_score,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skattn
from skattn import AttentionMLPClassifier, AttentionMLPRegressor

Task = Literal["classification", "regression"]
T = TypeVar("T")

RANDOM_STATE = 0
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "demo.json"
# Parameters given to the skattn estimators; everything else is left at its default.
SKATTN_PARAMS: dict[str, Any] = {"random_state": RANDOM_STATE}
# Score columns of the table and the JSON, in order; a task fills some of them.
SCORE_NAMES = ("accuracy", "roc_auc", "r2", "rmse")


@dataclass(frozen=True)
class Dataset:
    """A named train/test split of one table.

    Attributes
    ----------
    name : str
        Short name used in the table and the JSON.
    task : {"classification", "regression"}
        What the target is.
    X_train, X_test : DataFrame
        Features of the training and test rows.
    y_train, y_test : Series
        Targets of the training and test rows.
    """

    name: str
    task: Task
    X_train: pd.DataFrame
    X_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series


@dataclass
class Result:
    """Scores and timings of one model on one dataset.

    Attributes
    ----------
    dataset, model : str
        Names of the dataset and the model.
    task : {"classification", "regression"}
        The dataset's task.
    n_train, n_test, n_features : int
        Shape of the split.
    fit_seconds, predict_seconds : float
        Wall-clock seconds of ``fit`` on the training rows and of ``predict`` on the
        test rows.
    n_iter : int or None
        The fitted model's ``n_iter_``: epochs for skattn and the MLP, boosting
        iterations for HistGradientBoosting.
    scores : dict of str to float
        Test scores, keyed by names from ``SCORE_NAMES``.
    """

    dataset: str
    model: str
    task: Task
    n_train: int
    n_test: int
    n_features: int
    fit_seconds: float
    predict_seconds: float
    n_iter: int | None
    scores: dict[str, float] = field(default_factory=dict)


# -- data ----------------------------------------------------------------------------
def split(name: str, task: Task, X: pd.DataFrame, y: pd.Series) -> Dataset:
    """Split a table into fixed training and test parts (25% test).

    Parameters
    ----------
    name : str
        Name of the dataset.
    task : {"classification", "regression"}
        Classification splits are stratified on ``y``.
    X : DataFrame of shape (n_samples, n_features)
        Features.
    y : Series of shape (n_samples,)
        Target.

    Returns
    -------
    dataset : Dataset
        The split.
    """
    stratify = y if task == "classification" else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, random_state=RANDOM_STATE, stratify=stratify
    )
    return Dataset(name, task, X_train, X_test, y_train, y_test)


def make_mixed_diabetes() -> tuple[pd.DataFrame, pd.Series]:
    """The unscaled diabetes table with categorical columns and missing values.

    ``sex`` becomes a categorical column of strings, ``bmi`` is replaced by the
    categorical ``bmi_band`` (WHO bands, via :func:`pandas.cut`), and about 5% of the
    values of ``bp``, ``s5`` and ``bmi_band`` are set missing at random.

    Returns
    -------
    X : DataFrame of shape (442, 10)
        Eight numerical and two ``category`` columns, with NaN for missing values.
    y : Series of shape (442,)
        Disease progression one year after baseline.
    """
    X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
    X = X.copy()
    X["sex"] = X["sex"].map({1.0: "sex_1", 2.0: "sex_2"}).astype("category")
    X["bmi_band"] = pd.cut(
        X.pop("bmi"),
        bins=[0.0, 18.5, 25.0, 30.0, np.inf],
        labels=["underweight", "normal", "overweight", "obese"],
        right=False,
    )
    rng = np.random.default_rng(RANDOM_STATE)
    for column in ("bp", "s5", "bmi_band"):
        X[column] = X[column].mask(rng.random(len(X)) < 0.05)
    return X, y


def load_datasets() -> list[Dataset]:
    """Load the demo's datasets as DataFrames and split them.

    Returns
    -------
    datasets : list of Dataset
        breast_cancer, digits, diabetes and diabetes_mixed.
    """
    return [
        split(
            "breast_cancer",
            "classification",
            *load_breast_cancer(return_X_y=True, as_frame=True),
        ),
        split("digits", "classification", *load_digits(return_X_y=True, as_frame=True)),
        split("diabetes", "regression", *load_diabetes(return_X_y=True, as_frame=True)),
        split("diabetes_mixed", "regression", *make_mixed_diabetes()),
    ]


# -- models --------------------------------------------------------------------------
def mlp_preprocessor(X: pd.DataFrame) -> BaseEstimator:
    """The preprocessing that scikit-learn's MLP needs for the frame ``X``.

    Parameters
    ----------
    X : DataFrame
        Training features; only their dtypes and missing values are inspected.

    Returns
    -------
    preprocessor : estimator
        A ``StandardScaler`` for all-numerical frames without missing values;
        otherwise a ``ColumnTransformer`` that imputes and one-hot encodes the
        ``category`` columns and imputes (median) and scales the others.
    """
    is_categorical = X.dtypes.apply(lambda d: isinstance(d, pd.CategoricalDtype))
    if not is_categorical.any() and not X.isna().any().any():
        return StandardScaler()
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    numerical = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical_columns = make_column_selector(dtype_include="category")
    numerical_columns = make_column_selector(dtype_exclude="category")
    return ColumnTransformer(
        [
            ("categorical", categorical, categorical_columns),
            ("numerical", numerical, numerical_columns),
        ]
    )


def make_models(task: Task, X: pd.DataFrame) -> dict[str, BaseEstimator]:
    """Unfitted skattn and baseline models for a task, keyed by display name.

    Parameters
    ----------
    task : {"classification", "regression"}
        Picks the classifier or regressor of each model family.
    X : DataFrame
        Training features, used to choose the MLP's preprocessing.

    Returns
    -------
    models : dict of str to estimator
        The skattn estimator, HistGradientBoosting and a scikit-learn MLP.
    """
    classification = task == "classification"
    skattn_cls = AttentionMLPClassifier if classification else AttentionMLPRegressor
    hgb_cls = (
        HistGradientBoostingClassifier
        if classification
        else HistGradientBoostingRegressor
    )
    mlp_cls = MLPClassifier if classification else MLPRegressor

    mlp: BaseEstimator = Pipeline(
        [
            ("preprocess", mlp_preprocessor(X)),
            ("mlp", mlp_cls(random_state=RANDOM_STATE)),
        ]
    )
    if not classification:
        mlp = TransformedTargetRegressor(regressor=mlp, transformer=StandardScaler())
    return {
        skattn_cls.__name__: skattn_cls(**SKATTN_PARAMS),
        hgb_cls.__name__: hgb_cls(
            categorical_features="from_dtype", random_state=RANDOM_STATE
        ),
        mlp_cls.__name__: mlp,
    }


# -- evaluation ----------------------------------------------------------------------
def timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """Call ``function(*args)`` and measure its wall-clock time.

    Parameters
    ----------
    function : callable
        What to call.
    *args
        Its positional arguments.

    Returns
    -------
    value : object
        What ``function`` returned.
    seconds : float
        Elapsed wall-clock seconds.
    """
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def score_predictions(
    task: Task, model: BaseEstimator, X: pd.DataFrame, y: pd.Series, y_pred: Any
) -> dict[str, float]:
    """Test-set scores of a fitted model.

    Parameters
    ----------
    task : {"classification", "regression"}
        Chooses the metrics.
    model : estimator
        The fitted model (its ``predict_proba`` gives the binary ROC AUC).
    X : DataFrame
        Test features.
    y : Series
        True test targets.
    y_pred : array-like
        ``model.predict(X)``.

    Returns
    -------
    scores : dict of str to float
        Classification: accuracy, and ROC AUC when there are two classes.
        Regression: R^2 and RMSE.
    """
    if task == "regression":
        return {
            "r2": float(r2_score(y, y_pred)),
            "rmse": float(root_mean_squared_error(y, y_pred)),
        }
    scores = {"accuracy": float(accuracy_score(y, y_pred))}
    if y.nunique() == 2:
        scores["roc_auc"] = float(roc_auc_score(y, model.predict_proba(X)[:, 1]))
    return scores


def n_iterations(model: BaseEstimator) -> int | None:
    """The ``n_iter_`` of a fitted model, looking inside the MLP's wrappers.

    Parameters
    ----------
    model : estimator
        A fitted model, possibly a Pipeline inside a TransformedTargetRegressor.

    Returns
    -------
    n_iter : int or None
        The final estimator's ``n_iter_``, None if it has none.
    """
    if isinstance(model, TransformedTargetRegressor):
        model = model.regressor_
    if isinstance(model, Pipeline):
        model = model[-1]
    n_iter = getattr(model, "n_iter_", None)
    return None if n_iter is None else int(n_iter)


def evaluate(name: str, model: BaseEstimator, data: Dataset) -> Result:
    """Fit ``model`` on the training rows and score it on the test rows.

    Parameters
    ----------
    name : str
        Display name of the model.
    model : estimator
        Unfitted model, fitted in place.
    data : Dataset
        The split to use.

    Returns
    -------
    result : Result
        Scores and fit/predict timings.
    """
    _, fit_seconds = timed(model.fit, data.X_train, data.y_train)
    y_pred, predict_seconds = timed(model.predict, data.X_test)
    return Result(
        dataset=data.name,
        model=name,
        task=data.task,
        n_train=len(data.X_train),
        n_test=len(data.X_test),
        n_features=data.X_train.shape[1],
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        n_iter=n_iterations(model),
        scores=score_predictions(data.task, model, data.X_test, data.y_test, y_pred),
    )


def run_all(datasets: list[Dataset]) -> list[Result]:
    """Evaluate every model on every dataset, reporting progress on stderr.

    Parameters
    ----------
    datasets : list of Dataset
        The splits to evaluate on.

    Returns
    -------
    results : list of Result
        One per (dataset, model), in order.
    """
    results = []
    for data in datasets:
        for name, model in make_models(data.task, data.X_train).items():
            print(f"fitting {name} on {data.name} ...", file=sys.stderr, flush=True)
            results.append(evaluate(name, model, data))
    return results


# -- reporting -----------------------------------------------------------------------
def format_table(results: list[Result]) -> str:
    """Lay the results out as a plain-text table, "-" for scores that do not apply.

    Parameters
    ----------
    results : list of Result
        Rows of the table.

    Returns
    -------
    table : str
        Header, rule and one line per result.
    """
    header = ("dataset", "model", *SCORE_NAMES, "fit [s]", "predict [s]", "n_iter")
    rows = [
        (
            r.dataset,
            r.model,
            *(f"{r.scores[s]:.4f}" if s in r.scores else "-" for s in SCORE_NAMES),
            f"{r.fit_seconds:.2f}",
            f"{r.predict_seconds:.3f}",
            "-" if r.n_iter is None else str(r.n_iter),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        # Text columns left-aligned, numbers right-aligned.
        return "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def environment() -> dict[str, Any]:
    """Versions, date and hardware facts to store next to the scores.

    Returns
    -------
    info : dict
        Python, torch, scikit-learn, skattn, numpy and pandas versions, the UTC date
        and time, the platform, the CPU count and torch's thread count.
    """
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skattn": skattn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def write_json(results: list[Result], total_seconds: float, path: Path) -> None:
    """Write the results, the environment and the skattn settings to ``path``.

    Parameters
    ----------
    results : list of Result
        The scores and timings.
    total_seconds : float
        Wall-clock seconds of the whole run.
    path : Path
        Output file; its folder is created if missing.
    """
    report = {
        "environment": environment(),
        "skattn_params": SKATTN_PARAMS,
        "random_state": RANDOM_STATE,
        "total_seconds": total_seconds,
        "results": [asdict(r) for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    args : Namespace
        With ``output``, the JSON path.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the JSON results (default: %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the demo: load, fit, score, print the table and write the JSON.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None reads ``sys.argv``.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    results = run_all(load_datasets())
    total_seconds = time.perf_counter() - start
    print(format_table(results))
    print(f"\ntotal: {total_seconds:.1f} s on {os.cpu_count()} CPUs")
    write_json(results, total_seconds, args.output)
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()
