"""The one check of ``X`` per estimator call.

Every public method that takes ``X`` calls :func:`check_input` once: it converts the
user's input into the form the input encoder reads, says whether its kind matches
the fitted model's, and records (``reset``) or compares scikit-learn's
``n_features_in_`` and ``feature_names_in_`` for tables.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.validation import validate_data

from ._inputs import Input, input_kind


def check_input(estimator: Any, X: Any, input: Input, *, reset: bool) -> Any:
    """Return ``X`` checked and converted by ``input`` (the fitted model's input
    encoder, or a new one when ``reset``), or raise an error that names the
    problem."""
    if not reset:
        kind = input_kind(X, estimator.input_type)
        if kind != estimator.input_kind_:
            raise ValueError(
                f"{type(estimator).__name__} was fitted on {estimator.input_kind_} "
                f"data, but X is {kind} data ({type(X).__name__}"
                + (f" with {X.ndim} dimensions)" if hasattr(X, "ndim") else ")")
            )
    checked = input.check(X, estimator)
    if input.records_feature_names:
        validate_data(estimator, checked, reset=reset, skip_check_array=True)
    elif reset:
        estimator.__dict__.pop("feature_names_in_", None)  # from an earlier table fit
    return checked
