"""``callbacks=``: skorch callbacks and plain callables beside skattn's own schedule,
early stopping and best-epoch restore."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback, GradientNormClipping

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
    load_model,
    save_model,
)

SMALL = dict(d_token=8, n_heads=2, n_blocks=1, random_state=0)


def data(n_rows=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 4))
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)


class EpochRecorder(Callback):
    """A skorch callback that keeps what it sees."""

    def initialize(self):
        self.epochs_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_.append(dict(net.history[-1]))


class StopTheSkorchWay(Callback):
    """skorch's idiom for stopping (its EarlyStopping does the same)."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 4:
            raise KeyboardInterrupt


def test_a_callable_sees_every_epoch_and_can_stop_training():
    records = []

    def stop_after_three(record):
        records.append(record)
        return record["epoch"] == 3

    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # a stop, not a cap
        clf = AttentionMLPClassifier(
            **SMALL, max_iter=50, callbacks=[stop_after_three]
        ).fit(X, y)
    assert clf.n_iter_ == 3
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert [r["train_loss"] for r in records] == clf.loss_curve_


def test_stopping_from_a_callable_keeps_the_best_epoch_restore():
    X, y = data(n_rows=400)
    valid_losses = []

    def stop_at_eight(record):
        valid_losses.append(record["valid_loss"])
        return record["epoch"] == 8

    params = dict(SMALL, early_stopping=True, learning_rate_schedule="constant")
    stopped = AttentionMLPClassifier(
        **params, max_iter=50, callbacks=[stop_at_eight]
    ).fit(X, y)
    assert stopped.n_iter_ == 8
    # The same training run to the best epoch and no further: the same network.
    best_epoch = int(np.argmin(valid_losses)) + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        to_best = AttentionMLPClassifier(**params, max_iter=best_epoch).fit(X, y)
    np.testing.assert_array_equal(stopped.predict_proba(X), to_best.predict_proba(X))


def test_skorch_callbacks_run_and_stop_the_skorch_way():
    X, y = data()
    recorder = EpochRecorder()
    clf = AttentionMLPClassifier(
        **SMALL, max_iter=30, callbacks=[recorder, ("stop", StopTheSkorchWay())]
    ).fit(X, y)
    assert clf.n_iter_ == 4  # the KeyboardInterrupt of a callback is a stop request
    assert [epoch["epoch"] for epoch in recorder.epochs_] == [1, 2, 3, 4]


def test_gradient_norm_clipping_changes_the_training():
    X, y = data()
    plain = AttentionMLPClassifier(**SMALL, max_iter=3).fit(X, y)
    clipped = AttentionMLPClassifier(
        **SMALL, max_iter=3, callbacks=[GradientNormClipping(gradient_clip_value=1e-3)]
    ).fit(X, y)
    assert not np.allclose(clipped.predict_proba(X), plain.predict_proba(X))


def test_the_other_estimators_take_callbacks_and_partial_fit_runs_them():
    X, y = data()
    epochs = []
    extractor = AttentionFeatureExtractor(
        **SMALL, max_iter=2, callbacks=[epochs.append]
    )
    extractor.fit(X)
    assert len(epochs) == 2
    regressor = AttentionMLPRegressor(**SMALL, max_iter=2, callbacks=[epochs.append])
    regressor.fit(X, X[:, 0]).partial_fit(X, X[:, 0])
    assert len(epochs) == 2 + 2 + 1  # an epoch per partial_fit


def test_an_error_in_a_callback_propagates_and_keeps_the_fitted_model():
    X, y = data()
    clf = AttentionMLPClassifier(**SMALL, max_iter=2).fit(X, y)
    proba = clf.predict_proba(X)

    def broken(record):
        raise RuntimeError("the tracking server is down")

    with pytest.raises(RuntimeError, match="tracking server"):
        clf.set_params(callbacks=[broken]).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_entries_that_are_no_callbacks_are_refused():
    X, y = data()
    with pytest.raises(TypeError, match=r"callbacks\[1\] is 'stop'"):
        AttentionMLPClassifier(callbacks=[print, "stop"]).fit(X, y)


def test_callbacks_are_a_parameter_like_any_other(tmp_path):
    clf = AttentionMLPClassifier(**SMALL, max_iter=2, callbacks=[EpochRecorder()])
    twin = clone(clf)
    assert isinstance(twin.get_params()["callbacks"][0], EpochRecorder)
    assert twin.callbacks[0] is not clf.callbacks[0]
    X, y = data()
    save_model(clf.fit(X, y), tmp_path / "model.skattn")
    loaded = load_model(tmp_path / "model.skattn")  # the user's objects stay out
    assert loaded.callbacks is None
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_mlflow_logger_writes_a_real_run(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient
    from skorch.callbacks import MlflowLogger

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store
    client = MlflowClient(tracking_uri=(tmp_path / "runs").as_uri())
    run = client.create_run(client.create_experiment("skattn"))
    X, y = data(n_rows=400)
    clf = AttentionMLPClassifier(
        **SMALL,
        max_iter=4,
        early_stopping=True,
        callbacks=[MlflowLogger(run, client, create_artifact=False)],
    ).fit(X, y)
    history = client.get_metric_history(run.info.run_id, "valid_score")
    assert [metric.value for metric in history] == clf.validation_scores_
    losses = client.get_metric_history(run.info.run_id, "train_loss")
    assert [metric.value for metric in losses] == pytest.approx(clf.loss_curve_)


@pytest.fixture
def sklearn_autolog(tmp_path, monkeypatch):
    """mlflow.sklearn.autolog() on, runs in a local folder; off again after."""
    mlflow = pytest.importorskip("mlflow")
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store
    mlflow.set_tracking_uri((tmp_path / "runs").as_uri())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MLflow's notices about versions, stores
        mlflow_sklearn.autolog(log_models=False, log_datasets=False, silent=True)
    yield mlflow
    mlflow_sklearn.autolog(disable=True)
    mlflow.set_tracking_uri(None)


def test_mlflow_sklearn_autolog_records_parameters_and_curves(sklearn_autolog):
    mlflow = sklearn_autolog
    X, y = data(n_rows=400)
    clf = AttentionMLPClassifier(**SMALL, max_iter=4, early_stopping=True).fit(X, y)

    run = mlflow.last_active_run()  # the fit's own run, ended with the fit
    assert run.info.status == "FINISHED"
    assert run.data.params["d_token"] == "8"
    assert run.data.params["max_iter"] == "4"
    assert run.data.tags["estimator_name"] == "AttentionMLPClassifier"
    client = mlflow.tracking.MlflowClient()
    curve = client.get_metric_history(run.info.run_id, "valid_accuracy")
    assert [m.value for m in curve] == clf.validation_scores_
    assert [m.step for m in curve] == [1, 2, 3, 4]
    losses = client.get_metric_history(run.info.run_id, "train_loss")
    assert [m.value for m in losses] == pytest.approx(clf.loss_curve_)
    assert run.data.metrics["training_score"] == pytest.approx(clf.score(X, y))


def test_mlflow_autolog_logs_into_the_users_run_and_not_inside_a_pipeline(
    sklearn_autolog,
):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mlflow = sklearn_autolog
    X, y = data(n_rows=200)
    with mlflow.start_run() as run:
        AttentionMLPRegressor(**SMALL, max_iter=2).fit(X, X[:, 0])
    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.params["loss"] == "squared_error"
    assert "train_loss" in logged.data.metrics
    # In a Pipeline, MLflow's patch of Pipeline.fit logs the fit (skattn's
    # parameters among the pipeline's); skattn adds nothing of its own.
    pipeline = make_pipeline(StandardScaler(), AttentionMLPClassifier(**SMALL))
    pipeline.set_params(attentionmlpclassifier__max_iter=2).fit(X, y)
    logged = mlflow.last_active_run()
    assert logged.data.params["attentionmlpclassifier__d_token"] == "8"
    assert "d_token" not in logged.data.params
    assert "train_loss" not in logged.data.metrics


def test_without_autolog_a_fit_starts_no_run(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri((tmp_path / "runs").as_uri())
    try:
        X, y = data(n_rows=100)
        AttentionMLPClassifier(**SMALL, max_iter=1).fit(X, y)
        runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
        assert runs == []
    finally:
        mlflow.set_tracking_uri(None)


def test_mlflow_errors_warn_and_the_fit_goes_on(sklearn_autolog):
    mlflow = sklearn_autolog
    X, y = data(n_rows=100)
    with mlflow.start_run():
        AttentionMLPClassifier(**SMALL, max_iter=1).fit(X, y)
        # The same run, another d_token: MLflow refuses to change a parameter.
        with pytest.warns(UserWarning, match="MLflow autologging could not log"):
            clf = AttentionMLPClassifier(**{**SMALL, "d_token": 4}, max_iter=1)
            clf.fit(X, y)
    assert clf.n_iter_ == 1


def test_disable_autologging_blocks_are_respected(sklearn_autolog):
    from mlflow.utils.autologging_utils import disable_autologging

    mlflow = sklearn_autolog
    X, y = data(n_rows=100)
    with disable_autologging():
        AttentionMLPClassifier(**SMALL, max_iter=1).fit(X, y)
    assert mlflow.search_runs(search_all_experiments=True, output_format="list") == []
