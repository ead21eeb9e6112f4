"""Ensembles inside one estimator: ``n_members`` networks trained side by side.

Pure ``torch.nn`` (no scikit-learn, no skorch). :class:`MemberEnsemble` holds
networks of one shape, each with its own weights, and answers as one network:
``forward`` returns the members' combined outputs (B, O), ``embed`` their attention
weights averaged. Training runs :class:`MemberOutputs`, which returns every member's
outputs (M, B, O), and :class:`MemberLoss`, which masks each member's loss to the
rows it trains on (cross-fitting: member ``m`` never trains on the rows of fold
``m``, on which it is scored instead).

Dimension legend: ``M`` members, ``B`` batch rows, ``O`` outputs, ``E`` embedding
width; the attention weights keep :mod:`skattn._network`'s shapes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import torch
from torch import Tensor, nn

from ._batches import FOLD_KEY
from ._network import AttentionMLPNetwork

COMBINATIONS = ("mean", "probabilities")
"""How :class:`MemberEnsemble` combines its members' outputs: ``"mean"`` averages
them (regression targets, and the logits of multi-output classifiers);
``"probabilities"`` averages the members' softmax probabilities and returns their
logarithm, logits whose softmax is that mean."""


def combine_outputs(outputs: Tensor, combination: str) -> Tensor:
    """The ensemble's outputs (B, O) from the members' (M, B, O)."""
    if combination == "probabilities":
        n_members = outputs.shape[0]
        log_probabilities = torch.log_softmax(outputs, dim=-1)  # (M, B, O)
        return torch.logsumexp(log_probabilities, dim=0) - math.log(n_members)
    return outputs.mean(dim=0)


class MemberEnsemble(nn.Module):
    """Networks of one shape with their own weights, answering as one network.

    Parameters
    ----------
    members : list of AttentionMLPNetwork
        The networks, each initialised from its own random draws.
    combination : {"mean", "probabilities"}
        How ``forward`` combines the members' outputs (see :data:`COMBINATIONS`).
    """

    def __init__(self, members: list[AttentionMLPNetwork], combination: str) -> None:
        super().__init__()
        if combination not in COMBINATIONS:
            raise ValueError(f"{combination=} is not one of {COMBINATIONS}")
        self.members = nn.ModuleList(members)
        self.combination = combination

    def networks(self) -> list[AttentionMLPNetwork]:
        """The members, typed."""
        return [cast(AttentionMLPNetwork, member) for member in self.members]

    def member_outputs(self, inputs: dict[str, Tensor]) -> Tensor:
        """Every member's outputs (M, B, O)."""
        # NOTE[PERF]: one member after the other. Stacking the weights and running
        # torch.func.vmap over them was slower: a training step of five members
        # on breast_cancer took 1.1-1.35x the loop's time (default and small
        # networks, 1 and 2 threads), since scaled_dot_product_attention has no
        # batching rule on the CPU and falls back to a slow path.
        return torch.stack([member(inputs) for member in self.members])

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        return combine_outputs(self.member_outputs(inputs), self.combination)

    def embed(
        self,
        inputs: dict[str, Tensor],
        *,
        return_weights: bool = False,
        value_norm: bool = False,
    ) -> tuple[Tensor, dict[str, list[Tensor]]]:
        """The members' embeddings side by side (B, M * E) and, on request, their
        attention weights averaged over the members (each member's weights sum to
        one over the keys, so their mean does too)."""
        results = [
            member.embed(inputs, return_weights=return_weights, value_norm=value_norm)
            for member in self.networks()
        ]
        embedding = torch.cat([member_embedding for member_embedding, _ in results], 1)
        first = results[0][1]
        weights = {
            name: [
                torch.stack([weights[name][block] for _, weights in results]).mean(0)
                for block in range(len(per_block))
            ]
            for name, per_block in first.items()
        }
        return embedding, weights


class MemberOutputs(nn.Module):
    """What training runs: the ensemble's members' outputs (M, B, O), which
    :class:`MemberLoss` scores member by member. Shares the ensemble's weights.

    With ``cross_fitted``, each member runs only on the rows of the batch that
    count for it (the batch carries the rows' folds under :data:`FOLD_KEY`): in
    training those outside its fold, in evaluation those of its fold; the other
    rows' outputs are zeros, which the loss masks out. Cross-fitted training then
    costs ``M - 1`` networks' passes per row, and the out-of-fold validation one
    network's, instead of ``M``.
    """

    def __init__(self, ensemble: MemberEnsemble, cross_fitted: bool) -> None:
        super().__init__()
        self.ensemble = ensemble
        self.cross_fitted = cross_fitted

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        fold = inputs.get(FOLD_KEY)
        inputs = {key: value for key, value in inputs.items() if key != FOLD_KEY}
        if fold is None or not self.cross_fitted or len(fold) == 0:
            # (An empty data-parallel share runs every member on no rows: each
            # process then takes part in the gradient all-reduce.)
            return self.ensemble.member_outputs(inputs)
        networks = self.ensemble.networks()
        outputs = fold.new_zeros(
            (len(networks), len(fold), networks[0].output.out_features),
            dtype=torch.float32,
        )  # (M, B, O)
        for index, member in enumerate(networks):
            rows = fold != index if self.training else fold == index  # (B,)
            # A member may get no row of a batch (a small last batch, all of its
            # fold): it runs on none, and AdamW takes a step with a zero gradient.
            # Data-parallel training does the same (DistributedDataParallel fills
            # the gradients of parameters no process used with zeros), so one
            # process and several train the same model.
            # NOTE[PERF]: on a GPU, selecting by a mask makes the host wait for the
            # device once per member and step.
            subset = {key: value[rows] for key, value in inputs.items()}
            outputs[index, rows] = member(subset).float()  # (B_m, O)
        return outputs


def member_networks(module: nn.Module) -> list[AttentionMLPNetwork]:
    """The networks in ``module``: the module itself, or the members of a
    :class:`MemberEnsemble`."""
    if isinstance(module, MemberEnsemble):
        return module.networks()
    return [cast(AttentionMLPNetwork, module)]


class MemberLoss(nn.Module):
    """The weighted per-sample loss of every member on the rows it is given.

    ``fold`` (B,) says which member holds each row out: with cross-fitting, member
    ``m`` trains on the rows of the other folds and is scored (in validation) on the
    rows of fold ``m``; a fold of -1 is trained on by every member. The result is
    the weighted mean over the (member, row) pairs that count: the training loss
    is then on the scale of one network's (each member's gradient is a share of
    it, which AdamW's normalised steps do not see), and the validation loss is the
    out-of-fold loss, each row scored once, by the member that did not train on
    it.

    Parameters
    ----------
    per_sample : callable
        Per-sample loss (B,) of outputs (B, O) and targets (B, ...).
    n_members : int
        The members ``M``.
    cross_fitted : bool
        Whether every row belongs to a fold (else every fold is -1).
    """

    def __init__(
        self,
        per_sample: Callable[[Tensor, Tensor], Tensor],
        n_members: int,
        cross_fitted: bool,
    ) -> None:
        super().__init__()
        self.per_sample = per_sample
        self.n_members = n_members
        self.cross_fitted = cross_fitted

    def forward(
        self,
        output: Tensor,
        target: Tensor,
        weight: Tensor,
        fold: Tensor,
        *,
        training: bool,
        summed: bool = False,
    ) -> Tensor:
        n_members, batch = output.shape[:2]  # output: (M, B, O)
        repeats = (n_members,) + (1,) * (target.dim() - 1)
        per_sample = self.per_sample(output.flatten(0, 1), target.repeat(repeats)).view(
            n_members, batch
        )  # (M, B)
        member = torch.arange(n_members, device=fold.device)[:, None]  # (M, 1)
        counts = fold[None, :] != member if training else fold[None, :] == member
        weighted = (per_sample * weight * counts).sum()  # counts: (M, B)
        # (Member, row) pairs that count per row: every member but the row's own
        # in training (all of them without folds), the row's own in validation.
        per_row = 1 if not training else n_members - int(self.cross_fitted)
        # With summed (one process's share of a data-parallel batch), the weights
        # already carry 1 / (rows of the global batch).
        return weighted / per_row if summed else weighted / (per_row * batch)


def out_of_fold_outputs(outputs: Tensor, fold: Tensor) -> Tensor:
    """Each row's outputs (B, O) by the member that held it out, from every
    member's (M, B, O) and the rows' folds (B,)."""
    return outputs[fold, torch.arange(len(fold), device=fold.device)]
