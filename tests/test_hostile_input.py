"""What a hostile or unlucky user meets: interrupts, failed refits, divergence, and
data that defaults must fit anyway. Never a silent wrong answer, never a lost model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skattn import AttentionFeatureExtractor, AttentionMLPClassifier
from skattn._engine import _Net

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=8, n_heads=2, n_blocks=1, max_iter=5, random_state=0)


def labelled(n_rows=200, seed=0, labels=("a", "b")):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 3))
    y = np.asarray(labels)[(X[:, 0] > 0).astype(int)]
    return X, y


@pytest.fixture
def ctrl_c(monkeypatch):
    """``ctrl_c()`` arms a KeyboardInterrupt in the third training batch from now."""
    train_step = _Net.train_step
    batches_left = {"n": -1}

    def interrupted(self, batch, **kwargs):
        batches_left["n"] -= 1
        if batches_left["n"] == 0:
            raise KeyboardInterrupt
        return train_step(self, batch, **kwargs)

    monkeypatch.setattr(_Net, "train_step", interrupted)
    return lambda: batches_left.update(n=3)


def fitted_state(estimator):
    return (
        sorted(vars(estimator)),
        estimator.predict_proba(labelled()[0]),
        list(estimator.classes_),
    )


def assert_same_model(estimator, state):
    names, proba, classes = state
    assert sorted(vars(estimator)) == names
    np.testing.assert_array_equal(estimator.predict_proba(labelled()[0]), proba)
    assert list(estimator.classes_) == classes


def test_ctrl_c_during_a_refit_propagates_and_keeps_the_fitted_model(ctrl_c):
    clf = AttentionMLPClassifier(**FAST).fit(*labelled())
    before = fitted_state(clf)
    ctrl_c()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(*labelled(seed=1, labels=("x", "y")))
    assert_same_model(clf, before)


def test_ctrl_c_during_a_first_fit_leaves_the_estimator_unfitted(ctrl_c):
    clf = AttentionMLPClassifier(**FAST)
    ctrl_c()
    with pytest.raises(KeyboardInterrupt):
        clf.fit(*labelled())
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    assert set(vars(clf)) == set(clf.get_params())


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_an_interrupted_continuation_puts_the_weights_back(how, ctrl_c):
    X, y = labelled()
    clf = AttentionMLPClassifier(**FAST, warm_start=True)
    clf.partial_fit(X, y, classes=["a", "b"]) if how == "partial_fit" else clf.fit(X, y)
    before = fitted_state(clf)
    ctrl_c()
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y) if how == "partial_fit" else clf.fit(X, y)
    assert_same_model(clf, before)
    clf.partial_fit(X, y) if how == "partial_fit" else clf.fit(X, y)  # goes on


def test_a_refit_that_fails_on_its_data_keeps_the_fitted_model():
    clf = AttentionMLPClassifier(**FAST).fit(*labelled())
    before = fitted_state(clf)
    X, y = labelled(seed=1, labels=("x", "y"))
    with pytest.raises(ValueError, match="sample_weight"):
        # found only after the new encoding and classes were learned
        clf.fit(X, y, sample_weight=-np.ones(len(y)))
    assert_same_model(clf, before)


def test_divergence_is_an_error_not_a_model_of_nans():
    X, y = labelled()
    clf = AttentionMLPClassifier(**{**FAST, "learning_rate": 1e3})
    with pytest.raises(
        ValueError, match="Training diverged: the training loss was nan"
    ):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


def test_early_stopping_splits_data_that_cannot_be_stratified():
    # "auto" holds out rows above 2,000 samples: a class of one member, then more
    # classes than the 211 validation rows, stop a stratified split, not the fit.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_101, 3))
    y = (X[:, 0] > 0).astype(int)
    y[0] = 2
    clf = AttentionMLPClassifier(**{**FAST, "max_iter": 2}).fit(X, y)
    assert clf.validation_scores_ is not None and list(clf.classes_) == [0, 1, 2]
    many = np.arange(len(y)) % 300
    clf = AttentionMLPClassifier(**{**FAST, "max_iter": 2}).fit(X, many)
    assert len(clf.classes_) == 300 and clf.validation_scores_ is not None


def test_a_single_class_is_learned_as_mlpclassifier_learns_it():
    # MLPClassifier fits a y of one label; so do the defaults, predicting it surely.
    X, _ = labelled()
    clf = AttentionMLPClassifier(**FAST).fit(X, np.full(len(X), "only"))
    assert clf.classes_.tolist() == ["only"]
    assert (clf.predict(X) == "only").all()
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((len(X), 1)))
    assert clf.score(X, np.full(len(X), "only")) == 1.0


def test_sparse_matrices_are_read_as_their_dense_rows():
    X, y = labelled()
    X[X < 0.5] = 0  # mostly zeros
    dense = AttentionMLPClassifier(**FAST).fit(X, y)
    for sparse in (sp.csr_matrix(X), sp.csc_array(X)):
        clf = AttentionMLPClassifier(**FAST).fit(sparse, y)
        np.testing.assert_array_equal(clf.predict_proba(sparse), dense.predict_proba(X))
    assert clf.n_features_in_ == 3


def test_the_extractor_keeps_its_model_when_a_refit_fails():
    X, y = labelled()
    extractor = AttentionFeatureExtractor(**FAST).fit(X)
    embedding = extractor.transform(X)
    with pytest.raises(ValueError):
        extractor.fit(X, y, sample_weight=np.zeros(len(y)))
    np.testing.assert_array_equal(extractor.transform(X), embedding)
    assert extractor.objective_ == "reconstruction"


def test_tiny_scale_features_survive_the_default_quantile_scaling():
    # QuantileTransformer snaps values within 1e-7 of a column's bounds to them:
    # a column at scale 1e-8 used to collapse (train accuracy 0.56).
    X, y = labelled(400)
    clf = AttentionMLPClassifier(**{**FAST, "max_iter": 30}).fit(X * 1e-8, y)
    assert clf.score(X * 1e-8, y) > 0.95


def test_values_a_scaling_cannot_take_are_an_error_naming_the_column():
    X, y = labelled()
    X[0, 1] = 1e308  # StandardScaler's variance overflows: the column turned NaN
    with pytest.raises(
        ValueError, match=r"'standard' cannot scale the values of \['x1'\]"
    ):
        AttentionMLPClassifier(**FAST, numerical_scaling="standard").fit(X, y)
    AttentionMLPClassifier(**FAST).fit(X, y)  # the quantile scaling takes it


def test_outputs_that_are_not_finite_are_an_error_not_a_label():
    X, y = labelled()
    clf = AttentionMLPClassifier(
        **FAST, numerical_scaling=None, numerical_embedding="linear"
    ).fit(X, y)
    huge = X.copy()
    huge[:3, 0] = 3e38  # finite in float32, beyond what the network's sums can hold
    with pytest.raises(ValueError, match=r"not finite for 3 of 200 rows .*\[0, 1, 2\]"):
        clf.predict(huge)


def test_sample_weights_near_the_largest_float_train_as_unit_weights():
    X, y = labelled()
    unit = AttentionMLPClassifier(**FAST).fit(X, y)
    huge = AttentionMLPClassifier(**FAST).fit(
        X, y, sample_weight=np.full(len(y), 1e308)
    )
    np.testing.assert_array_equal(huge.predict_proba(X), unit.predict_proba(X))


@pytest.mark.parametrize("frame", ["polars", "pyarrow"])
def test_other_frames_keep_their_column_names(frame):
    X, y = labelled()
    columns = {"a": X[:, 0], "b": X[:, 1], "c": X[:, 2]}
    swapped = {"b": X[:, 1], "a": X[:, 0], "c": X[:, 2]}
    make = (
        pytest.importorskip("polars").DataFrame
        if frame == "polars"
        else pytest.importorskip("pyarrow").table
    )
    clf = AttentionMLPClassifier(**FAST).fit(make(columns), y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="same order as they were in fit"):
        clf.predict(make(swapped))


def test_two_inputs_inside_two_inputs_are_refused():
    from skattn import TwoInputs

    static, steps = np.zeros((4, 2)), np.zeros((4, 3, 1))
    with pytest.raises(TypeError, match="a TwoInputs inside another"):
        TwoInputs(TwoInputs(static, steps), steps)


@pytest.mark.parametrize("as_list", [False, True])
def test_a_sequence_without_an_observed_value_is_refused_either_way(as_list):
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(20, 5, 2))
    steps[3] = np.nan
    X = list(steps) if as_list else steps
    with pytest.raises(ValueError, match=r"sequences \[3\] have length 0"):
        AttentionMLPClassifier(**FAST).fit(X, np.arange(20) % 2)


@pytest.mark.parametrize("parameter", ["d_token", "n_blocks", "max_iter", "batch_size"])
def test_a_bool_is_not_a_number_of_anything(parameter):
    with pytest.raises(ValueError, match=f"{parameter}.* not a bool"):
        AttentionMLPClassifier(**{**FAST, parameter: True}).fit(*labelled())


def test_fits_in_threads_are_those_run_one_by_one_and_leave_torchs_generator():
    from concurrent.futures import ThreadPoolExecutor

    import torch

    X, y = labelled(300)

    def fit(seed):  # dropout and the masks of reconstruction draw in training
        clf = AttentionMLPClassifier(
            **{**FAST, "random_state": seed, "max_iter": 3, "attention_dropout": 0.1}
        )
        extractor = AttentionFeatureExtractor(**{**FAST, "random_state": seed})
        return clf.fit(X, y).predict_proba(X), extractor.fit(X).transform(X)

    state = torch.random.get_rng_state()
    serial = [fit(seed) for seed in range(4)]
    assert torch.equal(torch.random.get_rng_state(), state)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(fit, range(4)))
    assert torch.equal(torch.random.get_rng_state(), state)
    for (proba, embedding), (proba_t, embedding_t) in zip(
        serial, threaded, strict=True
    ):
        np.testing.assert_array_equal(proba_t, proba)
        np.testing.assert_array_equal(embedding_t, embedding)


def test_feature_attention_on_long_sequences_works_in_bounded_chunks(monkeypatch):
    # Without latent tokens, every block's (B, H, T, T) weights of a chunk are kept:
    # 301 tokens, 2 heads, 1 block are 725 kB per row, 371 MB for 512 rows.
    from skattn import _explanations

    rng = np.random.default_rng(0)
    steps = rng.normal(size=(40, 300, 1)).astype(np.float32)
    y = (steps[:, :10, 0].mean(axis=1) > 0).astype(int)
    clf = AttentionMLPClassifier(
        **{**FAST, "max_iter": 1}, n_latent_tokens=None, patch_size=1
    ).fit(steps, y)
    per_row = 1 * 2 * 301 * 301 * 4
    whole = clf.feature_attention(steps)
    assert clf._attention_chunk_rows(clf._encode(steps)) == 256 * 2**20 // per_row
    monkeypatch.setattr(_explanations, "_ATTENTION_CHUNK_BYTES", 5 * per_row)
    assert clf._attention_chunk_rows(clf._encode(steps)) == 5
    np.testing.assert_allclose(clf.feature_attention(steps), whole, rtol=1e-5)


@pytest.mark.parametrize(
    "classes, message",
    [
        (["a", "b", np.nan], r"classes contains a missing label \(nan\)"),
        (["a", None], r"classes contains a missing label \(None\)"),
        ([["a", "b"]], r"1-D array-like of labels; got an array of shape \(1, 2\)"),
        ([], r"non-empty 1-D array-like of labels"),
    ],
)
def test_partial_fit_names_a_classes_argument_that_is_no_list_of_labels(
    classes, message
):
    X, y = labelled()
    clf = AttentionMLPClassifier(**FAST)
    with pytest.raises(ValueError, match=message):
        clf.partial_fit(X, y, classes=classes)
    assert set(vars(clf)) == set(clf.get_params())  # nothing learned


def test_a_later_partial_fit_checks_its_classes_as_the_first_did():
    X, y = labelled()
    clf = AttentionMLPClassifier(**FAST).partial_fit(X, y, classes=["a", "b"])
    with pytest.raises(ValueError, match="1-D array-like of labels"):
        clf.partial_fit(X, y, classes=[["a", "b"]])
