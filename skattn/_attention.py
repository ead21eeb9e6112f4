"""The transformer's parts: activations, dropout, feed-forward, attention, block.

Pure ``torch.nn`` modules (no scikit-learn, no skorch) that
:class:`skattn._network.AttentionMLPNetwork` stacks.

Dimension legend for the shape comments (the same in every module of the network):

- ``B``: batch (rows)
- ``T``: tokens entering attention; ``Tq``/``Tk`` for the query and key/value sides
  of cross-attention
- ``D``: token width (``d_token``)
- ``H``: attention heads; ``Dh = D // H`` the width of one head
"""

from __future__ import annotations

import math
from collections.abc import Callable

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


def _dropout(x: Tensor, p: float, generator: torch.Generator | None) -> Tensor:
    """Inverted dropout of ``x`` with a mask drawn from ``generator`` (torch's
    global generator when None): comparing uniform draws with ``p``."""
    if p == 1.0:
        return torch.zeros_like(x)
    draws = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    keep = draws >= p  # (…), True with probability 1 - p
    return x * (keep.to(x.dtype) * (1.0 / (1.0 - p)))


class Dropout(nn.Dropout):
    """:class:`torch.nn.Dropout` drawing from the fit's own generator.

    A fit sets ``generator`` while it trains (see ``_runtime.drawing_from``), so
    that fits in threads do not share torch's global generator. Without one, on
    the CPU the mask is drawn from torch's generator the same way, and elsewhere
    torch's own dropout runs.

    NOTE[PERF]: on the CPU, torch's dropout draws its mask with ``bernoulli_``,
    which took 4.1 ms (forward + backward) for a (256, 33, 85) batch on our 2-core
    machine; comparing uniform draws with ``p`` draws the same distribution of
    masks in 2.7 ms.
    """

    generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.generator is None and x.device.type != "cpu":
            return super().forward(x)
        return _dropout(x, self.p, self.generator)


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
        self.generator: torch.Generator | None = None  # set while a fit trains
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
        # The fused kernel's dropout draws from torch's global generator: with a
        # generator of the fit's own, the weights are computed and dropped here.
        own_dropout = dropout > 0 and self.generator is not None

        weights = None
        if return_weights or own_dropout:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, H, Tq, Tk)
            if allowed is not None:
                scores = scores.masked_fill(~allowed, float("-inf"))
            weights = scores.softmax(dim=-1)  # (B, H, Tq, Tk)
            if allowed is not None:
                # A query whose keys are all padding gets NaN from the softmax; zero
                # weights instead, as the fused kernel does.
                weights = weights.masked_fill(~allowed, 0.0)
            if own_dropout:
                attended = _dropout(weights, dropout, self.generator) @ v
            else:
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
