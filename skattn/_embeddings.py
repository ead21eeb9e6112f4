"""Numerical embeddings: how a number becomes a token, one small module per kind.

Each kind is a :class:`NumericalEmbedding` that maps the values of ``Fn`` numerical
features (B, Fn), missing values already replaced, to one token per feature
(B, Fn, D). :data:`NUMERICAL_EMBEDDINGS` names them for the estimators'
``numerical_embedding`` parameter; a kind's :attr:`~NumericalEmbedding.n_bins` tells
the encoder how many quantile bins to learn for it (see
:func:`skattn._preprocessing.quantile_bin_edges`).

Dimension legend: ``B`` batch, ``Fn`` numerical features, ``K`` bins of a feature,
``D`` token width.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn


class NumericalEmbedding(nn.Module):
    """Base class: one token (B, Fn, D) per value of ``values`` (B, Fn).

    Subclasses hold the parameters ``weight`` and ``bias`` (the bias (Fn, D) is
    drawn after the weight, in the FT-Transformer's initialisation
    ``U(-1/sqrt(D), 1/sqrt(D))``).

    Parameters
    ----------
    n_features : int
        Number of numerical features ``Fn``.
    d_token : int
        Token width ``D``.
    bin_edges : ndarray of shape (n_features, n_bins + 1) or None, default=None
        Increasing bin edges of each feature, for the kinds whose :attr:`n_bins` is
        not None; None for the others.

    Attributes
    ----------
    n_bins : int or None
        Class attribute: how many quantile bins per feature the encoder must learn
        for this kind (``bin_edges``), or None when it needs none.
    """

    n_bins: ClassVar[int | None] = None

    def __init__(
        self, *, n_features: int, d_token: int, bin_edges: np.ndarray | None = None
    ) -> None:
        super().__init__()
        needs_bins = self.n_bins is not None
        if needs_bins != (bin_edges is not None):
            raise ValueError(
                f"{type(self).__name__} takes "
                + ("bin edges" if needs_bins else "no bin edges")
                + f"; got bin_edges={'None' if bin_edges is None else 'an array'}"
            )
        self.n_features = n_features
        self.d_token = d_token

    def _uniform(self, *shape: int, bound: float) -> nn.Parameter:
        """A parameter of ``shape`` drawn from ``U(-bound, bound)``."""
        return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

    def forward(self, values: Tensor) -> Tensor:
        """Tokens (B, Fn, D) of ``values`` (B, Fn) without NaN."""
        raise NotImplementedError


class LinearEmbedding(NumericalEmbedding):
    """Feature ``j`` with value ``x_j`` becomes ``x_j * w_j + b_j``: each feature's
    token moves along one direction.

    Parameters
    ----------
    n_features, d_token, bin_edges :
        See :class:`NumericalEmbedding`; ``bin_edges`` must be None.
    """

    n_bins = None

    def __init__(
        self, *, n_features: int, d_token: int, bin_edges: np.ndarray | None = None
    ) -> None:
        super().__init__(n_features=n_features, d_token=d_token, bin_edges=bin_edges)
        bound = 1 / math.sqrt(d_token)  # NOTE: the FT-Transformer's initialisation.
        self.weight = self._uniform(n_features, d_token, bound=bound)  # (Fn, D)
        self.bias = self._uniform(n_features, d_token, bound=bound)  # (Fn, D)

    def forward(self, values: Tensor) -> Tensor:
        """Tokens (B, Fn, D) of ``values`` (B, Fn) without NaN."""
        return torch.addcmul(self.bias, values[..., None], self.weight)


class PiecewiseLinearEmbedding(NumericalEmbedding):
    """Feature ``j`` with value ``x_j`` becomes ``ple(x_j) @ W_j + b_j``.

    ``ple`` is the piecewise-linear encoding of Gorishniy et al. (2022, "On
    Embeddings for Numerical Features in Tabular Deep Learning"),
    ``ple(x)_t = clip((x - e_t) / (e_{t+1} - e_t), 0, 1)`` over the feature's bins
    ``[e_t, e_{t+1})`` (the first bin unclipped below, the last non-empty one
    unclipped above, empty bins 0), so that the token can bend at every edge.

    Parameters
    ----------
    n_features, d_token, bin_edges :
        See :class:`NumericalEmbedding`; ``bin_edges`` (n_features, K + 1) is
        required.
    """

    # NOTE: 48 is the default of rtdl's bin computation ("On Embeddings for
    # Numerical Features in Tabular Deep Learning", Gorishniy et al., 2022) and of
    # TabM's recipe.
    n_bins = 48

    bin_left: Tensor  # (Fn, K) left edge of each bin
    bin_width: Tensor  # (Fn, K) its width, 1 for empty bins
    bin_lower: Tensor  # (Fn, K) clip bounds: -inf for the first bin, else 0
    bin_upper: Tensor  # (Fn, K) +inf for the last non-empty bin, else 1
    bin_used: Tensor  # (Fn, K) 0 for empty bins

    def __init__(
        self, *, n_features: int, d_token: int, bin_edges: np.ndarray | None = None
    ) -> None:
        super().__init__(n_features=n_features, d_token=d_token, bin_edges=bin_edges)
        assert bin_edges is not None  # checked by the base class
        # On the CPU always: the edges are data (and load_model builds the rest of
        # the network on the meta device, to check the shapes of a file).
        self._set_bins(torch.as_tensor(bin_edges, dtype=torch.float32, device="cpu"))
        n_bins = bin_edges.shape[1] - 1
        bin_bound = 1 / math.sqrt(n_bins)  # NOTE: rtdl's per-feature linear layer.
        self.weight = self._uniform(n_features, n_bins, d_token, bound=bin_bound)
        # (Fn, K, D); the bias as in the linear embedding.
        self.bias = self._uniform(n_features, d_token, bound=1 / math.sqrt(d_token))

    def _set_bins(self, edges: Tensor) -> None:
        """The buffers of the piecewise-linear encoding, from edges (Fn, K + 1)."""
        left, width = edges[:, :-1], edges[:, 1:] - edges[:, :-1]  # (Fn, K)
        used = width > 0
        lower = torch.zeros_like(left)
        lower[:, 0] = -math.inf
        upper = torch.ones_like(left)
        n_used = used.sum(1)  # (Fn,) the used bins come first
        has_bins = n_used > 0
        upper[has_bins, n_used[has_bins] - 1] = math.inf
        self.register_buffer("bin_left", left)
        self.register_buffer("bin_width", torch.where(used, width, 1.0))
        self.register_buffer("bin_lower", lower)
        self.register_buffer("bin_upper", upper)
        self.register_buffer("bin_used", used.float())

    def forward(self, values: Tensor) -> Tensor:
        """Tokens (B, Fn, D) of ``values`` (B, Fn) without NaN."""
        position = (values[..., None] - self.bin_left) / self.bin_width  # (B, Fn, K)
        encoded = position.clamp(self.bin_lower, self.bin_upper) * self.bin_used
        weighted = torch.einsum("bfk,fkd->bfd", encoded, self.weight)
        return weighted + self.bias  # (B, Fn, D)


NUMERICAL_EMBEDDINGS: dict[str, type[NumericalEmbedding]] = {
    "linear": LinearEmbedding,
    "piecewise_linear": PiecewiseLinearEmbedding,
}
"""The kinds of the estimators' ``numerical_embedding`` parameter, by name."""
