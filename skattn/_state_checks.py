"""Checks of a fitted part's state, for states that fit did not make.

``load_model`` rebuilds an estimator from a state read out of a file, which anyone
may have altered. Each fitted part (the input encoders, the targets) says in its
``check_state`` method which attributes it needs, of which types, shapes and bounds,
and how they agree with each other; the helpers here do the checking, and every
failure is a ValueError naming the attribute (``TabularEncoder.prescale_``) and
what is wrong with it. Only what fit can produce passes, so that a loaded model
either predicts as some fitted model would or is refused when it is loaded.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np


def _name(owner: object, attribute: str) -> str:
    return f"{type(owner).__name__}.{attribute}"


def state_error(owner: object, attribute: str, problem: str) -> ValueError:
    """The error for ``owner.attribute``: ``problem`` says what is wrong."""
    return ValueError(f"the saved {_name(owner, attribute)} {problem}")


def attribute(owner: object, name: str, types: type | tuple[type, ...]) -> Any:
    """``owner.name``, which must exist and be an instance of ``types`` (a bool
    never passes for a number)."""
    if name not in vars(owner):
        raise state_error(owner, name, "is missing")
    value = vars(owner)[name]
    allowed = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, allowed) or (
        isinstance(value, bool) and bool not in allowed and np.bool_ not in allowed
    ):
        kinds = " or ".join(kind.__name__ for kind in allowed)
        raise state_error(owner, name, f"is a {type(value).__name__}, not {kinds}")
    return value


def choice(owner: object, name: str, options: Collection[Any]) -> Any:
    """``owner.name``, which must be one of ``options``."""
    if name not in vars(owner):
        raise state_error(owner, name, "is missing")
    value = vars(owner)[name]
    if not any(value is option or _equal(value, option) for option in options):
        raise state_error(owner, name, f"is {value!r}, not one of {list(options)}")
    return value


def _equal(value: Any, option: Any) -> bool:
    try:
        return type(value) is type(option) and bool(value == option)
    except (TypeError, ValueError):
        return False


def integer(owner: object, name: str, low: int, high: int) -> int:
    """``owner.name``, an int (not a bool) in ``[low, high]``."""
    value = attribute(owner, name, (int, np.integer))
    if not low <= value <= high:
        raise state_error(owner, name, f"is {value}, outside [{low}, {high}]")
    return int(value)


def number(owner: object, name: str, low: float, high: float) -> float:
    """``owner.name``, a finite real number in ``[low, high]``."""
    value = attribute(owner, name, (int, float, np.integer, np.floating))
    if not (np.isfinite(value) and low <= value <= high):
        raise state_error(owner, name, f"is {value}, outside [{low}, {high}]")
    return float(value)


def array(
    owner: object,
    name: str,
    *,
    kinds: str,
    ndim: int = 1,
    length: int | None = None,
    shape: tuple[int, ...] | None = None,
    positive: bool = False,
) -> np.ndarray:
    """``owner.name``, an ndarray of dtype kind among ``kinds`` with ``ndim``
    dimensions (those of ``shape`` when given) and, when given, ``length`` rows
    or exactly ``shape``; finite when numeric, and above 0 when ``positive``."""
    value = attribute(owner, name, np.ndarray)
    if shape is not None:
        ndim = len(shape)
    if value.dtype.kind not in kinds or value.ndim != ndim:
        raise state_error(
            owner, name, f"is a {value.ndim}-D {value.dtype} array, not the expected"
        )
    if length is not None and len(value) != length:
        raise state_error(owner, name, f"has {len(value)} entries, not {length}")
    if shape is not None and value.shape != shape:
        raise state_error(owner, name, f"has shape {value.shape}, not {shape}")
    if value.dtype.kind in "fc" and not np.isfinite(value).all():
        raise state_error(owner, name, "holds NaN or infinite values")
    if positive and not (value > 0).all():
        raise state_error(owner, name, "holds values that are not positive")
    return value


def labels(owner: object, name: str, values: Any) -> None:
    """Raise unless ``values`` (``owner.name`` or an entry of it) are distinct
    labels in sorted order, as ``np.unique`` returns them."""
    if not isinstance(values, np.ndarray) or values.ndim != 1 or not len(values):
        raise state_error(owner, name, "is not a non-empty 1-D array of labels")
    try:
        unique = np.unique(values)
    except TypeError as exc:
        raise state_error(owner, name, f"holds labels that do not sort: {exc}") from exc
    if len(unique) != len(values) or not (unique == values).all():
        raise state_error(owner, name, "holds labels that are not distinct and sorted")


def strings(owner: object, name: str, length: int | None = None) -> list[str]:
    """``owner.name``, a list of str (of ``length`` entries when given)."""
    value = attribute(owner, name, list)
    if not all(isinstance(item, str) for item in value):
        raise state_error(owner, name, "holds entries that are not str")
    if length is not None and len(value) != length:
        raise state_error(owner, name, f"has {len(value)} entries, not {length}")
    return value


def runs(owner: object, name: str, call: Any) -> None:
    """Raise unless ``call()`` (a fitted scikit-learn part transforming one
    example row) runs and returns finite values."""
    try:
        output = np.asarray(call(), dtype=float)
    except Exception as exc:  # whatever broke inside it, the state is at fault
        raise state_error(
            owner, name, f"does not run: {type(exc).__name__}: {exc}"
        ) from exc
    if not np.isfinite(output).all():
        raise state_error(owner, name, "gives NaN or infinite values")
