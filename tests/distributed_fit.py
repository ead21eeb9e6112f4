"""Fit one model data-parallel: run by ``tests/test_scaling.py`` under torchrun.

Usage: ``torchrun --standalone --nproc-per-node N tests/distributed_fit.py OUT``.
Every process fits the same data with ``distributed=True``; each writes its
predictions, loss curve and a checksum of its weights to ``OUT.rank<r>.npz``.
"""

import sys
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from skattn import AttentionMLPClassifier

# Parameters of the comparison: no dropout (each process draws its own masks), an odd
# global batch so that the processes' shares differ in size, and early stopping so
# that the validation path runs too.
PARAMS = dict(
    d_token=16,
    n_blocks=1,
    ffn_dropout=0.0,
    batch_size=67,
    max_iter=6,
    early_stopping=True,
    validation_fraction=0.2,
    random_state=0,
)


def data() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(
        n_samples=601, n_features=6, n_informative=4, random_state=0
    )


def weights_checksum(model: AttentionMLPClassifier) -> float:
    return float(
        sum(p.detach().double().abs().sum() for p in model.module_.parameters())
    )


if __name__ == "__main__":
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = AttentionMLPClassifier(distributed=True, **PARAMS).fit(X, y)
    rank = torch.distributed.get_rank()
    np.savez(
        f"{sys.argv[1]}.rank{rank}.npz",
        proba=model.predict_proba(X),
        loss_curve=np.array(model.loss_curve_),
        validation_scores=np.array(model.validation_scores_),
        checksum=weights_checksum(model),
        world_size=torch.distributed.get_world_size(),
    )
    torch.distributed.destroy_process_group()
