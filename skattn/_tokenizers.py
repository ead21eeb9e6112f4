"""Tokenizers: what turns one input of a row into the tokens attention reads.

- :class:`FeatureTokenizer`: a table row, one token per feature; its numerical
  features go through a :class:`~skattn._embeddings.NumericalEmbedding` chosen by
  name from :data:`~skattn._embeddings.NUMERICAL_EMBEDDINGS`;
- :class:`SequenceTokenizer` (with :func:`sinusoidal_positions`): a multichannel
  sequence, one token per patch of steps, optionally with the patch's
  :class:`RandomKernelFeatures`;
- :class:`InputTokens`: a tokenizer and the batch keys it reads, one input of
  :class:`skattn._network.AttentionMLPNetwork`.

Dimension legend: ``B`` batch, ``F`` feature tokens (``Fn`` numerical then ``Fc``
categorical), ``T`` time steps, ``C`` channels, ``P`` patches, ``p`` steps per
patch, ``D`` token width, ``K`` kernels, ``Q`` thresholds per kernel and dilation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._embeddings import NUMERICAL_EMBEDDINGS


class FeatureTokenizer(nn.Module):
    """Turn one row of numerical and categorical values into one token per feature.

    Numerical feature ``j`` becomes the token of its value under the numerical
    embedding (:class:`~skattn._embeddings.LinearEmbedding`
    ``x_j * w_j + b_j``, or :class:`~skattn._embeddings.PiecewiseLinearEmbedding`);
    a missing value (NaN) becomes a learned per-feature token instead.
    Categorical feature ``j`` with code ``c`` becomes ``embedding_j[c] + b_j``.
    Codes follow the layout of :class:`skattn._preprocessing.TabularEncoder`: 0 is
    "missing", 1 is "unknown" (a category not seen during fit), 2 and up the
    categories. The tokens for a missing numerical value and the "missing" and
    "unknown" embedding rows start at zero: until training sees such a value, it is a
    neutral token (``0`` or the column bias ``b_j``) rather than an arbitrary random
    one.

    Parameters
    ----------
    n_numerical : int
        Number of numerical features.
    category_cardinalities : sequence of int
        Number of codes (categories + 2) of each categorical feature.
    d_token : int
        Token width.
    numerical_embedding : str, default="linear"
        A key of :data:`~skattn._embeddings.NUMERICAL_EMBEDDINGS`.
    bin_edges : ndarray of shape (n_numerical, n_bins + 1) or None, default=None
        Increasing bin edges of each numerical feature (see
        :func:`skattn._preprocessing.quantile_bin_edges`), for an embedding that
        uses bins; None for the others.

    Notes
    -----
    Inputs are float32 and int64; codes are not range-checked here (the encoder
    guarantees ``0 <= code < cardinality``), since that would cost a pass per batch.
    """

    category_offsets: Tensor  # (Fc,) start of each column's rows in the shared table

    def __init__(
        self,
        *,
        n_numerical: int,
        category_cardinalities: Sequence[int],
        d_token: int,
        numerical_embedding: str = "linear",
        bin_edges: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        if numerical_embedding not in NUMERICAL_EMBEDDINGS:
            raise ValueError(
                f"{numerical_embedding=} is not one of {sorted(NUMERICAL_EMBEDDINGS)}"
            )
        self.n_numerical = n_numerical
        self.n_categorical = len(category_cardinalities)
        bound = 1 / math.sqrt(d_token)  # NOTE: the FT-Transformer's initialisation.

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        # The embedding draws its weight, then its bias, first: the random numbers
        # of a seed go to the same parameters as when the tokenizer held them.
        self.numerical_embedding = NUMERICAL_EMBEDDINGS[numerical_embedding](
            n_features=n_numerical, d_token=d_token, bin_edges=bin_edges
        )
        self.numerical_missing = nn.Parameter(torch.zeros(n_numerical, d_token))
        if any(c < 2 for c in category_cardinalities):
            raise ValueError(
                "each categorical feature needs at least 2 codes (missing, unknown); "
                f"got {list(category_cardinalities)}"
            )
        cardinalities = torch.tensor(
            list(category_cardinalities), dtype=torch.long, device="cpu"
        )
        offsets = torch.cumsum(cardinalities, 0) - cardinalities
        self.register_buffer("category_offsets", offsets, persistent=False)
        self.category_embedding = nn.Embedding(int(cardinalities.sum()), d_token)
        self.category_bias = uniform(self.n_categorical, d_token)
        with torch.no_grad():
            self.category_embedding.weight.uniform_(-bound, bound)
            self.category_embedding.weight[offsets] = 0.0  # the "missing" rows
            self.category_embedding.weight[offsets + 1] = 0.0  # the "unknown" rows

    @property
    def n_tokens(self) -> int:
        return self.n_numerical + self.n_categorical

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """Tokens (B, F, D) from ``x_num`` (B, Fn) floats with NaN for
        missing and ``x_cat`` (B, Fc) integer codes, in that order."""
        missing = torch.isnan(x_num)  # (B, Fn)
        values = torch.where(missing, torch.zeros_like(x_num), x_num)
        numerical = self.numerical_embedding(values)  # (B, Fn, D)
        # NOTE[PERF]: a batch without missing values skips a pass over (B, Fn, D),
        # forward and backward, which counts for wide data. Only on the CPU and not
        # under torch.compile: on a GPU the test would make the host wait for the
        # device, and it would break a compiled graph in two.
        check = x_num.device.type == "cpu" and not torch.compiler.is_compiling()
        if not check or missing.any():
            numerical = torch.where(
                missing[..., None], self.numerical_missing, numerical
            )  # (B, Fn, D)
        categorical = (
            self.category_embedding(x_cat + self.category_offsets) + self.category_bias
        )  # (B, Fc, D)
        return torch.cat([numerical, categorical], dim=1)  # (B, F, D)


def sinusoidal_positions(
    n_positions: int, d_token: int, device: torch.device
) -> Tensor:
    """Fixed sine/cosine position codes (Vaswani et al., 2017) of shape (P, D).

    NOTE[DIFF]: fixed rather than learned, so that sequences longer than any seen in
    ``fit`` still get distinct positions.
    """
    position = torch.arange(n_positions, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(
        torch.arange(0, d_token, 2, device=device, dtype=torch.float32)
        * (-math.log(10_000.0) / d_token)
    )  # (ceil(D / 2),)
    angles = position * frequency  # (P, ceil(D / 2))
    codes = torch.zeros(n_positions, d_token, device=device)
    codes[:, 0::2] = torch.sin(angles)
    codes[:, 1::2] = torch.cos(angles[:, : d_token // 2])
    return codes  # (P, D)


# Kernels per dilation and their length (MiniRocket's).
N_KERNELS, KERNEL_LENGTH = 84, 9
# Feature rows evaluated at once: bounds the (rows, K, Q, T) comparison of long series.
_KERNEL_CHUNK_ELEMENTS = 1 << 24


def minirocket_kernels() -> np.ndarray:
    """MiniRocket's 84 kernels (Dempster et al., 2021), shape (84, 9) float32: weight
    -1, and 2 at one of the 84 choices of three of the nine positions (each sums to
    0, so a kernel responds to shape, not level)."""
    kernels = -np.ones((N_KERNELS, KERNEL_LENGTH), dtype=np.float32)
    for k, positions in enumerate(itertools.combinations(range(KERNEL_LENGTH), 3)):
        kernels[k, list(positions)] = 2.0
    return kernels


def kernel_weights(channels: np.ndarray) -> np.ndarray:
    """Weights (..., K, C, 9) float32 of MiniRocket's kernels, each reading the sum
    of its ``channels`` (..., K, C) bool: the kernel on those, zero elsewhere."""
    return channels[..., None].astype(np.float32) * minirocket_kernels()[:, None, :]


def kernel_responses(
    x: Tensor, weight: Tensor, dilation: int, groups: int = 1
) -> Tensor:
    """Responses (B, K, T) of kernels ``weight`` (K, C / groups, 9) at ``dilation``
    to series ``x`` (B, C, T), zero-padded at both ends so that every step has one."""
    return F.conv1d(
        x,
        weight,
        padding=(KERNEL_LENGTH // 2) * dilation,
        dilation=dilation,
        groups=groups,
    )


class RandomKernelFeatures(nn.Module):
    """Per patch, the proportion of steps where each fixed kernel's response is
    above each of its thresholds (MiniRocket's "PPV" features, pooled per patch
    instead of over the whole series).

    Nothing here is trained: the kernels are MiniRocket's 84 (each applied to a sum
    of some channels), the dilations cover the longest training sequence, and the
    thresholds are quantiles of the responses to training series, all chosen in
    :meth:`skattn._inputs.SequenceInput.fit`. The buffers are rebuilt from that fitted
    state, so model files do not store them.

    Parameters
    ----------
    dilations : sequence of int
        Dilation of each set of kernels.
    channels : ndarray of shape (n_dilations, 84, C), bool
        Which channels each kernel reads (it convolves their sum).
    thresholds : ndarray of shape (n_dilations, 84, Q)
        Thresholds of each kernel's response.
    """

    weight: Tensor  # (n_dilations, K, C, 9)
    thresholds: Tensor  # (n_dilations, K, Q)

    def __init__(
        self,
        *,
        dilations: Sequence[int],
        channels: np.ndarray,
        thresholds: np.ndarray,
    ) -> None:
        super().__init__()
        self.dilations = tuple(int(d) for d in dilations)
        weight = kernel_weights(channels)  # (n_dilations, K, C, 9)
        self.register_buffer("weight", torch.as_tensor(weight), persistent=False)
        self.register_buffer(
            "thresholds",
            torch.as_tensor(thresholds.astype(np.float32)),
            persistent=False,
        )

    @property
    def n_features(self) -> int:
        return int(self.thresholds.numel())

    def forward(
        self,
        values: Tensor,
        observed: Tensor,
        patch_size: int,
        counts: Tensor | None = None,
    ) -> Tensor:
        """Features (B, P, n_features) from ``values`` (B, P * p, C), zero where
        missing or padded, and ``observed`` (B, P * p), True at the steps before a
        sequence's end; each patch averages over its steps before the end.
        ``counts`` (B, P, n_features) are those of :meth:`counts`, when computed
        before (a training set's, cached across epochs)."""
        if counts is None:
            counts = self.counts(values, observed, patch_size)
        batch, n_steps = observed.shape
        with torch.autocast(values.device.type, enabled=False):
            steps = observed.float().reshape(batch, n_steps // patch_size, patch_size)
            return counts.float() / steps.sum(-1).clamp_min(1.0)[..., None]

    def counts(self, values: Tensor, observed: Tensor, patch_size: int) -> Tensor:
        """Per patch, the steps before a sequence's end where each kernel's
        response is above each threshold (B, P, n_features), in bytes for
        patches of up to 255 steps; arguments as in :meth:`forward`."""
        batch, n_steps, _ = values.shape
        rows = batch
        if not torch.compiler.is_compiling():  # NOTE[PERF]: bounded memory, eagerly
            per_dilation = self.thresholds[0].numel()  # compared at once, K * Q
            rows = max(1, _KERNEL_CHUNK_ELEMENTS // max(1, per_dilation * n_steps))
        with torch.no_grad(), torch.autocast(values.device.type, enabled=False):
            x = values.float().transpose(1, 2)  # (B, C, T)
            if batch <= rows:
                return self._patch_counts(x, observed, patch_size)
            return torch.cat(
                [
                    self._patch_counts(
                        x[start : start + rows], observed[start : start + rows],
                        patch_size,
                    )
                    for start in range(0, batch, rows)
                ]
            )  # fmt: skip

    def _patch_counts(self, x: Tensor, observed: Tensor, patch_size: int) -> Tensor:
        batch, _, n_steps = x.shape
        n_patches = n_steps // patch_size
        # NOTE[PERF]: summing bytes into bytes is 2-4x faster than into floats on
        # the CPU; a patch of more than 255 steps needs a wider count, and ONNX's
        # ReduceSum takes no bytes (an export traces a compiled graph).
        count_dtype = torch.uint8 if patch_size <= 255 else torch.int32
        if torch.compiler.is_compiling():
            count_dtype = torch.float32
        counts = []
        for weight, thresholds, dilation in zip(
            self.weight, self.thresholds, self.dilations, strict=True
        ):
            response = kernel_responses(x, weight, dilation)  # (B, K, T)
            # Below every threshold after a sequence's end: those steps count for
            # no patch (NOTE[PERF]: masked before the Q-fold comparison).
            response = response.masked_fill(~observed[:, None, :], float("-inf"))
            above = response[:, :, None, :] > thresholds[None, :, :, None]
            counts.append(
                above.to(torch.uint8)
                .reshape(batch, thresholds.numel(), n_patches, patch_size)
                .sum(-1, dtype=count_dtype)
            )  # (B, K * Q, P)
        return torch.cat(counts, dim=1).transpose(1, 2)  # (B, P, n_features)


class SequenceTokenizer(nn.Module):
    """Turn a (padded) multichannel sequence into one token per patch of steps.

    A patch of ``patch_size`` consecutive steps (all channels) is flattened, together
    with a mask of its missing values, and projected to ``d_token``; fixed position
    codes are added. Missing values (NaN) inside a sequence become zeros flagged by the
    mask. Steps at or beyond a sequence's length are padding: a patch that starts
    there is a padding token, which attention and pooling ignore.

    With ``kernels``, each token also gets the patch's random-kernel features,
    layer-normalised and projected to ``d_token``: shapes that a patch's raw values
    show only at one position and scale.

    Parameters
    ----------
    n_channels : int
        Channels per time step.
    patch_size : int
        Steps per token; attention then costs ``(T / patch_size)**2``, not ``T**2``.
    d_token : int
        Token width.
    kernels : RandomKernelFeatures, optional
        Fixed kernel features to add to each token.
    """

    def __init__(
        self,
        *,
        n_channels: int,
        patch_size: int,
        d_token: int,
        kernels: RandomKernelFeatures | None = None,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Linear(2 * patch_size * n_channels, d_token)
        self.kernels = kernels
        if kernels is not None:
            # NOTE: without the normalisation, one seed of GunPoint in five did not
            # train (0.49 accuracy); with it, all five did (docs/design.md).
            self.kernel_norm = nn.LayerNorm(kernels.n_features)
            self.kernel_projection = nn.Linear(kernels.n_features, d_token)

    def _patched(self, x_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Values (B, P * p, C), zero where missing or padded, their missing mask
        (B, P * p, C) and the steps before each sequence's end (B, P * p), from
        ``x_seq`` (B, T, C) padded with NaN to whole patches."""
        n_steps = x_seq.shape[1]
        n_patches = -(-n_steps // self.patch_size)
        extra = n_patches * self.patch_size - n_steps
        x_seq = F.pad(x_seq, (0, 0, 0, extra), value=float("nan"))  # (B, P*p, C)
        missing = torch.isnan(x_seq)
        values = torch.where(missing, torch.zeros_like(x_seq), x_seq)
        steps = torch.arange(n_patches * self.patch_size, device=x_seq.device)
        observed = steps[None, :] < lengths[:, None]  # (B, P * p)
        return values, missing, observed

    def fixed_features(self, x_seq: Tensor, lengths: Tensor) -> Tensor | None:
        """What :meth:`forward` computes from the inputs alone, without weights:
        the random-kernel counts (B, P, Fk), or None without kernels. Training
        computes them once for a small training set, not at every epoch."""
        if self.kernels is None:
            return None
        values, _, observed = self._patched(x_seq, lengths)
        return self.kernels.counts(values, observed, self.patch_size)

    def forward(
        self, x_seq: Tensor, lengths: Tensor, fixed: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Tokens (B, P, D) and padding mask (B, P) from ``x_seq`` (B, T, C), NaN
        for missing or padding, and ``lengths`` (B,) int64; ``fixed`` is what
        :meth:`fixed_features` returns for them, when computed before."""
        batch, _, n_channels = x_seq.shape
        values, missing, observed = self._patched(x_seq, lengths)
        n_patches = values.shape[1] // self.patch_size
        # The last size is explicit so that an empty batch (a process's share of
        # a small batch in data-parallel training) reshapes too.
        width = self.patch_size * n_channels
        patches = torch.cat(
            [
                values.reshape(batch, n_patches, width),
                missing.to(values.dtype).reshape(batch, n_patches, width),
            ],
            dim=-1,
        )  # (B, P, 2 * p * C)
        tokens = self.projection(patches)  # (B, P, D)
        if self.kernels is not None:
            features = self.kernels(
                values, observed, self.patch_size, counts=fixed
            )  # (B, P, Fk)
            tokens = tokens + self.kernel_projection(self.kernel_norm(features))
        tokens = tokens + sinusoidal_positions(
            n_patches, tokens.shape[-1], x_seq.device
        )
        starts = torch.arange(n_patches, device=x_seq.device) * self.patch_size
        padding = starts[None, :] >= lengths[:, None]  # (B, P)
        return tokens, padding


class InputTokens(nn.Module):
    """One input of the network: a tokenizer and the names of the tensors it reads
    from the batch dict. Returns tokens (B, F, D) and a padding mask (B, F) or None.

    A tokenizer with a ``fixed_features`` method (part of its output that depends on
    the inputs alone) also reads them from the batch under :attr:`fixed_key` when
    they are there: training puts a small training set's there once (see
    :func:`skattn._batches.with_fixed_features`); elsewhere they are computed.
    """

    def __init__(self, tokenizer: nn.Module, keys: Sequence[str]) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.keys = tuple(keys)

    @property
    def fixed_key(self) -> str:
        """The batch key of this input's fixed features."""
        return f"{self.keys[0]}.fixed_features"

    def fixed_features(self, inputs: dict[str, Tensor]) -> Tensor | None:
        """The tokenizer's fixed features of ``inputs``, or None when it has none."""
        compute = getattr(self.tokenizer, "fixed_features", None)
        return None if compute is None else compute(*(inputs[k] for k in self.keys))

    def forward(self, inputs: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        arguments = [inputs[key] for key in self.keys]
        fixed = inputs.get(self.fixed_key)
        out = (
            self.tokenizer(*arguments)
            if fixed is None
            else self.tokenizer(*arguments, fixed=fixed)
        )
        return out if isinstance(out, tuple) else (out, None)
