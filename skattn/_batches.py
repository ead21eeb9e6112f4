"""The training data on the device, and the mini-batches cut from it by slicing.

A batch is ``(inputs, y)``: a dict of the network's input tensors, which also carries
the sample weights under :data:`WEIGHT_KEY` (for the loss, not the module), and the
encoded targets. Slicing tensors built once on the training device replaces skorch's
default DataLoader, which indexes and collates one row at a time.

:func:`with_fixed_features` adds to a small training set what the network computes
from its inputs alone (random-kernel counts of sequences), so that each epoch reads it
instead of computing it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

import torch
from torch import Tensor, nn

from ._tokenizers import InputTokens

Batch = tuple[dict[str, Tensor], Tensor]
"""``(inputs, y)``: input tensors by key (B, ...) with the weights (B,), targets
(B, ...)."""
WEIGHT_KEY = "sample_weight"  # rides in the batch dict to the loss, not to the module
FOLD_KEY = "member_fold"  # the same, for ensembles: the member that holds a row out
# Rows whose fixed features are computed at once (bounds the temporary tensors).
_FIXED_FEATURE_ROWS = 1024


class TensorDataset(torch.utils.data.Dataset):
    """Rows of the network's input tensors (a dict of (n, ...) tensors), ``y`` (n, ...)
    and ``weight`` (n,), all already on one device; for an ensemble's training,
    ``fold`` (n,), the member that holds each row out (-1: none, see
    :class:`~skattn._members.MemberLoss`), which batches carry under
    :data:`FOLD_KEY`."""

    def __init__(
        self,
        inputs: dict[str, Tensor],
        y: Tensor,
        weight: Tensor,
        fold: Tensor | None = None,
    ) -> None:
        self.inputs, self.y, self.weight, self.fold = inputs, y, weight, fold

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: Tensor | slice | int) -> Batch:
        batch = {key: tensor[index] for key, tensor in self.inputs.items()}
        batch[WEIGHT_KEY] = self.weight[index]
        if self.fold is not None:
            batch[FOLD_KEY] = self.fold[index]
        return batch, self.y[index]


class TensorBatches:
    """Mini-batches of a :class:`TensorDataset` taken by slicing, in a random order
    drawn from ``generator`` (a CPU :class:`torch.Generator`) when ``shuffle`` is
    true.

    With ``world_size > 1`` (data-parallel training, one process per ``rank``) every
    process draws the same order from an identically seeded generator and yields
    its share ``rows[rank::world_size]`` of each global batch of ``batch_size``
    rows, with the weights scaled by ``world_size / len(rows)``: the summed loss of
    its share, averaged over processes by DistributedDataParallel's gradient
    all-reduce, is then the mean loss of the global batch, as in one process.
    """

    def __init__(
        self,
        dataset: TensorDataset,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.rank = rank
        self.world_size = world_size

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        n_rows = len(self.dataset)
        device = self.dataset.y.device
        order = (
            torch.randperm(n_rows, generator=self.generator).to(device)
            if self.shuffle
            else None
        )
        for start in range(0, n_rows, self.batch_size):
            stop = min(start + self.batch_size, n_rows)
            if self.world_size == 1:
                yield self.dataset[
                    order[start:stop] if order is not None else slice(start, stop)
                ]
                continue
            rows = (
                order[start:stop]
                if order is not None
                else torch.arange(start, stop, device=device)
            )
            batch, y = self.dataset[rows[self.rank :: self.world_size]]
            batch[WEIGHT_KEY] = batch[WEIGHT_KEY] * (self.world_size / len(rows))
            yield batch, y


def with_fixed_features(
    module: nn.Module, datasets: Sequence[TensorDataset], max_bytes: int
) -> list[TensorDataset]:
    """Add to training data what the network computes from its inputs alone.

    The features depend on the inputs alone, so a batch that reads them gets what
    the network would have computed: the same model, fitted faster. For training
    that shows the network its inputs unchanged only (masked pre-training hides
    parts of them first). Inputs that several networks read under one key (an
    ensemble's members) have the same fixed features (the input's fitted state):
    they are computed once.

    Parameters
    ----------
    module : nn.Module
        The network (or ensemble); each of its
        :class:`~skattn._tokenizers.InputTokens` whose tokenizer has fixed features
        gets them under its :attr:`~skattn._tokenizers.InputTokens.fixed_key`.
    datasets : sequence of TensorDataset
        The training and validation data (distinct datasets).
    max_bytes : int
        The most memory that the features of all ``datasets`` may take together.

    Returns
    -------
    datasets : list of TensorDataset
        The datasets with their features, or as they are when the features would
        take more than ``max_bytes`` (the network then computes them per batch).
    """
    inputs = {
        tokens.fixed_key: tokens
        for tokens in module.modules()
        if isinstance(tokens, InputTokens)
    }
    n_rows = sum(len(data) for data in datasets)
    first = next((data for data in datasets if len(data)), None)
    if first is None:
        return list(datasets)
    with torch.no_grad():
        # One row of each input tells the size of the whole, before any is kept.
        examples: dict[str, Tensor] = {}
        for key, tokens in inputs.items():
            example = tokens.fixed_features(
                {name: first.inputs[name][:1] for name in tokens.keys}
            )  # (1, ...), or None for a tokenizer without fixed features
            if example is not None:
                examples[key] = example
        n_bytes = n_rows * sum(example.nbytes for example in examples.values())
        if not examples or n_bytes > max_bytes:
            return list(datasets)
        added = []
        for data in datasets:
            features = {}
            for key, example in examples.items():
                tokens = inputs[key]
                out = example.new_empty((len(data), *example.shape[1:]))  # (n, ...)
                for start in range(0, len(data), _FIXED_FEATURE_ROWS):
                    rows = slice(start, start + _FIXED_FEATURE_ROWS)
                    out[rows] = cast(
                        Tensor,
                        tokens.fixed_features(
                            {name: data.inputs[name][rows] for name in tokens.keys}
                        ),
                    )
                features[key] = out
            added.append(
                TensorDataset(
                    {**data.inputs, **features}, data.y, data.weight, data.fold
                )
            )
    return added
