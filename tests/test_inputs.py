"""The inputs users have: DataFrames with mixed columns and gaps, and bad input."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
)

# Most tests train on purpose for a few epochs only; the warning this provokes is
# tested in test_convergence_warning_when_max_iter_is_reached.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=8, n_heads=2, n_blocks=1, max_iter=3, tol=1.0, random_state=0)


@pytest.fixture(scope="module")
def fitted_on_frame():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import mixed_frame

    X, y = mixed_frame.__wrapped__()
    return (
        # One network: 40 epochs of five members' 128-row batches (two steps an
        # epoch on these 240 rows) leave this tiny width undertrained.
        AttentionMLPClassifier(
            **{**FAST, "max_iter": 40, "tol": 1e-4, "n_members": 1}
        ).fit(X, y),
        X,
        y,
    )


def test_mixed_dataframe_detects_categorical_columns_from_dtypes(fitted_on_frame):
    clf, X, y = fitted_on_frame
    np.testing.assert_array_equal(clf.feature_names_in_, X.columns)
    np.testing.assert_array_equal(
        clf.is_categorical_, [False, False, False, True, True]
    )
    assert clf.score(X, y) > 0.9  # the label needs both the number and the category


def test_unseen_categories_and_missing_values_at_predict_are_not_errors(
    fitted_on_frame,
):
    clf, X, _ = fitted_on_frame
    new = X.iloc[:4].copy()
    new["colour"] = pd.Series(["purple", None, "red", "teal"], dtype="category").values
    new["city"] = ["paris", None, "oslo", pd.NA]
    new.loc[new.index[0], "size"] = np.nan
    new["count"] = pd.array([None, None, 1, 2], dtype="Int64")
    proba = clf.predict_proba(new)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_all_spellings_of_missing_mean_the_same(fitted_on_frame):
    clf, X, _ = fitted_on_frame
    row = X.iloc[[0, 0, 0]].copy()
    row["city"] = pd.Series([None, np.nan, pd.NA], dtype=object).values
    proba = clf.predict_proba(row)
    np.testing.assert_array_equal(proba[0], proba[1])
    np.testing.assert_array_equal(proba[0], proba[2])


def test_input_is_not_modified(fitted_on_frame):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import mixed_frame

    X, y = mixed_frame.__wrapped__()
    X_before, y_before = X.copy(deep=True), y.copy()
    clf = AttentionMLPClassifier(**FAST).fit(X, y)
    clf.predict(X)
    pd.testing.assert_frame_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)

    array = np.random.default_rng(0).normal(size=(30, 3))
    array[0, 1] = np.nan
    array_before = array.copy()
    weights = np.ones(30)
    AttentionMLPRegressor(**FAST).fit(array, array[:, 0] * 0 + 1, sample_weight=weights)
    np.testing.assert_array_equal(array, array_before)
    np.testing.assert_array_equal(weights, np.ones(30))


@pytest.mark.parametrize(
    "spec", [["colour", "city"], [3, 4], [False, False, False, True, True]]
)
def test_categorical_features_by_name_position_or_mask_agree(fitted_on_frame, spec):
    clf, X, y = fitted_on_frame
    explicit = clone(clf).set_params(categorical_features=spec).fit(X, y)
    np.testing.assert_array_equal(explicit.is_categorical_, clf.is_categorical_)
    np.testing.assert_array_equal(explicit.predict_proba(X), clf.predict_proba(X))


def test_numeric_column_can_be_declared_categorical():
    rng = np.random.default_rng(0)
    code = rng.integers(0, 4, size=200)
    X = np.column_stack([code, rng.normal(size=200)])
    y = np.isin(code, [1, 3]).astype(int)  # not monotone in the code
    clf = AttentionMLPClassifier(**{**FAST, "max_iter": 40, "tol": 1e-4})
    clf.set_params(categorical_features=[0]).fit(X, y)
    np.testing.assert_array_equal(clf.is_categorical_, [True, False])
    assert clf.score(X, y) == 1.0


def test_object_array_with_strings_is_read_as_categorical():
    X = np.array(
        [["a", 1.0], ["b", 2.0], [None, 3.0], ["a", np.nan]] * 10, dtype=object
    )
    y = np.array([0, 1, 1, 0] * 10)
    clf = AttentionMLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(clf.is_categorical_, [True, False])
    assert clf.predict(np.array([["zzz", 5.0]], dtype=object)).shape == (1,)


def test_boolean_and_nullable_columns_are_numerical():
    X = pd.DataFrame(
        {
            "flag": [True, False] * 20,
            "maybe": pd.array([True, None] * 20, dtype="boolean"),
            "n": pd.array([1, None, 3, 4] * 10, dtype="Int64"),
        }
    )
    clf = AttentionMLPClassifier(**FAST).fit(X, [0, 1] * 20)
    np.testing.assert_array_equal(clf.is_categorical_, [False, False, False])


# -- errors that name the problem --------------------------------------------------
X_OK = np.random.default_rng(0).normal(size=(20, 3))
Y_OK = np.array([0, 1] * 10)


@pytest.mark.parametrize(
    ("make_input", "error", "message"),
    [
        (lambda: (np.zeros((20, 3, 2, 1)), Y_OK), ValueError, "Found array with dim 4"),
        (lambda: (np.zeros((0, 3)), []), ValueError, "0 sample(s)"),
        (lambda: (np.zeros((20, 0)), Y_OK), ValueError, "0 feature(s)"),
        (lambda: (pd.DataFrame(index=range(20)), Y_OK), ValueError, "0 feature(s)"),
        (lambda: (X_OK[:0], Y_OK[:0]), ValueError, "0 sample(s)"),
        (
            lambda: (np.where(np.eye(20, 3) > 0, np.inf, X_OK), Y_OK),
            ValueError,
            "Input X contains infinity in ['x0', 'x1', 'x2']",
        ),
        (
            lambda: (X_OK, np.where(np.arange(20) == 3, np.nan, Y_OK)),
            ValueError,
            "Input y contains NaN",
        ),
        (
            lambda: (X_OK, Y_OK[:19]),
            ValueError,
            "different numbers of samples: 20 and 19",
        ),
        (
            lambda: (pd.DataFrame({"t": pd.date_range("2020", periods=20)}), Y_OK),
            TypeError,
            "'t' has dtype datetime64",
        ),
        (
            lambda: (X_OK, np.linspace(0, 1, 20)),
            ValueError,
            "Unknown label type",
        ),
    ],
    ids=[
        "4d",
        "no-rows",
        "no-columns",
        "empty-frame",
        "no-rows-2",
        "inf",
        "nan-in-y",
        "length-mismatch",
        "datetime-column",
        "continuous-labels",
    ],
)
def test_bad_input_to_fit_is_a_clear_error(make_input, error, message):
    X, y = make_input()
    with pytest.raises(error, match=re.escape(message)):
        AttentionMLPClassifier(**FAST).fit(X, y)


def test_regressor_rejects_nan_and_text_targets():
    with pytest.raises(ValueError, match="Input y contains NaN"):
        AttentionMLPRegressor(**FAST).fit(X_OK, np.where(Y_OK == 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="could not convert string to float"):
        AttentionMLPRegressor(**FAST).fit(X_OK, np.array(["a", "b"] * 10))


def test_predict_checks_the_number_and_names_of_features(fitted_on_frame):
    clf = AttentionMLPClassifier(**FAST).fit(X_OK, Y_OK)
    with pytest.raises(
        ValueError, match="X has 2 features, but AttentionMLPClassifier is expecting 3"
    ):
        clf.predict(X_OK[:, :2])
    frame_clf, X, _ = fitted_on_frame
    with pytest.raises(
        ValueError, match="Feature names seen at fit time, yet now missing"
    ):
        frame_clf.predict(X.drop(columns="city"))
    with pytest.raises(
        ValueError, match="fitted on tabular data, but X is sequence data"
    ):
        clf.predict(np.zeros((2, 3, 1)))
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.predict(np.full((1, 3), np.inf))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"activation": "swish"},
            "The 'activation' parameter of AttentionMLPClassifier must be a str among",
        ),
        ({"n_heads": 3}, "n_heads=3 must divide d_token=8"),
        ({"numerical_scaling": "minmax"}, "The 'numerical_scaling' parameter"),
        ({"early_stopping": "yes"}, "The 'early_stopping' parameter"),
        ({"learning_rate": 0.0}, "The 'learning_rate' parameter"),
        ({"device": "gpu"}, "device='gpu' is not a device"),
        ({"device": "meta"}, "only 'cpu' and 'cuda' devices are supported"),
        (
            {"categorical_features": ["nope"]},
            "categorical_features names a column that is not in X: 'nope'",
        ),
        (
            {"categorical_features": [5]},
            "categorical_features has positions [5] out of range",
        ),
        ({"categorical_features": [True]}, "expected shape (3,), got (1,)"),
        ({"class_weight": "even"}, "The 'class_weight' parameter"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_bad_parameters_are_clear_errors(params, message):
    X = pd.DataFrame(X_OK, columns=["a", "b", "c"])
    with pytest.raises(ValueError, match=re.escape(message)):
        AttentionMLPClassifier(**{**FAST, "n_heads": 2, **params}).fit(X, Y_OK)


def test_string_column_not_declared_categorical_is_an_error():
    X = pd.DataFrame({"a": np.arange(20.0), "s": ["x", "y"] * 10})
    with pytest.raises(TypeError, match=r"'s' has dtype str but is not categorical"):
        AttentionMLPClassifier(categorical_features=None, **FAST).fit(X, Y_OK)


def test_cuda_request_without_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="torch.cuda.is_available\\(\\) is False"):
        AttentionMLPClassifier(device="cuda", **FAST).fit(X_OK, Y_OK)


def test_negative_or_all_zero_sample_weights_are_errors():
    with pytest.raises(
        ValueError, match="Negative values in data passed to `sample_weight`"
    ):
        AttentionMLPRegressor(**FAST).fit(X_OK, Y_OK, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match="at least one non-zero"):
        AttentionFeatureExtractor(**FAST).fit(X_OK, Y_OK, sample_weight=np.zeros(20))


# -- category values keep their identity across dtypes -----------------------------
def test_numeric_categories_survive_a_dtype_change_between_fit_and_predict():
    rng = np.random.default_rng(0)
    code = np.tile([0.0, 1.0, 2.0, 3.0], 50)
    code[::7] = np.nan  # float64 because of the gaps
    X = pd.DataFrame({"code": code, "v": rng.normal(size=200)})
    y = np.isin(code, [1, 3]).astype(int)
    clf = AttentionMLPClassifier(**{**FAST, "max_iter": 60, "tol": 1e-4})
    clf.set_params(categorical_features=["code"]).fit(X, y)
    as_float = pd.DataFrame({"code": [0.0, 1.0, 2.0, 3.0], "v": 0.0})
    as_int = pd.DataFrame({"code": [0, 1, 2, 3], "v": 0.0})
    as_category = as_float.astype({"code": "category"})
    expected = clf.predict_proba(as_float)
    np.testing.assert_array_equal(clf.predict(as_float), [0, 1, 0, 1])
    np.testing.assert_array_equal(clf.predict_proba(as_int), expected)
    np.testing.assert_array_equal(clf.predict_proba(as_category), expected)


def test_empty_categorical_features_means_none():
    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    clf = AttentionMLPClassifier(categorical_features=[], **FAST).fit(X, Y_OK)
    np.testing.assert_array_equal(clf.is_categorical_, [False, False])


def test_list_mixing_numbers_and_strings_keeps_numbers_numerical():
    X = [[1.5, "a"], [2.25, "b"], [3.0, "a"], [0.5, "c"]] * 5
    clf = AttentionMLPClassifier(**FAST).fit(X, Y_OK)
    np.testing.assert_array_equal(clf.is_categorical_, [False, True])


def test_missing_markers_in_object_arrays_are_missing_numbers():
    X = np.array(
        [[1.0, "a", None], [2.0, "b", pd.NA], [3.0, "a", 4.5]] * 10, dtype=object
    )
    clf = AttentionMLPClassifier(**FAST).fit(X, np.tile([0, 1, 1], 10))
    np.testing.assert_array_equal(clf.is_categorical_, [False, True, False])
    assert np.isfinite(clf.predict_proba(X)).all()


def test_column_that_is_always_missing_is_accepted_without_warnings():
    # pytest turns warnings into errors here: "All-NaN slice" must not leak out.
    X = pd.DataFrame({"a": np.arange(20.0), "empty": np.nan, "none": [None] * 20})
    clf = AttentionMLPClassifier(**FAST).fit(X, Y_OK)
    seen = X.assign(empty=5.0)
    np.testing.assert_array_equal(clf.predict_proba(seen), clf.predict_proba(X))


def test_complex_columns_are_rejected():
    X = pd.DataFrame({"z": np.arange(20) * 1j})
    with pytest.raises(
        TypeError, match="'z' has dtype complex128 but is not categorical"
    ):
        AttentionMLPClassifier(**FAST).fit(X, Y_OK)


def test_negative_class_weight_is_an_error():
    with pytest.raises(ValueError, match="must be non-negative with a positive sum"):
        AttentionMLPClassifier(class_weight={0: -1.0}, **FAST).fit(X_OK, Y_OK)


def test_huge_regression_targets_stay_finite():
    y = X_OK[:, 0] * 1e200
    reg = AttentionMLPRegressor(**FAST).fit(X_OK, y)
    assert np.isfinite(reg.predict(X_OK)).all()


def test_3d_array_to_a_tabular_fit_is_a_clear_error():
    with pytest.raises(ValueError, match="Found array with dim 3"):
        AttentionMLPClassifier(input_type="tabular", **FAST).fit(
            np.zeros((20, 3, 2)), Y_OK
        )


# --------------------------------------------------------------------------------------
# Quantile bins of the piecewise-linear numerical embedding
# --------------------------------------------------------------------------------------


def test_quantile_bin_edges_split_each_column_at_its_quantiles():
    from skattn._inputs.table_encoder import quantile_bin_edges

    values = np.column_stack([np.arange(101.0), np.arange(101.0) ** 2])

    edges = quantile_bin_edges(values, n_bins=4)

    assert edges.shape == (2, 5) and edges.dtype == np.float32
    np.testing.assert_allclose(edges[0], [0, 25, 50, 75, 100])
    np.testing.assert_allclose(edges[1], [0, 625, 2500, 5625, 10000])


def test_quantile_bin_edges_ignore_nan_and_pad_columns_with_few_values():
    from skattn._inputs.table_encoder import quantile_bin_edges

    values = np.array(
        [
            [0.0, np.nan, 2.0],
            [0.0, np.nan, 2.0],
            [np.nan, np.nan, 2.0],
            [1.0, np.nan, 2.0],
            [1.0, np.nan, 2.0],
        ]
    )

    edges = quantile_bin_edges(values, n_bins=3)

    np.testing.assert_allclose(edges[0], [0, 1, 1, 1])  # binary: one bin, then empty
    np.testing.assert_allclose(edges[1], [0, 0, 0, 0])  # never observed: no bin
    np.testing.assert_allclose(edges[2], [2, 2, 2, 2])  # constant: no bin


def test_piecewise_linear_bins_are_learned_on_the_scaled_training_values():
    X = np.random.default_rng(0).lognormal(size=(300, 2))
    one = dict(n_members=1, max_iter=1, random_state=0)
    model = AttentionMLPRegressor(**one).fit(X, X[:, 0])
    linear = AttentionMLPRegressor(numerical_embedding="linear", **one).fit(X, X[:, 0])

    edges = model._input.encoder_.bin_edges_
    tokenizer = model.module_.main.tokenizer
    assert edges.shape == (2, 49)  # 48 bins per feature
    # After the quantile transform to a normal distribution, the median edge is 0.
    np.testing.assert_allclose(edges[:, 24], 0.0, atol=0.05)
    assert tokenizer.numerical_embedding.weight.shape == (2, 48, model.d_token_)
    assert linear._input.encoder_.bin_edges_ is None
    linear_tokenizer = linear.module_.main.tokenizer
    assert linear_tokenizer.numerical_embedding.weight.shape == (2, linear.d_token_)


@pytest.mark.parametrize("library", ["polars", "pyarrow"])
def test_polars_and_pyarrow_frames_keep_column_names_and_kinds(library, mixed_frame):
    # Read through narwhals as the pandas frame they convert to: the same columns,
    # the same categorical columns, the same model.
    module = pytest.importorskip(library)
    X, y = mixed_frame
    convert = module.from_pandas if library == "polars" else module.Table.from_pandas
    frame = convert(X)
    on_pandas = AttentionMLPClassifier(**FAST).fit(X, y)
    on_frame = AttentionMLPClassifier(**FAST).fit(frame, y)

    np.testing.assert_array_equal(on_frame.feature_names_in_, X.columns)
    np.testing.assert_array_equal(on_frame.is_categorical_, on_pandas.is_categorical_)
    np.testing.assert_allclose(
        on_frame.predict_proba(frame), on_pandas.predict_proba(X), rtol=1e-6
    )
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now"):
        on_frame.predict(convert(X.drop(columns="city")))
