"""Two inputs per sample: the public :class:`TwoInputs` container and its encoder.

The ``main`` input's tokens (with the CLS token) cross-attend to the ``context``
input's tokens; each is a table or a set of sequences, encoded by its own
:class:`~skattn._inputs.base.SingleInput`, their arrays kept apart by key prefixes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples
from torch import Tensor

from .. import _state_checks as checks
from .base import HideMask, SingleInput

CONTEXT_PREFIX = "context_"


class TwoInputs:
    """Two inputs per sample, for cross-attention between them.

    Pass one as ``X`` to any skattn estimator: the ``main`` input's tokens (with the
    CLS token that makes the prediction) are the queries, the ``context`` input's
    tokens the keys and values. Each input may be a table (2-D array or DataFrame)
    or sequences (3-D array or list of arrays). The container indexes by sample, so
    :class:`~sklearn.model_selection.GridSearchCV`, :func:`cross_val_score` and
    ``train_test_split`` split both inputs consistently.

    Parameters
    ----------
    main : array-like, DataFrame or list of arrays
        The input whose representation makes the prediction (e.g. customer
        attributes).
    context : array-like, DataFrame or list of arrays
        The input it attends to (e.g. each customer's transaction history).

    Examples
    --------
    >>> import numpy as np
    >>> from skattn import TwoInputs
    >>> X = TwoInputs(np.zeros((4, 3)), np.zeros((4, 10, 2)))
    >>> len(X), len(X[[0, 2]])
    (4, 2)
    """

    def __init__(self, main: Any, context: Any) -> None:
        if isinstance(main, TwoInputs) or isinstance(context, TwoInputs):
            raise TypeError(
                "TwoInputs holds two inputs, each a table or sequences; a TwoInputs "
                "inside another is not supported"
            )
        n_main, n_context = _num_samples(main), _num_samples(context)
        if n_main != n_context:
            raise ValueError(
                "TwoInputs needs the same number of samples in both inputs; got "
                f"main={n_main} and context={n_context}"
            )
        self.main = main
        self.context = context

    def __len__(self) -> int:
        return _num_samples(self.main)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, 2)``: lets scikit-learn's indexing treat this as rows."""
        return (len(self), 2)

    def __getitem__(self, index: Any) -> TwoInputs:
        if isinstance(index, tuple):  # sklearn's array indexing asks for X[rows, ...]
            index = index[0]
        rows = np.arange(len(self))[index]
        rows = np.atleast_1d(rows)
        return TwoInputs(_take(self.main, rows), _take(self.context, rows))

    def __repr__(self) -> str:
        return f"TwoInputs(<{len(self)} samples>)"


def _take(X: Any, rows: np.ndarray) -> Any:
    if isinstance(X, list | tuple):
        return [X[i] for i in rows]
    return _safe_indexing(X, rows)


class PairInput:
    """The encoder of a :class:`TwoInputs`: one encoder per role.

    It offers the estimator the same methods as a single input, answering for the
    main input where there is one answer (features, categorical mask); the network
    reads both through :meth:`parts`.
    """

    kind = "two_inputs"
    records_feature_names = False

    def __init__(self, main: SingleInput, context: SingleInput) -> None:
        self.main = main
        self.context = context

    def parts(self) -> tuple[SingleInput, SingleInput | None]:
        return self.main, self.context

    def check(self, X: TwoInputs, estimator: object) -> tuple[Any, Any]:
        return self.main.check(X.main, estimator), self.context.check(
            X.context, estimator
        )

    def fit(self, X: tuple[Any, Any]) -> PairInput:
        self.main.fit(X[0])
        self.context.fit(X[1])
        return self

    def choose_tokens(
        self, X: tuple[Any, Any], y: np.ndarray, weight: np.ndarray | None = None
    ) -> None:
        self.main.choose_tokens(X[0], y, weight)
        self.context.choose_tokens(X[1], y, weight)

    def check_state(self) -> None:
        """Raise a ValueError unless both parts hold a state that fit makes."""
        for part, prefix in (("main", ""), ("context", CONTEXT_PREFIX)):
            checks.attribute(self, part, SingleInput).check_state()
            if getattr(self, part).prefix != prefix:  # the arrays would collide
                raise checks.state_error(self, part, f"prefix is not {prefix!r}")

    def transform(self, X: tuple[Any, Any]) -> dict[str, np.ndarray]:
        return {**self.main.transform(X[0]), **self.context.transform(X[1])}

    @property
    def n_features(self) -> int:
        return self.main.n_features

    def categorical_mask(self) -> np.ndarray:
        return self.main.categorical_mask()

    # -- self-supervision: not for two inputs, which have no single layout --------
    def reconstruction_layout(self) -> tuple[int, list[int]]:
        raise self._no_reconstruction()

    def reconstruction_values(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        raise self._no_reconstruction()

    def hide(self, inputs: dict[str, Tensor], mask: HideMask) -> dict[str, Tensor]:
        raise self._no_reconstruction()

    @staticmethod
    def _no_reconstruction() -> ValueError:
        return ValueError(
            "fitting without labels (objective='reconstruction') needs one table "
            "or one set of sequences as X, not TwoInputs"
        )
