"""Every private scikit-learn name skattn uses, in one place.

scikit-learn may move these between releases; an upgrade is then a one-file change.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import _check_sample_weight as check_sample_weight
from sklearn.utils.validation import _check_y as check_y

__all__ = [
    "Interval",
    "InvalidParameterError",
    "StrOptions",
    "_fit_context",
    "check_sample_weight",
    "check_y",
]
