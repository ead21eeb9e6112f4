"""The predict path of a fitted estimator as a PyTorch module that ``torch.onnx``
can trace: raw numbers and category codes in, probabilities, values or embeddings
out.

:mod:`skattn._onnx` exports it and adds what PyTorch cannot express (string inputs,
string labels). Everything here repeats, with tensor operations, what the fitted
encoders do with numpy and scikit-learn, and the tests hold the two to 1e-5:

- :class:`QuantileNormal` is ``QuantileTransformer(output_distribution="normal")``'s
  ``transform``: the same two-sided interpolation, bounds and clipping, and the
  normal quantile function by Acklam's rational approximation (relative error below
  1.2e-9), since ONNX has no inverse error function;
- :class:`TableNumbers` is :meth:`TabularEncoder._scaled` (pre-scaling, scaler,
  columns never observed in fit);
- :class:`SequenceValues` is :meth:`SequenceInput.transform` and the sequence
  lengths of :func:`check_sequences` (a sequence ends after its last step with an
  observed value);
- the heads are the targets' ``probabilities`` / ``decode`` / ``quantile_values``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import stats
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from torch import Tensor, nn

from ._inputs import SequenceInput, SingleInput, TableInput
from ._inputs.table_encoder import TabularEncoder
from ._members import MemberEnsemble
from ._network import AttentionMLPNetwork
from ._targets import ClassificationTarget, RegressionTarget

# scikit-learn's QuantileTransformer maps values within this (absolute) distance of
# a column's smallest or largest quantile to that bound
# (sklearn.preprocessing._data.BOUNDS_THRESHOLD).
_BOUNDS_THRESHOLD = 1e-7
_SMALLEST_PROBABILITY = _BOUNDS_THRESHOLD - np.spacing(1)

# Acklam's coefficients for the normal quantile function: a rational function of
# p - 1/2 in the centre, of sqrt(-2 log p) in the tails.
_CENTRAL_NUMERATOR = (-3.969683028665376e01, 2.209460984245205e02,
                      -2.759285104469687e02, 1.383577518672690e02,
                      -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
_CENTRAL_DENOMINATOR = (-5.447609879822406e01, 1.615858368580409e02,
                        -1.556989798598866e02, 6.680131188771972e01,
                        -1.328068155288572e01, 1.0)  # fmt: skip
_TAIL_NUMERATOR = (-7.784894002430293e-03, -3.223964580411365e-01,
                   -2.400758277161838e00, -2.549732539343734e00,
                   4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
_TAIL_DENOMINATOR = (7.784695709041462e-03, 3.224671290700398e-01,
                     2.445134137142996e00, 3.754408661907416e00, 1.0)  # fmt: skip
_TAIL_BELOW = 0.02425


def _constant(x: Tensor, value: float) -> Tensor:
    """``value`` as a 0-d tensor of ``x``'s dtype. A Python float in an operation
    is traced as a float32 constant, which rounds 1 - 1e-7 or 1e-7 (and the
    coefficients below) too coarsely for float64 arithmetic."""
    return x.new_tensor(value)


def _polynomial(coefficients: tuple[float, ...], x: Tensor) -> Tensor:
    """Horner's rule, highest power first."""
    result = torch.zeros_like(x) + _constant(x, coefficients[0])
    for coefficient in coefficients[1:]:
        result = result * x + _constant(x, coefficient)
    return result


def normal_quantile(p: Tensor) -> Tensor:
    """The standard normal quantile function (scipy's ``norm.ppf``) of ``p`` in
    (0, 1), float64, by Acklam's approximation."""
    centred = p - 0.5
    r = centred * centred
    central = (
        _polynomial(_CENTRAL_NUMERATOR, r)
        * centred
        / _polynomial(_CENTRAL_DENOMINATOR, r)
    )
    tail_p = torch.minimum(p, 1.0 - p)
    q = torch.sqrt(-2.0 * torch.log(tail_p))
    tail = _polynomial(_TAIL_NUMERATOR, q) / _polynomial(_TAIL_DENOMINATOR, q)
    tail = torch.where(p < 0.5, tail, -tail)
    return torch.where(tail_p < _constant(p, _TAIL_BELOW), tail, central)


def _take(xp: Tensor, index: Tensor) -> Tensor:
    """``xp[f, index[b, f]]`` for points ``xp`` (F, Q) and ``index`` (B, F): one
    gather from the flattened points. (``torch.gather`` needs ``xp`` expanded to
    (B, F, Q), which ONNX's Expand materialises: 12 GB for 50,000 rows of 32
    columns and 1,000 quantiles.)"""
    n_columns, n_points = xp.shape
    offsets = torch.arange(n_columns, device=xp.device) * n_points  # (F,)
    return xp.reshape(-1)[index + offsets]


def count_at_or_below(x: Tensor, xp: Tensor) -> Tensor:
    """How many of each column's points ``xp`` (F, Q), increasing, are at or below
    ``x`` (B, F): ``bisect_right`` per value, 0 for NaN.

    A binary search of ceil(log2(Q + 1)) fixed steps, each a gather and a
    comparison on (B, F) tensors, rather than a comparison of every value with
    every point, a (B, F, Q) tensor."""
    n_points = xp.shape[1]
    low = torch.zeros(x.shape, dtype=torch.int64, device=x.device)  # (B, F)
    high = torch.full_like(low, n_points)
    for _ in range(math.ceil(math.log2(n_points + 1))):
        searching = low < high
        middle = torch.div(low + high, 2, rounding_mode="floor").clamp(max=n_points - 1)
        right = _take(xp, middle) <= x  # False for NaN
        low = torch.where(searching & right, middle + 1, low)
        high = torch.where(searching & ~right, middle, high)
    return low


def interpolate(x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """``np.interp`` of each column: ``x`` (B, F), increasing ``xp`` (F, Q) and
    ``fp`` (Q,). Values below ``xp[:, 0]`` (NaN included) give ``fp[0]``, above
    ``xp[:, -1]`` give ``fp[-1]``; on repeated points, the rightmost, as numpy."""
    n_points = xp.shape[1]
    # The last point at or below x: -1 below all of them, Q - 1 at or above the last.
    below = count_at_or_below(x, xp) - 1  # (B, F)
    left = below.clamp(0, n_points - 2)
    x_left, x_right = _take(xp, left), _take(xp, left + 1)  # (B, F)
    y_left, y_right = fp[left], fp[left + 1]
    value = (y_right - y_left) / (x_right - x_left) * (x - x_left) + y_left
    value = torch.where(x_left == x, y_left, value)
    value = torch.where(below < 0, fp[0], value)
    return torch.where(below >= n_points - 1, fp[-1], value)


class QuantileNormal(nn.Module):
    """A fitted ``QuantileTransformer(output_distribution="normal")``'s transform:
    (B, F) float64 to (B, F) float64, NaN kept."""

    quantiles: Tensor  # (F, Q) each column's quantiles, increasing
    references: Tensor  # (Q,) their probabilities

    def __init__(self, transformer: QuantileTransformer) -> None:
        super().__init__()
        quantiles = np.asarray(transformer.quantiles_, dtype=np.float64).T  # (F, Q)
        references = np.asarray(transformer.references_, dtype=np.float64)  # (Q,)
        if len(references) == 1:  # fitted on one row: interpolate between two
            quantiles, references = quantiles.repeat(2, axis=1), references.repeat(2)
        self.register_buffer("quantiles", torch.from_numpy(quantiles.copy()))
        self.register_buffer("references", torch.from_numpy(references.copy()))
        self.clip = float(stats.norm.ppf(1 - _SMALLEST_PROBABILITY))

    def forward(self, x: Tensor) -> Tensor:
        quantiles, references = self.quantiles, self.references
        # Interpolated both ways and averaged, as scikit-learn does for ties.
        upward = interpolate(x, quantiles, references)
        downward = interpolate(-x, -quantiles.flip(1), -references.flip(0))
        p = 0.5 * (upward - downward)
        threshold = _constant(x, _BOUNDS_THRESHOLD)
        p = torch.where(x + threshold > quantiles[:, -1], 1.0, p)
        p = torch.where(x - threshold < quantiles[:, 0], 0.0, p)
        # Clipping the probability is clipping its quantile (monotone), and keeps
        # the logarithm of the tails finite.
        smallest = _constant(x, _SMALLEST_PROBABILITY)
        p = torch.minimum(torch.maximum(p, smallest), 1 - smallest)
        clip = _constant(x, self.clip)
        z = torch.minimum(torch.maximum(normal_quantile(p), -clip), clip)
        return torch.where(torch.isnan(x), x, z)


class _Standard(nn.Module):
    mean: Tensor  # (F,)
    scale: Tensor  # (F,)

    def __init__(self, scaler: StandardScaler) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(scaler.mean_, dtype=torch.float64))
        self.register_buffer(
            "scale", torch.as_tensor(scaler.scale_, dtype=torch.float64)
        )

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.scale


class TableNumbers(nn.Module):
    """Raw numerical columns (B, Fn) float64, NaN missing, to the network's
    ``x_num`` (B, Fn) float32, as :class:`TabularEncoder` encodes them."""

    prescale: Tensor  # (Fn,) factors applied before the scaler
    never_observed: Tensor  # (Fn,) bool, columns without a value in fit

    def __init__(self, encoder: TabularEncoder) -> None:
        super().__init__()
        scaler = encoder.scaler_
        self.scaler: nn.Module
        if isinstance(scaler, QuantileTransformer):
            self.scaler = QuantileNormal(scaler)
        elif isinstance(scaler, StandardScaler):
            self.scaler = _Standard(scaler)
        else:
            self.scaler = nn.Identity()
        self.register_buffer(
            "prescale", torch.as_tensor(encoder.prescale_, dtype=torch.float64)
        )
        self.register_buffer("never_observed", torch.as_tensor(encoder.never_observed_))

    def forward(self, x: Tensor) -> Tensor:
        # Columns never observed in fit are missing whatever they hold now.
        missing = torch.isnan(x) | self.never_observed
        scaled = self.scaler(torch.where(self.never_observed, 0.0, x * self.prescale))
        return torch.where(missing, math.nan, scaled).float()


class SequenceValues(nn.Module):
    """NaN-padded sequences (B, T, C) float64 to the network's ``x_seq`` (B, T, C)
    float32 and ``lengths`` (B,) int64."""

    mean: Tensor  # (C,)
    scale: Tensor  # (C,)

    def __init__(self, sequence_input: SequenceInput) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.as_tensor(sequence_input.mean_, dtype=torch.float64)
        )
        self.register_buffer(
            "scale", torch.as_tensor(sequence_input.scale_, dtype=torch.float64)
        )

    def forward(self, values: Tensor) -> tuple[Tensor, Tensor]:
        observed = ~torch.isnan(values).all(dim=2)  # (B, T)
        steps = torch.arange(1, values.shape[1] + 1, device=values.device)
        lengths = (observed.long() * steps).amax(dim=1)  # one past the last observed
        return ((values - self.mean) / self.scale).float(), lengths


def graph_inputs(part: SingleInput) -> list[str]:
    """The keys of the tensors :class:`ServingNetwork` reads for ``part``: a
    table's raw numbers (if it has numerical columns) and category codes (if it has
    categorical ones), or a sequence's padded values."""
    if isinstance(part, TableInput):
        encoder = part.encoder_
        names = []
        if len(encoder.numerical_columns_):
            names.append(part.prefix + "numbers")
        if len(encoder.categorical_columns_):
            names.append(part.prefix + "codes")
        return names
    if isinstance(part, SequenceInput):
        return [part.prefix + "sequences"]
    raise TypeError(f"no ONNX graph for inputs of kind {part.kind!r}")


class _Preprocessing(nn.Module):
    """One input's raw tensors (named as :func:`graph_inputs` names them) to the
    network's batch entries for that input."""

    def __init__(self, part: SingleInput) -> None:
        super().__init__()
        self.part_keys = tuple(part.keys)
        self.prefix = part.prefix
        self.numbers: nn.Module | None = None
        self.sequences: nn.Module | None = None
        if isinstance(part, TableInput):
            self.numbers = TableNumbers(part.encoder_)
        elif isinstance(part, SequenceInput):
            self.sequences = SequenceValues(part)

    def forward(self, raw: dict[str, Tensor]) -> dict[str, Tensor]:
        if self.sequences is not None:
            x_seq, lengths = self.sequences(raw[self.prefix + "sequences"])
            return dict(zip(self.part_keys, (x_seq, lengths), strict=True))
        assert self.numbers is not None
        numbers = raw.get(self.prefix + "numbers")  # (B, Fn) float64
        codes = raw.get(self.prefix + "codes")  # (B, Fc) int64
        if numbers is None:  # a table of categorical columns only
            assert codes is not None
            numbers = codes.new_zeros((codes.shape[0], 0), dtype=torch.float64)
        if codes is None:  # numerical columns only
            codes = numbers.new_zeros((numbers.shape[0], 0), dtype=torch.int64)
        x_num = self.numbers(numbers)
        return dict(zip(self.part_keys, (x_num, codes), strict=True))


class ServingNetwork(nn.Module):
    """The fitted network between its inputs' preprocessing and its target's head.

    ``forward`` takes the tensors named by :attr:`input_keys`, in that order, and
    returns the tensors named by :attr:`output_keys`:

    - classification: ``label_index`` (B,) int64 and ``probabilities`` (B, K);
    - regression: ``prediction`` (B,) or (B, n_targets) float64, and with the
      quantile loss ``quantiles`` (B, Q) or (B, n_targets, Q);
    - ``target="embedding"`` (the feature extractor): ``embedding`` (B, E)
      float32.
    """

    y_mean: Tensor  # (n_targets,) regression targets' mean and scale
    y_scale: Tensor

    def __init__(
        self,
        network: AttentionMLPNetwork | MemberEnsemble,
        parts: list[SingleInput],
        target: ClassificationTarget | RegressionTarget | str,
    ) -> None:
        super().__init__()
        self.network = network
        self.preprocessing = nn.ModuleList(_Preprocessing(part) for part in parts)
        self.input_keys = [key for part in parts for key in graph_inputs(part)]
        self.head = "embedding"
        self.is_1d, self.n_quantiles = True, 1
        self.quantile_point: int | None = None
        if isinstance(target, ClassificationTarget):
            self.head = "classification"
            self.output_keys = ["label_index", "probabilities"]
        elif isinstance(target, RegressionTarget):
            self.head = "regression"
            self.output_keys = ["prediction"]
            self.is_1d = bool(target.is_1d_)
            self.n_quantiles = target._n_quantiles
            if target.loss_name == "quantile":
                self.output_keys.append("quantiles")
                self.quantile_point = int(np.argmin(np.abs(target.quantiles - 0.5)))
            self.register_buffer(
                "y_mean", torch.as_tensor(target.mean_, dtype=torch.float64)
            )
            self.register_buffer(
                "y_scale", torch.as_tensor(target.scale_, dtype=torch.float64)
            )
        else:
            self.output_keys = ["embedding"]

    def forward(self, *tensors: Tensor) -> tuple[Tensor, ...]:
        raw = dict(zip(self.input_keys, tensors, strict=True))
        batch: dict[str, Tensor] = {}
        for preprocessing in self.preprocessing:
            batch.update(preprocessing(raw))
        if self.head == "embedding":
            return (self.network.embed(batch)[0].float(),)
        output = self.network(batch).float()  # (B, O)
        if self.head == "classification":
            return output.argmax(dim=1), torch.softmax(output, dim=1)
        return self._regression(output.double())

    def _regression(self, output: Tensor) -> tuple[Tensor, ...]:
        n_targets = self.y_mean.shape[0]
        if self.quantile_point is None:
            values = output * self.y_scale + self.y_mean  # (B, n_targets)
            return (values[:, 0] if self.is_1d else values,)
        values = output.reshape(output.shape[0], n_targets, self.n_quantiles)
        values = (
            torch.sort(values, dim=2).values * self.y_scale[:, None]
            + self.y_mean[:, None]
        )  # (B, n_targets, Q)
        if self.is_1d:
            values = values[:, 0]  # (B, Q)
        return values[..., self.quantile_point], values
