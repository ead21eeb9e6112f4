"""Demo: skattn's attention-MLP estimators against scikit-learn baselines.

Trains :class:`skattn.AttentionMLPClassifier` and :class:`skattn.AttentionMLPRegressor`
on datasets that ship with scikit-learn (no downloads), loaded as pandas DataFrames,
and compares them on a fixed train/test split with two baselines fitted in the same
run:

- ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``, with
  ``categorical_features="from_dtype"``;
- ``MLPClassifier`` / ``MLPRegressor`` behind the benchmarks' usual preprocessing
  (``_baselines.one_hot_pipeline``: median imputation and standard scaling of the
  numerical columns, most-frequent imputation and one-hot encoding of the others).
  The regressor also learns a standardised target, as skattn's regressor does
  internally.

Datasets:

- ``breast_cancer``: binary classification, 569 rows x 30 numerical features;
- ``digits``: 10-class classification, 1797 rows x 64 numerical features;
- ``diabetes``: regression, 442 rows x 10 numerical features;
- ``diabetes_mixed``: the unscaled diabetes frame with ``sex`` as a categorical column
  of strings, ``bmi`` replaced by a categorical BMI band (``pd.cut``), and about 5%
  missing values in ``bp``, ``s5`` and the BMI band. skattn takes this frame as it is:
  no imputation or encoding step.

Two more show skattn's other kinds of input:

- ``digits_as_sequences``: the digits split above with each 8x8 image read as a
  sequence of 8 time steps (its rows) of 8 channels (its columns), a 3-D array of
  shape (n_samples, 8, 8); skattn makes one token per step, 9 tokens per sample with
  the CLS token, instead of 65. Only skattn is fitted here: the baselines on the same
  split and the same 64 values, flattened, are the ``digits`` rows.
- ``two_inputs_synthetic``: 2,000 synthetic samples (:func:`make_two_inputs`) of a
  static table of 2 columns, saying which of two sequence channels matters, and
  sequences of 8 steps x 2 channels; the label is the sign of the chosen channel's
  mean. skattn gets ``TwoInputs(static, sequences)``, so the static tokens (and the
  CLS token) cross-attend to the sequence steps, and, as an ablation, the sequences
  alone. HistGradientBoosting and ``LogisticRegression`` (behind a
  ``StandardScaler``) get the 18 concatenated values (static, then the flattened
  sequence). The mean cross-attention of the CLS token over the sequence steps is
  printed for a few test samples and stored.

skattn settings: the estimators' defaults with ``random_state=0``: 2 blocks,
``d_token="auto"`` (64; 32 for the sequences), 4 heads, ``learning_rate=1e-3``,
``max_iter="auto"`` epochs (100; 50 for the sequences) on a cosine schedule,
``batch_size="auto"``, ``n_members="auto"`` (below 3,000 rows of a table, five
cross-fitted networks, each stopped on the fold it holds out; the sequences get one
network), ``early_stopping="auto"`` (on for those members; the single networks of
the sequence tasks train without a hold-out, below 2,000 rows, and stop when the
training loss stalls) and ``n_threads="auto"`` (one torch thread below 3,000 rows).
Warnings are left visible on purpose. Every random state in the script is 0.

The table printed shows accuracy and ROC AUC (binary only) for classification, R^2
and RMSE for regression, the wall-clock seconds of ``fit`` and ``predict``, and the
fitted ``n_iter_`` (epochs, boosting iterations for HistGradientBoosting, solver
iterations for LogisticRegression). The same numbers, with the versions of Python,
torch, scikit-learn and skattn, the date and the CPU count, are written as JSON,
together with the CLS token's mean cross-attention over the context tokens of the
two-input model (``feature_attention(X)["context"]``).

It also shows what the skattn regressor on ``diabetes_mixed`` attends to: its
``feature_importances_`` (the CLS token's attention per column, averaged over blocks,
heads and training rows) are printed and stored, and two PNG files are written next
to the JSON: ``demo_feature_importances.png``, a bar chart of them, and
``demo_attention_map.png``, the CLS token's attention to each column of the first
test row in every block and head (``skattn.plotting``; needs matplotlib).

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
# The helpers shared with the other benchmark scripts (_reporting.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from _baselines import one_hot_pipeline
from _reporting import add_output_argument, environment, format_table, timed, write_json
from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skattn import AttentionMLPClassifier, AttentionMLPRegressor, TwoInputs
from skattn.plotting import plot_attention_map, plot_feature_importances

Task = Literal["classification", "regression"]

RANDOM_STATE = 0
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "demo.json"
# Parameters given to the skattn estimators; everything else is left at its default.
SKATTN_PARAMS: dict[str, Any] = {"random_state": RANDOM_STATE}
# Score columns of the table and the JSON, in order; a task fills some of them.
SCORE_NAMES = ("accuracy", "roc_auc", "r2", "rmse")
# The synthetic two-input dataset, and the name of skattn's model on both inputs.
TWO_INPUTS_NAME = "two_inputs_synthetic"
TWO_INPUTS_MODEL = AttentionMLPClassifier.__name__
# Test samples whose cross-attention is printed.
N_ATTENTION_SAMPLES = 3
# The dataset whose skattn model's feature importances and attention are drawn.
EXPLAINED_DATASET = "diabetes_mixed"


@dataclass(frozen=True)
class Dataset:
    """A named train/test split of one table, of sequences or of two inputs.

    Attributes
    ----------
    name : str
        Short name used in the table and the JSON.
    task : {"classification", "regression"}
        What the target is.
    X_train, X_test : DataFrame, ndarray of shape (n, n_steps, n_channels) or \
TwoInputs
        Features of the training and test rows.
    y_train, y_test : Series
        Targets of the training and test rows.
    """

    name: str
    task: Task
    X_train: Any
    X_test: Any
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
    n_train, n_test : int
        Rows of the split.
    n_features : int
        Values per sample: the columns of a table, steps x channels of sequences, the
        sum of both parts' for two inputs.
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
def split(name: str, task: Task, X: Any, y: pd.Series) -> Dataset:
    """Split a dataset into fixed training and test parts (25% test).

    Parameters
    ----------
    name : str
        Name of the dataset.
    task : {"classification", "regression"}
        Classification splits are stratified on ``y``.
    X : DataFrame or TwoInputs with n_samples rows
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


def images_as_sequences(digits: Dataset) -> Dataset:
    """The digits split with each 8x8 image read as 8 steps (rows) x 8 channels.

    Parameters
    ----------
    digits : Dataset
        The digits split; its 64 columns are the pixels of an image, row by row.

    Returns
    -------
    dataset : Dataset
        ``digits_as_sequences``: the same rows, targets and split, with features of
        shape (n, 8, 8) indexed by (sample, image row, image column).
    """

    def as_sequences(X: pd.DataFrame) -> np.ndarray:
        return X.to_numpy().reshape(len(X), 8, 8)

    return Dataset(
        "digits_as_sequences",
        digits.task,
        as_sequences(digits.X_train),
        as_sequences(digits.X_test),
        digits.y_train,
        digits.y_test,
    )


def make_two_inputs(
    n_samples: int = 2000, n_steps: int = 8
) -> tuple[TwoInputs, pd.Series]:
    """Synthetic two-input data whose label needs both inputs.

    Each sample picks one of two channels at random; the static table says which
    (one-hot), the sequence has two channels of standard normal noise, and the label
    is 1 when the picked channel's mean over the steps is positive. The sequence
    alone says the label only where both channels' means have the same sign (about
    half the samples); the static table alone says nothing.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of samples.
    n_steps : int, default=8
        Time steps per sequence.

    Returns
    -------
    X : TwoInputs
        ``main``: DataFrame of shape (n_samples, 2), columns ``channel_0`` and
        ``channel_1`` (0.0 or 1.0); ``context``: ndarray of shape
        (n_samples, n_steps, 2).
    y : Series of shape (n_samples,)
        The 0/1 labels, about balanced.
    """
    rng = np.random.default_rng(RANDOM_STATE)
    channel = rng.integers(2, size=n_samples)
    static = pd.DataFrame(
        np.eye(2)[channel], columns=["channel_0", "channel_1"], dtype=float
    )
    sequences = rng.standard_normal((n_samples, n_steps, 2))
    picked_mean = sequences[np.arange(n_samples), :, channel].mean(axis=1)
    y = pd.Series((picked_mean > 0).astype(int), name="label")
    return TwoInputs(static, sequences), y


def load_datasets() -> list[Dataset]:
    """Load the demo's datasets and split them.

    Returns
    -------
    datasets : list of Dataset
        breast_cancer, digits, digits_as_sequences (the digits split as 3-D
        sequences), diabetes and diabetes_mixed as DataFrames, and
        two_inputs_synthetic as :class:`TwoInputs`.
    """
    digits = split(
        "digits", "classification", *load_digits(return_X_y=True, as_frame=True)
    )
    return [
        split(
            "breast_cancer",
            "classification",
            *load_breast_cancer(return_X_y=True, as_frame=True),
        ),
        digits,
        images_as_sequences(digits),
        split("diabetes", "regression", *load_diabetes(return_X_y=True, as_frame=True)),
        split("diabetes_mixed", "regression", *make_mixed_diabetes()),
        split(TWO_INPUTS_NAME, "classification", *make_two_inputs()),
    ]


# -- models --------------------------------------------------------------------------
def make_table_models(task: Task) -> dict[str, BaseEstimator]:
    """Unfitted skattn and baseline models for a table, keyed by display name.

    Parameters
    ----------
    task : {"classification", "regression"}
        Picks the classifier or regressor of each model family.

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

    mlp: BaseEstimator = one_hot_pipeline(mlp_cls(random_state=RANDOM_STATE))
    if not classification:
        mlp = TransformedTargetRegressor(regressor=mlp, transformer=StandardScaler())
    return {
        skattn_cls.__name__: skattn_cls(**SKATTN_PARAMS),
        hgb_cls.__name__: hgb_cls(
            categorical_features="from_dtype", random_state=RANDOM_STATE
        ),
        mlp_cls.__name__: mlp,
    }


def context_part(X: TwoInputs) -> Any:
    """The context input (here the sequences) of ``X``."""
    return X.context


def flat_features(X: TwoInputs) -> np.ndarray:
    """The main table's columns followed by the flattened context sequences."""
    main = np.asarray(X.main, dtype=float)
    return np.hstack([main, np.asarray(X.context).reshape(len(main), -1)])


def make_two_input_models() -> dict[str, BaseEstimator]:
    """Unfitted classifiers for :class:`TwoInputs`, keyed by display name.

    Returns
    -------
    models : dict of str to estimator
        skattn on both inputs (cross-attention), skattn on the sequences alone, and
        HistGradientBoosting and a scaled LogisticRegression on the flat
        concatenation of both inputs; the last three are Pipelines whose first step
        picks or flattens the inputs.
    """
    return {
        TWO_INPUTS_MODEL: AttentionMLPClassifier(**SKATTN_PARAMS),
        f"{TWO_INPUTS_MODEL} (sequences only)": make_pipeline(
            FunctionTransformer(context_part), AttentionMLPClassifier(**SKATTN_PARAMS)
        ),
        HistGradientBoostingClassifier.__name__: make_pipeline(
            FunctionTransformer(flat_features),
            HistGradientBoostingClassifier(random_state=RANDOM_STATE),
        ),
        LogisticRegression.__name__: make_pipeline(
            FunctionTransformer(flat_features),
            StandardScaler(),
            LogisticRegression(random_state=RANDOM_STATE),
        ),
    }


def make_models(data: Dataset) -> dict[str, BaseEstimator]:
    """Unfitted models for a dataset, keyed by display name.

    Parameters
    ----------
    data : Dataset
        The split; the kind of its features picks the models.

    Returns
    -------
    models : dict of str to estimator
        Tables: :func:`make_table_models`. Two inputs: :func:`make_two_input_models`.
        Sequences: skattn only, since their baselines are those of the table they
        were read from (``digits``), on the same split.
    """
    if isinstance(data.X_train, TwoInputs):
        return make_two_input_models()
    if isinstance(data.X_train, np.ndarray) and data.X_train.ndim == 3:
        skattn_cls = (
            AttentionMLPClassifier
            if data.task == "classification"
            else AttentionMLPRegressor
        )
        return {skattn_cls.__name__: skattn_cls(**SKATTN_PARAMS)}
    return make_table_models(data.task)


# -- evaluation ----------------------------------------------------------------------
def score_predictions(
    task: Task, model: BaseEstimator, X: Any, y: pd.Series, y_pred: Any
) -> dict[str, float]:
    """Test-set scores of a fitted model.

    Parameters
    ----------
    task : {"classification", "regression"}
        Chooses the metrics.
    model : estimator
        The fitted model (its ``predict_proba`` gives the binary ROC AUC).
    X : DataFrame, ndarray or TwoInputs
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
        The final estimator's ``n_iter_`` (the largest, for LogisticRegression's
        per-class array), None if it has none.
    """
    if isinstance(model, TransformedTargetRegressor):
        model = model.regressor_
    if isinstance(model, Pipeline):
        model = model[-1]
    n_iter = getattr(model, "n_iter_", None)
    return None if n_iter is None else int(np.max(n_iter))


def n_features(X: Any) -> int:
    """Values per sample of ``X``.

    Parameters
    ----------
    X : DataFrame, ndarray or TwoInputs
        Features.

    Returns
    -------
    n_features : int
        Columns of a table, steps x channels of a 3-D array of sequences, the sum
        over both parts of a :class:`TwoInputs`.
    """
    if isinstance(X, TwoInputs):
        return n_features(X.main) + n_features(X.context)
    return int(np.prod(np.shape(X)[1:]))


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
        n_features=n_features(data.X_train),
        fit_seconds=fit_seconds,
        predict_seconds=predict_seconds,
        n_iter=n_iterations(model),
        scores=score_predictions(data.task, model, data.X_test, data.y_test, y_pred),
    )


def run_all(
    datasets: list[Dataset],
) -> tuple[list[Result], dict[tuple[str, str], BaseEstimator]]:
    """Evaluate every model on every dataset, reporting progress on stderr.

    Parameters
    ----------
    datasets : list of Dataset
        The splits to evaluate on.

    Returns
    -------
    results : list of Result
        One per (dataset, model), in order.
    models : dict of (str, str) to estimator
        The fitted models, keyed by dataset and model name.
    """
    results = []
    models = {}
    for data in datasets:
        for name, model in make_models(data).items():
            print(f"fitting {name} on {data.name} ...", file=sys.stderr, flush=True)
            results.append(evaluate(name, model, data))
            models[data.name, name] = model
    return results, models


def save_explanation_plots(
    model: BaseEstimator, data: Dataset, folder: Path
) -> list[Path]:
    """Draw what a fitted skattn model attends to, as PNG files in ``folder``.

    Parameters
    ----------
    model : AttentionMLPClassifier or AttentionMLPRegressor
        Fitted on ``data``'s training table.
    data : Dataset
        Its split; the attention map is drawn for the first test row.
    folder : Path
        Where the files go (created if missing).

    Returns
    -------
    paths : list of Path
        ``demo_feature_importances.png`` (:func:`plot_feature_importances`) and
        ``demo_attention_map.png`` (:func:`plot_attention_map`).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    paths = [
        folder / "demo_feature_importances.png",
        folder / "demo_attention_map.png",
    ]
    ax = plot_feature_importances(model)
    ax.set_title(f"{data.name}: {ax.get_title()}", fontsize=9)
    ax.figure.savefig(paths[0], dpi=100, bbox_inches="tight")
    ax = plot_attention_map(model, data.X_test.iloc[[0]])
    ax.set_title(f"{data.name}, first test row: {ax.get_title()}", fontsize=9)
    ax.figure.savefig(paths[1], dpi=100, bbox_inches="tight")
    plt.close("all")
    return paths


# -- reporting -----------------------------------------------------------------------
def print_table(results: list[Result]) -> None:
    """Print the results as a plain-text table, "-" for scores that do not apply.

    Parameters
    ----------
    results : list of Result
        Rows of the table.
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
    # Text columns left-aligned, numbers right-aligned.
    print(format_table(header, rows, left={0, 1}))


def write_report(
    results: list[Result],
    cross_attention: dict[str, Any],
    feature_importances: dict[str, Any],
    total_seconds: float,
    path: Path,
) -> None:
    """Write the results, the environment and the skattn settings to ``path``.

    Parameters
    ----------
    results : list of Result
        The scores and timings.
    cross_attention : dict
        The two-input model's mean CLS cross-attention, from :func:`main`.
    feature_importances : dict
        ``feature_importances_`` of the skattn model on ``EXPLAINED_DATASET``.
    total_seconds : float
        Wall-clock seconds of the whole run.
    path : Path
        Output file; its folder is created if missing.
    """
    report = {
        "environment": environment(pandas=pd.__version__),
        "skattn_params": SKATTN_PARAMS,
        "random_state": RANDOM_STATE,
        "total_seconds": total_seconds,
        "results": [asdict(r) for r in results],
        "cross_attention": cross_attention,
        "feature_importances": feature_importances,
    }
    write_json(report, path, ensure_ascii=True)


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
    add_output_argument(parser, DEFAULT_OUTPUT)
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
    datasets = load_datasets()
    results, models = run_all(datasets)
    two_inputs = next(d for d in datasets if d.name == TWO_INPUTS_NAME)
    two_input_model = models[TWO_INPUTS_NAME, TWO_INPUTS_MODEL]
    # (n_samples, n_context_tokens): the CLS token's cross-attention, averaged over
    # blocks and heads.
    weights = two_input_model.feature_attention(two_inputs.X_test)["context"]
    explained = next(d for d in datasets if d.name == EXPLAINED_DATASET)
    plots = save_explanation_plots(
        models[EXPLAINED_DATASET, AttentionMLPRegressor.__name__],
        explained,
        args.output.parent,
    )
    total_seconds = time.perf_counter() - start

    print_table(results)
    print("\ndigits_as_sequences: same split as digits; its baselines are those rows.")
    context_tokens = list(two_input_model.token_names_["context"])
    print(
        f"{TWO_INPUTS_NAME}: CLS cross-attention over the context tokens "
        f"({context_tokens[0]} .. {context_tokens[-1]}), mean over blocks and heads:"
    )
    for i, row in enumerate(weights[:N_ATTENTION_SAMPLES]):
        print(f"  test sample {i}: {np.array2string(row, precision=3)}")
    mean_weights = weights.mean(axis=0)
    print(f"  mean of all {len(weights)}: {np.array2string(mean_weights, precision=3)}")
    importances = models[EXPLAINED_DATASET, AttentionMLPRegressor.__name__]
    ranked = pd.Series(
        importances.feature_importances_, importances.feature_names_in_
    ).sort_values(ascending=False)
    print(f"\n{EXPLAINED_DATASET}: feature_importances_ (mean CLS attention):")
    print("  " + ", ".join(f"{name} {value:.3f}" for name, value in ranked.items()))
    print("plots written to " + ", ".join(str(path) for path in plots))
    print(f"\ntotal: {total_seconds:.1f} s on {os.cpu_count()} CPUs")
    cross_attention = {
        "dataset": TWO_INPUTS_NAME,
        "model": TWO_INPUTS_MODEL,
        "context_tokens": context_tokens,
        "mean_cls_attention": mean_weights.tolist(),
        "averaged_over": "test samples, cross-attention blocks and heads",
    }
    feature_importances = {
        "dataset": EXPLAINED_DATASET,
        "model": AttentionMLPRegressor.__name__,
        "feature_importances": ranked.to_dict(),
        "plots": [path.name for path in plots],
    }
    write_report(
        results, cross_attention, feature_importances, total_seconds, args.output
    )
    print(f"results written to {args.output}")


if __name__ == "__main__":
    main()
