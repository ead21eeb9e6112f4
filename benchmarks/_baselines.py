"""The preprocessing that the benchmarks' baseline models sit behind.

Models that take only finite numbers (scikit-learn's MLP, linear models) need the
frame turned into a matrix first; every benchmark script gives them the same one,
the pipeline a scikit-learn user would write, so that their scores compare across
scripts. CatBoost gets its categorical columns named and as strings, pytabkit's
models the frame with numerical gaps filled (:class:`CatBoostNative`,
:class:`MedianImputed`).
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def one_hot_pipeline(final: BaseEstimator) -> Pipeline:
    """``final`` behind imputation, scaling and one-hot encoding of a DataFrame.

    Parameters
    ----------
    final : estimator
        The model that receives the encoded matrix.

    Returns
    -------
    pipeline : Pipeline
        Numerical columns are imputed with their median and standardised; the
        others (``category``, strings) are imputed with their most frequent value
        and one-hot encoded, a category unseen in ``fit`` as all zeros. The
        numerical block comes first in the matrix.
    """
    numerical = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )
    columns = ColumnTransformer(
        [
            ("numerical", numerical, make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_exclude="number")),
        ]
    )
    return make_pipeline(columns, final)


def categorical_columns(X: pd.DataFrame) -> list[str]:
    """The columns of ``X`` with a pandas ``category`` dtype (the suite's
    categoricals)."""
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]


class CatBoostNative(BaseEstimator):
    """CatBoost at its defaults, with its native categoricals.

    The ``category`` columns of the frame become CatBoost's ``cat_features``, their
    values strings (a missing category the string ``"nan"``, CatBoost takes no NaN
    there); numerical NaN is CatBoost's own business (its default treats it as
    smaller than every value).

    Parameters
    ----------
    task : str
        ``"regression"``, ``"binary"`` or ``"multiclass"``.
    random_state : int
        CatBoost's ``random_seed``.
    threads : int
        CatBoost's ``thread_count``.
    """

    def __init__(self, task: str = "binary", random_state: int = 0, threads: int = 1):
        self.task = task
        self.random_state = random_state
        self.threads = threads

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        for column in self.categorical_:
            values = X[column].astype(object)
            X[column] = values.where(values.notna(), "nan").astype(str)
        return X

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> "CatBoostNative":
        import catboost

        self.categorical_ = categorical_columns(X)
        cls = (
            catboost.CatBoostRegressor
            if self.task == "regression"
            else catboost.CatBoostClassifier
        )
        self.model_ = cls(
            random_seed=self.random_state,
            thread_count=self.threads,
            cat_features=self.categorical_,
            verbose=0,
            allow_writing_files=False,
        ).fit(self._frame(X), y)
        if self.task != "regression":
            self.classes_ = self.model_.classes_
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        predicted = np.asarray(self.model_.predict(self._frame(X)))
        return predicted.ravel()

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._frame(X))


class MedianImputed(BaseEstimator):
    """``model`` on the frame with each numerical column's missing values set to
    its training median, the ``category`` columns left as they are: for pytabkit's
    RealMLP and TabM, which refuse NaN in numerical columns but read pandas
    categoricals natively.

    Parameters
    ----------
    model : estimator
        The model to fit on the imputed frame.
    """

    def __init__(self, model: BaseEstimator):
        self.model = model

    def _frame(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X.copy()
        X[self.medians_.index] = X[self.medians_.index].fillna(self.medians_)
        return X

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> "MedianImputed":
        categorical = categorical_columns(X)
        numerical = [c for c in X.columns if c not in categorical]
        # A column never observed in these rows has no median: 0 stands in.
        self.medians_ = X[numerical].median(numeric_only=True).fillna(0.0)
        self.model_ = clone(self.model).fit(self._frame(X), y)
        if hasattr(self.model_, "classes_"):
            self.classes_ = self.model_.classes_
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict(self._frame(X)))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._frame(X))
