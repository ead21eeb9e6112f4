"""The preprocessing that the benchmarks' baseline models sit behind.

Models that take only finite numbers (scikit-learn's MLP, linear models) need the
frame turned into a matrix first; every benchmark script gives them the same one,
the pipeline a scikit-learn user would write, so that their scores compare across
scripts.
"""

from sklearn.base import BaseEstimator
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
