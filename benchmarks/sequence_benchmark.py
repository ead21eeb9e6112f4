"""Sequence benchmark: skattn on the shared sequence suite against baselines.

Trains :class:`skattn.AttentionMLPClassifier` on the sequence datasets of the shared
benchmark suite (``../shared/bench/datasets.py``, UCR/UEA archive, official
train/test splits, nothing downloaded), at its defaults (``sequence_tokenizer="auto"``,
which chooses linear or random-kernel patch tokens in each fit; the table's note says
which it chose, per seed), at the size it takes for tables (``skattn_table_size``:
``d_token=64, max_iter=100``, where ``"auto"`` takes 32 and 50 for fewer than
3,000 series) and with each of ``sequence_tokenizer="linear"`` and
``"random_kernels"``, and compares it with baselines fitted in the same run:

- ``ridge_cv``: ``RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))`` on the flattened
  series;
- ``1nn``: ``KNeighborsClassifier(n_neighbors=1)`` (Euclidean distance) on the same
  flattened series;
- ``minirocket``: aeon's ``MiniRocket`` transform, then
  ``StandardScaler(with_mean=False)`` and ``RidgeClassifierCV(alphas=np.logspace(-3,
  3, 10))``, as in the MiniRocket paper (the scaler stands in for the paper's
  ``normalize=True``, removed from scikit-learn; aeon's ``MiniRocketClassifier`` does
  the same);
- ``multirocket_hydra`` and ``quant``: aeon's ``MultiRocketHydraClassifier`` and
  ``QUANTClassifier`` at their defaults.

The aeon models are optional: without aeon their rows say "not installed".

Datasets: GunPoint (univariate, length 150), ItalyPowerDemand (univariate, length
24), BasicMotions (6 channels, length 100) and JapaneseVowels (12 channels, variable
length 7-29). The suite stores each split as a float32 array of shape
``(n_series, n_steps, n_channels)``, NaN-padded after each series' own length. The
script pads the training and test arrays of a dataset to one common ``n_steps`` (the
longer of the two) and then gives each model its own view:

- skattn gets the 3-D arrays as they are, NaN padding included;
- the flattened representation standardises each channel with the mean and standard
  deviation of the observed training values, replaces the padding by 0 and flattens
  to ``(n_series, n_steps * n_channels)``;
- the aeon models, which need equal-length input, get the raw series zero-padded to
  the common length, channels first (``(n_series, n_channels, n_steps)``).

After the suite comes ``NoisyMeanSign``, made by the script (seed 0): 300 training
and 300 test series of 64 steps of standard normal noise, labelled by the sign of
their mean, a class that lies in the level of a series rather than its shape.

Padding both splits to the longer length changes neither baseline: the ridge weights
of columns that are 0 in every training series are 0, and the extra test values add
the same amount to a test series' distance to every training series.

skattn and the aeon models are fitted once per seed (``random_state`` 0 to 4 by
default: every dataset of the suite is small); the deterministic baselines once, with
a standard deviation of 0. A model that raises is reported as an error row and the
run goes on. Before timing, skattn and the aeon models are run once on a tiny array
so that their fit times exclude the process's one-off costs (numba's compilation;
torch's first kernels and lazy imports, about 2 s of skattn's first fit).

The table printed shows, per dataset and model, the test accuracy (mean ± standard
deviation over the seeds, ``ddof=0``) and the mean wall-clock seconds of ``fit`` and
``predict``. The same numbers, the per-seed accuracies and the versions of Python,
torch, scikit-learn, skattn (and aeon), the date, the CPU count and torch's thread
count are written as JSON.

Run from the repository root (about 12 minutes on 2 CPU cores, most of it skattn)::

    python benchmarks/sequence_benchmark.py
    python benchmarks/sequence_benchmark.py --datasets GunPoint --seeds 1
    python benchmarks/sequence_benchmark.py --output /tmp/sequence.json
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
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from _reporting import (
    SHARED_BENCH,
    add_output_argument,
    environment,
    format_table,
    import_suite,
    markdown_table,
    timed,
    write_json,
)
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import RidgeClassifierCV
from sklearn.metrics import accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skattn import AttentionMLPClassifier

try:
    import aeon
    from aeon.classification.convolution_based import MultiRocketHydraClassifier
    from aeon.classification.interval_based import QUANTClassifier
    from aeon.transformations.collection.convolution_based import MiniRocket
except ImportError as exc:  # aeon is optional; numba may also refuse to import.
    aeon = MiniRocket = MultiRocketHydraClassifier = QUANTClassifier = None
    AEON_MISSING: str | None = f"not installed ({exc})"
else:
    AEON_MISSING = None

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "sequence.json"
DEFAULT_N_SEEDS = 5  # the suite's sequence datasets all have under 1,000 series
# The ridge penalties searched by RidgeClassifierCV, as in the MiniRocket paper.
RIDGE_ALPHAS = np.logspace(-3, 3, 10)
# Longest error message shown in the table; the JSON keeps the whole message.
MAX_NOTE_LENGTH = 60
# The synthetic dataset run after the suite's (see noisy_mean_sign).
SYNTHETIC_LEVEL = "NoisyMeanSign"


@dataclass(frozen=True)
class SequenceData:
    """The official train/test split of one sequence dataset.

    Attributes
    ----------
    name : str
        Name in the shared suite.
    task : {"binary", "multiclass"}
        Kind of classification.
    X_train, X_test : ndarray of shape (n_series, n_steps, n_channels)
        float32 series, NaN-padded after each series' length; both splits share
        ``n_steps``.
    y_train, y_test : ndarray of shape (n_series,)
        Class labels (strings).
    """

    name: str
    task: str
    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class ModelSpec:
    """How to build one model, and whether it can run here.

    Attributes
    ----------
    name : str
        Display name.
    make : callable
        ``make(seed)`` returns an unfitted estimator taking 3-D arrays.
    stochastic : bool
        Fitted once per seed if True, once (seed 0) otherwise.
    unavailable : str or None
        Why the model cannot run here (reported instead of scores), or None.
    """

    name: str
    make: Callable[[int], BaseEstimator]
    stochastic: bool
    unavailable: str | None = None


@dataclass
class Result:
    """Accuracy and timings of one model on one dataset, over its seeds.

    Attributes
    ----------
    dataset, model : str
        Names of the dataset and the model.
    n_train, n_test, n_steps, n_channels : int
        Shape of the split.
    seeds : list of int
        Seeds fitted (one for deterministic models); empty when the model did not run.
    accuracies : list of float
        Test accuracy per seed.
    accuracy_mean, accuracy_std : float or None
        Mean and standard deviation (``ddof=0``) of ``accuracies``.
    fit_seconds, predict_seconds : float or None
        Mean wall-clock seconds of ``fit`` on the training series and of ``predict``
        on the test series.
    tokens : list of str
        For skattn, the tokens each seed's fit made (``sequence_tokenizer_``).
    error : str or None
        Why there are no scores: "not installed (...)" or "error: ...".
    """

    dataset: str
    model: str
    n_train: int
    n_test: int
    n_steps: int
    n_channels: int
    seeds: list[int] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    accuracy_mean: float | None = None
    accuracy_std: float | None = None
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    tokens: list[str] = field(default_factory=list)
    error: str | None = None


# -- data ----------------------------------------------------------------------------
def pad_steps(X: np.ndarray, n_steps: int) -> np.ndarray:
    """NaN-pad a batch of series along the time axis.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_steps_in, n_channels)
        Series, ``n_steps_in <= n_steps``.
    n_steps : int
        Length wanted.

    Returns
    -------
    X_padded : ndarray of shape (n_series, n_steps, n_channels)
        ``X`` followed by NaN steps.
    """
    return np.pad(
        X, ((0, 0), (0, n_steps - X.shape[1]), (0, 0)), constant_values=np.nan
    )


def noisy_mean_sign(
    n_train: int = 300, n_test: int = 300, n_steps: int = 64, seed: int = 0
) -> SequenceData:
    """A synthetic task whose class lies in a series' level, not its shape.

    Each series is ``n_steps`` steps of standard normal noise; its class is the sign
    of its mean. A linear model of the values reads it; shape features that ignore
    the level (MiniRocket's kernels sum to zero) barely can.

    Parameters
    ----------
    n_train, n_test : int
        Series per split.
    n_steps : int
        Steps per series.
    seed : int
        Seed of the noise.

    Returns
    -------
    data : SequenceData
        Univariate series, labels "positive" and "negative".
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_train + n_test, n_steps, 1)).astype(np.float32)
    y = np.where(X.mean(axis=(1, 2)) > 0, "positive", "negative")
    return SequenceData(
        name=SYNTHETIC_LEVEL,
        task="binary",
        X_train=X[:n_train],
        X_test=X[n_train:],
        y_train=y[:n_train],
        y_test=y[n_train:],
    )


def load_dataset(suite: ModuleType, name: str) -> SequenceData:
    """Load one sequence dataset, both splits padded to a common length.

    Parameters
    ----------
    suite : module
        The shared ``datasets`` module.
    name : str
        Name of a sequence dataset.

    Returns
    -------
    data : SequenceData
        The official split.
    """
    if name == SYNTHETIC_LEVEL:
        return noisy_mean_sign()
    raw = suite.load(name)
    n_steps = max(raw["X_train"].shape[1], raw["X_test"].shape[1])
    return SequenceData(
        name=name,
        task=raw["task"],
        X_train=pad_steps(raw["X_train"], n_steps),
        X_test=pad_steps(raw["X_test"], n_steps),
        y_train=raw["y_train"],
        y_test=raw["y_test"],
    )


# -- models --------------------------------------------------------------------------
class ChannelStandardFlattener(TransformerMixin, BaseEstimator):
    """Standardise each channel, zero the padding and flatten the series.

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_channels,)
        Mean and standard deviation (1 where it is 0) of each channel's observed
        (non-NaN) training values.
    """

    def fit(self, X: np.ndarray, y: Any = None) -> "ChannelStandardFlattener":
        """Learn each channel's mean and standard deviation.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_steps, n_channels)
            NaN-padded training series.
        y : ignored

        Returns
        -------
        self : ChannelStandardFlattener
            Fitted transformer.
        """
        self.mean_ = np.nanmean(X, axis=(0, 1))
        scale = np.nanstd(X, axis=(0, 1))
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise, replace NaN by 0 and flatten.

        Parameters
        ----------
        X : ndarray of shape (n_series, n_steps, n_channels)
            NaN-padded series.

        Returns
        -------
        X_flat : ndarray of shape (n_series, n_steps * n_channels)
            The standardised series, 0 where they were padded.
        """
        X_scaled = np.nan_to_num((X - self.mean_) / self.scale_, nan=0.0)
        return X_scaled.reshape(len(X), -1)


def channels_first_zero_padded(X: np.ndarray) -> np.ndarray:
    """Put a batch in aeon's layout, padding with zeros instead of NaN.

    Parameters
    ----------
    X : ndarray of shape (n_series, n_steps, n_channels)
        NaN-padded series.

    Returns
    -------
    X_aeon : ndarray of shape (n_series, n_channels, n_steps)
        The same series, zero-padded.
    """
    return np.nan_to_num(X, nan=0.0).transpose(0, 2, 1)


def make_minirocket(seed: int) -> BaseEstimator:
    """MiniRocket features, scaled, into a cross-validated ridge classifier.

    Parameters
    ----------
    seed : int
        MiniRocket's ``random_state``.

    Returns
    -------
    model : Pipeline
        Unfitted; takes NaN-padded ``(n_series, n_steps, n_channels)`` arrays.
    """
    return make_pipeline(
        FunctionTransformer(channels_first_zero_padded),
        MiniRocket(random_state=seed),
        StandardScaler(with_mean=False),
        RidgeClassifierCV(alphas=RIDGE_ALPHAS),
    )


def aeon_classifier(cls: type) -> Callable[[int], BaseEstimator]:
    """A factory of aeon's classifier ``cls`` at its defaults (MultiRocket-Hydra,
    QUANT), fed aeon's layout.

    Parameters
    ----------
    cls : type
        An aeon classifier taking ``random_state``.

    Returns
    -------
    make : callable
        ``make(seed)`` returns an unfitted Pipeline that takes NaN-padded
        ``(n_series, n_steps, n_channels)`` arrays.
    """

    def make(seed: int) -> BaseEstimator:
        return make_pipeline(
            FunctionTransformer(channels_first_zero_padded), cls(random_state=seed)
        )

    return make


def warm_up_skattn() -> None:
    """Fit skattn once untimed, with each tokenizer, so that the first timed fit
    does not pay the process's one-off costs (lazy imports, torch's first
    kernels: about 2 s on GunPoint's first fit against the next)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 16, 1), dtype=np.float32)
    y = np.array([0, 1] * 8)
    for tokens in ("auto", "random_kernels"):
        AttentionMLPClassifier(
            sequence_tokenizer=tokens, max_iter=2, random_state=0
        ).fit(X, y).predict(X)


def warm_up_minirocket() -> None:
    """Compile the numba kernels of aeon's models (univariate and multivariate)
    untimed."""
    print("compiling aeon's numba kernels ...", file=sys.stderr)
    rng = np.random.default_rng(0)
    for n_channels in (1, 2):
        X = rng.standard_normal((8, 16, n_channels), dtype=np.float32)
        y = np.array([0, 1] * 4)
        for make in (
            make_minirocket,
            aeon_classifier(MultiRocketHydraClassifier),
            aeon_classifier(QUANTClassifier),
        ):
            make(0).fit(X, y).predict(X)


def model_specs() -> list[ModelSpec]:
    """The models of the benchmark, in table order.

    Returns
    -------
    specs : list of ModelSpec
        skattn at its defaults (tokens chosen per fit), at the size of tables
        (``d_token=64, max_iter=100``, the defaults before ``"auto"`` took 32 and
        50 for small sets of sequences), with linear and with random-kernel
        tokens, ridge_cv, 1nn, minirocket, multirocket_hydra and quant.
    """
    return [
        ModelSpec(
            "AttentionMLPClassifier",
            lambda seed: AttentionMLPClassifier(random_state=seed),
            stochastic=True,
        ),
        ModelSpec(
            "skattn_table_size",
            lambda seed: AttentionMLPClassifier(
                d_token=64, max_iter=100, random_state=seed
            ),
            stochastic=True,
        ),
        ModelSpec(
            "skattn_linear",
            lambda seed: AttentionMLPClassifier(
                sequence_tokenizer="linear", random_state=seed
            ),
            stochastic=True,
        ),
        ModelSpec(
            "skattn_random_kernels",
            lambda seed: AttentionMLPClassifier(
                sequence_tokenizer="random_kernels", random_state=seed
            ),
            stochastic=True,
        ),
        ModelSpec(
            "ridge_cv",
            lambda seed: make_pipeline(
                ChannelStandardFlattener(), RidgeClassifierCV(alphas=RIDGE_ALPHAS)
            ),
            stochastic=False,
        ),
        ModelSpec(
            "1nn",
            lambda seed: make_pipeline(
                ChannelStandardFlattener(), KNeighborsClassifier(n_neighbors=1)
            ),
            stochastic=False,
        ),
        ModelSpec(
            "minirocket", make_minirocket, stochastic=True, unavailable=AEON_MISSING
        ),
        ModelSpec(
            "multirocket_hydra",
            aeon_classifier(MultiRocketHydraClassifier),
            stochastic=True,
            unavailable=AEON_MISSING,
        ),
        ModelSpec(
            "quant",
            aeon_classifier(QUANTClassifier),
            stochastic=True,
            unavailable=AEON_MISSING,
        ),
    ]


# -- evaluation ----------------------------------------------------------------------
def fit_and_score(
    model: BaseEstimator, data: SequenceData
) -> tuple[float, float, float]:
    """Fit ``model`` on the training series and score it on the test series.

    Parameters
    ----------
    model : estimator
        Unfitted model, fitted in place.
    data : SequenceData
        The split to use.

    Returns
    -------
    accuracy, fit_seconds, predict_seconds : float
        Test accuracy and wall-clock seconds of ``fit`` and ``predict``.
    """
    _, fit_seconds = timed(model.fit, data.X_train, data.y_train)
    y_pred, predict_seconds = timed(model.predict, data.X_test)
    accuracy = float(accuracy_score(data.y_test, y_pred))
    return accuracy, fit_seconds, predict_seconds


def evaluate(spec: ModelSpec, data: SequenceData, n_seeds: int) -> Result:
    """Run one model on one dataset over its seeds; stop at the first error.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    data : SequenceData
        The split to use.
    n_seeds : int
        Seeds ``0 .. n_seeds - 1`` for a stochastic model; a deterministic one runs
        once.

    Returns
    -------
    result : Result
        Mean and standard deviation over the seeds, or the error.
    """
    n_train, n_steps, n_channels = data.X_train.shape
    result = Result(
        data.name, spec.name, n_train, len(data.X_test), n_steps, n_channels
    )
    if spec.unavailable is not None:
        result.error = spec.unavailable
        return result
    runs = []
    for seed in range(n_seeds if spec.stochastic else 1):
        print(f"fitting {spec.name} (seed {seed}) on {data.name} ...", file=sys.stderr)
        model = spec.make(seed)
        try:
            runs.append(fit_and_score(model, data))
        except Exception as exc:  # report and go on with the other models
            result.error = f"error: {type(exc).__name__}: {exc}"
            return result
        result.seeds.append(seed)
        tokens = getattr(model, "sequence_tokenizer_", None)
        if tokens is not None:
            result.tokens.append(tokens)
    accuracies, fit_seconds, predict_seconds = (
        list(column) for column in zip(*runs, strict=True)
    )
    result.accuracies = accuracies
    result.accuracy_mean = float(np.mean(accuracies))
    result.accuracy_std = float(np.std(accuracies))
    result.fit_seconds = float(np.mean(fit_seconds))
    result.predict_seconds = float(np.mean(predict_seconds))
    return result


def run_all(datasets: list[SequenceData], n_seeds: int) -> list[Result]:
    """Evaluate every model on every dataset, reporting progress on stderr.

    Parameters
    ----------
    datasets : list of SequenceData
        The splits to evaluate on.
    n_seeds : int
        Number of seeds of the stochastic models.

    Returns
    -------
    results : list of Result
        One per (dataset, model), in order.
    """
    specs = model_specs()
    return [evaluate(spec, data, n_seeds) for data in datasets for spec in specs]


# -- reporting -----------------------------------------------------------------------
def table_row(result: Result) -> tuple[str, ...]:
    """The cells of one result's line in the table.

    Parameters
    ----------
    result : Result
        One model on one dataset.

    Returns
    -------
    cells : tuple of str
        Dataset, model, seeds, accuracy, fit and predict seconds, and a note (the
        error, shortened; or the tokens that skattn's fits made, with their count).
    """
    if result.error is not None:
        note = result.error.splitlines()[0]
        if len(note) > MAX_NOTE_LENGTH:
            note = note[: MAX_NOTE_LENGTH - 3] + "..."
        return (result.dataset, result.model, "-", "-", "-", "-", note)
    kinds = sorted(set(result.tokens))
    note = ", ".join(f"{kind} x{result.tokens.count(kind)}" for kind in kinds)
    return (
        result.dataset,
        result.model,
        str(len(result.seeds)),
        f"{result.accuracy_mean:.4f} ± {result.accuracy_std:.4f}",
        f"{result.fit_seconds:.2f}",
        f"{result.predict_seconds:.3f}",
        note,
    )


def print_table(results: list[Result]) -> None:
    """Print the results as a plain-text table.

    Parameters
    ----------
    results : list of Result
        Rows of the table.
    """
    header = ("dataset", "model", "seeds", "accuracy", "fit [s]", "predict [s]", "note")
    rows = [table_row(r) for r in results]
    # Text columns (names and the note) left-aligned, numbers right-aligned.
    print(format_table(header, rows, left={0, 1, len(header) - 1}))


# The summary table of README and the benchmarks page: a row per dataset, a column
# per model (accuracy, then fit seconds), and skattn's fit time over MiniRocket's.
SUMMARY_DATASETS = {
    "GunPoint": "GunPoint (1 channel, 150 steps)",
    "ItalyPowerDemand": "ItalyPowerDemand (1 channel, 24 steps)",
    "BasicMotions": "BasicMotions (6 channels, 100 steps)",
    "JapaneseVowels": "JapaneseVowels (12 channels, 7-29 steps)",
    SYNTHETIC_LEVEL: "NoisyMeanSign (synthetic, 1 channel, 64 steps)",
}
_SKATTN = "AttentionMLPClassifier"
# (model, column): accuracy with its spread unless deterministic.
SUMMARY_ACCURACY = (
    (_SKATTN, "skattn"),
    ("skattn_table_size", "table size"),
    ("skattn_linear", "linear tokens"),
    ("skattn_random_kernels", "random kernels"),
    ("ridge_cv", "RidgeClassifierCV"),
    ("1nn", "1-NN"),
    ("minirocket", "MiniRocket"),
    ("multirocket_hydra", "MultiRocket-Hydra"),
    ("quant", "QUANT"),
)
SUMMARY_FIT = (
    (_SKATTN, "skattn fit s"),
    ("skattn_table_size", "table size fit s"),
    ("skattn_linear", "linear fit s"),
    ("skattn_random_kernels", "random kernels fit s"),
    ("minirocket", "MiniRocket fit s"),
)
_DETERMINISTIC = {"ridge_cv", "1nn"}


def summary_table(
    report: dict[str, Any],
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The summary table's header and rows from a report this script wrote.

    Parameters
    ----------
    report : dict
        The JSON report (``results`` of every model on the five datasets).

    Returns
    -------
    header, rows : tuple of str, list of tuple of str
        Cells as README's markdown table and the benchmarks page show them.
    """
    by = {(r["dataset"], r["model"]): r for r in report["results"]}
    header = (
        "dataset",
        "skattn",
        "tokens chosen",
        *(column for _, column in SUMMARY_ACCURACY[1:]),
        *(column for _, column in SUMMARY_FIT),
        "skattn / MiniRocket fit",
    )
    rows = []
    for name, label in SUMMARY_DATASETS.items():
        skattn = by[(name, _SKATTN)]
        tokens = skattn["tokens"]
        counts = ", ".join(
            f"{kind.replace('_', ' ')} ({tokens.count(kind)}/{len(tokens)})"
            for kind in sorted(set(tokens))
        )
        accuracies = []
        for model, _ in SUMMARY_ACCURACY:
            result = by[(name, model)]
            spread = (
                "" if model in _DETERMINISTIC else f" ± {result['accuracy_std']:.3f}"
            )
            accuracies.append(f"{result['accuracy_mean']:.3f}{spread}")
        fits = [
            f"{by[(name, m)]['fit_seconds']:.{2 if m == 'minirocket' else 1}f}"
            for m, _ in SUMMARY_FIT
        ]
        ratio = skattn["fit_seconds"] / by[(name, "minirocket")]["fit_seconds"]
        rows.append(
            (label, accuracies[0], counts, *accuracies[1:], *fits, f"{ratio:.1f}")
        )
    return header, rows


def summary_markdown(report: dict[str, Any]) -> str:
    """:func:`summary_table` as README's markdown table."""
    header, rows = summary_table(report)
    return markdown_table(header, rows, ["---"] * len(header))


def write_report(
    results: list[Result], n_seeds: int, total_seconds: float, path: Path
) -> None:
    """Write the results and the environment to ``path``.

    Parameters
    ----------
    results : list of Result
        The scores and timings.
    n_seeds : int
        Number of seeds of the stochastic models.
    total_seconds : float
        Wall-clock seconds of the whole run.
    path : Path
        Output file; its folder is created if missing.
    """
    report = {
        "environment": environment(aeon=None if aeon is None else aeon.__version__),
        "n_seeds": n_seeds,
        "ridge_alphas": RIDGE_ALPHAS.tolist(),
        "total_seconds": total_seconds,
        "results": [asdict(r) for r in results],
    }
    write_json(report, path, ensure_ascii=False)


def parse_args(
    known: Sequence[str], argv: list[str] | None = None
) -> argparse.Namespace:
    """Parse the command line.

    Parameters
    ----------
    known : sequence of str
        Names of the sequence datasets in the suite (the choices of ``--datasets``).
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    args : Namespace
        With ``datasets``, ``seeds`` and ``output``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=known,
        default=list(known),
        metavar="NAME",
        help="datasets to run, among %(choices)s (default: all)",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_N_SEEDS,
        help="seeds of the stochastic models, 0 .. SEEDS-1 (default: %(default)s)",
    )
    add_output_argument(parser, DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark: load, fit, score, print the table and write the JSON.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; None reads ``sys.argv``.
    """
    suite = import_suite()
    if suite is None:
        print(f"{SHARED_BENCH} not found: no sequence suite to run, nothing done.")
        return
    args = parse_args([*suite.names("sequence"), SYNTHETIC_LEVEL], argv)
    start = time.perf_counter()
    warm_up_skattn()
    if AEON_MISSING is None:
        warm_up_minirocket()
    datasets = [load_dataset(suite, name) for name in args.datasets]
    results = run_all(datasets, args.seeds)
    total_seconds = time.perf_counter() - start
    print_table(results)
    print(f"\ntotal: {total_seconds:.1f} s on {os.cpu_count()} CPUs")
    write_report(results, args.seeds, total_seconds, args.output)
    print(f"results written to {args.output}")
    complete = all(r.error is None for r in results) and AEON_MISSING is None
    if complete and set(args.datasets) == set(SUMMARY_DATASETS):
        # Every model of every dataset scored (aeon's included): README's table.
        report = json.loads(Path(args.output).read_text())
        print("\nREADME's summary table:\n" + summary_markdown(report))


if __name__ == "__main__":
    main()
