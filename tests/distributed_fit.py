"""Fit models data-parallel: run by ``tests/test_scaling.py`` under torchrun.

Usage: ``torchrun --standalone --nproc-per-node N tests/distributed_fit.py OUT``.
Every process fits each scenario's data with ``distributed=True`` and writes its
predictions, loss curve and a checksum of its weights to ``OUT.rank<r>.npz``; the
test fits the same scenarios in one process with :func:`fit_scenario` and compares.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from skattn import AttentionFeatureExtractor, AttentionMLPClassifier

# No dropout anywhere (each process draws its own masks), odd global batches so that
# the processes' shares differ in size.
SHARED = dict(d_token=16, n_blocks=1, ffn_dropout=0.0, random_state=0)
SCENARIOS = {
    # Early stopping that fires: the validation path, the stopping decision and the
    # restore of the best epoch's weights.
    "early_stopping": dict(
        batch_size=67,
        max_iter=60,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        tol=1e-3,
    ),
    # 65 ragged sequences in batches of 32: the last global batch has one row, so
    # the second process's share is empty.
    "sequences_empty_share": dict(batch_size=32, max_iter=3, early_stopping=False),
    # Linear probing, then fine-tuning, from a pretrained extractor.
    "pretrained": dict(batch_size=33, max_iter=4, early_stopping=False),
    # Two cross-fitted members on the ragged sequences: members that get no row of
    # a share, an empty share, each member's own best epoch; random-kernel tokens,
    # whose counts every process computes once and slices with its shares.
    "members_empty_share": dict(
        batch_size=32,
        max_iter=6,
        n_members=2,
        early_stopping=True,
        n_iter_no_change=2,
        sequence_tokenizer="random_kernels",
    ),
}


def data(scenario: str) -> tuple[object, np.ndarray]:
    X, y = make_classification(
        n_samples=601, n_features=6, n_informative=4, random_state=0
    )
    if scenario in ("sequences_empty_share", "members_empty_share"):
        steps = np.random.default_rng(0).normal(size=(65, 10, 2))
        return [row[: 3 + i % 8] for i, row in enumerate(steps)], y[:65]
    return X, y


def fit_scenario(scenario: str, distributed: bool) -> AttentionMLPClassifier:
    X, y = data(scenario)
    params = dict(SHARED, **SCENARIOS[scenario], distributed=distributed)
    if scenario == "pretrained":
        extractor = AttentionFeatureExtractor(**SHARED, max_iter=3)
        params["pretrained"] = extractor.fit(X)  # the same in every process
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return AttentionMLPClassifier(**params).fit(X, y)


def weights_checksum(model: AttentionMLPClassifier) -> float:
    return float(
        sum(p.detach().double().abs().sum() for p in model.module_.parameters())
    )


if __name__ == "__main__":
    results: dict[str, object] = {}
    for scenario in SCENARIOS:
        model = fit_scenario(scenario, distributed=True)
        X, _ = data(scenario)
        results[f"{scenario}.proba"] = model.predict_proba(X)
        results[f"{scenario}.loss_curve"] = np.array(model.loss_curve_)
        results[f"{scenario}.n_iter"] = model.n_iter_
        results[f"{scenario}.checksum"] = weights_checksum(model)
    # Different data in the processes is refused in every process (and none hangs).
    X, y = data("early_stopping")
    rank = torch.distributed.get_rank()
    y = y.copy()
    y[:5] = 1 - y[:5] if rank else y[:5]  # five labels differ in the second process
    try:
        AttentionMLPClassifier(**SHARED, max_iter=2, distributed=True).fit(X, y)
    except ValueError as error:
        results["mismatch_error"] = str(error)
    results["world_size"] = torch.distributed.get_world_size()
    np.savez(f"{sys.argv[1]}.rank{rank}.npz", **results)
    # As the user guide asks: wait for every process, then tear the group down. A
    # process that destroys its gloo group while another is still finishing the last
    # collective call makes the latter abort ("terminate called without an active
    # exception"); the refused fit just above ends right after one.
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
