"""How much the CLS token, which makes the prediction, attends to each input token.

The FT-Transformer paper (Gorishniy et al., 2021, section 5) measures a feature's
importance as the attention the CLS token pays to that feature's token, averaged over
blocks and heads (and then over samples). :func:`cls_attention` computes that per
sample from the weights :meth:`AttentionMLPNetwork.encode` returns, for each kind of
network skattn builds:

- one input, full attention: the CLS row of every self-attention block, averaged over
  blocks and heads, without the CLS token's attention to itself, renormalised to sum
  to one over the input tokens;
- latent tokens: the CLS token reads the input in the first ("read") block and then
  the latent tokens, which read it too. A one-step attention rollout (Abnar and
  Zuidema, 2020) combines them: the CLS token's attention over ``[CLS] + latents``,
  averaged over the later blocks and heads, weighs each of those tokens' read-block
  attention over the input (averaged over heads). With a single block it is the
  CLS token's own read-block attention;
- a context input: its tokens get the CLS row of the cross-attention blocks, averaged
  over blocks and heads, beside the main input's tokens above.

The same aggregation applies to weights scaled by the norm of each attended token's
contribution (``value_norm=True``, Kobayashi et al., 2020), each stage's rows
renormalised to sum to one.

The input objects of :mod:`skattn._inputs` then map tokens back to the user's columns
or time steps.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _mean_over_blocks_and_heads(per_block: list[Tensor]) -> Tensor:
    """(B, Tq, Tk) from a list of (B, H, Tq, Tk), one per block, each query's row
    summing to one (weights scaled by value norms do not on their own)."""
    mean = torch.stack(per_block).float().mean(dim=(0, 2))
    return mean / mean.sum(dim=-1, keepdim=True).clamp_min(1e-12)


def cls_attention(weights: dict[str, list[Tensor]]) -> dict[str, Tensor]:
    """The CLS token's attention to each input token, per sample.

    Parameters
    ----------
    weights : dict of lists of Tensor
        The attention weights of :meth:`AttentionMLPNetwork.encode`, plain or
        scaled by value norms.

    Returns
    -------
    attention : dict of Tensor
        ``"main"``: (B, F) over the main input's tokens, each row summing to one
        (padding tokens get zero); ``"context"``: (B, Tc) over the context input's
        tokens, when there is one.
    """
    attention: dict[str, Tensor] = {}
    if weights["read"]:
        read = _mean_over_blocks_and_heads(weights["read"])  # (B, 1 + L, F)
        if weights["main"]:
            # (B, 1 + L): the CLS token's attention to itself and to the latents.
            readers = _mean_over_blocks_and_heads(weights["main"])[:, 0]
        else:
            readers = torch.zeros_like(read[:, :, 0])
            readers[:, 0] = 1.0
        attention["main"] = torch.einsum("bq,bqf->bf", readers, read)  # (B, F)
    else:
        to_inputs = _mean_over_blocks_and_heads(weights["main"])[:, 0, 1:]  # (B, F)
        total = to_inputs.sum(dim=1, keepdim=True).clamp_min(1e-12)
        attention["main"] = to_inputs / total  # (B, F)
    if weights["cross"]:
        attention["context"] = _mean_over_blocks_and_heads(weights["cross"])[:, 0]
    return attention
