"""Saving fitted models: pickle/joblib across processes, and save_model/load_model,
the export that loads without unpickling."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
import zipfile

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_diabetes
from sklearn.frozen import FrozenEstimator

from skattn import (
    SKOPS_TRUSTED_TYPES,
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
    TwoInputs,
    load_model,
    save_model,
)
from skattn._export import _STATE_TYPES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SHORT = dict(d_token=16, n_blocks=1, max_iter=3, random_state=0)


def _run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter; return its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_joblib_pickle_loads_in_a_fresh_process(tmp_path, mixed_frame):
    # A model pickled here predicts the same in another interpreter, which has
    # imported nothing but what unpickling needs.
    X, y = mixed_frame
    clf = AttentionMLPClassifier(**SHORT).fit(X, y)
    joblib.dump(clf, tmp_path / "model.joblib")
    X.to_pickle(tmp_path / "X.pkl")
    _run_python(
        f"""
        import joblib, numpy as np, pandas as pd
        clf = joblib.load({str(tmp_path / "model.joblib")!r})
        X = pd.read_pickle({str(tmp_path / "X.pkl")!r})
        np.save({str(tmp_path / "proba.npy")!r}, clf.predict_proba(X))
        """
    )
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), clf.predict_proba(X))


def _models(mixed_frame):
    X, y = mixed_frame
    X_reg, y_reg = load_diabetes(return_X_y=True)
    steps = np.random.default_rng(0).normal(size=(len(X), 12, 2))
    ragged = [row[: 4 + i % 8] for i, row in enumerate(steps)]
    return {
        "classifier, DataFrame": (AttentionMLPClassifier(**SHORT), X, y),
        "regressor, array": (AttentionMLPRegressor(**SHORT), X_reg[:200], y_reg[:200]),
        "extractor, no labels": (AttentionFeatureExtractor(**SHORT), X, None),
        "classifier, ragged sequences": (AttentionMLPClassifier(**SHORT), ragged, y),
        "classifier, two inputs": (
            AttentionMLPClassifier(**SHORT),
            TwoInputs(X, steps),
            y,
        ),
        "regressor, latent tokens": (
            AttentionMLPRegressor(**SHORT, n_latent_tokens=4),
            X_reg[:200],
            y_reg[:200],
        ),
    }


CASES = [
    "classifier, DataFrame",
    "regressor, array",
    "extractor, no labels",
    "classifier, ragged sequences",
    "classifier, two inputs",
    "regressor, latent tokens",
]


def _assert_same_model(loaded, model, X, case):
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    output = "transform" if case.startswith("extractor") else "predict"
    np.testing.assert_array_equal(getattr(loaded, output)(X), getattr(model, output)(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.n_features_in_ == model.n_features_in_
    assert loaded.loss_curve_ == model.loss_curve_


@pytest.mark.parametrize("case", CASES)
def test_skops_dump_and_load_with_the_listed_trusted_types(case, mixed_frame):
    # skops.io stores the estimator itself (its network's weights as NumPy arrays);
    # every type it would have to trust beyond its defaults is listed.
    model, X, y = _models(mixed_frame)[case]
    model.fit(X, y)
    data = skops.io.dumps(model)
    assert set(skops.io.get_untrusted_types(data=data)) <= set(SKOPS_TRUSTED_TYPES)
    _assert_same_model(
        skops.io.loads(data, trusted=SKOPS_TRUSTED_TYPES), model, X, case
    )


# MLflow's own advice about the estimator's untyped predict(X), not ours to follow.
@pytest.mark.filterwarnings("ignore:.*Any type hint is inferred:UserWarning")
def test_mlflow_log_model_with_its_default_serialization(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")

    X, y = load_diabetes(return_X_y=True)
    model = AttentionMLPRegressor(**SHORT).fit(X, y)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # a local file store
    mlflow.set_tracking_uri((tmp_path / "runs").as_uri())
    with mlflow.start_run():
        info = mlflow_sklearn.log_model(
            model,
            name="model",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=[],  # no look-up of installed packages
        )
    flavor = mlflow.models.get_model_info(info.model_uri).flavors["sklearn"]
    assert flavor["serialization_format"] == "skops"
    loaded = mlflow_sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("case", CASES)
def test_save_model_round_trip_predicts_the_same(case, tmp_path, mixed_frame):
    model, X, y = _models(mixed_frame)[case]
    model.fit(X, y)
    path = tmp_path / "model.skattn"
    save_model(model, path)
    loaded = load_model(path, device="cpu")
    _assert_same_model(loaded, model, X, case)


def test_save_model_writes_readable_config_and_no_pickle(tmp_path, mixed_frame):
    X, y = mixed_frame
    clf = AttentionMLPClassifier(**SHORT).fit(X, y)
    path = tmp_path / "model.skattn"
    save_model(clf, path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "config.json",
            "state.skops",
            "weights.safetensors",
        ]
        config = json.loads(archive.read("config.json"))
        # skops names every type it would build; all are trusted by default or
        # skattn's own.
        untrusted = skops.io.get_untrusted_types(data=archive.read("state.skops"))
    assert config["estimator"] == "AttentionMLPClassifier"
    assert config["trained_on"] == "cpu"
    assert untrusted and set(untrusted) <= _STATE_TYPES


def test_loaded_model_is_a_working_estimator(tmp_path):
    # It refits and pickles like the original; its table input names it in errors.
    X, y = load_diabetes(return_X_y=True)
    path = tmp_path / "model.skattn"
    save_model(AttentionMLPRegressor(**SHORT).fit(X, y), path)
    loaded = load_model(path)
    with pytest.raises(ValueError, match="X has 2 features, but AttentionMLPRegres"):
        loaded.predict(X[:, :2])
    assert loaded.fit(X, y).score(X, y) > 0
    joblib.dump(loaded, tmp_path / "again.joblib")


def test_save_model_of_a_streamed_model(tmp_path, mixed_frame):
    # partial_fit's optimizer state stays out of the file (a pickle keeps it); the
    # loaded model predicts the same and can stream on.
    X, y = mixed_frame
    clf = AttentionMLPClassifier(**SHORT).partial_fit(X, y, classes=["no", "yes"])
    path = tmp_path / "model.skattn"
    save_model(clf, path)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.partial_fit(X, y).n_iter_ == 2


def test_save_model_stores_pretrained_as_none(tmp_path, mixed_frame):
    X, y = mixed_frame
    source = AttentionFeatureExtractor(**SHORT).fit(X)
    clf = AttentionMLPClassifier(**SHORT, pretrained=FrozenEstimator(source))
    path = tmp_path / "model.skattn"
    save_model(clf.fit(X, y), path)
    loaded = load_model(path)
    assert loaded.pretrained is None
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


class _NotSkattn:
    pass


def _tampered_copy(path, tmp_path, relabel=None):
    """A copy of the model file at ``path`` whose state holds one more object, of a
    class of this module, its type renamed to ``relabel`` (module, class) if given."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    trusted = skops.io.get_untrusted_types(data=parts["state.skops"])
    state = skops.io.loads(parts["state.skops"], trusted=trusted)
    state["intruder"] = _NotSkattn()
    state_bytes = skops.io.dumps(state)
    if relabel is not None:  # edit skops' schema, as an attacker would
        with zipfile.ZipFile(io.BytesIO(state_bytes)) as inner:
            files = {name: inner.read(name) for name in inner.namelist()}
        schema = json.loads(files["schema.json"])
        node = schema["content"]["intruder"]
        node["__module__"], node["__class__"] = relabel
        files["schema.json"] = json.dumps(schema).encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as inner:
            for name, data in files.items():
                inner.writestr(name, data)
        state_bytes = buffer.getvalue()
    parts["state.skops"] = state_bytes
    tampered = tmp_path / "tampered.skattn"
    with zipfile.ZipFile(tampered, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return tampered


@pytest.mark.parametrize(
    "relabel, named",
    [
        (None, "test_persistence._NotSkattn"),
        # A name under skattn is not enough: skattn._engine imports skorch's
        # NeuralNet, whose __setstate__ unpickles.
        (("skattn._engine", "NeuralNet"), "skattn._engine.NeuralNet"),
    ],
)
def test_load_model_refuses_foreign_types(relabel, named, tmp_path, mixed_frame):
    X, y = mixed_frame
    path = tmp_path / "model.skattn"
    save_model(AttentionMLPClassifier(**SHORT).fit(X, y), path)
    tampered = _tampered_copy(path, tmp_path, relabel)
    with pytest.raises(ValueError, match="holds types that skattn does not trust: "):
        load_model(tampered)
    with pytest.raises(ValueError, match=re.escape(f"['{named}']")):
        load_model(tampered)


def test_save_and_load_errors(tmp_path):
    with pytest.raises(ValueError, match="not fitted yet; fit it before saving"):
        save_model(AttentionMLPRegressor(), tmp_path / "m.skattn")
    with pytest.raises(TypeError, match="got FrozenEstimator"):
        save_model(FrozenEstimator(AttentionMLPRegressor()), tmp_path / "m.skattn")
    (tmp_path / "junk.skattn").write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="is not a model file written by skattn"):
        load_model(tmp_path / "junk.skattn")
    with zipfile.ZipFile(tmp_path / "newer.skattn", "w") as archive:
        config = {
            "format": "skattn-model",
            "format_version": 99,
            "estimator": "AttentionMLPRegressor",
        }
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("weights.safetensors", b"")
        archive.writestr("state.skops", b"")
    with pytest.raises(ValueError, match="format version 99, newer than"):
        load_model(tmp_path / "newer.skattn")


def test_load_rejects_files_of_an_older_format(tmp_path):
    # Version 1 named the numerical embedding's weights differently.
    X, y = load_diabetes(return_X_y=True)
    path = tmp_path / "model.skattn"
    save_model(AttentionMLPRegressor(**SHORT).fit(X, y), path)
    older = tmp_path / "older.skattn"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(older, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "config.json":
                config = json.loads(data)
                assert config["format_version"] == 2
                data = json.dumps({**config, "format_version": 1}).encode()
            target.writestr(name, data)
    with pytest.raises(ValueError, match="saved by an older skattn .*save it again"):
        load_model(older)


@pytest.mark.parametrize("magnitude", [1e200, 1e307])
def test_sequences_of_huge_values_save_and_load(tmp_path, magnitude):
    # Their squares overflow float64: the channel scale must stay finite, or the
    # saved file would hold a state that load_model refuses.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6, 2)) * magnitude
    y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    clf = AttentionMLPClassifier(**SHORT).fit(X, y)
    path = tmp_path / "huge.skattn"
    save_model(clf, path)
    np.testing.assert_array_equal(load_model(path).predict(X), clf.predict(X))
    assert np.isfinite(clf._input.scale_).all()
