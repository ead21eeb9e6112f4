"""Running the fitted network on new data: ``predict``, ``transform`` and
explanations all go through :class:`InferenceMixin`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import Tensor

from ._engine import autocast
from ._parameters import AttentionMLPParameters
from ._runtime import autocast_dtype, prediction_chunk_rows
from ._validation import check_input


def n_rows(arrays: dict[str, np.ndarray]) -> int:
    """Samples in an encoded input: every array in it has one row per sample."""
    return len(next(iter(arrays.values())))


class InferenceMixin(AttentionMLPParameters):
    """Encode ``X`` once, then run the network in chunks of rows without autograd."""

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        """No autograd, and the autocast of ``precision`` on the network's device."""
        check_is_fitted(self)
        device = next(self.module_.parameters()).device
        with (
            torch.inference_mode(),
            autocast(autocast_dtype(self.precision, device), device),
        ):
            yield

    def _input_chunks(
        self, X: Any
    ) -> tuple[int, Iterator[tuple[slice, dict[str, Tensor]]]]:
        """Encode ``X``; return its number of rows and an iterator over chunks of
        them: ``(rows, inputs)``, the rows a slice, the inputs a dict of tensors on
        the network's device. The network is put in eval mode."""
        arrays = self._encode(X)
        return n_rows(arrays), self._array_chunks(arrays)

    def _encode(self, X: Any) -> dict[str, np.ndarray]:
        """The checked, encoded arrays of ``X``."""
        check_is_fitted(self)
        return self._input.transform(check_input(self, X, self._input, reset=False))

    def _array_chunks(
        self, arrays: dict[str, np.ndarray], chunk_rows: int | None = None
    ) -> Iterator[tuple[slice, dict[str, Tensor]]]:
        """Chunks ``(rows, inputs)`` of encoded arrays, as in :meth:`_input_chunks`,
        of ``chunk_rows`` rows (default: :func:`prediction_chunk_rows`)."""
        self.module_.eval()
        device = next(self.module_.parameters()).device
        chunk = chunk_rows or prediction_chunk_rows(device)
        n_samples = n_rows(arrays)

        def chunks() -> Iterator[tuple[slice, dict[str, Tensor]]]:
            for start in range(0, n_samples, chunk):
                rows = slice(start, start + chunk)
                yield (
                    rows,
                    {
                        key: torch.from_numpy(array[rows]).to(device)
                        for key, array in arrays.items()
                    },
                )

        return chunks()

    def _run_network(self, X: Any, *, embed: bool = False) -> np.ndarray:
        """Network outputs (n_samples, O), or embeddings (n_samples, E), as float64.

        Each row's result depends on that row alone (up to float32 rounding, which
        BLAS may do differently for another batch shape): attention mixes the tokens
        of one row, never rows, and nothing (batch norm, say) pools over the batch.
        """
        n_samples, chunks = self._input_chunks(X)
        # NOTE[PERF]: results go straight into one array allocated up front. Keeping
        # each chunk's small result alive between the chunks' large, short-lived
        # activations fragmented glibc's heap: resident memory grew by about 6 kB
        # per predicted row, 300 MB for 60,000 rows, instead of staying flat.
        result = np.empty((n_samples, 0))
        with self._inference():
            for rows, batch in chunks:
                out = self.module_.embed(batch)[0] if embed else self.module_(batch)
                if rows.start == 0:
                    result = np.empty((n_samples, out.shape[1]))  # float64
                result[rows] = out.float().cpu().numpy()
        bad = ~np.isfinite(result).all(axis=1)
        if bad.any():  # never a silent answer read off NaN (argmax picks class 0)
            raise ValueError(
                f"The network's outputs are not finite for {int(bad.sum())} of "
                f"{n_samples} rows (the first: {np.flatnonzero(bad)[:5].tolist()}). "
                "Their inputs are of a magnitude this model cannot handle (with "
                f"numerical_scaling={self.numerical_scaling!r}); use "
                "numerical_scaling='quantile' or rescale them."
            )
        return result
