"""AttentionMLPClassifier with a 2-D y: multi-label and multi-output classification."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.metrics import hamming_loss, log_loss
from sklearn.model_selection import cross_val_score
from sklearn.utils.class_weight import compute_sample_weight

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    TwoInputs,
    load_model,
    save_model,
)
from skattn._targets import MultiOutputClassificationTarget

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(
    d_token=16, n_heads=2, n_blocks=1, learning_rate=3e-3, max_iter=40, random_state=0
)


def multi_label_data(n_rows: int = 400, seed: int = 0):
    """Four features; label k is on where feature k is positive (labels overlap)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 4))
    Y = (X + 0.2 * rng.normal(size=X.shape) > 0).astype(np.int64)
    return X, Y


def multi_output_data(n_rows: int = 400, seed: int = 0):
    """A column of three string classes and a column of four integer classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 3))
    colour = np.array(["blue", "green", "red"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    size = np.digitize(X[:, 1] + X[:, 2], [-1.0, 0.0, 1.0]) * 10
    Y = np.column_stack([colour.astype(object), size.astype(object)])
    return X, Y


def test_multi_label_returns_what_scikit_learns_multi_output_classifiers_return():
    X, Y = multi_label_data()
    clf = AttentionMLPClassifier(**FAST).fit(X[:300], Y[:300])

    assert isinstance(clf.classes_, list) and len(clf.classes_) == 4
    for labels in clf.classes_:
        np.testing.assert_array_equal(labels, [0, 1])
    predicted = clf.predict(X[300:])
    assert predicted.shape == (100, 4) and predicted.dtype == Y.dtype
    assert 1 - hamming_loss(Y[300:], predicted) > 0.85

    proba = clf.predict_proba(X[300:])
    log_proba = clf.predict_log_proba(X[300:])
    assert isinstance(proba, list) and len(proba) == 4
    for k in range(4):
        assert proba[k].shape == (100, 2)
        np.testing.assert_allclose(proba[k].sum(axis=1), 1)
        np.testing.assert_array_equal(proba[k].argmax(axis=1), predicted[:, k])
        np.testing.assert_allclose(np.exp(log_proba[k]), proba[k], rtol=1e-12)
    # score is the subset accuracy, as for scikit-learn's multi-label classifiers
    assert clf.score(X[300:], Y[300:]) == np.mean(np.all(predicted == Y[300:], axis=1))


def test_multi_output_columns_of_any_label_type():
    X, Y = multi_output_data()
    clf = AttentionMLPClassifier(**FAST).fit(X[:300], Y[:300])

    np.testing.assert_array_equal(clf.classes_[0], ["blue", "green", "red"])
    np.testing.assert_array_equal(clf.classes_[1], [0, 10, 20, 30])
    predicted = clf.predict(X[300:])
    assert predicted.shape == (100, 2)
    assert [p.shape for p in clf.predict_proba(X[300:])] == [(100, 3), (100, 4)]
    accuracy = (predicted == Y[300:]).mean(axis=0)
    assert accuracy.min() > 0.75, accuracy
    # accuracy_score refuses columns of several classes; score does subset accuracy
    assert clf.score(X[300:], Y[300:]) == np.mean(np.all(predicted == Y[300:], axis=1))
    right = np.all(predicted == Y[300:], axis=1)
    weights = np.where(right, 3.0, 1.0)
    expected = 3 * right.sum() / (3 * right.sum() + (~right).sum())
    assert clf.score(X[300:], Y[300:], sample_weight=weights) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"shape \(100, 1\) but the predictions"):
        clf.score(X[300:], Y[300:, :1])
    with pytest.raises(NotFittedError):
        AttentionMLPClassifier().score(X, Y)


def test_dense_sparse_and_list_indicators_give_one_model():
    X, Y = multi_label_data(200)
    dense = AttentionMLPClassifier(**FAST, early_stopping=False).fit(X, Y)
    for same in (sp.csr_matrix(Y), Y.tolist()):
        other = AttentionMLPClassifier(**FAST, early_stopping=False).fit(X, same)
        np.testing.assert_array_equal(other.predict_proba(X), dense.predict_proba(X))


def test_a_column_vector_is_one_output():
    X, Y = multi_label_data(200)
    with pytest.warns(DataConversionWarning):
        clf = AttentionMLPClassifier(**FAST).fit(X, Y[:, :1])
    assert isinstance(clf.classes_, np.ndarray)
    assert clf.predict(X).shape == (200,)
    assert clf.predict_proba(X).shape == (200, 2)


def test_a_column_with_one_class_is_predicted_with_certainty():
    X, Y = multi_output_data(200)
    Y[:, 1] = 7
    clf = AttentionMLPClassifier(**FAST).fit(X, Y)
    np.testing.assert_array_equal(clf.classes_[1], [7])
    assert (clf.predict(X)[:, 1] == 7).all()
    np.testing.assert_array_equal(clf.predict_proba(X)[1], np.ones((200, 1)))


def test_class_weight_per_column_is_sample_weight_multiplied_over_columns():
    X, Y = multi_label_data(200)
    class_weight = [{0: 1.0, 1: 4.0}, {0: 2.0, 1: 1.0}, {}, {}]
    weighted = AttentionMLPClassifier(class_weight=class_weight, **FAST).fit(X, Y)
    weights = np.where(Y[:, 0] == 1, 4.0, 1.0) * np.where(Y[:, 1] == 0, 2.0, 1.0)
    by_sample = AttentionMLPClassifier(**FAST).fit(X, Y, sample_weight=weights)
    np.testing.assert_allclose(
        weighted.predict_proba(X)[0], by_sample.predict_proba(X)[0], rtol=1e-6
    )
    plain = AttentionMLPClassifier(**FAST).fit(X, Y)
    # label 0's positives weigh four times more: it is predicted on more often
    assert weighted.predict(X)[:, 0].mean() > plain.predict(X)[:, 0].mean()

    balanced = AttentionMLPClassifier(class_weight="balanced", **FAST).fit(X, Y)
    by_sample = AttentionMLPClassifier(**FAST).fit(
        X, Y, sample_weight=compute_sample_weight("balanced", Y)
    )
    for a, b in zip(balanced.predict_proba(X), by_sample.predict_proba(X), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "class_weight, message",
    [
        ({0: 1.0, 1: 2.0}, "list of 4 dicts, one per column"),
        ([{0: 1.0}] * 3, "3 dicts but y has 4 columns"),
        ([{0: 1.0, 2: 1.0}] * 4, r"labels that are not classes: \[2\]"),
    ],
)
def test_bad_class_weights_for_a_2d_y_are_clear_errors(class_weight, message):
    X, Y = multi_label_data(100)
    with pytest.raises(ValueError, match=message):
        AttentionMLPClassifier(class_weight=class_weight, **FAST).fit(X, Y)


def test_a_list_of_class_weights_needs_a_2d_y():
    X, Y = multi_label_data(100)
    with pytest.raises(ValueError, match="list of dicts .* is for a 2-D y"):
        AttentionMLPClassifier(class_weight=[{0: 1.0}], **FAST).fit(X, Y[:, 0])


def test_partial_fit_streams_a_multi_label_target():
    X, Y = multi_label_data(300)
    clf = AttentionMLPClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:100], Y[:100])
    for epoch in range(15):
        for rows in (slice(0, 150), slice(150, 300)):
            # one array shared by every column, or one per column
            classes = [0, 1] if epoch % 2 else np.array([[0, 1]] * 4)
            clf.partial_fit(X[rows], Y[rows], classes=classes)
    assert 1 - hamming_loss(Y, clf.predict(X)) > 0.8
    with pytest.raises(ValueError, match="differ from the fitted classes_"):
        clf.partial_fit(X, Y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="an empty array of labels"):
        clf.partial_fit(X, Y, classes=[[0, 1], [0, 1], [0, 1], []])
    with pytest.raises(ValueError, match="3 arrays of labels but y has 4 columns"):
        clf.partial_fit(X, Y, classes=[[0, 1]] * 3)
    with pytest.raises(ValueError, match=r"column 2 of y contains labels .* \[5\]"):
        clf.partial_fit(X, np.where(np.arange(4) == 2, 5, Y))


def test_unseen_labels_and_wrong_widths_are_clear_errors():
    X, Y = multi_output_data(200)
    clf = AttentionMLPClassifier(**{**FAST, "max_iter": 2}).fit(X, Y)
    with pytest.raises(ValueError, match="y has 3 columns but the first fit had 2"):
        clf.partial_fit(X, np.column_stack([Y[:, 0], Y[:, 0], Y[:, 1]]))
    with pytest.raises(ValueError, match="Unknown label type"):
        AttentionMLPClassifier(**FAST).fit(X, np.random.default_rng(0).random((200, 2)))
    with pytest.raises(ValueError, match="at least 2 classes in some column"):
        AttentionMLPClassifier(**FAST).fit(X, np.zeros((200, 2), dtype=int))


def test_the_loss_and_score_are_the_outputs_log_loss_and_hamming_accuracy():
    rng = np.random.default_rng(0)
    Y = np.column_stack([rng.integers(0, 2, 50), rng.integers(0, 3, 50)])
    target = MultiOutputClassificationTarget().fit(Y, None)
    assert target.n_outputs == 1 + 3  # one logit for two classes, three for three
    y_encoded = target.encode(Y, None)
    logits = rng.normal(size=(50, 4))
    loss = target.loss(torch.from_numpy(logits), torch.from_numpy(y_encoded))
    proba = target.probabilities(logits)
    expected = np.mean([log_loss(Y[:, k], proba[k]) for k in range(2)])
    np.testing.assert_allclose(loss.mean().item(), expected, rtol=1e-10)
    score = target.score(logits, y_encoded)
    assert score == np.mean(target.decode(logits) == Y)  # 1 - Hamming loss


def test_validation_scores_are_mean_accuracies_of_held_out_rows():
    X, Y = multi_label_data(400)
    # One network and its 10% hold-out (members score every row out of fold).
    clf = AttentionMLPClassifier(early_stopping=True, n_members=1, **FAST).fit(X, Y)
    scores = np.asarray(clf.validation_scores_)
    assert len(scores) == clf.n_iter_ and ((scores >= 0) & (scores <= 1)).all()
    # 40 held-out rows of 4 labels: a mean accuracy is a multiple of 1/160
    np.testing.assert_allclose(scores * 160, np.round(scores * 160), atol=1e-9)
    assert scores.max() > 0.8


def test_sequences_two_inputs_attention_and_saved_models(tmp_path):
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(200, 12, 2)).astype(np.float32)
    static = rng.normal(size=(200, 2))
    Y = np.column_stack(
        [steps[:, :, 0].mean(axis=1) > 0, static[:, 0] > 0, steps[:, -1, 1] > 0]
    ).astype(int)
    for X in (steps, TwoInputs(static, steps)):
        clf = AttentionMLPClassifier(**FAST).fit(X, Y)
        assert clf.predict(X).shape == (200, 3)
        attention = clf.feature_attention(X)  # a dict for TwoInputs
        for part in attention.values() if isinstance(attention, dict) else [attention]:
            assert len(part) == 200
        save_model(clf, tmp_path / "model.skattn")
        for loaded in (
            load_model(tmp_path / "model.skattn"),
            pickle.loads(pickle.dumps(clf)),
        ):
            for a, b in zip(loaded.predict_proba(X), clf.predict_proba(X), strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-6)
            assert all(map(np.array_equal, loaded.classes_, clf.classes_))


def test_the_extractor_learns_a_2d_target_and_starts_a_classifier():
    X, Y = multi_label_data(300)
    extractor = AttentionFeatureExtractor(n_components=8, **FAST).fit(X, Y)
    assert extractor.objective_ == "classification"
    assert extractor.transform(X).shape == (300, 8)
    clf = AttentionMLPClassifier(pretrained=extractor, **FAST).fit(X, Y)
    assert 1 - hamming_loss(Y, clf.predict(X)) > 0.85

    X2, Y2 = multi_output_data(200)  # a column of strings, one of integers
    for objective in ("auto", "classification"):
        extractor = AttentionFeatureExtractor(objective=objective, **FAST).fit(X2, Y2)
        assert extractor.objective_ == "classification"
        assert extractor.transform(X2).shape == (200, 16)


def test_cross_validation_scores_subset_accuracy():
    X, Y = multi_label_data(240)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        scores = cross_val_score(AttentionMLPClassifier(**FAST), X, Y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.5
