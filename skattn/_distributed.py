"""Data-parallel training's calls to :mod:`torch.distributed`.

Joining the default process group that ``torchrun`` describes, sharing process 0's
seeds, checking that every process holds the same training data, and wrapping the
network for :class:`~torch.nn.parallel.DistributedDataParallel`. The split of each
batch between processes is :class:`skattn._batches.TensorBatches`'.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch
from torch import nn


def join_process_group(device: torch.device) -> torch.device:
    """Initialise :mod:`torch.distributed`'s default group from the environment
    ``torchrun`` sets, unless it is initialised; return this process's device (GPU
    ``LOCAL_RANK`` for a CUDA ``device`` without an index)."""
    if not torch.distributed.is_available():
        raise RuntimeError("distributed=True, but this torch build has no distributed")
    if not torch.distributed.is_initialized():
        needed = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
        missing = [name for name in needed if name not in os.environ]
        if missing:
            raise ValueError(
                "distributed=True trains across the processes of a torch.distributed "
                "group: launch the script with torchrun (torchrun --nproc-per-node 2 "
                "script.py) or call torch.distributed.init_process_group() first; "
                f"the environment lacks {missing}"
            )
        torch.distributed.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo"
        )
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def broadcast_seeds(seeds: list[int], device: torch.device) -> list[int]:
    """Process 0's ``seeds``, in every process of the default group."""
    values = torch.tensor(seeds, dtype=torch.int64, device=device)
    torch.distributed.broadcast(values, src=0)
    return [int(value) for value in values.tolist()]


def check_same_data(
    n_rows: int, arrays: list[np.ndarray], device: torch.device
) -> None:
    """Raise, in every process alike, unless all processes of the default group
    hold ``n_rows`` rows and the same ``arrays`` (compared by a SHA-256 digest of
    their bytes): a mismatch would otherwise train diverging models, or leave one
    process waiting for the others at a collective call."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    words = np.frombuffer(digest.digest()[:24], dtype=np.int64)
    summary = torch.tensor([n_rows, *words.tolist()], dtype=torch.int64, device=device)
    low, high = summary.clone(), summary.clone()
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    if int(low[0]) != int(high[0]):
        raise ValueError(
            "distributed=True needs the same X, y and sample_weight in every process "
            "(each trains on its share of every batch), but the processes hold "
            f"from {int(low[0])} to {int(high[0])} rows"
        )
    if not torch.equal(low, high):
        raise ValueError(
            "distributed=True needs the same X, y and sample_weight in every process "
            "(each trains on its share of every batch), but the processes hold "
            "different values (or rows in another order)"
        )


def data_parallel(
    module: nn.Module, device: torch.device
) -> tuple[nn.Module, int, int]:
    """``module`` wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`
    for the default group, with the group's size and this process's rank."""
    world_size = torch.distributed.get_world_size()
    rank = torch.distributed.get_rank()
    wrapped = nn.parallel.DistributedDataParallel(
        module,
        device_ids=[device] if device.type == "cuda" else None,
        # Some weights take part only in some batches (on the CPU, the
        # missing-value embeddings skip batches without a missing value): DDP
        # must look for the unused ones at every step.
        find_unused_parameters=True,
    )
    return wrapped, world_size, rank
