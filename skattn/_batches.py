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
    """``datasets`` with the fixed features of each of ``module``'s inputs added
    under :attr:`~skattn._tokenizers.InputTokens.fixed_key`, computed once, when
    those of all the datasets take at most ``max_bytes``; else ``datasets`` as they
    are (and the network computes the features per batch).

    The features depend on the inputs alone, so a batch that reads them gets what
    the network would have computed: the same model, fitted faster. Only for
    training that shows the network its inputs unchanged (masked pre-training hides
    parts of them first). Inputs read by several networks (an ensemble's members)
    under one key have the same fixed features (the input's fitted state): they are
    computed once.
    """
    inputs = {
        tokens.fixed_key: tokens
        for tokens in module.modules()
        if isinstance(tokens, InputTokens)
    }
    n_rows = sum(len(data) for data in datasets)
    added: list[dict[str, Tensor]] = [{} for _ in datasets]
    planned_bytes = 0
    with torch.no_grad():
        for key, tokens in inputs.items():
            planned = False
            for data, features in zip(datasets, added, strict=True):
                chunks = []
                for start in range(0, len(data), _FIXED_FEATURE_ROWS):
                    rows = slice(start, start + _FIXED_FEATURE_ROWS)
                    chunk = tokens.fixed_features(
                        {name: data.inputs[name][rows] for name in tokens.keys}
                    )  # (rows, ...), or None for a tokenizer without any
                    if chunk is None:
                        break
                    if not planned:  # the first row tells the size of the whole
                        planned = True
                        planned_bytes += n_rows * chunk[0].nbytes
                        if planned_bytes > max_bytes:
                            return list(datasets)
                    chunks.append(chunk)
                if chunks:
                    features[key] = torch.cat(chunks)
    return [
        TensorDataset({**data.inputs, **features}, data.y, data.weight, data.fold)
        for data, features in zip(datasets, added, strict=True)
    ]
