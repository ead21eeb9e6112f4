"""Table inputs: one token per column, numerical columns first.

:class:`TableInput` checks a table, learns its encoding with a
:class:`~skattn._inputs.table_encoder.TabularEncoder`, builds the feature tokenizer
with the chosen numerical embedding, maps attention back to columns, and says how a
table is masked and reconstructed when the network learns without labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor

from .. import _state_checks as checks
from .._embeddings import NUMERICAL_EMBEDDINGS
from .._tokenizers import FeatureTokenizer, InputTokens
from .base import HideMask, SingleInput
from .table_encoder import MISSING_CODE, TabularEncoder, check_tabular_input


def _frame_columns(X: Any) -> list[str] | None:
    return [str(c) for c in X.columns] if isinstance(X, pd.DataFrame) else None


class TableInput(SingleInput):
    """A 2-D array or DataFrame as one input of the network.

    Parameters
    ----------
    categorical_features : "auto", None or array-like
        Which columns are categorical; see :class:`TabularEncoder`.
    numerical_scaling : {"quantile", "standard"} or None
        Scaling of the numerical columns.
    numerical_embedding : str
        A key of :data:`skattn._embeddings.NUMERICAL_EMBEDDINGS`; the encoder learns
        the quantile bins that embedding asks for.
    random_state : int
        Seed of the quantile scaler's subsampling.
    name, prefix : str
        See :class:`~skattn._inputs.base.SingleInput`.
    """

    kind = "tabular"
    records_feature_names = True

    def __init__(
        self,
        *,
        categorical_features: Any,
        numerical_scaling: str | None,
        numerical_embedding: str,
        random_state: int,
        name: str = "X",
        prefix: str = "",
    ) -> None:
        super().__init__(name=name, prefix=prefix)
        self.categorical_features = categorical_features
        self.numerical_scaling = numerical_scaling
        self.numerical_embedding = numerical_embedding
        self.random_state = random_state

    @classmethod
    def recognises(cls, X: Any) -> bool:
        return True  # whatever is not another kind is read as a table

    @classmethod
    def from_parameters(
        cls, params: Mapping[str, Any], *, seed: int, name: str, prefix: str
    ) -> TableInput:
        return cls(
            categorical_features=params["categorical_features"],
            numerical_scaling=params["numerical_scaling"],
            numerical_embedding=params["numerical_embedding"],
            random_state=seed,
            name=name,
            prefix=prefix,
        )

    @property
    def keys(self) -> tuple[str, str]:
        return (self.prefix + "x_num", self.prefix + "x_cat")

    def check(self, X: Any, estimator: object) -> Any:
        return check_tabular_input(X, estimator)

    def fit(self, X: Any) -> TableInput:
        self.column_names_ = _frame_columns(X)
        self.encoder_ = TabularEncoder(
            categorical_features=self.categorical_features,
            numerical_scaling=self.numerical_scaling,
            random_state=self.random_state,
            n_bins=NUMERICAL_EMBEDDINGS[self.numerical_embedding].n_bins,
        ).fit(X)
        return self

    def transform(self, X: Any) -> dict[str, np.ndarray]:
        expected = len(self.encoder_.feature_names_)
        if X.shape[1] != expected:
            raise ValueError(
                f"{self.name} has {X.shape[1]} features, but the model is expecting "
                f"{expected} features as input."
            )
        columns = _frame_columns(X)
        if self.column_names_ is not None and columns is not None:
            if columns != self.column_names_:
                raise ValueError(
                    "The feature names should match those that were passed during "
                    f"fit, in the same order ({self.name}): expected "
                    f"{self.column_names_}, got {columns}"
                )
        x_num, x_cat = self.encoder_.transform(X)
        return dict(zip(self.keys, (x_num, x_cat), strict=True))

    def check_state(self) -> None:
        super().check_state()
        embedding = checks.choice(
            self, "numerical_embedding", tuple(NUMERICAL_EMBEDDINGS)
        )
        encoder = checks.attribute(self, "encoder_", TabularEncoder)
        encoder.check_state()
        if encoder.n_bins != NUMERICAL_EMBEDDINGS[embedding].n_bins:
            raise checks.state_error(
                self, "encoder_", f"has no bins for the {embedding!r} embedding"
            )
        if checks.attribute(self, "column_names_", (list, type(None))) is not None:
            checks.strings(self, "column_names_", len(encoder.feature_names_))

    @property
    def n_features(self) -> int:
        return len(self.encoder_.feature_names_)

    def categorical_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_features, dtype=bool)
        mask[self.encoder_.categorical_columns_] = True
        return mask

    def _token_columns(self) -> np.ndarray:
        """The column of each token: numerical columns first, then categorical."""
        encoder = self.encoder_
        return np.concatenate(
            [encoder.numerical_columns_, encoder.categorical_columns_]
        ).astype(np.intp)

    def token_names(self) -> list[str]:
        names = self.encoder_.feature_names_
        return [names[j] for j in self._token_columns()]

    def tokenizer(self, d_token: int) -> InputTokens:
        edges = self.encoder_.bin_edges_
        tokenizer = FeatureTokenizer(
            n_numerical=len(self.encoder_.numerical_columns_),
            category_cardinalities=self.encoder_.category_cardinalities_,
            d_token=d_token,
            numerical_embedding=self.numerical_embedding,
            # A copy: joblib may have loaded the edges as a read-only memory map.
            bin_edges=None if edges is None else np.array(edges, dtype=np.float32),
        )
        return InputTokens(tokenizer, self.keys)

    def attention_to_features(self, attention: np.ndarray) -> np.ndarray:
        """(n, n_features) in column order, from tokens ordered numerical first."""
        by_column = np.empty_like(attention)
        by_column[:, self._token_columns()] = attention
        return by_column

    # -- self-supervision: numbers by squared error, categories by cross-entropy ----
    def reconstruction_layout(self) -> tuple[int, list[int]]:
        # Codes per categorical feature: missing, unknown, then the categories.
        encoder = self.encoder_
        return len(encoder.numerical_columns_), list(encoder.category_cardinalities_)

    def reconstruction_values(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        x_num, x_cat = (arrays[key] for key in self.keys)
        return np.concatenate([x_num, x_cat.astype(np.float32)], axis=1)

    def hide(self, inputs: dict[str, Tensor], mask: HideMask) -> dict[str, Tensor]:
        """Hidden numbers become NaN, hidden categories the "missing" code: what the
        tokenizer reads as missing values."""
        num_key, cat_key = self.keys
        x_num, x_cat = inputs[num_key], inputs[cat_key]  # (B, Fn), (B, Fc)
        n_num = x_num.shape[1]
        hidden = mask((len(x_num), n_num + x_cat.shape[1]), x_num.device)  # (B, F)
        return {
            **inputs,
            num_key: x_num.masked_fill(hidden[:, :n_num], float("nan")),
            cat_key: x_cat.masked_fill(hidden[:, n_num:], MISSING_CODE),
        }
