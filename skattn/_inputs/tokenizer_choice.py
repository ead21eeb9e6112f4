"""Choose a sequence input's tokens in ``fit`` (``sequence_tokenizer="auto"``).

Random-kernel features (MiniRocket's) carry the shape of a series at any position
and scale, but not its level: their kernels sum to zero. Where the class lies in
the shape (GunPoint) they lift the network by 15 accuracy points; where it lies in
the level (a noisy series' mean) they cost it 15 (docs/design.md, "Choosing the
tokens"). A linear probe tells the two apart in a second: cross-validated ridge
models on the series' whole-length kernel features and on their raw values, the
pair MiniRocket's and the flattened ridge baseline of the sequence benchmark; the
kernels are chosen when they score higher by more than 1.5 standard errors of the
difference (paired over the series' out-of-fold predictions). Unequal training
weights (``sample_weight``, ``class_weight``) weight the ridge fits and the scores,
as they weight the network's loss.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn import config_context
from sklearn.linear_model import RidgeClassifierCV, RidgeCV
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._tokenizers import RandomKernelFeatures

# The ridge penalties searched, as in the MiniRocket paper (and the benchmark's ridge).
_ALPHAS = np.logspace(-3, 3, 10)
_MAX_FOLDS = 5
# The probe's series at most: enough to rank two linear models; fewer for long
# series, so that they hold at most 2**16 steps in all (the kernels' features cost
# about 20 us per step on one core: 1.3 s), but never fewer than 32 series.
_MAX_PROBE_SERIES = 500
_MIN_PROBE_SERIES = 32
_MAX_PROBE_STEPS = 1 << 16
_MAX_BYTE_COUNT = 255  # the most steps of a patch that the kernels count in bytes
# The kernels must win by this many standard errors of the difference (docs/design.md:
# 1.29 on the demo's two-input task, where they cost the network 6 points; 1.67 to 5.4
# where they helped).
_MIN_STANDARD_ERRORS = 1.5


def probe_scores(
    values: np.ndarray,
    lengths: np.ndarray,
    y: np.ndarray,
    *,
    kernels: RandomKernelFeatures,
    mean: np.ndarray,
    scale: np.ndarray,
    seed: int,
    weight: np.ndarray | None = None,
) -> dict[str, float] | None:
    """Cross-validated scores of ridge models on raw values and on kernel features.

    Parameters
    ----------
    values : ndarray of shape (n, T, C)
        Training series, NaN where missing or after a series' end.
    lengths : ndarray of shape (n,)
        Length of each series.
    y : ndarray of shape (n,) or (n, n_outputs)
        Encoded target: 1-D integers are class indices, scored by accuracy;
        anything else is scored by R2 (uniform over outputs).
    kernels : RandomKernelFeatures
        The fitted kernels; each series is pooled as one patch of its whole length.
    mean, scale : ndarray of shape (C,)
        The channels' scaling, as the network sees the series.
    seed : int
        Seed of the subsample (at most 500 series, fewer when they are long: 2**16
        steps in all, but at least 32 series) and of the folds.
    weight : ndarray of shape (n,), optional
        Training weights (sample times class weights). Unless all equal, they
        weight the ridge fits, each series' share of the scores and of the
        standard error; equal weights (or None) give the unweighted probe.

    Returns
    -------
    scores : dict or None
        Out-of-fold accuracy (or R2) over the probe's series, keyed ``"linear"``
        and ``"random_kernels"``, and ``"standard_error"``, that of their
        difference, paired over the series; None when the target leaves no two
        folds to compare on (a class with one row, fewer than four rows, no two
        series of positive weight).
    """
    rng = np.random.default_rng(seed)
    # Rows of no weight count for neither fit nor score: the probe of the others.
    rows = np.arange(len(y)) if weight is None else np.flatnonzero(weight > 0)
    longest = values.shape[1]
    most = min(_MAX_PROBE_SERIES, max(_MIN_PROBE_SERIES, _MAX_PROBE_STEPS // longest))
    if len(rows) > most:
        rows = rows[np.sort(rng.choice(len(rows), most, replace=False))]
    if len(rows) < len(y):  # one copy of the probe's rows, never of the whole set
        values, lengths, y = values[rows], lengths[rows], y[rows]
    if weight is not None:
        weight = weight[rows]
        weight = None if np.all(weight == weight[0]) else weight
    n_series, n_steps, _ = values.shape
    fold_seed = int(rng.integers(2**31))
    folds: KFold | StratifiedKFold
    model: RidgeClassifierCV | RidgeCV
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        counts = np.bincount(y)
        counts = counts[counts > 0]
        n_folds = min(_MAX_FOLDS, int(counts.min()))
        if len(counts) < 2 or n_folds < 2:  # one class, or a class of one row
            return None
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=fold_seed)
        model = RidgeClassifierCV(alphas=_ALPHAS)
    else:
        n_folds = min(_MAX_FOLDS, n_series // 2)
        if n_folds < 2:
            return None
        folds = KFold(n_folds, shuffle=True, random_state=fold_seed)
        model = RidgeCV(alphas=_ALPHAS)
    scaled = ((values - mean) / scale).astype(np.float32)
    values = np.nan_to_num(scaled, nan=0.0)  # (n, T, C)
    candidates = {
        "linear": values.reshape(n_series, -1),
        "random_kernels": whole_series_features(kernels, values, lengths),
    }
    pipeline = make_pipeline(StandardScaler(), model)
    params: dict[str, np.ndarray] = {}
    if weight is not None:
        params = {f"{pipeline.steps[-1][0]}__sample_weight": weight}
    # The probe's own warnings (an ill-conditioned ridge) are not the user's to act
    # on; a score that comes out NaN keeps the linear tokens. The weights go to the
    # ridge step by name, which metadata routing, if the user turned it on, would
    # refuse without a request: the probe is skattn's own, so routing is off in it.
    with warnings.catch_warnings(), config_context(enable_metadata_routing=False):
        warnings.simplefilter("ignore")
        gains = {
            name: _row_gains(
                cross_val_predict(pipeline, X, y, cv=folds, params=params), y, weight
            )
            for name, X in candidates.items()
        }
    if weight is None:
        difference = gains["random_kernels"] - gains["linear"]  # (n,)
        return {
            "linear": float(gains["linear"].mean()),
            "random_kernels": float(gains["random_kernels"].mean()),
            "standard_error": float(difference.std(ddof=1) / np.sqrt(n_series)),
        }
    return _weighted_scores(gains, weight)


def _weighted_scores(
    gains: dict[str, np.ndarray], weight: np.ndarray
) -> dict[str, float]:
    """The scores as weighted means of the rows' gains, and the standard error of
    their weighted mean difference: sqrt(n / (n - 1) * sum(w^2 (d - mean)^2)) /
    sum(w), which equal weights make the unweighted std(ddof=1) / sqrt(n)."""
    n_series = len(weight)
    total = weight.sum()
    difference = gains["random_kernels"] - gains["linear"]  # (n,)
    mean_difference = (weight * difference).sum() / total
    spread = (weight**2 * (difference - mean_difference) ** 2).sum()
    return {
        "linear": float((weight * gains["linear"]).sum() / total),
        "random_kernels": float((weight * gains["random_kernels"]).sum() / total),
        "standard_error": float(np.sqrt(n_series / (n_series - 1) * spread) / total),
    }


def _row_gains(
    predicted: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Each row's share of the score, so that their (``weight``-ed) mean is the
    score: 1 or 0 for a right or wrong class (accuracy); for a float target, minus
    the row's squared error over the mean squared deviation of ``y``, plus one (R2
    pooled over the outputs; mean and deviation weighted too)."""
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        return (predicted == y).astype(np.float64)
    # A ridge fitted on a one-column y may predict a 1-D array: compare like shapes.
    predicted = predicted.reshape(y.shape).astype(np.float64)
    errors = ((predicted - y) ** 2).reshape(len(y), -1).sum(axis=1)
    centre = np.average(y, axis=0, weights=weight)  # (without weights: the mean)
    deviations = ((y - centre) ** 2).reshape(len(y), -1).sum(axis=1)
    spread = np.average(deviations, weights=weight)
    return 1.0 - errors / max(float(spread), np.finfo(np.float64).tiny)


def whole_series_features(
    kernels: RandomKernelFeatures, values: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """The kernels' features (n, Fk) of each series ``values`` (n, T, C) over its
    whole length: the step-weighted mean of their features over equal blocks of
    at most 255 steps, which the kernels count in bytes (a long series in one
    patch would be counted in int32, several times slower)."""
    n_series, n_steps, _ = values.shape
    n_blocks = -(-n_steps // _MAX_BYTE_COUNT)
    block = -(-n_steps // n_blocks)
    padded = np.zeros((n_series, n_blocks * block, values.shape[2]), np.float32)
    padded[:, :n_steps] = values
    steps = torch.arange(n_blocks * block)
    observed = steps[None, :] < torch.as_tensor(lengths)[:, None]  # (n, T')
    shares = kernels(torch.as_tensor(padded), observed, block)  # (n, blocks, Fk)
    counts = observed.reshape(n_series, n_blocks, block).sum(-1).float()
    weights = counts / counts.sum(-1, keepdim=True).clamp_min(1.0)  # (n, blocks)
    return torch.einsum("npf,np->nf", shares, weights).numpy()


def choose_tokenizer(scores: dict[str, float] | None) -> str:
    """``"random_kernels"`` when their probe scored higher by more than 1.5 standard
    errors of the difference, else ``"linear"``: the cheaper tokens, kept on a tie
    within the noise (two representations that both miss the signal differ by
    chance), when the probe could not run, or when a score is NaN."""
    margin = _MIN_STANDARD_ERRORS * scores["standard_error"] if scores else 0.0
    if scores is not None and scores["random_kernels"] - scores["linear"] > margin:
        return "random_kernels"
    return "linear"
