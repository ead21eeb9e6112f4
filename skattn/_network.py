"""The attention + MLP network: a CLS token, attention stacks and an MLP head.

Pure ``torch.nn`` (no scikit-learn, no skorch): :class:`AttentionMLPNetwork` stacks
the blocks of :mod:`skattn._attention` over the tokens of the inputs'
tokenizers (:mod:`skattn._tokenizers`). :data:`NO_WEIGHT_DECAY_PATTERNS` names the
parameters trained without weight decay.

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
from typing import Any

import torch
from torch import Tensor, nn

from ._attention import AttentionBlock
from ._tokenizers import InputTokens


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
        :class:`~skattn._attention.MultiHeadAttention`). With ``cls_only`` (and no
        weights asked for), the last block computes the CLS token alone and
        ``T = 1``.
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
    "*.tokenizer.numerical_*",  # numerical_embedding.*, numerical_missing
    "*.tokenizer.category_*",
    "*cls_token",
    "*latent_tokens",
    "*norm.*",
    "*.bias",
)
"""Parameter-name patterns (fnmatch) trained without weight decay: embeddings,
normalisation layers and biases, as in the FT-Transformer and TabM recipes."""
