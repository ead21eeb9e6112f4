"""Past one machine: hyper-parameter search on a Dask cluster, data-parallel training
with torch.distributed, and streaming fits with partial_fit."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split

from skattn import AttentionMLPClassifier, AttentionMLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
TESTS = Path(__file__).resolve().parent


# -- Dask ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    # Two worker processes on loopback, one thread each (dask also sets
    # OMP_NUM_THREADS=1 in them), as a cluster of two machines would run.
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_grid_search_on_a_dask_cluster_matches_a_local_one(dask_client):
    from dask.distributed import get_task_stream

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[:200], y[:200]
    search = GridSearchCV(
        AttentionMLPClassifier(d_token=16, n_blocks=1, max_iter=5, random_state=0),
        {"learning_rate": [1e-3, 3e-3]},
        cv=2,
    )
    with get_task_stream(dask_client) as tasks, joblib.parallel_backend("dask"):
        search.fit(X, y)
    local = clone(search).fit(X, y)

    workers = set(dask_client.scheduler_info()["workers"])
    assert tasks.data and {task["worker"] for task in tasks.data} <= workers
    # The fits ran in the workers, on estimators pickled there and back: the
    # scores are those of the same fits run here.
    np.testing.assert_array_equal(
        search.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )


def test_model_fitted_on_a_worker_predicts_here(dask_client):
    # device="auto" is resolved where fit runs (the worker's GPU, when it has one);
    # the fitted model comes back with CPU tensors and predicts on this machine.
    X, y = load_breast_cancer(return_X_y=True)
    model = AttentionMLPClassifier(d_token=16, n_blocks=1, max_iter=5, random_state=0)
    remote = dask_client.submit(clone(model).fit, X, y, pure=False).result()
    assert remote.device_.type == "cpu"
    np.testing.assert_allclose(
        remote.predict_proba(X), clone(model).fit(X, y).predict_proba(X), atol=1e-6
    )


# -- torch.distributed --------------------------------------------------------------
def test_data_parallel_fit_matches_one_process(tmp_path):
    # Two processes with the gloo backend, launched by torchrun, each training on
    # its share of every global batch, reach the model one process trains on whole
    # batches (same global batch, no dropout): with early stopping firing, with an
    # empty share, and through linear probing then fine-tuning.
    sys.path.insert(0, str(TESTS))
    try:
        import distributed_fit
    finally:
        sys.path.remove(str(TESTS))
    out = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(TESTS / "distributed_fit.py"),
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [np.load(f"{out}.rank{rank}.npz") for rank in (0, 1)]
    assert [int(r["world_size"]) for r in ranks] == [2, 2]

    for scenario in distributed_fit.SCENARIOS:
        single = distributed_fit.fit_scenario(scenario, distributed=False)
        X, _ = distributed_fit.data(scenario)
        # Both processes hold one model ...
        for key in ("proba", "checksum", "n_iter"):
            np.testing.assert_array_equal(
                ranks[0][f"{scenario}.{key}"], ranks[1][f"{scenario}.{key}"]
            )
        # ... which is the one-process model, up to float32 summation order.
        np.testing.assert_allclose(
            ranks[0][f"{scenario}.proba"], single.predict_proba(X), atol=1e-5
        )
        np.testing.assert_allclose(
            ranks[0][f"{scenario}.loss_curve"], single.loss_curve_, rtol=1e-5
        )
        assert int(ranks[0][f"{scenario}.n_iter"]) == single.n_iter_
    early = distributed_fit.SCENARIOS["early_stopping"]
    assert int(ranks[0]["early_stopping.n_iter"]) < early["max_iter"]
    for rank in ranks:
        assert "hold different values" in str(rank["mismatch_error"])


def test_distributed_without_a_process_group_says_how_to_launch(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    X, y = make_classification(n_samples=50, random_state=0)
    with pytest.raises(ValueError, match=r"launch the script with torchrun"):
        AttentionMLPClassifier(distributed=True).fit(X, y)


# -- partial_fit --------------------------------------------------------------------
def _stream(model, X, y, *, passes, n_chunks, seed=0, **kwargs):
    """Feed (X, y) to ``model.partial_fit`` in shuffled chunks, ``passes`` times."""
    rng = np.random.default_rng(seed)
    for _ in range(passes):
        for rows in np.array_split(rng.permutation(len(X)), n_chunks):
            model.partial_fit(X[rows], y[rows], **kwargs)
    return model


@pytest.fixture(scope="module")
def stream_task():
    X, y = make_classification(
        n_samples=2000, n_features=8, n_informative=5, random_state=0
    )
    return train_test_split(X, y, test_size=0.3, random_state=0)


def test_streamed_fit_reaches_the_in_memory_accuracy(stream_task):
    X_train, X_test, y_train, y_test = stream_task
    params = dict(d_token=16, n_blocks=1, random_state=0)
    in_memory = AttentionMLPClassifier(**params, max_iter=30).fit(X_train, y_train)
    streamed = _stream(
        AttentionMLPClassifier(**params),
        X_train,
        y_train,
        passes=10,
        n_chunks=4,
        classes=[0, 1],
    )
    assert streamed.n_iter_ == 40 and len(streamed.loss_curve_) == 40
    assert streamed.loss_curve_[-1] < streamed.loss_curve_[0]
    accuracy = streamed.score(X_test, y_test)
    assert accuracy > 0.85
    assert accuracy >= in_memory.score(X_test, y_test) - 0.02


def test_partial_fit_is_reproducible_and_resumes_after_pickling(stream_task):
    X, _, y, _ = stream_task
    chunks = np.array_split(np.arange(600), 3)
    params = dict(d_token=16, n_blocks=1, random_state=0)
    first = AttentionMLPClassifier(**params)
    second = AttentionMLPClassifier(**params)
    for model in (first, second):
        model.partial_fit(X[chunks[0]], y[chunks[0]], classes=[0, 1])
        model.partial_fit(X[chunks[1]], y[chunks[1]])
    # Pickled between chunks (optimizer moments included), it goes on exactly as
    # the model that stayed in memory.
    second = pickle.loads(pickle.dumps(second))
    for model in (first, second):
        model.partial_fit(X[chunks[2]], y[chunks[2]])
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_partial_fit_uses_every_chunk_and_its_own_shuffle(stream_task):
    # The same chunk twice gives two different updates (each call draws a new
    # order), and the result differs from one call on the chunk.
    X, _, y, _ = stream_task
    X, y = X[:300], y[:300]
    once = AttentionMLPClassifier(d_token=16, n_blocks=1, random_state=0)
    once.partial_fit(X, y, classes=[0, 1])
    twice = clone(once).partial_fit(X, y, classes=[0, 1]).partial_fit(X, y)
    assert not np.allclose(once.predict_proba(X), twice.predict_proba(X))
    assert twice.n_iter_ == 2


def test_partial_fit_classes_rules(stream_task):
    X, _, y, _ = stream_task
    model = AttentionMLPClassifier(d_token=16, n_blocks=1, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(X[:50], y[:50])
    # A chunk may lack classes that later chunks hold.
    model.partial_fit(X[:50][y[:50] == 0], y[:50][y[:50] == 0], classes=[0, 1, 2])
    assert model.classes_.tolist() == [0, 1, 2]
    with pytest.raises(
        ValueError, match=r"classes=\[0, 1\] differs from the fitted classes_"
    ):
        model.partial_fit(X[:50], y[:50], classes=[0, 1])
    with pytest.raises(
        ValueError, match=r"labels that are not among the classes: \[7\]"
    ):
        model.partial_fit(X[:2], np.array([0, 7]))
    with pytest.raises(ValueError, match="X has 3 features, but"):
        model.partial_fit(X[:50, :3], y[:50])
    # A first call that fails leaves an unfitted model, not half of one.
    fresh = AttentionMLPClassifier(d_token=16, n_blocks=1)
    with pytest.raises(ValueError, match=r"not among the classes: \[5\]"):
        fresh.partial_fit(X[:2], np.array([0, 5]), classes=[0, 1])
    with pytest.raises(NotFittedError):
        fresh.predict(X[:2])
    balanced = AttentionMLPClassifier(class_weight="balanced")
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        balanced.partial_fit(X[:50], y[:50], classes=[0, 1])


def test_partial_fit_continues_a_fit_and_fit_starts_afresh(stream_task):
    X, _, y, _ = stream_task
    X_reg, y_reg = X[:400], X[:400, 0] * 2.0 + y[:400]
    reg = AttentionMLPRegressor(
        d_token=16, n_blocks=1, max_iter=5, early_stopping=True, random_state=0
    )
    fitted = reg.fit(X_reg, y_reg)
    n_iter = fitted.n_iter_
    before = fitted.predict(X_reg)
    assert len(fitted.validation_scores_) == n_iter
    fitted.partial_fit(X_reg, y_reg)
    assert fitted.n_iter_ == n_iter + 1
    assert len(fitted.loss_curve_) == n_iter + 1
    # partial_fit has no validation split: the fit's scores would be stale.
    assert fitted.validation_scores_ is None
    assert fitted.best_validation_score_ is None
    assert not np.allclose(before, fitted.predict(X_reg))
    refit = fitted.fit(X_reg, y_reg)
    np.testing.assert_array_equal(refit.predict(X_reg), before)
    assert not hasattr(refit, "_optimizer_state")
