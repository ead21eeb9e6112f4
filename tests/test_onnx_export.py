"""export_onnx: one ONNX graph of the whole predict path, run by onnxruntime and
held to skattn's own predict / predict_proba / transform within 1e-5."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import QuantileTransformer

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
    TwoInputs,
    export_onnx,
)
from skattn._onnx_graph import QuantileNormal, normal_quantile

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SMALL = dict(d_token=16, n_blocks=1, n_heads=2, max_iter=3, random_state=0)


def session(model):
    return ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def table_feed(X: pd.DataFrame, categorical: set[str]) -> dict[str, np.ndarray]:
    """One (n, 1) array per column: numbers, and categories that are numbers, as
    float64 with NaN; other categories as strings, "" where missing."""
    feed = {}
    for name in X.columns:
        if name in categorical:
            values = ["" if pd.isna(v) else str(v) for v in X[name].astype(object)]
            feed[name] = np.array(values, dtype=object)[:, None]
        else:
            feed[name] = X[name].to_numpy(np.float64, na_value=np.nan)[:, None]
    return feed


def with_unseen_categories(X: pd.DataFrame) -> pd.DataFrame:
    X = X.copy()
    X["city"] = X["city"].astype(object)
    X.loc[:4, "city"] = "atlantis"  # unseen in fit
    X.loc[5:8, "size"] = [1e6, -1e6, np.nan, 0.0]  # beyond the quantiles, missing
    return X


CATEGORICAL = {"colour", "city"}


def test_classifier_matches_predict_proba_with_missing_and_unseen(
    mixed_frame, tmp_path
):
    X, y = mixed_frame
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    path = tmp_path / "model.onnx"
    export_onnx(clf, path)
    runtime = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in runtime.get_inputs()] == list(X.columns)
    assert [o.name for o in runtime.get_outputs()] == ["label", "probabilities"]

    X_new = with_unseen_categories(X)
    label, proba = runtime.run(None, table_feed(X_new, CATEGORICAL))
    np.testing.assert_allclose(proba, clf.predict_proba(X_new), atol=1e-5)
    assert label.tolist() == clf.predict(X_new).tolist()  # string labels


def test_regressor_quantiles_and_scalings(mixed_frame):
    X, _ = mixed_frame
    y = np.nan_to_num(X["size"].to_numpy()) * 300.0 + 1000.0
    reg = AttentionMLPRegressor(loss="quantile", quantile=[0.1, 0.5, 0.9], **SMALL)
    reg.fit(X, y)
    prediction, quantiles = session(export_onnx(reg)).run(
        None, table_feed(with_unseen_categories(X), CATEGORICAL)
    )
    X_new = with_unseen_categories(X)
    atol = 1e-5 * y.std()  # on the standardised scale the network predicts on
    np.testing.assert_allclose(prediction, reg.predict(X_new), rtol=0, atol=atol)
    np.testing.assert_allclose(
        quantiles, reg.predict_quantiles(X_new), rtol=0, atol=atol
    )


@pytest.mark.parametrize("numerical_scaling", ["standard", None])
@pytest.mark.parametrize("numerical_embedding", ["linear", "piecewise_linear"])
def test_regressor_other_scalings_and_embeddings(
    numerical_scaling, numerical_embedding
):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3)) * [1.0, 50.0, 1e-3]
    X[::9, 1] = np.nan
    y = np.column_stack([X[:, 0] * 2 + 1, np.nan_to_num(X[:, 1])])  # two targets
    reg = AttentionMLPRegressor(
        numerical_scaling=numerical_scaling,
        numerical_embedding=numerical_embedding,
        **SMALL,
    ).fit(X, y)
    feed = {f"x{j}": X[:, [j]] for j in range(3)}
    (prediction,) = session(export_onnx(reg)).run(None, feed)
    assert prediction.shape == (120, 2)
    # within 1e-5 on the standardised scale the network predicts on
    scale = y.std(axis=0)
    np.testing.assert_allclose(
        prediction / scale, reg.predict(X) / scale, rtol=0, atol=1e-5
    )


def test_extractor_matches_transform():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"grade": rng.integers(1, 4, 150), "x": rng.normal(size=150)})
    y = (X["grade"] == 2).to_numpy()
    extractor = AttentionFeatureExtractor(**SMALL).fit(X, y)
    (embedding,) = session(export_onnx(extractor)).run(None, table_feed(X, set()))
    np.testing.assert_allclose(embedding, extractor.transform(X), atol=1e-5)


@pytest.mark.parametrize(
    "values",
    [
        np.array([1, 2, 7, 3]),  # integers
        np.array([1.0, 2.5, 0.1, 3.0]),  # floats, whole or not
        np.array([1.0, 2.5, 0.1, 3.0], dtype=np.float32),  # 0.1 is 0.10000000149
    ],
)
def test_categories_that_are_numbers_are_fed_as_numbers(values):
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"grade": rng.choice(values, 200), "x": rng.normal(size=200)})
    if values.dtype.kind == "f":
        X.loc[::9, "grade"] = np.nan  # missing
    y = X["grade"].isin(values[:2]).to_numpy()
    clf = AttentionMLPClassifier(categorical_features=["grade"], **SMALL).fit(X, y)
    runtime = session(export_onnx(clf))
    assert [i.type for i in runtime.get_inputs()] == ["tensor(double)"] * 2
    X_new = X.copy()
    X_new.loc[:3, "grade"] = 99  # unseen
    _, proba = runtime.run(None, table_feed(X_new, categorical=set()))
    np.testing.assert_allclose(proba, clf.predict_proba(X_new), atol=1e-5)


@pytest.mark.parametrize("tokenizer", ["linear", "random_kernels"])
def test_sequences_of_different_lengths(tokenizer):
    rng = np.random.default_rng(3)
    sequences = [rng.normal(size=(int(n), 2)) for n in rng.integers(8, 24, 60)]
    for s in sequences[::7]:
        s[2, 1] = np.nan  # a missing value inside a sequence
    y = np.array([s[:, 0].mean() > 0 for s in sequences])
    clf = AttentionMLPClassifier(**SMALL, sequence_tokenizer=tokenizer)
    runtime = session(export_onnx(clf.fit(sequences, y)))
    (steps_input,) = runtime.get_inputs()
    assert steps_input.name == "sequences"
    assert steps_input.shape[1:] == [clf._input.max_length_, 2]
    padded = np.full((60, clf._input.max_length_, 2), np.nan)
    for i, s in enumerate(sequences):
        padded[i, : len(s)] = s
    label, proba = runtime.run(None, {"sequences": padded})
    np.testing.assert_allclose(proba, clf.predict_proba(sequences), atol=1e-5)
    assert (label == clf.predict(sequences)).all()


def test_two_inputs_table_and_sequences():
    rng = np.random.default_rng(4)
    table = pd.DataFrame(
        {"age": rng.normal(size=80), "plan": rng.choice(["a", "b"], size=80)}
    )
    history = rng.normal(size=(80, 12, 1))
    history[::3, 8:] = np.nan  # shorter histories
    y = table["age"].to_numpy() + np.nanmean(history[:, :, 0], axis=1)
    reg = AttentionMLPRegressor(**SMALL).fit(TwoInputs(table, history), y)
    runtime = session(export_onnx(reg))
    names = [i.name for i in runtime.get_inputs()]
    assert names == ["age", "plan", "context_sequences"]
    feed = {**table_feed(table, {"plan"}), "context_sequences": history}
    (prediction,) = runtime.run(None, feed)
    expected = reg.predict(TwoInputs(table, history))
    np.testing.assert_allclose(prediction, expected, rtol=0, atol=1e-5 * y.std())


def test_integer_labels_keep_their_type():
    X = np.random.default_rng(5).normal(size=(90, 2))
    y = np.where(X[:, 0] > 0, 10, -3)
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    label, _ = session(export_onnx(clf)).run(None, {"x0": X[:, [0]], "x1": X[:, [1]]})
    assert label.dtype == np.int64
    assert (label == clf.predict(X)).all()


def test_what_cannot_be_exported_is_named():
    X = np.random.default_rng(6).normal(size=(60, 2))
    with pytest.raises(NotFittedError):
        export_onnx(AttentionMLPClassifier())
    with pytest.raises(TypeError, match="exports skattn estimators"):
        export_onnx(LogisticRegression().fit(X, X[:, 0] > 0))
    two_columns = np.column_stack([X[:, 0] > 0, X[:, 1] > 0])
    multi = AttentionMLPClassifier(**SMALL).fit(X, two_columns)
    with pytest.raises(ValueError, match="several label columns"):
        export_onnx(multi)
    frame = pd.DataFrame({"x": X[:, 0], "tag": np.where(X[:, 1] > 0, "", "b")})
    empty = AttentionMLPClassifier(**SMALL).fit(frame, X[:, 0] > 0)
    with pytest.raises(ValueError, match="empty string as a category"):
        export_onnx(empty)
    dates = np.where(X[:, 0] > 0, np.datetime64("2026-01-01"), np.datetime64("2025"))
    with pytest.raises(ValueError, match="labels of dtype datetime64"):
        export_onnx(AttentionMLPClassifier(**SMALL).fit(X, dates))
    for name in ("label", "", "out:probabilities"):
        frame = pd.DataFrame({name: X[:, 0], "x": X[:, 1]})
        model = AttentionMLPClassifier(**SMALL).fit(frame, X[:, 0] > 0)
        with pytest.raises(ValueError, match="rename those columns"):
            export_onnx(model)


def test_normal_quantile_matches_scipy():
    p = np.concatenate([np.linspace(1e-7, 1 - 1e-7, 20001), np.logspace(-7, -1, 500)])
    p = np.concatenate([p, 1 - p])
    got = normal_quantile(torch.from_numpy(p)).numpy()
    np.testing.assert_allclose(got, stats.norm.ppf(p), rtol=0, atol=1e-8)


def test_quantile_scaling_matches_scikit_learn_on_ties_and_bounds():
    rng = np.random.default_rng(7)
    train = np.column_stack(
        [rng.normal(size=500), rng.integers(0, 4, 500), rng.exponential(size=500)]
    )
    transformer = QuantileTransformer(n_quantiles=50, output_distribution="normal").fit(
        train
    )
    new = np.vstack([train[:100], [[-50.0, -1.0, 0.0], [50.0, 9.0, 1e9]]])
    new[3, 0] = np.nan
    got = QuantileNormal(transformer)(torch.from_numpy(new)).numpy()
    np.testing.assert_allclose(got, transformer.transform(new), atol=1e-8)
