"""Pure PyTorch modules of the attention + MLP network.

Nothing here imports scikit-learn or skorch: these are plain ``torch.nn`` modules that
can be used, tested and exported on their own.

Dimension legend for the shape comments:

- ``B``: batch (rows)
- ``F``: feature tokens (one per input column)
- ``T``: tokens entering attention (``F`` plus the CLS token); ``Tq``/``Tk`` for the
  query and key/value sides of cross-attention
- ``D``: token width (``d_token``)
- ``H``: attention heads; ``Dh = D // H`` the width of one head
- ``E``: embedding width returned by the head; ``O``: outputs (classes or targets)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS = ("geglu", "gelu", "reglu", "relu", "sigmoid", "tanh")
_GLU_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "reglu": F.relu,
    "geglu": F.gelu,
}
_PLAIN_ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


class GatedLinearUnit(nn.Module):
    """Split the last dimension in two halves ``a, b`` and return ``a * act(b)``.

    ``act=relu`` gives ReGLU and ``act=gelu`` GeGLU (Shazeer, 2020, "GLU Variants
    Improve Transformer").
    """

    def __init__(self, *, gate: str) -> None:
        super().__init__()
        self.gate = gate
        self._gate_fn = _GLU_ACTIVATIONS[gate]

    def forward(self, x: Tensor) -> Tensor:
        a, b = x.chunk(2, dim=-1)  # 2 x (..., Dhidden)
        return a * self._gate_fn(b)


def make_activation(name: str) -> tuple[nn.Module, bool]:
    """Return ``(module, is_gated)`` for an activation name in :data:`ACTIVATIONS`."""
    if name in _GLU_ACTIVATIONS:
        return GatedLinearUnit(gate=name), True
    if name in _PLAIN_ACTIVATIONS:
        return _PLAIN_ACTIVATIONS[name](), False
    raise ValueError(f"activation={name!r} is not one of {ACTIVATIONS}")


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` with a faster mask on the CPU.

    NOTE[PERF]: on the CPU, torch's dropout draws its mask with ``bernoulli_``,
    which took 4.1 ms (forward + backward) for a (256, 33, 85) batch on our 2-core
    machine; comparing ``rand_like`` with ``p`` draws the same distribution of masks
    in 2.7 ms. Elsewhere (CUDA's fused kernel) torch's own dropout is used.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu":
            return super().forward(x)
        if self.p == 1.0:
            return torch.zeros_like(x)
        keep = torch.rand_like(x) >= self.p  # (…), True with probability 1 - p
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))


class FeedForward(nn.Module):
    """The MLP after each attention layer: Linear, activation, dropout, Linear."""

    def __init__(
        self, *, d_token: int, d_hidden: int, activation: str, dropout: float
    ) -> None:
        super().__init__()
        self.activation, gated = make_activation(activation)
        # A gated activation halves its input, so the first layer is twice as wide.
        self.linear_in = nn.Linear(d_token, d_hidden * (2 if gated else 1))
        self.dropout = Dropout(dropout)
        self.linear_out = nn.Linear(d_hidden, d_token)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.activation(self.linear_in(x))  # (B, T, Dhidden)
        return self.linear_out(self.dropout(hidden))  # (B, T, D)


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention, for self- and cross-attention.

    Queries come from ``x``; keys and values from ``context`` (cross-attention) or
    from ``x`` itself when ``context`` is None (self-attention):
    ``softmax(Q K^T / sqrt(Dh)) V`` with ``Q = x W_q``, ``K = c W_k``, ``V = c W_v``.

    Two paths compute the same function: the fused
    :func:`torch.nn.functional.scaled_dot_product_attention` (default, fast) and an
    explicit one that also returns the attention weights (``return_weights=True``).

    Parameters
    ----------
    d_token : int
        Width of the query tokens and of the output.
    n_heads : int
        Number of heads; must divide ``d_token``.
    dropout : float
        Dropout on the attention weights during training.
    d_context : int, optional
        Width of the key/value tokens when it differs from ``d_token``.
    context_is_keys_values : bool
        The context tokens are already keys and values, side by side on the last
        axis (width ``2 * d_token``), so there are no key and value projections.
    """

    def __init__(
        self,
        *,
        d_token: int,
        n_heads: int,
        dropout: float = 0.0,
        d_context: int | None = None,
        context_is_keys_values: bool = False,
    ) -> None:
        super().__init__()
        if n_heads < 1 or d_token % n_heads:
            raise ValueError(f"{n_heads=} must be positive and divide {d_token=}")
        d_context = d_token if d_context is None else d_context
        self.n_heads = n_heads
        self.dropout = dropout
        self.query = nn.Linear(d_token, d_token)
        self.key: nn.Linear | None = None
        self.value: nn.Linear | None = None
        if not context_is_keys_values:
            self.key = nn.Linear(d_context, d_token)
            self.value = nn.Linear(d_context, d_token)
        self.out = nn.Linear(d_token, d_token)

    def _split_heads(self, x: Tensor) -> Tensor:
        batch, n_tokens, width = x.shape
        x = x.view(batch, n_tokens, self.n_heads, width // self.n_heads)
        return x.transpose(1, 2)  # (B, H, T, Dh)

    def forward(
        self,
        x: Tensor,
        context: Tensor | None = None,
        *,
        key_padding_mask: Tensor | None = None,
        return_weights: bool = False,
        value_norm: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``x`` to ``context`` (or to ``x``).

        Parameters
        ----------
        x : Tensor of shape (B, Tq, D)
        context : Tensor of shape (B, Tk, Dc), optional
            Or (B, Tk, 2 * D) keys and values with ``context_is_keys_values``.
        key_padding_mask : bool Tensor of shape (B, Tk), optional
            True where a key/value token is padding and must receive no attention.
        return_weights : bool
            Use the explicit path and return the weights.
        value_norm : bool
            With ``return_weights``, return each weight times the norm of what the
            attended token adds to the output through that head,
            ``alpha_qk * ||W_o^h v_k^h||`` (Kobayashi et al., 2020): a token that
            draws attention but contributes a near-zero vector then counts little.

        Returns
        -------
        out : Tensor of shape (B, Tq, D)
        weights : Tensor of shape (B, H, Tq, Tk), or None
        """
        context = x if context is None else context
        batch, n_queries, width = x.shape
        q = self._split_heads(self.query(x))  # (B, H, Tq, Dh)
        if self.key is None or self.value is None:
            keys, values = context.chunk(2, dim=-1)  # 2 x (B, Tk, D)
        else:
            keys, values = self.key(context), self.value(context)  # 2 x (B, Tk, D)
        k = self._split_heads(keys)  # (B, H, Tk, Dh)
        v = self._split_heads(values)  # (B, H, Tk, Dh)
        # SDPA's boolean mask means "may attend"; ours marks padding.
        allowed = None
        if key_padding_mask is not None:
            allowed = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, Tk)
        dropout = self.dropout if self.training else 0.0

        weights = None
        if return_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = scores.softmax(dim=-1)  # (B, H, Tq, Tk)
            if allowed is not None:
                # A query whose keys are all padding gets NaN from the softmax; zero
                # weights instead, as the fused kernel does.
                weights = weights.masked_fill(~allowed, 0.0)
            attended = F.dropout(weights, dropout, training=self.training) @ v
            if value_norm:
                # ||W_o^h v||^2 = v^T (W_o^h^T W_o^h) v, without the (B, H, Tk, D)
                # vectors themselves.
                out_weight = self.out.weight.view(width, self.n_heads, -1)  # (D, H, Dh)
                gram = torch.einsum("dhe,dhf->hef", out_weight, out_weight)  # (H,Dh,Dh)
                squared = torch.einsum("bhke,hef,bhkf->bhk", v, gram, v)  # (B, H, Tk)
                weights = weights * squared.clamp_min(0).sqrt()[:, :, None, :]
        else:
            attended = F.scaled_dot_product_attention(
                q, k, v, attn_mask=allowed, dropout_p=dropout
            )  # (B, H, Tq, Dh)
        attended = attended.transpose(1, 2).reshape(batch, n_queries, width)
        return self.out(attended), weights  # (B, Tq, D)


class AttentionBlock(nn.Module):
    """Pre-norm transformer block: attention then MLP, each with a residual.

    ``x = x + drop(attention(norm(x), norm_c(context)))``;
    ``x = x + drop(mlp(norm(x)))``. With ``cross_attention=True`` the block attends
    from ``x`` to a separate ``context`` token set (queries from ``x``, keys and values
    from ``context``); otherwise it is self-attention over ``x``. With
    ``context_is_keys_values`` the context holds ready keys and values (no norm, no
    projection).
    """

    def __init__(
        self,
        *,
        d_token: int,
        n_heads: int,
        d_hidden: int,
        activation: str,
        attention_dropout: float,
        ffn_dropout: float,
        residual_dropout: float,
        cross_attention: bool = False,
        d_context: int | None = None,
        context_is_keys_values: bool = False,
    ) -> None:
        super().__init__()
        if (d_context is not None or context_is_keys_values) and not cross_attention:
            raise ValueError(
                f"{d_context=} and {context_is_keys_values=} are for cross-attention "
                "blocks; this block has cross_attention=False"
            )
        self.cross_attention = cross_attention
        self.attention_norm = nn.LayerNorm(d_token)
        self.context_norm = (
            nn.LayerNorm(d_token if d_context is None else d_context)
            if cross_attention and not context_is_keys_values
            else None
        )
        self.attention = MultiHeadAttention(
            d_token=d_token,
            n_heads=n_heads,
            dropout=attention_dropout,
            d_context=d_context,
            context_is_keys_values=context_is_keys_values,
        )
        self.ffn_norm = nn.LayerNorm(d_token)
        self.ffn = FeedForward(
            d_token=d_token,
            d_hidden=d_hidden,
            activation=activation,
            dropout=ffn_dropout,
        )
        self.residual_dropout = Dropout(residual_dropout)

    def forward(
        self,
        x: Tensor,
        context: Tensor | None = None,
        *,
        key_padding_mask: Tensor | None = None,
        return_weights: bool = False,
        value_norm: bool = False,
        first_token_only: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Return the updated tokens ``(B, Tq, D)`` and the weights or None.

        With ``first_token_only`` only the first token (the CLS token) is updated and
        returned, ``(B, 1, D)``: it still attends to every token, so its result is the
        same, at a fraction of the cost. The network does this in its last block,
        whose other tokens nothing reads (the FT-Transformer's trick).
        """
        if self.cross_attention != (context is not None):
            raise ValueError(
                "a cross-attention block needs a context and a self-attention "
                f"block takes none ({self.cross_attention=})"
            )
        normed = self.attention_norm(x)
        if self.context_norm is not None:
            context = self.context_norm(context)
        elif first_token_only and not self.cross_attention:
            context = normed  # self-attention, asked by the first token alone
        if first_token_only:
            # Contiguous: a Linear on a strided slice rounds differently, which would
            # make a row's result depend on its neighbours' (sklearn checks that).
            x, normed = x[:, :1].contiguous(), normed[:, :1].contiguous()  # (B, 1, D)
        attended, weights = self.attention(
            normed,
            context,
            key_padding_mask=key_padding_mask,
            return_weights=return_weights,
            value_norm=value_norm,
        )
        x = x + self.residual_dropout(attended)  # (B, Tq, D)
        x = x + self.residual_dropout(self.ffn(self.ffn_norm(x)))  # (B, Tq, D)
        return x, weights


class FeatureTokenizer(nn.Module):
    """Turn one row of numerical and categorical values into one token per feature.

    Numerical feature ``j`` with value ``x_j`` becomes ``x_j * w_j + b_j``, or, with
    ``bin_edges``, ``ple(x_j) @ W_j + b_j``: the piecewise-linear encoding of
    Gorishniy et al. (2022), ``ple(x)_t = clip((x - e_t) / (e_{t+1} - e_t), 0, 1)``
    over the feature's bins ``[e_t, e_{t+1})`` (the first bin unclipped below, the
    last non-empty one unclipped above, empty bins 0), so that the token can bend at
    every edge. A missing value (NaN) becomes a learned per-feature token instead.
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
    bin_edges : ndarray of shape (n_numerical, n_bins + 1) or None, default=None
        Increasing bin edges of each numerical feature (see
        :func:`skattn._preprocessing.quantile_bin_edges`); None for the linear
        embedding.

    Notes
    -----
    Inputs are float32 and int64; codes are not range-checked here (the encoder
    guarantees ``0 <= code < cardinality``), since that would cost a pass per batch.
    """

    category_offsets: Tensor  # (Fc,) start of each column's rows in the shared table
    bin_left: Tensor  # (Fn, K) left edge of each bin
    bin_width: Tensor  # (Fn, K) its width, 1 for empty bins
    bin_lower: Tensor  # (Fn, K) clip bounds: -inf for the first bin, else 0
    bin_upper: Tensor  # (Fn, K) +inf for the last non-empty bin, else 1
    bin_used: Tensor  # (Fn, K) 0 for empty bins

    def __init__(
        self,
        *,
        n_numerical: int,
        category_cardinalities: Sequence[int],
        d_token: int,
        bin_edges: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.n_numerical = n_numerical
        self.n_categorical = len(category_cardinalities)
        bound = 1 / math.sqrt(d_token)  # NOTE: the FT-Transformer's initialisation.

        def uniform(*shape: int) -> nn.Parameter:
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.piecewise_linear = bin_edges is not None
        if bin_edges is None:
            self.numerical_weight = uniform(n_numerical, d_token)
        else:
            self._set_bins(torch.as_tensor(bin_edges, dtype=torch.float32))
            n_bins = bin_edges.shape[1] - 1
            bin_bound = 1 / math.sqrt(n_bins)  # NOTE: rtdl's per-feature linear layer.
            self.numerical_weight = nn.Parameter(
                torch.empty(n_numerical, n_bins, d_token).uniform_(
                    -bin_bound, bin_bound
                )
            )
        self.numerical_bias = uniform(n_numerical, d_token)
        self.numerical_missing = nn.Parameter(torch.zeros(n_numerical, d_token))
        if any(c < 2 for c in category_cardinalities):
            raise ValueError(
                "each categorical feature needs at least 2 codes (missing, unknown); "
                f"got {list(category_cardinalities)}"
            )
        cardinalities = torch.tensor(list(category_cardinalities), dtype=torch.long)
        offsets = torch.cumsum(cardinalities, 0) - cardinalities
        self.register_buffer("category_offsets", offsets, persistent=False)
        self.category_embedding = nn.Embedding(int(cardinalities.sum()), d_token)
        self.category_bias = uniform(self.n_categorical, d_token)
        with torch.no_grad():
            self.category_embedding.weight.uniform_(-bound, bound)
            self.category_embedding.weight[offsets] = 0.0  # the "missing" rows
            self.category_embedding.weight[offsets + 1] = 0.0  # the "unknown" rows

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

    @property
    def n_tokens(self) -> int:
        return self.n_numerical + self.n_categorical

    def _numerical_tokens(self, values: Tensor) -> Tensor:
        """(B, Fn, D) tokens of values (B, Fn) without NaN."""
        if not self.piecewise_linear:
            return torch.addcmul(
                self.numerical_bias, values[..., None], self.numerical_weight
            )
        position = (values[..., None] - self.bin_left) / self.bin_width  # (B, Fn, K)
        encoded = position.clamp(self.bin_lower, self.bin_upper) * self.bin_used
        weighted = torch.einsum("bfk,fkd->bfd", encoded, self.numerical_weight)
        return weighted + self.numerical_bias  # (B, Fn, D)

    def forward(self, x_num: Tensor, x_cat: Tensor) -> Tensor:
        """Tokens of shape (B, F) from ``x_num`` (B, Fn) floats with NaN for
        missing and ``x_cat`` (B, Fc) integer codes, in that order."""
        missing = torch.isnan(x_num)  # (B, Fn)
        values = torch.where(missing, torch.zeros_like(x_num), x_num)
        numerical = self._numerical_tokens(values)  # (B, Fn, D)
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


class SequenceTokenizer(nn.Module):
    """Turn a (padded) multichannel sequence into one token per patch of steps.

    A patch of ``patch_size`` consecutive steps (all channels) is flattened, together
    with a mask of its missing values, and projected to ``d_token``; fixed position
    codes are added. Missing values (NaN) inside a sequence become zeros flagged by the
    mask. Steps at or beyond a sequence's length are padding: a patch that starts
    there is a padding token, which attention and pooling ignore.

    Parameters
    ----------
    n_channels : int
        Channels per time step.
    patch_size : int
        Steps per token; attention then costs ``(T / patch_size)**2``, not ``T**2``.
    d_token : int
        Token width.
    """

    def __init__(self, *, n_channels: int, patch_size: int, d_token: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.projection = nn.Linear(2 * patch_size * n_channels, d_token)

    def forward(self, x_seq: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Tokens (B, P, D) and padding mask (B, P) from ``x_seq`` (B, T, C), NaN
        for missing or padding, and ``lengths`` (B,) int64."""
        batch, n_steps, n_channels = x_seq.shape
        n_patches = -(-n_steps // self.patch_size)
        extra = n_patches * self.patch_size - n_steps
        x_seq = F.pad(x_seq, (0, 0, 0, extra), value=float("nan"))  # (B, P*p, C)
        missing = torch.isnan(x_seq)
        values = torch.where(missing, torch.zeros_like(x_seq), x_seq)
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
        tokens = tokens + sinusoidal_positions(
            n_patches, tokens.shape[-1], x_seq.device
        )
        starts = torch.arange(n_patches, device=x_seq.device) * self.patch_size
        padding = starts[None, :] >= lengths[:, None]  # (B, P)
        return tokens, padding


class InputTokens(nn.Module):
    """One input of the network: a tokenizer and the names of the tensors it reads
    from the batch dict. Returns tokens (B, F, D) and a padding mask (B, F) or None."""

    def __init__(self, tokenizer: nn.Module, keys: Sequence[str]) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.keys = tuple(keys)

    def forward(self, inputs: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        out = self.tokenizer(*(inputs[key] for key in self.keys))
        return out if isinstance(out, tuple) else (out, None)


class AttentionMLPNetwork(nn.Module):
    """CLS token + input tokens, attention blocks, and an MLP head on the CLS token.

    With one input: ``n_blocks`` self-attention blocks over ``[CLS] + tokens``. With a
    second (``context``) input: its tokens get ``n_blocks`` self-attention blocks of
    their own, then ``n_cross_blocks`` cross-attention blocks let the main tokens
    (queries) attend to the context tokens (keys and values). Padding tokens (variable
    length sequences) are masked out of every attention.

    With ``n_latent_tokens``, wide inputs do not pay ``F**2``: the first block is a
    cross-attention "read" block in which ``[CLS] + L`` learned latent tokens attend to
    the ``F`` input tokens (cost ``F * L``), and the other ``n_blocks - 1`` blocks
    are self-attention over ``[CLS] + latents`` (cost ``L**2``, whatever ``F``), as
    in the Perceiver (Jaegle et al., 2021). The input tokens serve only as keys and
    values there, so ``main``'s tokenizer must emit them directly, side by side
    (tokens of width ``2 * d_token``): a feature's key is then an affine function of
    its value, ``x_j * wk_j + bk_j``, and the read costs ``O(F * D)`` per row instead
    of the ``O(F * D**2)`` of projecting ``F`` tokens.
    NOTE[DIFF]: the Perceiver normalises and projects its inputs; a learned
    per-feature affine map is what that amounts to without the normalisation, and
    it is 30 times cheaper for 1,024 features.

    The last block of the main path updates the CLS token only, unless all tokens
    are asked for (:meth:`encode`) or the attention weights are.

    ``forward`` returns the outputs (logits or standardised regression targets);
    ``embed`` the representation the output layer reads, used by
    :class:`skattn.AttentionFeatureExtractor`.

    Parameters
    ----------
    main : InputTokens
        The input whose CLS token makes the prediction; its tokens have width
        ``d_token``, or ``2 * d_token`` (keys and values) with ``n_latent_tokens``.
    n_outputs : int
        Width of the output layer.
    d_token, n_blocks, n_heads, activation, attention_dropout, ffn_dropout, \
residual_dropout :
        See the estimators' documentation.
    ffn_factor : float
        Hidden width of the MLPs as a multiple of ``d_token``, rounded up to a
        multiple of 8.
    d_embedding : int, optional
        If given, a Linear layer maps the CLS token to this width before the output
        layer; otherwise the embedding has width ``d_token``.
    context : InputTokens, optional
        A second input that the main tokens cross-attend to.
    n_cross_blocks : int
        Cross-attention blocks (only with ``context``).
    n_latent_tokens : int, optional
        Latent tokens that read the main input in the first block (see above).
    """

    def __init__(
        self,
        *,
        main: InputTokens,
        n_outputs: int,
        d_token: int,
        n_blocks: int,
        n_heads: int,
        activation: str,
        ffn_factor: float,
        attention_dropout: float,
        ffn_dropout: float,
        residual_dropout: float,
        d_embedding: int | None = None,
        context: InputTokens | None = None,
        n_cross_blocks: int = 0,
        n_latent_tokens: int | None = None,
    ) -> None:
        super().__init__()
        block_params: dict[str, Any] = dict(
            d_token=d_token,
            n_heads=n_heads,
            # NOTE[PERF]: a multiple of 8, the width vector units and tensor cores
            # work in. (An odd width also made float32 GEMM round a row differently
            # by its position in the batch, a 1e-8 change scikit-learn's
            # sample-order check notices.)
            d_hidden=8 * math.ceil(d_token * ffn_factor / 8),
            activation=activation,
            attention_dropout=attention_dropout,
            ffn_dropout=ffn_dropout,
            residual_dropout=residual_dropout,
        )

        def stack(n: int, cross: bool = False) -> nn.ModuleList:
            return nn.ModuleList(
                AttentionBlock(**block_params, cross_attention=cross) for _ in range(n)
            )

        bound = 1 / math.sqrt(d_token)
        self.main = main
        self.cls_token = nn.Parameter(torch.empty(d_token).uniform_(-bound, bound))
        if n_latent_tokens is not None:
            self.latent_tokens: nn.Parameter | None = nn.Parameter(
                torch.empty(n_latent_tokens, d_token).uniform_(-bound, bound)
            )
            self.read_blocks = nn.ModuleList(
                [
                    AttentionBlock(
                        **block_params,
                        cross_attention=True,
                        context_is_keys_values=True,
                    )
                ]
            )
            self.blocks = stack(n_blocks - 1)
        else:
            self.latent_tokens = None
            self.read_blocks = stack(0)
            self.blocks = stack(n_blocks)
        self.context = context
        self.context_blocks = stack(n_blocks if context is not None else 0)
        self.cross_blocks = stack(n_cross_blocks if context is not None else 0, True)
        self.head_norm = nn.LayerNorm(d_token)
        self.head_projection = (
            nn.Linear(d_token, d_embedding) if d_embedding is not None else None
        )
        self.head_activation = nn.ReLU()
        self.output = nn.Linear(
            d_token if d_embedding is None else d_embedding, n_outputs
        )

    def encode(
        self,
        inputs: dict[str, Tensor],
        *,
        return_weights: bool = False,
        value_norm: bool = False,
        cls_only: bool = False,
    ) -> tuple[Tensor, Tensor, dict[str, list[Tensor]]]:
        """Run the attention stacks.

        Returns the main tokens after the last block (B, T, D) with the CLS token at
        position 0 (the latent tokens follow it when there are any, else the input
        tokens), their padding mask (B, T), and on request the attention weights of
        each stack: ``{"read": [(B, H, T, F)], "main": [(B, H, T, T)], "context":
        [(B, H, Tc, Tc)], "cross": [(B, H, T, Tc)]}``, each weight scaled by the
        norm of its value vector's contribution with ``value_norm`` (see
        :class:`MultiHeadAttention`). With ``cls_only`` (and no weights asked for),
        the last block computes the CLS token alone and ``T = 1``.
        """
        features, padding = self.main(inputs)  # (B, F, D), (B, F) or None
        batch = features.shape[0]
        cls = self.cls_token.expand(batch, 1, -1)  # (B, 1, D)
        # Each step: (weights key, block, keys/values or None for self-attention,
        # key padding mask).
        steps: list[tuple[str, nn.Module, Tensor | None, Tensor | None]] = []
        if self.latent_tokens is not None:
            latents = self.latent_tokens.expand(batch, -1, -1)  # (B, L, D)
            x = torch.cat([cls, latents], dim=1)  # (B, T, D), T = L + 1
            steps += [("read", block, features, padding) for block in self.read_blocks]
            padding = None
        else:
            x = torch.cat([cls, features], dim=1)  # (B, T, D), T = F + 1
            if padding is not None:
                no_padding = padding.new_zeros(batch, 1)
                padding = torch.cat([no_padding, padding], dim=1)  # (B, T)
        steps += [("main", block, None, padding) for block in self.blocks]
        weights: dict[str, list[Tensor]] = {
            "read": [],
            "main": [],
            "context": [],
            "cross": [],
        }
        if self.context is not None:
            context, context_padding = self.context(inputs)  # (B, Tc, D)
            for block in self.context_blocks:
                context, block_weights = block(
                    context,
                    key_padding_mask=context_padding,
                    return_weights=return_weights,
                    value_norm=value_norm,
                )
                if block_weights is not None:
                    weights["context"].append(block_weights)
            steps += [
                ("cross", block, context, context_padding)
                for block in self.cross_blocks
            ]
        last = len(steps) - 1
        for index, (name, block, keys, key_padding) in enumerate(steps):
            x, block_weights = block(
                x,
                keys,
                key_padding_mask=key_padding,
                return_weights=return_weights,
                value_norm=value_norm,
                first_token_only=cls_only and not return_weights and index == last,
            )  # (B, T, D), or (B, 1, D) after a CLS-only block
            if block_weights is not None:
                weights[name].append(block_weights)
        if padding is None:
            padding = x.new_zeros(x.shape[:2], dtype=torch.bool)
        return x, padding[:, : x.shape[1]], weights

    def embed(
        self,
        inputs: dict[str, Tensor],
        *,
        return_weights: bool = False,
        value_norm: bool = False,
    ) -> tuple[Tensor, dict[str, list[Tensor]]]:
        """Return the CLS embedding (B, E) and, on request, the attention weights
        (see :meth:`encode`)."""
        x, _, weights = self.encode(
            inputs, return_weights=return_weights, value_norm=value_norm, cls_only=True
        )
        cls = self.head_norm(x[:, 0])  # (B, D)
        if self.head_projection is not None:
            cls = self.head_projection(cls)  # (B, E)
        return self.head_activation(cls), weights

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        embedding, _ = self.embed(inputs)  # (B, E)
        return self.output(embedding)  # (B, O)


NO_WEIGHT_DECAY_PATTERNS = (
    "*.tokenizer.numerical_*",
    "*.tokenizer.category_*",
    "*cls_token",
    "*latent_tokens",
    "*norm.*",
    "*.bias",
)
"""Parameter-name patterns (fnmatch) trained without weight decay: embeddings,
normalisation layers and biases, as in the FT-Transformer and TabM recipes."""
