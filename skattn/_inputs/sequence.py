"""Sequence inputs: checks, padding, per-channel scaling, patch tokens, masking.

A set of sequences reaches the network as one float32 array ``(n, T, C)`` padded with
NaN after each sequence's end, plus the lengths ``(n,)``. Users may give a 3-D array
(NaN-padded or not), a list of ``(T_i, C)`` or ``(T_i,)`` arrays, or a 2-D array whose
columns are time steps (``input_type="sequence"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from .. import _state_checks as checks
from .._tokenizers import (
    KERNEL_LENGTH,
    N_KERNELS,
    InputTokens,
    RandomKernelFeatures,
    SequenceTokenizer,
    kernel_responses,
    kernel_weights,
)
from .base import HideMask, SingleInput
from .tokenizer_choice import choose_tokenizer, probe_scores

_MAX_AUTO_TOKENS = 16  # see docs/design.md: as accurate as 64 on the suite, 2-3x faster
# Random-kernel tokens share steps over a patch: over 2 steps that share is too coarse
# (ItalyPowerDemand 0.949 at 2 steps, 0.959 at 3 or 4; docs/design.md).
_MIN_AUTO_KERNEL_PATCH = 4
# How a patch becomes a token (the sequence_tokenizer parameter), and the tokens that
# "auto" chooses between in fit (the fitted sequence_tokenizer_).
SEQUENCE_TOKENIZERS = ("auto", "linear", "random_kernels")
_TOKENS = ("linear", "random_kernels")
# Random-kernel features: thresholds per kernel and dilation, and at most this many
# dilations (MiniRocket's exponential spacing up to the longest training sequence);
# 84 kernels x 8 dilations x 4 thresholds = 2,688 features per patch at most.
_KERNEL_THRESHOLDS = 4
_MAX_KERNEL_DILATIONS = 8
_MAX_KERNEL_CHANNELS = 9  # MiniRocket's: a kernel sums at most 9 channels
# The golden ratio's fractional part: quantile levels (j * phi + offset) mod 1 spread
# evenly over [0, 1), MiniRocket's low-discrepancy sequence.
_PHI = (math.sqrt(5.0) - 1.0) / 2.0
# The most steps (and channels) a loaded model may declare: predict pads every batch
# to the longest training sequence, so a file must not make that unbounded.
_MAX_LOADED_STEPS = 1 << 20


def _as_list(X: Any) -> list | None:
    """``X`` as a list of per-sample arrays, if it is one: a list or tuple of arrays,
    or a 1-D object array of them (the form sktime and aeon use)."""
    if isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1:
        X = list(X)
    if isinstance(X, list | tuple) and X and all(isinstance(s, np.ndarray) for s in X):
        return list(X)
    return None


def is_sequence_list(X: Any) -> bool:
    """Whether ``X`` is a collection of per-sample arrays (a table comes as a 2-D
    array, a DataFrame or a list of lists)."""
    return _as_list(X) is not None


def _as_float(values: Any, what: str) -> np.ndarray:
    if np.iscomplexobj(values):
        raise TypeError(f"{what} holds complex numbers; sequences must be real")
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{what} must hold numbers: {exc}") from exc


def _pad_list(X: list) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-sample ``(T_i, C)`` or ``(T_i,)`` arrays into ``(n, T, C)`` with NaN
    after each; the lengths are the arrays' own."""
    sequences = [_as_float(s, f"sequence {i}") for i, s in enumerate(X)]
    sequences = [s[:, None] if s.ndim == 1 else s for s in sequences]
    for i, s in enumerate(sequences):
        if s.ndim != 2:
            raise ValueError(
                f"sequence {i} has shape {s.shape}; each sequence must be "
                "(n_steps,) or (n_steps, n_channels)"
            )
    channels = sorted({s.shape[1] for s in sequences})
    if len(channels) > 1:
        raise ValueError(
            f"all sequences need the same number of channels; got {channels}"
        )
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    values = np.full((len(sequences), max(lengths), channels[0]), np.nan)
    for i, s in enumerate(sequences):
        values[i, : len(s)] = s
    return values, lengths


def _observed_lengths(values: np.ndarray) -> np.ndarray:
    """One past each sequence's last step with any observed channel (0 if none)."""
    if values.shape[1] == 0:
        return np.zeros(len(values), dtype=np.int64)
    observed = np.logical_not(np.isnan(values).all(axis=2))  # (n, T)
    last = values.shape[1] - np.argmax(observed[:, ::-1], axis=1)
    return np.where(observed.any(axis=1), last, 0).astype(np.int64)


class Sequences(NamedTuple):
    """Checked sequences: ``values`` (n, T, C) float64, NaN-padded after each
    sequence's end, and ``lengths`` (n,) int64."""

    values: np.ndarray
    lengths: np.ndarray


def check_sequences(X: Any, *, steps_are_columns: bool) -> Sequences:
    """Return the checked :class:`Sequences` of ``X``, or raise.

    A list of arrays gives each sequence's length explicitly. In a 3-D array (or a
    2-D array of steps, with ``steps_are_columns``) a sequence ends after its last
    step with any observed channel: trailing all-NaN steps are padding, and NaN
    before the end is a missing value, kept as NaN.
    """
    as_list = _as_list(X)
    if as_list is not None:
        values, lengths = _pad_list(as_list)
    else:
        values = _as_float(X, "X")
        if steps_are_columns and values.ndim == 2:
            values = values[:, :, None]  # (n, T) -> (n, T, 1)
        if values.ndim != 3:
            raise ValueError(
                "sequence input must be a 3-D array (n_samples, n_steps, n_channels), "
                "a list of (n_steps, n_channels) arrays, or a 2-D array of steps with "
                f"input_type='sequence'; got an array of shape {values.shape}"
            )
        lengths = _observed_lengths(values)
    if values.shape[0] == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={values.shape}) while a minimum of "
            "1 is required."
        )
    if values.shape[2] == 0:
        raise ValueError(
            f"sequences need at least one channel; got shape {values.shape}"
        )
    if np.isinf(values).any():
        raise ValueError(
            "Input X contains infinity; sequences may hold NaN for missing values "
            "but must otherwise be finite."
        )
    # A sequence without one observed value is refused whichever way it comes: in a
    # 3-D array its all-NaN steps are padding (length 0); in a list, all missing.
    observed = ~np.isnan(values).all(axis=2)  # (n, T)
    empty = np.flatnonzero((lengths == 0) | ~observed.any(axis=1))
    if len(empty):
        raise ValueError(
            f"sequences {empty[:10].tolist()} have length 0 (no observed step); every "
            "sequence needs at least one"
        )
    return Sequences(values, lengths)


def _channel_mean_and_scale(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's mean and standard deviation (1 where it is 0) over the observed
    (not NaN) values of ``flat`` (n, C); 0 and 1 for a channel never observed.

    Values near the top of float64 (1e200) would square to inf: then the deviations
    are divided by their largest first, so a channel whose deviations from its mean
    are finite gets a finite scale (a saved model holding an infinite scale could not
    be loaded); one whose range itself overflows (1.7e308 and -1.7e308) is an error."""
    observed = ~np.isnan(flat)
    counts = np.maximum(observed.sum(axis=0), 1)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = np.nansum(flat, axis=0) / counts
        if not np.isfinite(mean).all():  # the sum overflowed: add x / n instead
            mean = np.nansum(flat / counts, axis=0)
        centred = np.where(observed, flat - mean, 0.0)
        scale = np.sqrt((centred**2).sum(axis=0) / counts)
        if not np.isfinite(scale).all():
            peak = np.abs(centred).max(axis=0)
            peak = np.where(peak > 0, peak, 1.0)
            scale = peak * np.sqrt(((centred / peak) ** 2).sum(axis=0) / counts)
    if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
        raise ValueError(
            "the sequences' values are too far apart to standardise in float64 (a "
            "channel's spread overflows); rescale them first"
        )
    return mean, np.where(scale > 0, scale, 1.0)


def random_kernel_state(
    values: np.ndarray,
    lengths: np.ndarray,
    rng: np.random.Generator,
    *,
    mean: np.ndarray | float = 0.0,
    scale: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose the dilations, channels and thresholds of the random-kernel features,
    as MiniRocket does (Dempster et al., 2021), from scaled training series.

    Dilations are ``2**e`` for up to 8 exponents spread evenly from 0 to
    ``log2((longest - 1) / 8)``, so that the widest kernel spans the longest
    sequence. Each kernel of each dilation reads the sum of ``floor(2**u)``
    channels, ``u`` uniform in ``[0, log2(min(C, 9) + 1))`` (MiniRocket's
    multivariate rule; one channel for univariate series). Its thresholds are
    quantiles of its responses to one random training series, at levels
    ``(j * phi + offset) mod 1``.

    Parameters
    ----------
    values : ndarray of shape (n, T, C)
        Series, NaN where missing or after a series' end.
    lengths : ndarray of shape (n,)
        Length of each series.
    rng : numpy.random.Generator
        Source of the random choices.
    mean, scale : ndarray of shape (C,) or float, default=0.0 and 1.0
        The channels' scaling, applied to the series drawn (so that the
        thresholds are on the scale the network sees).

    Returns
    -------
    dilations : ndarray of shape (n_dilations,), int64
    channels : ndarray of shape (n_dilations, 84, C), bool
    thresholds : ndarray of shape (n_dilations, 84, 4), float32
    """
    n_series, _, n_channels = values.shape
    top = math.log2(max((int(lengths.max()) - 1) / (KERNEL_LENGTH - 1), 1.0))
    exponents = np.linspace(0.0, top, _MAX_KERNEL_DILATIONS)
    dilations = np.unique(np.floor(2.0**exponents).astype(np.int64))
    channels = np.zeros((len(dilations), N_KERNELS, n_channels), dtype=bool)
    most = math.log2(min(n_channels, _MAX_KERNEL_CHANNELS) + 1)
    for d in range(len(dilations)):
        for k in range(N_KERNELS):
            count = min(n_channels, int(2.0 ** rng.uniform(0.0, most)))
            channels[d, k, rng.choice(n_channels, size=count, replace=False)] = True
    thresholds = np.zeros((len(dilations), N_KERNELS, _KERNEL_THRESHOLDS), np.float32)
    for d, dilation in enumerate(dilations):
        series = rng.integers(n_series, size=N_KERNELS)  # one per kernel
        chosen = np.nan_to_num((values[series] - mean) / scale, nan=0.0)  # (K, T, C)
        x = torch.as_tensor(chosen.transpose(0, 2, 1), dtype=torch.float32)
        x = x.reshape(1, N_KERNELS * n_channels, -1)  # (1, K * C, T)
        weight = torch.as_tensor(kernel_weights(channels[d]))  # (K, C, 9)
        with torch.no_grad():  # kernel k on series k: one group each
            grouped = kernel_responses(x, weight, int(dilation), groups=N_KERNELS)
        responses = grouped[0].numpy()  # (K, T)
        offsets = rng.random(N_KERNELS)
        for k in range(N_KERNELS):
            levels = (np.arange(1, _KERNEL_THRESHOLDS + 1) * _PHI + offsets[k]) % 1.0
            observed = responses[k, : lengths[series[k]]]
            thresholds[d, k] = np.quantile(observed, levels)
    return dilations, channels, thresholds


def _kernel_features(
    dilations: np.ndarray, channels: np.ndarray, thresholds: np.ndarray
) -> RandomKernelFeatures:
    return RandomKernelFeatures(
        dilations=dilations.tolist(), channels=channels, thresholds=thresholds
    )


class SequenceInput(SingleInput):
    """Learn per-channel scaling, the patch size and (for random-kernel tokens) the
    kernels' dilations, channels and thresholds for a set of sequences.

    Parameters
    ----------
    patch_size : int or "auto"
        Steps per token. "auto" keeps the longest training sequence within 16 tokens
        (and, with random kernels, patches of at least 4 steps).
    steps_are_columns : bool
        Read a 2-D array as univariate sequences, one column per step.
    sequence_tokenizer : {"auto", "random_kernels", "linear"}, default="linear"
        What a token is made of: the patch's values projected, plus (with
        "random_kernels") its :class:`~skattn._tokenizers.RandomKernelFeatures`.
        "auto": linear after :meth:`fit`; :meth:`choose_tokens` may then take
        the kernels.
    random_state : int, default=0
        Seed of the kernels' random choices and of the probe that chooses.
    name, prefix : str
        See :class:`~skattn._inputs.base.SingleInput`.

    Attributes
    ----------
    sequence_tokenizer_ : {"linear", "random_kernels"}
        The tokens made (inputs fitted before "auto" existed lack it: they made
        ``sequence_tokenizer``'s).
    tokenizer_scores_ : dict or None
        With "auto", after :meth:`choose_tokens`: the probe's scores that chose
        (see :func:`~skattn._inputs.tokenizer_choice.probe_scores`), None when
        the probe could not run. Inputs fitted before it was kept lack it.
    """

    kind = "sequence"
    # What an input unpickled or loaded from before random kernels holds.
    sequence_tokenizer = "linear"
    random_state = 0

    def __init__(
        self,
        *,
        patch_size: int | str,
        steps_are_columns: bool,
        sequence_tokenizer: str = "linear",
        random_state: int = 0,
        name: str = "X",
        prefix: str = "",
    ) -> None:
        super().__init__(name=name, prefix=prefix)
        self.patch_size = patch_size
        self.steps_are_columns = steps_are_columns
        self.sequence_tokenizer = sequence_tokenizer
        self.random_state = random_state

    @classmethod
    def recognises(cls, X: Any) -> bool:
        """3-D arrays and collections of per-sample arrays."""
        return is_sequence_list(X) or getattr(X, "ndim", None) == 3

    @classmethod
    def from_parameters(
        cls, params: Mapping[str, Any], *, seed: int, name: str, prefix: str
    ) -> SequenceInput:
        categorical_features = params["categorical_features"]
        if not (
            categorical_features is None
            or (
                isinstance(categorical_features, str) and categorical_features == "auto"
            )
        ):
            raise ValueError(
                "categorical_features applies to tables, but X is sequence data; "
                f"leave it 'auto' (got {categorical_features!r})"
            )
        return cls(
            patch_size=params["patch_size"],
            steps_are_columns=params["input_type"] == "sequence",
            sequence_tokenizer=params["sequence_tokenizer"],
            random_state=seed,
            name=name,
            prefix=prefix,
        )

    @property
    def keys(self) -> tuple[str, str]:
        return (self.prefix + "x_seq", self.prefix + "lengths")

    def check(self, X: Any, estimator: object) -> Sequences:
        return check_sequences(X, steps_are_columns=self.steps_are_columns)

    def fit(self, X: Sequences) -> SequenceInput:
        values, lengths = X
        self.n_channels_ = values.shape[2]
        self.max_length_ = int(lengths.max())
        self.mean_, self.scale_ = _channel_mean_and_scale(
            values.reshape(-1, self.n_channels_)
        )
        tokens = self.sequence_tokenizer
        self._fit_tokens(X, "linear" if tokens == "auto" else tokens)
        return self

    def choose_tokens(
        self, X: Sequences, y: np.ndarray, weight: np.ndarray | None = None
    ) -> None:
        """With ``sequence_tokenizer="auto"``, take random-kernel tokens when a
        ridge probe on their features beats one on the raw values
        (:func:`~skattn._inputs.tokenizer_choice.probe_scores`, weighted by the
        training ``weight``); the kernels are then those ``"random_kernels"``
        would have drawn."""
        if self.sequence_tokenizer != "auto":
            return
        values, lengths = X
        state = random_kernel_state(
            values,
            lengths,
            np.random.default_rng(self.random_state),
            mean=self.mean_,
            scale=self.scale_,
        )
        scores = probe_scores(
            values,
            lengths,
            y,
            kernels=_kernel_features(*state),
            mean=self.mean_,
            scale=self.scale_,
            seed=self.random_state,
            weight=weight,
        )
        # Kept, so that the fitted model can say why it took the tokens it took.
        self.tokenizer_scores_ = None if scores is None else dict(scores)
        if choose_tokenizer(scores) == "random_kernels":
            self._fit_tokens(X, "random_kernels", state)

    def _fit_tokens(
        self,
        X: Sequences,
        tokens: str,
        kernel_state: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Set :attr:`sequence_tokenizer_`, the patch size and the kernels' state
        (``kernel_state`` when given, else drawn from ``random_state``)."""
        self.sequence_tokenizer_ = tokens
        if self.patch_size == "auto":
            smallest = _MIN_AUTO_KERNEL_PATCH if tokens == "random_kernels" else 1
            self.patch_size_ = max(
                smallest, math.ceil(self.max_length_ / _MAX_AUTO_TOKENS)
            )
        else:
            self.patch_size_ = int(self.patch_size)
        if tokens == "random_kernels":
            if kernel_state is None:
                values, lengths = X
                rng = np.random.default_rng(self.random_state)
                kernel_state = random_kernel_state(
                    values, lengths, rng, mean=self.mean_, scale=self.scale_
                )
            (
                self.kernel_dilations_,
                self.kernel_channels_,
                self.kernel_thresholds_,
            ) = kernel_state

    @property
    def tokens(self) -> str:
        """The tokens made: :attr:`sequence_tokenizer_`, or for an input fitted
        before "auto" existed, ``sequence_tokenizer``."""
        return vars(self).get("sequence_tokenizer_", self.sequence_tokenizer)

    def check_state(self) -> None:
        super().check_state()
        checks.attribute(self, "steps_are_columns", bool)
        n_channels = checks.integer(self, "n_channels_", 1, _MAX_LOADED_STEPS)
        checks.integer(self, "max_length_", 1, _MAX_LOADED_STEPS)
        checks.integer(self, "patch_size_", 1, _MAX_LOADED_STEPS)
        checks.array(self, "mean_", kinds="f", length=n_channels)
        checks.array(self, "scale_", kinds="f", length=n_channels, positive=True)
        if "sequence_tokenizer" in vars(self):  # else from before random kernels
            checks.choice(self, "sequence_tokenizer", SEQUENCE_TOKENIZERS)
        if "sequence_tokenizer_" in vars(self):  # else from before "auto"
            tokens = checks.choice(self, "sequence_tokenizer_", _TOKENS)
            if self.sequence_tokenizer not in ("auto", tokens):
                raise checks.state_error(
                    self, "sequence_tokenizer_", f"is {tokens!r}, but "
                    f"sequence_tokenizer is {self.sequence_tokenizer!r}"
                )  # fmt: skip
        elif self.sequence_tokenizer == "auto":
            raise checks.state_error(self, "sequence_tokenizer_", "is missing")
        if "tokenizer_scores_" in vars(self):  # else no probe, or from before
            self._check_tokenizer_scores()
        if self.tokens == "random_kernels":
            self._check_kernel_state(n_channels)

    def _check_tokenizer_scores(self) -> None:
        """The probe's scores, as :meth:`choose_tokens` keeps them: set only by
        ``sequence_tokenizer="auto"``; None (no probe could run: linear tokens) or
        the three floats of :func:`~skattn._inputs.tokenizer_choice.probe_scores`
        (scores at most 1, a standard error not negative; NaN allowed), which
        choose the tokens made."""
        scores = self.tokenizer_scores_
        if self.sequence_tokenizer != "auto":
            raise checks.state_error(
                self, "tokenizer_scores_", "is set, but sequence_tokenizer is "
                f"{self.sequence_tokenizer!r} (only 'auto' runs the probe)"
            )  # fmt: skip
        keys = {"linear", "random_kernels", "standard_error"}
        if scores is not None and (
            not isinstance(scores, dict)
            or set(scores) != keys
            or not all(type(v) is float for v in scores.values())
        ):
            got = sorted(scores) if isinstance(scores, dict) else type(scores).__name__
            raise checks.state_error(
                self, "tokenizer_scores_", f"is not None or a dict of floats keyed "
                f"{sorted(keys)} (got {got})"
            )  # fmt: skip
        if scores is not None and (
            scores["linear"] > 1
            or scores["random_kernels"] > 1
            or scores["standard_error"] < 0
        ):
            raise checks.state_error(
                self, "tokenizer_scores_", f"holds {scores}: a score above 1 or a "
                "negative standard error"
            )  # fmt: skip
        chosen = choose_tokenizer(scores)
        if chosen != self.tokens:
            raise checks.state_error(
                self, "tokenizer_scores_", f"chose {chosen!r} tokens, but the tokens "
                f"are {self.tokens!r}"
            )  # fmt: skip

    def _check_kernel_state(self, n_channels: int) -> None:
        dilations = checks.array(self, "kernel_dilations_", kinds="i")
        # fit spreads them from 1 until a kernel spans the longest sequence; a wider
        # one would only pad every series with zeros (a crafted file's memory bomb).
        widest = max(1, (self.max_length_ - 1) // (KERNEL_LENGTH - 1))
        if (
            not 1 <= len(dilations) <= _MAX_KERNEL_DILATIONS
            or not ((dilations >= 1) & (dilations <= widest)).all()
            or not (np.diff(dilations.astype(np.int64)) > 0).all()
        ):
            raise checks.state_error(
                self, "kernel_dilations_", f"are not 1 to {_MAX_KERNEL_DILATIONS} "
                f"increasing dilations in [1, {widest}]"
            )  # fmt: skip
        shape = (len(dilations), N_KERNELS)
        channels = checks.array(
            self, "kernel_channels_", kinds="b", shape=(*shape, n_channels)
        )
        read = channels.sum(axis=-1)
        if not ((read >= 1) & (read <= _MAX_KERNEL_CHANNELS)).all():
            raise checks.state_error(
                self, "kernel_channels_", "give a kernel no channel or more than "
                f"{_MAX_KERNEL_CHANNELS}"
            )  # fmt: skip
        checks.array(
            self, "kernel_thresholds_", kinds="f", shape=(*shape, _KERNEL_THRESHOLDS)
        )

    def transform(self, X: Sequences) -> dict[str, np.ndarray]:
        values, lengths = X
        if values.shape[2] != self.n_channels_:
            raise ValueError(
                f"{self.name} has {values.shape[2]} channels, but the sequences seen "
                f"in fit had {self.n_channels_}"
            )
        if values.shape[1] < self.max_length_:
            # At least as many steps as the longest training sequence: token-level
            # outputs (attention maps, per-token embeddings) then have the same width
            # for every batch, matching token_names_; padding is masked, so
            # predictions do not change.
            extra = np.full(
                (len(values), self.max_length_ - values.shape[1], self.n_channels_),
                np.nan,
            )
            values = np.concatenate([values, extra], axis=1)
        scaled = ((values - self.mean_) / self.scale_).astype(np.float32)
        x_seq, x_lengths = self.keys
        return {x_seq: scaled, x_lengths: lengths}

    @property
    def n_features(self) -> int:
        return self.n_channels_

    def categorical_mask(self) -> np.ndarray:
        return np.zeros(self.n_channels_, dtype=bool)

    def token_names(self) -> list[str]:
        p = self.patch_size_
        n_tokens = -(-self.max_length_ // p)
        if p == 1:
            return [f"step {i}" for i in range(n_tokens)]
        return [f"steps {i * p}-{i * p + p - 1}" for i in range(n_tokens)]

    def tokenizer(self, d_token: int) -> InputTokens:
        kernels = None
        if self.tokens == "random_kernels":
            kernels = _kernel_features(
                self.kernel_dilations_, self.kernel_channels_, self.kernel_thresholds_
            )
        tokenizer = SequenceTokenizer(
            n_channels=self.n_channels_,
            patch_size=self.patch_size_,
            d_token=d_token,
            kernels=kernels,
        )
        return InputTokens(tokenizer, self.keys)

    def attention_to_features(self, attention: np.ndarray) -> np.ndarray:
        """(n, n_tokens * patch_size): each patch's weight shared evenly by its
        steps, so that a row still sums to one."""
        return np.repeat(attention / self.patch_size_, self.patch_size_, axis=1)

    # -- self-supervision: every value of the padded sequence, masked by patches ----
    def reconstruction_layout(self) -> tuple[int, list[int]]:
        return self.max_length_ * self.n_channels_, []

    def reconstruction_values(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        values = arrays[self.keys[0]]  # (n, T, C), T = the longest training sequence
        return values.reshape(len(values), -1).astype(np.float32)

    def hide(self, inputs: dict[str, Tensor], mask: HideMask) -> dict[str, Tensor]:
        """Whole patches of steps become NaN, as missing values do."""
        key = self.keys[0]
        x_seq = inputs[key]  # (B, T, C)
        batch, n_steps, _ = x_seq.shape
        n_patches = -(-n_steps // self.patch_size_)
        hidden = mask((batch, n_patches), x_seq.device)  # (B, P)
        steps = hidden.repeat_interleave(self.patch_size_, dim=1)[:, :n_steps]
        return {**inputs, key: x_seq.masked_fill(steps[..., None], float("nan"))}
