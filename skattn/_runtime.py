"""Where and how reproducibly the network runs: devices, precision, seeds.

Functions of the estimators' runtime parameters (``device``, ``precision``,
``random_state``, ``distributed``) that hold no state of their own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ._distributed import broadcast_seeds, join_process_group

MAX_SEED = np.iinfo(np.int32).max


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn the ``device`` parameter into a :class:`torch.device`, or raise."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or "
            "'cuda:N' (or a torch.device)"
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r}: only 'cpu' and 'cuda' devices are supported"
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA, but torch.cuda.is_available() is False; "
            "use device='auto' to fall back to the CPU"
        )
    return resolved


def training_device(device: str | torch.device, distributed: bool) -> torch.device:
    """The ``device`` parameter resolved; with ``distributed``, this process's
    device, the process group joined."""
    resolved = resolve_device(device)
    return join_process_group(resolved) if distributed else resolved


def cuda_index(device: torch.device) -> int:
    """The index of a CUDA device, the current one for a plain ``"cuda"``."""
    return torch.cuda.current_device() if device.index is None else device.index


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the ``precision`` parameter on ``device`` (None: float32).

    "auto" is bfloat16 on a CUDA device that supports it, else float32: bfloat16 has
    float32's exponent range, so it needs no loss scaling, and on the CPU it was
    slower than float32 on our machines (50 against 32 ms per training step).
    """
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def prediction_chunk_rows(device: torch.device) -> int:
    """Rows per forward pass when predicting."""
    # On CPU a few hundred rows per forward pass is faster per row than big batches
    # (cache-resident activations); a GPU wants large batches.
    return 512 if device.type == "cpu" else 8192


def draw_seeds(
    rng: np.random.RandomState, n_seeds: int, device: torch.device, distributed: bool
) -> list[int]:
    """``n_seeds`` seeds from ``rng``; with ``distributed``, rank 0's for every
    process."""
    seeds = [int(rng.randint(MAX_SEED)) for _ in range(n_seeds)]
    return broadcast_seeds(seeds, device) if distributed else seeds


def child_seed(seed: int, stream: int) -> int:
    """A seed for the ``stream``-th use of ``seed`` (e.g. a batch order), whose
    random numbers are independent of those of torch's generator seeded with
    ``seed`` itself (SeedSequence hashes its entropy)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


# torch's global generators are the process's: fits in threads would draw from them
# in an interleaved order, and fork_rng's save and restore would interleave too. Only
# building a network draws from them (nn.Linear's initialisation takes no
# generator), under this lock; training draws from a generator of its own.
_GLOBAL_GENERATOR_LOCK = threading.Lock()


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Draws from torch's CPU generator seeded with ``seed`` (None: as it is), forked
    so that the caller's is left as it was, and locked against other skattn code in
    threads: for building a network."""
    with _GLOBAL_GENERATOR_LOCK, torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.default_generator.manual_seed(seed)
        yield


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block on ``n_threads`` torch threads (None: as torch is set), and
    put back the count of before when it ends.

    torch's count belongs to the calling thread (OpenMP's setting; new threads
    start from the last count set anywhere), so fits in other threads keep
    theirs; the training runs in the calling thread, backward passes included.
    """
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    if n_threads != before:
        torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def training_generator(device: torch.device, seed: int) -> torch.Generator:
    """The generator that a fit's training draws from (dropout, masks). Called in
    :func:`seeded` right after the network is built, it continues the CPU stream
    where the initialisation left it, as torch's own generator would have; on a GPU
    it is the device's generator seeded with ``seed``."""
    if device.type == "cuda":
        return torch.Generator(device=device).manual_seed(seed)
    generator = torch.Generator()
    generator.set_state(torch.default_generator.get_state())
    return generator


@contextlib.contextmanager
def drawing_from(module: nn.Module, generator: torch.Generator) -> Iterator[None]:
    """Point every submodule that draws random numbers in training (those with a
    ``generator`` attribute) at ``generator``, for the duration of the block."""
    drawing = [m for m in module.modules() if hasattr(m, "generator")]
    for submodule in drawing:
        setattr(submodule, "generator", generator)  # noqa: B010 (not a tensor)
    try:
        yield
    finally:
        for submodule in drawing:
            setattr(submodule, "generator", None)  # noqa: B010


def tensors_to_numpy(state: Any) -> Any:
    """A copy of a (nested) state with every tensor as a NumPy array on the CPU:
    what pickle and skops store."""
    if isinstance(state, Tensor):
        return state.detach().cpu().numpy().copy()
    if isinstance(state, dict):
        return {key: tensors_to_numpy(value) for key, value in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(tensors_to_numpy(value) for value in state)
    return state


def numpy_to_tensors(state: Any) -> Any:
    """The inverse of :func:`tensors_to_numpy`."""
    if isinstance(state, np.ndarray):
        # A plain, writable copy: joblib may load arrays as read-only memory maps.
        return torch.from_numpy(np.array(state, copy=True, subok=False))
    if isinstance(state, dict):
        return {key: numpy_to_tensors(value) for key, value in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(numpy_to_tensors(value) for value in state)
    return state
