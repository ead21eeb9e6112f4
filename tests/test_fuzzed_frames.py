"""Property-based: random small frames of mixed dtypes, missing values and extreme
numbers either fit and predict correctly or are refused with a ValueError or
TypeError that says why. No other exception, no NaN answer, no mutated input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from skattn import AttentionMLPClassifier  # noqa: E402

TINY = dict(d_token=4, n_heads=1, n_blocks=1, max_iter=2, batch_size=8, random_state=0)

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.sampled_from([0.0, 1e-300, -1e-12, 1e16, -1e20, 1e308, np.nan]),
)


@st.composite
def column(draw, n_rows: int) -> pd.Series:
    kind = draw(
        st.sampled_from(
            [
                "float",
                "int",
                "Int64",
                "bool",
                "str",
                "category",
                "arrow_float",
                "arrow_str",
                "all_nan",
                "constant",
                "tiny_scale",
            ]  # fmt: skip
        )
    )
    if kind == "float":
        return pd.Series(draw(st.lists(FLOATS, min_size=n_rows, max_size=n_rows)))
    if kind == "int":
        values = draw(
            st.lists(st.integers(-(2**40), 2**40), min_size=n_rows, max_size=n_rows)
        )
        return pd.Series(values, dtype="int64")
    if kind == "Int64":
        values = draw(
            st.lists(
                st.one_of(st.none(), st.integers(-5, 5)),
                min_size=n_rows,
                max_size=n_rows,
            )
        )
        return pd.Series(values, dtype="Int64")
    if kind == "bool":
        return pd.Series(
            draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
        )
    words = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "", "ü", "1"]))
    if kind in ("str", "category", "arrow_str"):
        values = draw(st.lists(words, min_size=n_rows, max_size=n_rows))
        dtype = {"str": "str", "category": "category", "arrow_str": "string[pyarrow]"}
        return pd.Series(values, dtype=dtype[kind])
    if kind == "arrow_float":
        values = draw(
            st.lists(st.one_of(st.none(), FLOATS), min_size=n_rows, max_size=n_rows)
        )
        return pd.Series(values, dtype="float64[pyarrow]")
    if kind == "all_nan":
        return pd.Series([np.nan] * n_rows)
    if kind == "constant":
        return pd.Series([draw(FLOATS)] * n_rows)
    scale = draw(st.sampled_from([1e-9, 1e-30]))
    values = draw(st.lists(st.floats(-1, 1), min_size=n_rows, max_size=n_rows))
    return pd.Series(np.asarray(values) * scale)


@st.composite
def frames(draw):
    n_rows = draw(st.integers(1, 24))
    n_columns = draw(st.integers(1, 4))
    X = pd.DataFrame({f"c{j}": draw(column(n_rows)) for j in range(n_columns)})
    labels = st.sampled_from(["yes", "no", "maybe"])
    y = np.asarray(draw(st.lists(labels, min_size=n_rows, max_size=n_rows)))
    return X, y


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples in every CI run
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames())
def test_random_frames_fit_and_predict_or_are_refused_clearly(data):
    X, y = data
    X_before = X.copy(deep=True)
    clf = AttentionMLPClassifier(**TINY)
    try:
        clf.fit(X, y)
        predicted = clf.predict(X)
        proba = clf.predict_proba(X)
    except (ValueError, TypeError) as error:
        assert str(error).strip(), f"{type(error).__name__} without a message"
    else:
        assert predicted.shape == (len(X),)
        assert set(predicted) <= set(clf.classes_)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
        np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    pd.testing.assert_frame_equal(X, X_before)
