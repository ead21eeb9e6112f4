"""What kind of input X is, the encoder that fits it, and the two-input container.

Three kinds of X reach the estimators:

- ``"tabular"``: a 2-D array or DataFrame, one token per feature;
- ``"sequence"``: a 3-D array, a list of per-sample arrays, or a 2-D array of time
  steps (``input_type="sequence"``), one token per patch of steps;
- ``"two_inputs"``: a :class:`TwoInputs` holding one input of either kind per role,
  where the ``main`` input's tokens cross-attend to the ``context`` input's tokens.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from ._embeddings import NUMERICAL_EMBEDDINGS
from ._preprocessing import TabularEncoder, check_tabular_input
from ._sequences import SequenceEncoder, is_sequence_list
from ._tokenizers import FeatureTokenizer, InputTokens, SequenceTokenizer


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


def input_kind(X: Any, input_type: str) -> str:
    """``"tabular"``, ``"sequence"`` or ``"two_inputs"`` for ``X`` and the
    ``input_type`` parameter.

    "auto" decides by form: 3-D arrays and collections of per-sample arrays (a list
    or tuple of arrays, or a 1-D object array of them) are sequences; 2-D arrays,
    DataFrames and lists of lists are tables.
    """
    if isinstance(X, TwoInputs):
        return "two_inputs"
    if input_type != "auto":
        return input_type
    if is_sequence_list(X) or getattr(X, "ndim", None) == 3:
        return "sequence"
    return "tabular"


def _frame_columns(X: Any) -> list[str] | None:
    return [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None


class _OneInput:
    """What a single input (table or sequences) says about the whole network."""

    def feature_token_names(self) -> list[str]:
        raise NotImplementedError

    def tokens(self, d_token: int, prefix: str = "") -> InputTokens:
        raise NotImplementedError

    def attention_to_features(self, attention: np.ndarray) -> np.ndarray:
        """Map attention over this input's tokens (n, n_tokens) to the user's
        features: columns of a table, time steps of sequences."""
        raise NotImplementedError

    def token_names(self) -> tuple[list[str], None]:
        return self.feature_token_names(), None

    def network_inputs(
        self, d_token: int, d_main: int | None = None
    ) -> tuple[InputTokens, None]:
        return self.tokens(d_main or d_token), None


class TabularInput(_OneInput):
    """A :class:`TabularEncoder` behind the checks of one table input, and the
    ``numerical_embedding`` (a key of
    :data:`~skattn._embeddings.NUMERICAL_EMBEDDINGS`) its tokens use."""

    kind = "tabular"

    def __init__(
        self, encoder: TabularEncoder, estimator: object, numerical_embedding: str
    ) -> None:
        self.encoder = encoder
        self.estimator = estimator
        self.numerical_embedding = numerical_embedding

    def fit(self, X: Any) -> TabularInput:
        X = check_tabular_input(X, self.estimator)
        self.column_names_ = _frame_columns(X)
        self.encoder.fit(X)
        return self

    def transform(self, X: Any) -> dict[str, np.ndarray]:
        X = check_tabular_input(X, self.estimator)
        expected = len(self.encoder.feature_names_)
        if X.shape[1] != expected:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self.estimator).__name__} "
                f"is expecting {expected} features as input."
            )
        columns = _frame_columns(X)
        if self.column_names_ is not None and columns is not None:
            if columns != self.column_names_:
                raise ValueError(
                    "The feature names should match those that were passed during "
                    f"fit, in the same order: expected {self.column_names_}, got "
                    f"{columns}"
                )
        x_num, x_cat = self.encoder.transform(X)
        return {"x_num": x_num, "x_cat": x_cat}

    @property
    def n_features(self) -> int:
        return len(self.encoder.feature_names_)

    def categorical_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_features, dtype=bool)
        mask[self.encoder.categorical_columns_] = True
        return mask

    def feature_token_names(self) -> list[str]:
        names = self.encoder.feature_names_
        return [names[j] for j in self.encoder.numerical_columns_] + [
            names[j] for j in self.encoder.categorical_columns_
        ]

    def tokens(self, d_token: int, prefix: str = "") -> InputTokens:
        tokenizer = FeatureTokenizer(
            n_numerical=len(self.encoder.numerical_columns_),
            category_cardinalities=self.encoder.category_cardinalities_,
            d_token=d_token,
            numerical_embedding=self.numerical_embedding,
            bin_edges=self.encoder.bin_edges_,
        )
        return InputTokens(tokenizer, (prefix + "x_num", prefix + "x_cat"))

    def attention_to_features(self, attention: np.ndarray) -> np.ndarray:
        """(n, n_features) in column order, from tokens ordered numerical first."""
        token_columns = np.concatenate(
            [self.encoder.numerical_columns_, self.encoder.categorical_columns_]
        ).astype(np.intp)
        by_column = np.empty_like(attention)
        by_column[:, token_columns] = attention
        return by_column


class SequenceInput(_OneInput, SequenceEncoder):
    """A :class:`SequenceEncoder` as one input of the network."""

    kind = "sequence"

    @property
    def n_features(self) -> int:
        return self.n_channels_

    def categorical_mask(self) -> np.ndarray:
        return np.zeros(self.n_channels_, dtype=bool)

    def feature_token_names(self) -> list[str]:
        return self.patch_names()

    def tokens(self, d_token: int, prefix: str = "") -> InputTokens:
        tokenizer = SequenceTokenizer(
            n_channels=self.n_channels_, patch_size=self.patch_size_, d_token=d_token
        )
        return InputTokens(tokenizer, (prefix + "x_seq", prefix + "lengths"))

    def attention_to_features(self, attention: np.ndarray) -> np.ndarray:
        """(n, n_tokens * patch_size): each patch's weight shared evenly by its
        steps, so that a row still sums to one."""
        return np.repeat(attention / self.patch_size_, self.patch_size_, axis=1)


class TwoInput:
    """A main and a context input, their arrays kept apart by key prefixes."""

    kind = "two_inputs"

    def __init__(self, main: TabularInput | SequenceInput, context: Any) -> None:
        self.main = main
        self.context = context

    def fit(self, X: TwoInputs) -> TwoInput:
        self.main.fit(X.main)
        self.context.fit(X.context)
        return self

    def transform(self, X: TwoInputs) -> dict[str, np.ndarray]:
        arrays = dict(self.main.transform(X.main))
        arrays.update(
            {
                CONTEXT_PREFIX + k: v
                for k, v in self.context.transform(X.context).items()
            }
        )
        return arrays

    @property
    def n_features(self) -> int:
        return self.main.n_features

    def categorical_mask(self) -> np.ndarray:
        return self.main.categorical_mask()

    def token_names(self) -> tuple[list[str], list[str]]:
        return self.main.feature_token_names(), self.context.feature_token_names()

    def network_inputs(
        self, d_token: int, d_main: int | None = None
    ) -> tuple[InputTokens, InputTokens]:
        return (
            self.main.tokens(d_main or d_token),
            self.context.tokens(d_token, CONTEXT_PREFIX),
        )


Input = TabularInput | SequenceInput | TwoInput


CONTEXT_PREFIX = "context_"


def make_input(X: Any, estimator: Any, seed: int) -> Input:
    """The unfitted input encoder for ``X`` given the estimator's parameters.

    ``input_type`` and ``categorical_features`` describe a single input, or the main
    input of a :class:`TwoInputs`; its context input is read with "auto" rules.
    """

    def single(kind: str, categorical_features: Any, steps_are_columns: bool) -> Any:
        if kind == "sequence":
            return SequenceInput(
                patch_size=estimator.patch_size, steps_are_columns=steps_are_columns
            )
        embedding = NUMERICAL_EMBEDDINGS[estimator.numerical_embedding]
        encoder = TabularEncoder(
            categorical_features=categorical_features,
            numerical_scaling=estimator.numerical_scaling,
            random_state=seed,
            n_bins=embedding.n_bins,  # the quantile bins the embedding reads
        )
        return TabularInput(encoder, estimator, estimator.numerical_embedding)

    steps_are_columns = estimator.input_type == "sequence"
    kind = input_kind(X, estimator.input_type)
    if kind == "two_inputs":
        main_kind = input_kind(X.main, estimator.input_type)
        _check_categorical_features(main_kind, estimator.categorical_features)
        return TwoInput(
            single(main_kind, estimator.categorical_features, steps_are_columns),
            single(input_kind(X.context, "auto"), "auto", False),
        )
    _check_categorical_features(kind, estimator.categorical_features)
    return single(kind, estimator.categorical_features, steps_are_columns)


def _check_categorical_features(kind: str, categorical_features: Any) -> None:
    explicit = not (
        categorical_features is None
        or (isinstance(categorical_features, str) and categorical_features == "auto")
    )
    if kind == "sequence" and explicit:
        raise ValueError(
            "categorical_features applies to tables, but X is sequence data; leave "
            f"it 'auto' (got {categorical_features!r})"
        )
