"""Encode user tables (numpy arrays, pandas DataFrames) as the network's two arrays.

The network reads a float32 matrix of numerical features, with NaN where a value is
missing, and an int64 matrix of categorical codes (0 missing, 1 unknown, 2+ the
categories seen in fit). :class:`TabularEncoder` learns that mapping on the training
data: which columns are categorical, their categories, and the scaling of the numerical
columns. Shape and finiteness checks that scikit-learn's estimator checks expect live
here too, so that every error names the column at fault. :class:`TableInput`
(:mod:`skattn._inputs.table`) wraps the encoder as one input of the network.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import narwhals.stable.v2 as nw
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import OrdinalEncoder, QuantileTransformer, StandardScaler
from sklearn.utils.validation import check_array

from .. import _state_checks as checks

MISSING_CODE = 0
UNKNOWN_CODE = 1
_FIRST_CATEGORY_CODE = 2


def as_pandas(X: Any) -> Any:
    """A polars, pyarrow or other eager DataFrame that narwhals reads as a pandas
    DataFrame with the same column names and kinds (a new object); anything else
    unchanged."""
    if isinstance(X, pd.DataFrame | np.ndarray | list | tuple):
        return X
    frame = nw.from_native(X, eager_only=True, pass_through=True)
    if not isinstance(frame, nw.DataFrame):
        return X
    try:
        return frame.to_pandas()
    except ImportError as exc:  # polars converts through pyarrow
        raise ImportError(
            f"reading a {type(X).__module__}.{type(X).__name__} as a table needs "
            f"pyarrow: pip install pyarrow ({exc})"
        ) from exc


def check_tabular_input(X: Any, estimator: object) -> Any:
    """Return ``X`` as a DataFrame (pandas, converted from other DataFrame libraries)
    or a 2-D ndarray (a sparse matrix densified), or raise.

    Non-finite values are allowed here; :meth:`TabularEncoder.transform` rejects
    infinities once it knows which columns are numerical.
    """
    X = as_pandas(X)
    if isinstance(X, pd.DataFrame):
        if X.shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of "
                "1 is required."
            )
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of "
                "1 is required."
            )
        return X
    array = check_array(
        X,
        accept_sparse=True,
        dtype=None,
        ensure_all_finite=False,
        estimator=estimator,
        input_name="X",
    )
    if sp.issparse(array):
        # Every feature is a token of its own, so the network reads dense rows:
        # densified here as MLPClassifier's first layer does (stored NaN stay NaN).
        return array.toarray()
    if array.dtype.kind in "US" and not isinstance(X, np.ndarray):
        # A list mixing numbers and strings would become all strings; as objects,
        # each column keeps its numbers and only the text columns are categorical.
        array = check_array(
            np.asarray(X, dtype=object),
            dtype=None,
            ensure_all_finite=False,
            estimator=estimator,
            input_name="X",
        )
    return array


def _column_names(X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(name) for name in X.columns]
    return [f"x{j}" for j in range(X.shape[1])]


def _column(X: Any, j: int) -> np.ndarray | pd.Series:
    return X.iloc[:, j] if isinstance(X, pd.DataFrame) else X[:, j]


def _is_plain_object(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _is_numeric(values: np.ndarray | pd.Series) -> bool:
    """Real numbers, booleans, or an object column of them (not dates, durations or
    complex numbers)."""
    dtype = values.dtype
    if _is_plain_object(dtype):
        return True  # converted value by value; a non-number fails that conversion
    if pd.api.types.is_complex_dtype(dtype):
        return False
    return pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _category_key(value: Any) -> str:
    """One spelling per category value, whatever the column's dtype: 1, 1.0,
    np.int8(1) and np.float32(1) are all "1", so a column that turns from int to
    float (a NaN appears, say) between fit and predict keeps its categories."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _holds_strings(values: np.ndarray | pd.Series) -> bool:
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        if _is_plain_object(dtype):  # strings only if a value is one
            return any(isinstance(v, str) for v in np.asarray(values))
        return True
    return False


def quantile_bin_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges of up to ``n_bins`` quantile bins of each column, ignoring NaN.

    Parameters
    ----------
    values : ndarray of shape (n_samples, n_columns)
        Numerical values, NaN where missing.
    n_bins : int
        Most bins per column.

    Returns
    -------
    edges : ndarray of shape (n_columns, n_bins + 1), float32
        Increasing edges of each column's bins: fewer distinct quantiles than
        ``n_bins + 1`` (few distinct values) repeat the last edge, which leaves empty
        bins of width zero; a column without any value has only such bins.
    """
    edges = np.zeros((values.shape[1], n_bins + 1), dtype=np.float32)
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    for j in range(values.shape[1]):
        observed = values[:, j][~np.isnan(values[:, j])]
        if not len(observed):
            continue
        column = np.unique(np.quantile(observed, levels).astype(np.float32))
        edges[j, : len(column)] = column
        edges[j, len(column) :] = column[-1]
    return edges


# QuantileTransformer maps values within 1e-7 (an absolute threshold) of a column's
# smallest or largest training value to that bound, so a column whose values all
# lie within a few 1e-7 of each other collapses to its bounds. Such columns are
# multiplied by a power of 2 (exact, and monotone, so their quantiles are the same)
# that spreads them over at least one unit; others are left as they are.
_QUANTILE_MIN_RANGE = 1e-3


def _prescale(numerical: np.ndarray, numerical_scaling: str | None) -> np.ndarray:
    """Per-column factors (n_numerical,) applied before the quantile scaling."""
    factors = np.ones(numerical.shape[1])
    if numerical_scaling != "quantile" or not numerical.size:
        return factors
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        spread = np.nanmax(numerical, axis=0) - np.nanmin(numerical, axis=0)
    narrow = (spread > 0) & (spread < _QUANTILE_MIN_RANGE)
    factors[narrow] = 2.0 ** -np.floor(np.log2(spread[narrow]))
    return factors


class TabularEncoder:
    """Learn how to encode a table into ``(x_num, x_cat)`` network inputs.

    Parameters
    ----------
    categorical_features : "auto", None or array-like
        "auto": DataFrame columns of ``category`` and string dtypes, and object
        columns (of DataFrames or of object ndarrays) holding strings, are
        categorical. None: no column is. Otherwise column names (DataFrame only),
        integer positions or a boolean mask of length ``n_features``.
    numerical_scaling : {"quantile", "standard"} or None
        Scaling fitted on the numerical columns (missing values are ignored).
    random_state : int
        Seed for the quantile transformer's subsampling.
    n_bins : int or None, default=None
        With an int, ``fit`` also learns ``bin_edges_``: quantile bins of each scaled
        numerical column, for the piecewise-linear numerical embedding.
    """

    def __init__(
        self,
        *,
        categorical_features: Any,
        numerical_scaling: str | None,
        random_state: int,
        n_bins: int | None = None,
    ) -> None:
        self.categorical_features = categorical_features
        self.numerical_scaling = numerical_scaling
        self.random_state = random_state
        self.n_bins = n_bins

    # -- which columns are categorical -------------------------------------------
    def _categorical_mask(self, X: Any) -> np.ndarray:
        n_features = X.shape[1]
        names = _column_names(X)
        spec = self.categorical_features
        if spec is None:
            return np.zeros(n_features, dtype=bool)
        if isinstance(spec, str) and spec == "auto":
            return np.array([_holds_strings(_column(X, j)) for j in range(n_features)])
        spec = np.asarray(spec)
        if spec.size == 0:
            return np.zeros(n_features, dtype=bool)
        if spec.dtype.kind == "b":
            if spec.shape != (n_features,):
                raise ValueError(
                    "categorical_features as a boolean mask must have one entry per "
                    f"feature: expected shape ({n_features},), got {spec.shape}"
                )
            return spec.copy()
        mask = np.zeros(n_features, dtype=bool)
        if spec.dtype.kind in "iu":
            bad = [int(j) for j in spec.ravel() if not -n_features <= j < n_features]
            if bad:
                raise ValueError(
                    f"categorical_features has positions {bad} out of range for "
                    f"X with {n_features} features"
                )
            mask[spec.ravel()] = True
            return mask
        if spec.dtype.kind in "OU":
            if not isinstance(X, pd.DataFrame):
                raise ValueError(
                    "categorical_features names columns, which needs X to be a pandas "
                    "DataFrame; pass integer positions or a boolean mask for arrays"
                )
            for name in spec.ravel():
                if str(name) not in names:
                    raise ValueError(
                        f"categorical_features names a column that is not in X: "
                        f"{str(name)!r}; X has columns {names}"
                    )
                mask[names.index(str(name))] = True
            return mask
        raise ValueError(
            "categorical_features must be 'auto', None, column names, integer "
            f"positions or a boolean mask; got {self.categorical_features!r}"
        )

    # -- conversion ----------------------------------------------------------------
    def _numerical_values(self, X: Any) -> np.ndarray:
        """The numerical columns as float64 (n_samples, n_numerical), NaN missing."""
        columns = []
        for j in self.numerical_columns_:
            values = _column(X, int(j))
            if not _is_numeric(values):
                raise TypeError(
                    f"{self.feature_names_[j]!r} has dtype {values.dtype} but is not "
                    "categorical; non-categorical columns must hold numbers or "
                    "booleans (see the categorical_features parameter)"
                )
            try:
                if isinstance(values, pd.Series):
                    as_float = values.to_numpy(dtype=np.float64, na_value=np.nan)
                elif _is_plain_object(values.dtype):  # None / pd.NA are missing too
                    missing = pd.isna(values)
                    as_float = np.where(missing, np.nan, values).astype(np.float64)
                else:
                    as_float = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise type(exc)(
                    f"{self.feature_names_[j]!r} must hold numbers or be named in "
                    f"categorical_features: {exc}"
                ) from exc
            columns.append(as_float)
        if not columns:
            return np.empty((X.shape[0], 0), dtype=np.float64)
        values = np.stack(columns, axis=1)
        infinite = np.isinf(values).any(axis=0)
        if infinite.any():
            bad = [self.feature_names_[j] for j in self.numerical_columns_[infinite]]
            raise ValueError(
                f"Input X contains infinity in {bad}; numerical features may hold "
                "NaN for missing values but must otherwise be finite."
            )
        return values

    def _categorical_values(self, X: Any) -> np.ndarray:
        """The categorical columns as an object array of str, np.nan for missing."""
        out = np.empty((X.shape[0], len(self.categorical_columns_)), dtype=object)
        for k, j in enumerate(self.categorical_columns_):
            values = np.asarray(_column(X, int(j)), dtype=object)
            missing = pd.isna(values)
            out[:, k] = [
                np.nan if m else _category_key(v)
                for v, m in zip(values, missing, strict=True)
            ]
        return out

    def fit(self, X: Any) -> TabularEncoder:
        """Learn column kinds, categories and numerical scaling from ``X``."""
        self.feature_names_ = _column_names(X)
        mask = self._categorical_mask(X)
        self.numerical_columns_ = np.flatnonzero(~mask)
        self.categorical_columns_ = np.flatnonzero(mask)

        numerical = self._numerical_values(X)
        # A column with no value at all in fit teaches the network nothing but its
        # "missing" token; it stays missing at predict (and stays out of the scaler,
        # whose statistics of an empty column would be NaN).
        self.never_observed_ = np.isnan(numerical).all(axis=0)
        self.prescale_ = _prescale(numerical, self.numerical_scaling)
        self.scaler_ = self._make_scaler(numerical.shape[0])
        if self.scaler_ is not None and numerical.shape[1]:
            # Overflowing statistics are caught, by name, in _scaled.
            with np.errstate(over="ignore", invalid="ignore"):
                self.scaler_.fit(
                    np.where(self.never_observed_, 0.0, numerical * self.prescale_)
                )
        self.bin_edges_ = None
        if self.n_bins is not None:
            self.bin_edges_ = quantile_bin_edges(self._scaled(numerical), self.n_bins)

        self.ordinal_encoder_ = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=UNKNOWN_CODE - _FIRST_CATEGORY_CODE,
            encoded_missing_value=MISSING_CODE - _FIRST_CATEGORY_CODE,
            dtype=np.int64,
        )
        self.category_cardinalities_: list[int] = []
        if len(self.categorical_columns_):
            self.ordinal_encoder_.fit(self._categorical_values(X))
            for categories in self.ordinal_encoder_.categories_:
                n_seen = len(categories) - int(pd.isna(categories).any())
                self.category_cardinalities_.append(n_seen + _FIRST_CATEGORY_CODE)
        return self

    def check_state(self) -> None:
        """Raise a ValueError unless the fitted attributes are what :meth:`fit`
        makes: types, shapes, finite values, and columns that agree throughout."""
        names = checks.strings(self, "feature_names_")
        numerical = checks.array(self, "numerical_columns_", kinds="iu")
        categorical = checks.array(self, "categorical_columns_", kinds="iu")
        split = np.sort(np.concatenate([numerical, categorical]))
        if not names or not np.array_equal(split, np.arange(len(names))):
            raise checks.state_error(
                self, "numerical_columns_", "and categorical_columns_ do not split "
                f"the {len(names)} features"
            )  # fmt: skip
        n_numerical, n_categorical = len(numerical), len(categorical)
        checks.array(self, "never_observed_", kinds="b", length=n_numerical)
        prescale = checks.array(
            self, "prescale_", kinds="f", length=n_numerical, positive=True
        )
        scaling = checks.choice(
            self, "numerical_scaling", ("quantile", "standard", None)
        )
        scaler_type = {"quantile": QuantileTransformer, "standard": StandardScaler}
        scaler = checks.attribute(self, "scaler_", scaler_type.get(scaling, type(None)))
        if scaler is not None and n_numerical:
            checks.runs(self, "scaler_", lambda: scaler.transform(prescale[None, :]))
        n_bins = checks.attribute(self, "n_bins", (int, type(None)))
        if n_bins is None:
            checks.attribute(self, "bin_edges_", type(None))
        else:
            checks.integer(self, "n_bins", 1, 1024)
            edges = checks.array(
                self, "bin_edges_", kinds="f", ndim=2, length=n_numerical
            )
            if edges.shape[1] != n_bins + 1 or (np.diff(edges, axis=1) < 0).any():
                raise checks.state_error(
                    self, "bin_edges_", f"are not {n_bins + 1} increasing edges a row"
                )
        encoder = checks.attribute(self, "ordinal_encoder_", OrdinalEncoder)
        codes: tuple[Any, ...] = (encoder.handle_unknown, encoder.unknown_value)
        codes += (encoder.encoded_missing_value, encoder.dtype)
        fitted: tuple[Any, ...] = (
            "use_encoded_value",
            UNKNOWN_CODE - _FIRST_CATEGORY_CODE,
        )
        fitted += (MISSING_CODE - _FIRST_CATEGORY_CODE, np.int64)
        if codes != fitted:  # other codes would read other columns' embeddings
            raise checks.state_error(
                self, "ordinal_encoder_", f"codes categories as {codes}, not {fitted}"
            )
        cardinalities = checks.attribute(self, "category_cardinalities_", list)
        if n_categorical and len(encoder.categories_) != n_categorical:
            raise checks.state_error(
                self, "ordinal_encoder_", f"has no {n_categorical} category lists"
            )
        if n_categorical:
            checks.runs(
                self,
                "ordinal_encoder_",
                lambda: encoder.transform(np.full((1, n_categorical), "", object)),
            )
            seen = [
                len(categories) - int(pd.isna(categories).any())
                for categories in encoder.categories_
            ]
            expected = [n + _FIRST_CATEGORY_CODE for n in seen]
        else:
            expected = []
        if cardinalities != expected:
            raise checks.state_error(
                self,
                "category_cardinalities_",
                f"are {cardinalities}, but its categories give {expected}",
            )

    def _make_scaler(
        self, n_samples: int
    ) -> QuantileTransformer | StandardScaler | None:
        if self.numerical_scaling == "quantile":
            # NOTE: the quantile count of rtdl's FT-Transformer recipe, capped by n.
            n_quantiles = min(max(min(n_samples // 30, 1000), 10), n_samples)
            return QuantileTransformer(
                n_quantiles=n_quantiles,
                output_distribution="normal",
                subsample=None,
                random_state=self.random_state,
            )
        if self.numerical_scaling == "standard":
            return StandardScaler()
        return None

    def _scaled(self, numerical: np.ndarray) -> np.ndarray:
        """Scaled values, NaN where missing and in columns never observed in fit."""
        missing = np.isnan(numerical)
        if self.scaler_ is not None and numerical.shape[1]:
            with np.errstate(over="ignore", invalid="ignore"):
                numerical = self.scaler_.transform(
                    np.where(self.never_observed_, 0.0, numerical * self.prescale_)
                )
        numerical[:, self.never_observed_] = np.nan
        # NaN means "missing" to the network: a scaling that overflows on extreme
        # values (StandardScaler's variance of 1e200) must not turn values into it.
        lost = np.isnan(numerical) & ~missing & ~self.never_observed_
        if lost.any():
            columns = np.flatnonzero(lost.any(axis=0))
            names = [self.feature_names_[self.numerical_columns_[j]] for j in columns]
            raise ValueError(
                f"numerical_scaling={self.numerical_scaling!r} cannot scale the "
                f"values of {names}: they are too large for it (the scaled values "
                "overflow); use numerical_scaling='quantile' or rescale them"
            )
        return numerical

    def transform(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return ``x_num`` float32 (n, n_numerical) and ``x_cat`` int64 (n, n_cat)."""
        numerical = self._scaled(self._numerical_values(X))
        with np.errstate(over="ignore"):
            x_num = numerical.astype(np.float32)
        if np.isinf(x_num).any():
            raise ValueError(
                "Input X contains values too large for float32 in numerical features; "
                "rescale them or use numerical_scaling='quantile'."
            )
        if len(self.categorical_columns_):
            codes = self.ordinal_encoder_.transform(self._categorical_values(X))
            x_cat = codes + _FIRST_CATEGORY_CODE
        else:
            x_cat = np.empty((X.shape[0], 0), dtype=np.int64)
        return x_num, x_cat.astype(np.int64, copy=False)
