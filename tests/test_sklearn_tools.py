"""The estimators inside scikit-learn's tools: pipelines, searches, persistence."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import StackingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=8, n_heads=2, n_blocks=1, learning_rate=5e-3, random_state=0)
REPO = Path(__file__).resolve().parents[1]


def blobs(n: int = 200, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "kind": pd.Series(rng.choice(["u", "v", "w"], size=n), dtype="category"),
        }
    )
    y = np.where(X["a"] + (X["kind"] == "u") > 0.5, "pos", "neg")
    return X, y


def test_pipeline_with_column_transformer():
    X, y = blobs()
    preprocess = ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["a", "b"]),
            (
                "kind",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ["kind"],
            ),
        ]
    )
    pipe = Pipeline(
        [("prep", preprocess), ("clf", AttentionMLPClassifier(max_iter=30, **FAST))]
    )
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.85
    assert pipe.predict_proba(X).shape == (200, 2)


def test_extractor_inside_column_transformer_with_pandas_output():
    X, y = blobs()
    numeric = make_column_selector(dtype_include="number")
    union = ColumnTransformer(
        [
            (
                "embed",
                AttentionFeatureExtractor(n_components=3, max_iter=5, **FAST),
                ["a", "kind"],
            ),
            ("raw", "passthrough", numeric),
        ]
    ).set_output(transform="pandas")
    Z = union.fit_transform(X, y)
    assert list(Z.columns) == [
        "embed__attentionfeatureextractor0",
        "embed__attentionfeatureextractor1",
        "embed__attentionfeatureextractor2",
        "raw__a",
        "raw__b",
    ]


def test_extractor_then_linear_model_pipeline():
    X, y = blobs()
    pipe = make_pipeline(
        AttentionFeatureExtractor(n_components=4, max_iter=30, **FAST),
        LogisticRegression(),
    )
    assert pipe.fit(X, y).score(X, y) > 0.85


def test_grid_search_over_network_parameters():
    X, y = blobs(120)
    search = GridSearchCV(
        AttentionMLPClassifier(max_iter=5, **FAST),
        {"d_token": [4, 8], "n_blocks": [1, 2]},
        cv=2,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["d_token"] in (4, 8)
    assert search.best_estimator_.predict(X).shape == (120,)


def test_cross_val_score_regressor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = 2 * X[:, 0] - X[:, 2]
    # One network: 30 epochs are too few for five members' 128-row batches here.
    regressor = AttentionMLPRegressor(max_iter=30, n_members=1, **FAST)
    scores = cross_val_score(regressor, X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.8


def test_stacking_with_another_classifier():
    X, y = blobs()
    X = X[["a", "b"]]
    stack = StackingClassifier(
        [
            ("attn", AttentionMLPClassifier(max_iter=10, **FAST)),
            ("lr", LogisticRegression()),
        ],
        cv=2,
    )
    assert stack.fit(X, y).score(X, y) > 0.7


def test_clone_is_unfitted_with_the_same_parameters():
    X, y = blobs(60)
    clf = AttentionMLPClassifier(max_iter=2, class_weight="balanced", **FAST).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "module_")
    assert not hasattr(twin, "classes_")


@pytest.fixture(scope="module")
def fitted_frame_model():
    X, y = blobs()
    return AttentionMLPClassifier(max_iter=10, **FAST).fit(X, y), X


def test_pickle_and_joblib_round_trip(fitted_frame_model, tmp_path):
    clf, X = fitted_frame_model
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), expected
    )
    joblib.dump(clf, tmp_path / "model.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "model.joblib").predict_proba(X), expected
    )


def test_pickle_loads_in_a_fresh_process(fitted_frame_model, tmp_path):
    clf, X = fitted_frame_model
    joblib.dump((clf, X), tmp_path / "model.joblib")
    np.save(tmp_path / "expected.npy", clf.predict_proba(X))
    script = (
        "import sys, joblib, numpy as np\n"
        f"clf, X = joblib.load({str(tmp_path / 'model.joblib')!r})\n"
        f"expected = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "np.testing.assert_array_equal(clf.predict_proba(X), expected)\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_model_trained_on_cuda_loads_and_predicts_on_a_cpu_only_machine(
    fitted_frame_model, monkeypatch
):
    # A pickle always holds CPU tensors and remembers the training device; on load,
    # a machine without CUDA keeps the network on the CPU.
    clf, X = fitted_frame_model
    gpu_like = pickle.loads(pickle.dumps(clf))
    gpu_like.device_ = torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    restored = pickle.loads(pickle.dumps(gpu_like))
    assert restored.device_ == torch.device("cpu")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


@pytest.mark.gpu
def test_gpu_model_pickles_to_cpu_tensors_and_matches(tmp_path):
    X, y = blobs()
    clf = AttentionMLPClassifier(max_iter=10, device="cuda", **FAST).fit(X, y)
    assert next(clf.module_.parameters()).is_cuda
    joblib.dump(clf, tmp_path / "gpu.joblib")
    script = (
        "import joblib\n"
        f"clf = joblib.load({str(tmp_path / 'gpu.joblib')!r})\n"
        "print(clf.device_, next(clf.module_.parameters()).device)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cpu", "cpu"]


def test_pickling_does_not_touch_the_live_estimator(fitted_frame_model):
    clf, X = fitted_frame_model
    module = clf.module_
    state = clf.__getstate__()
    state["module_"] = None
    assert clf.module_ is module


# optuna warns that OptunaSearchCV is experimental and that a module it imports is
# deprecated; neither is about skattn.
@pytest.mark.filterwarnings("ignore:OptunaSearchCV is experimental")
@pytest.mark.filterwarnings("ignore:`optuna.terminator` module:FutureWarning")
def test_search_space_for_optunas_search_cv():
    optuna_integration = pytest.importorskip("optuna_integration")
    import optuna

    from skattn import search_space

    space = search_space("optuna")
    assert set(space) == set(search_space("random"))
    X, y = load_breast_cancer(return_X_y=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search = optuna_integration.OptunaSearchCV(
        AttentionMLPClassifier(max_iter=2, random_state=0),
        {"learning_rate": space["learning_rate"], "n_blocks": space["n_blocks"]},
        n_trials=2,
        cv=2,
        random_state=0,
    ).fit(X[:120], y[:120])
    assert 3e-4 <= search.best_params_["learning_rate"] <= 3e-3
    assert search.best_params_["n_blocks"] in range(1, 5)


@pytest.mark.parametrize(
    "Estimator",
    [AttentionMLPClassifier, AttentionMLPRegressor, AttentionFeatureExtractor],
)
def test_tags_say_strings_are_accepted(Estimator):
    tags = Estimator().__sklearn_tags__().input_tags
    assert tags.string and tags.categorical and tags.allow_nan
    X = np.array([["red", "s"], ["blue", "m"], ["red", "l"], ["green", "m"]] * 10)
    y = np.arange(len(X)) % 2
    model = Estimator(**FAST, max_iter=1).fit(X, y)
    assert model.is_categorical_.all()  # string columns are categories
