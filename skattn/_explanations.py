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
or time steps. :class:`ExplanationsMixin` gives the estimators their explanation API
(``attention_maps``, ``feature_attention``, ``feature_importances_``,
``token_names_``) on top of that.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from ._inference import InferenceMixin, n_rows
from ._members import member_networks
from ._runtime import prediction_chunk_rows

# feature_importances_ averages the attention over at most this many rows.
_IMPORTANCE_MAX_ROWS = 2048
# feature_attention keeps every block's full attention weights of a chunk of rows,
# (B, H, T, T) each: quadratic in the tokens, where predict (the fused kernel) keeps
# none. Chunks are cut so that these weights stay under this many bytes.
_ATTENTION_CHUNK_BYTES = 256 * 2**20


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


class ExplanationsMixin(InferenceMixin):
    """What the fitted network looked at, in the user's terms; for
    :class:`~skattn._base.BaseAttentionMLP`, whose inference it uses."""

    def attention_maps(
        self, X: Any, *, cls_only: bool = False
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Attention weights of every block and head for the samples of ``X``.

        Computed by the explicit attention path, which equals the fused one.
        :meth:`feature_attention` sums them up per feature.

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            Input samples, of the kind the model was fitted on.
        cls_only : bool, default=False
            Return only the CLS token's attention (the query axis ``q=0``, which
            is dropped), i.e. what the prediction looked at in each block and head:
            arrays of shape (n_samples, n_blocks, n_heads, n_tokens). The
            ``"context"`` maps, which have no CLS token, are then left out.

        Returns
        -------
        maps : ndarray of shape (n_samples, n_blocks, n_heads, n_tokens, n_tokens), \
or dict of such arrays
            ``maps[i, b, h, q, k]`` is how much token ``q`` attended to token ``k``
            in block ``b``, head ``h``, for sample ``i``; each ``maps[i, b, h, q]``
            sums to one. Tokens are named by :attr:`token_names_`: the CLS token first
            (the row ``q=0`` is what the prediction reads), then the features
            (numerical, then categorical) or the patches of steps. For sequences the
            token axis is as long as the longest sequence in ``X`` (token ``i >= 1``
            covers steps ``(i - 1) * patch_size`` to ``i * patch_size - 1``, which
            :attr:`token_names_` spells out up to the longest training sequence);
            padding tokens after a shorter sequence get zero weight, and their own
            rows are meaningless.

            A dict when the network has several attention stacks, keyed like
            :attr:`token_names_`:

            - with latent tokens (see ``n_latent_tokens``), ``"read"`` of shape
              (n_samples, 1, n_heads, 1 + n_latent_tokens, n_input_tokens) is the
              first block, in which the CLS and latent tokens (``token_names_["main"]``)
              attend to the input's tokens (``token_names_["input"]``); ``"main"``
              holds the other ``n_blocks - 1`` blocks, over the CLS and latent
              tokens;
            - with :class:`TwoInputs`, ``"main"`` and ``"context"`` hold each input's
              self-attention, ``"cross"`` of shape (n_samples, n_cross_blocks,
              n_heads, n_tokens, n_context_tokens) the main tokens' attention to the
              context tokens.
        """
        chunks: dict[str, list[np.ndarray]] = {}
        _, batches = self._input_chunks(X)
        with self._inference():
            for _, batch in batches:
                _, weights = self.module_.embed(batch, return_weights=True)
                for name, per_block in weights.items():
                    if per_block:
                        stacked = torch.stack(per_block, dim=1)  # (B, blocks, H, T, T')
                        chunks.setdefault(name, []).append(
                            stacked.float().cpu().numpy()
                        )
        maps = {
            name: np.concatenate(c).astype(np.float64) for name, c in chunks.items()
        }
        if cls_only:
            maps = {
                name: array[:, :, :, 0]
                for name, array in maps.items()
                if name != "context"
            }
        return maps if self._has_token_groups() else maps["main"]

    def feature_attention(
        self, X: Any, *, value_norm: bool = False
    ) -> np.ndarray | dict[str, np.ndarray]:
        """How much the prediction attended to each feature, for each sample.

        The attention of the CLS token (whose final state the output layer reads)
        to each input token, averaged over blocks and heads, as the FT-Transformer
        paper measures feature importance (Gorishniy et al., 2021), then mapped to
        the columns of ``X`` or its time steps. With latent tokens, which read the
        input for the CLS token, a one-step attention rollout combines the two
        stages (see :mod:`skattn._explanations`). Attention says where the model
        looked, not how much each value moved the prediction; compare
        :func:`sklearn.inspection.permutation_importance` for the latter.

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            Input samples, of the kind the model was fitted on.
        value_norm : bool, default=False
            Weigh each attention weight by the norm of what the attended token
            contributes through that head, ``alpha * ||W_o v||`` (Kobayashi et
            al., 2020, "Attention is not only a weight"), before averaging: a
            token that draws attention but adds a near-zero vector counts little.
            On the shared benchmark suite this agreed better with permutation
            importance than plain attention on average (Spearman +0.37 against
            +0.32; ``benchmarks/explanation_benchmark.py``).

        Returns
        -------
        attention : ndarray of shape (n_samples, n_features), or dict of such arrays
            Each row sums to one. For a table, one column per column of ``X``, in
            its order (named by :attr:`feature_names_in_` for a DataFrame). For
            sequences, one column per time step, up to the longest sequence in
            ``X`` or in training (each token's weight shared evenly by its
            ``patch_size`` steps; patches that start after a sequence's end get
            zero). For
            :class:`TwoInputs`, a dict: ``"main"`` over the main input's features,
            ``"context"`` over the context input's features, from the
            cross-attention blocks.
        """
        arrays = self._encode(X)
        batches = self._array_chunks(arrays, self._attention_chunk_rows(arrays))
        return self._feature_attention(n_rows(arrays), batches, value_norm)

    def _attention_chunk_rows(self, arrays: dict[str, np.ndarray]) -> int:
        """Rows per chunk when every block's attention weights are kept: as many
        as fit in ``_ATTENTION_CHUNK_BYTES`` (their size measured on one row), at
        most the prediction chunk."""
        device = next(self.module_.parameters()).device
        one_row = {
            key: torch.from_numpy(array[:1]).to(device) for key, array in arrays.items()
        }
        with self._inference():
            _, weights = self.module_.embed(one_row, return_weights=True)
        per_row = sum(
            w.numel() * w.element_size() for ws in weights.values() for w in ws
        )
        # An ensemble's maps are its members' averaged: all of them and the stack
        # of them are held at once.
        per_row *= 1 if self.n_members_ == 1 else self.n_members_ + 1
        fits = _ATTENTION_CHUNK_BYTES // max(per_row, 1)
        return int(max(1, min(prediction_chunk_rows(device), fits)))

    def _feature_attention(
        self,
        n_samples: int,
        batches: Iterator[tuple[slice, dict[str, Tensor]]],
        value_norm: bool = False,
    ) -> np.ndarray | dict[str, np.ndarray]:
        per_group: dict[str, np.ndarray] = {}
        with self._inference():
            for rows, batch in batches:
                for group, attention in self._cls_attention(batch, value_norm).items():
                    if rows.start == 0:
                        per_group[group] = np.empty((n_samples, attention.shape[1]))
                    per_group[group][rows] = attention.cpu().numpy()
        main, context = self._input.parts()
        features = {"main": main.attention_to_features(per_group["main"])}
        if context is not None:
            features["context"] = context.attention_to_features(per_group["context"])
        return features if context is not None else features["main"]

    def _cls_attention(
        self, batch: dict[str, Tensor], value_norm: bool
    ) -> dict[str, Tensor]:
        """:func:`cls_attention` of ``batch``; for an ensemble, the mean of its
        members' own: latent token ``j`` of one member is not latent token ``j``
        of another, so their weights do not average block by block."""
        per_member = [
            cls_attention(
                network.embed(batch, return_weights=True, value_norm=value_norm)[1]
            )
            for network in member_networks(self.module_)
        ]
        if len(per_member) == 1:
            return per_member[0]
        return {
            group: torch.stack([member[group] for member in per_member]).mean(0)
            for group in per_member[0]
        }

    def _attention_importances(
        self, arrays: dict[str, np.ndarray], rows: np.ndarray, seed: int
    ) -> np.ndarray | None:
        """``feature_importances_``: mean CLS attention per column over at most
        ``_IMPORTANCE_MAX_ROWS`` of ``rows``; None unless the main input is a table."""
        main, _ = self._input.parts()
        if main.kind != "tabular":
            return None
        if len(rows) > _IMPORTANCE_MAX_ROWS:
            rows = np.random.RandomState(seed).choice(
                rows, _IMPORTANCE_MAX_ROWS, replace=False
            )
        sample = {key: array[rows] for key, array in arrays.items()}
        batches = self._array_chunks(sample, self._attention_chunk_rows(sample))
        attention = self._feature_attention(len(rows), batches)
        if isinstance(attention, dict):
            attention = attention["main"]
        importances = attention.mean(axis=0)
        return importances / importances.sum()

    @property
    def feature_importances_(self) -> np.ndarray:
        """Attention-based importance of each column of ``X``, summing to one.

        The mean over training samples of :meth:`feature_attention`: the CLS
        token's attention to each feature, averaged over blocks and heads, as in
        the FT-Transformer paper. Computed at the end of ``fit`` on the
        validation rows when early stopping holds some out, else on the training
        rows, at most 2,048 of them, chosen with ``random_state``. Only for tables
        (the main input's columns with :class:`TwoInputs`); for sequences use
        :meth:`feature_attention`, which gives the attention over time per sample.
        """
        check_is_fitted(self)
        if self._feature_importances is None:
            raise AttributeError(
                "feature_importances_ is defined for tabular input (one value per "
                "column), but this model's main input is sequences; "
                "feature_attention(X) gives the attention over their time steps"
            )
        return self._feature_importances

    def _has_token_groups(self) -> bool:
        """Whether attention maps and token names come as dicts of several groups."""
        return self._input.parts()[1] is not None or self.n_latent_tokens_ is not None

    @property
    def token_names_(self) -> np.ndarray | dict[str, np.ndarray]:
        """Names of the network's tokens, in the order of :meth:`attention_maps`.

        An array ``["[CLS]", feature or patch names...]``; a dict of such arrays when
        the network has several token groups: "main" (the CLS token, then the
        latent tokens when there are any, else the main input's tokens), "input"
        (the main input's tokens, with latent tokens) and "context" (the second input
        of :class:`TwoInputs`).
        """
        check_is_fitted(self)
        main_input, context_input = self._input.parts()
        main = main_input.token_names()
        context = None if context_input is None else context_input.token_names()
        names: dict[str, list[str]] = {}
        if self.n_latent_tokens_ is None:
            names["main"] = ["[CLS]", *main]
        else:
            latents = [f"[latent {i}]" for i in range(self.n_latent_tokens_)]
            names["main"] = ["[CLS]", *latents]
            names["input"] = main
        if context is not None:
            names["context"] = context
        arrays = {key: np.asarray(value, dtype=object) for key, value in names.items()}
        return arrays if self._has_token_groups() else arrays["main"]
