"""What every kind of input does for the estimators: the input-encoder protocol.

An input encoder is a plain fitted object, built from explicit constructor arguments
(never from the estimator), that owns everything about one kind of ``X``:

- ``check(X)``: the one conversion of the user's ``X`` into the form ``fit`` and
  ``transform`` read (called once per estimator call, see :mod:`skattn._validation`);
- ``fit`` / ``transform``: learn the encoding, then turn checked input into the
  network's arrays, a dict of ``(n_samples, ...)`` arrays keyed by ``keys``;
- ``tokenizer``: the torch module that turns those arrays into tokens;
- ``token_names`` and ``attention_to_features``: explanations in the user's terms
  (columns of a table, time steps of sequences);
- ``reconstruction_*`` and ``hide``: what self-supervised training reconstructs and
  how it masks this kind of input.

The trainer, the network and the self-supervised target only call these methods, so
none of them branches on the kind of input.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from torch import Tensor

from .. import _state_checks as checks
from .._tokenizers import InputTokens

# (shape, device) -> bool Tensor of that shape, True where a value is to be hidden.
HideMask = Callable[[tuple[int, ...], Any], Tensor]


class SingleInput(ABC):
    """One table or one set of sequences, as the network reads it.

    Parameters
    ----------
    name : str
        What error messages call this input ("X", "TwoInputs.main", ...).
    prefix : str
        Prefix of this input's keys in the network's input dict, so that two inputs
        can share one dict.
    """

    kind: str  # the name input_kind() gives this kind of X
    # Whether a fitted estimator records this input's feature names (feature_names_in_)
    # through scikit-learn's validate_data, as it does for tables.
    records_feature_names = False

    def __init__(self, *, name: str = "X", prefix: str = "") -> None:
        self.name = name
        self.prefix = prefix

    @classmethod
    @abstractmethod
    def recognises(cls, X: Any) -> bool:
        """Whether ``input_type="auto"`` reads ``X`` as this kind of input."""

    @classmethod
    @abstractmethod
    def from_parameters(
        cls, params: Mapping[str, Any], *, seed: int, name: str, prefix: str
    ) -> SingleInput:
        """The unfitted input for the estimator parameters ``params`` (a
        ``get_params()`` dict), or raise if they do not apply to this kind."""

    def parts(self) -> tuple[SingleInput, SingleInput | None]:
        """The main input and the context input (None: this is the only one)."""
        return self, None

    @property
    @abstractmethod
    def keys(self) -> tuple[str, ...]:
        """Keys of this input's arrays in the network's input dict."""

    @abstractmethod
    def check(self, X: Any, estimator: object) -> Any:
        """Convert the user's ``X`` to the form :meth:`fit` and :meth:`transform`
        read, or raise a ValueError or TypeError that names the problem."""

    @abstractmethod
    def fit(self, X: Any) -> SingleInput:
        """Learn the encoding from checked training input."""

    def choose_tokens(  # noqa: B027
        self, X: Any, y: np.ndarray, weight: np.ndarray | None = None
    ) -> None:
        """Settle choices of the encoding that depend on the target, after
        :meth:`fit` (supervised fits only): ``X`` the checked training input, ``y``
        the encoded target (:meth:`skattn._targets.Target.encode`), ``weight`` the
        training weights. Nothing to choose here; see
        :meth:`skattn._inputs.sequence.SequenceInput.choose_tokens`."""

    @abstractmethod
    def transform(self, X: Any) -> dict[str, np.ndarray]:
        """The network's arrays of checked input, keyed by :attr:`keys`."""

    def check_state(self) -> None:
        """Raise a ValueError unless the fitted state is one that :meth:`fit`
        makes (a state read from a file); subclasses check their own attributes
        after these."""
        checks.attribute(self, "name", str)
        checks.attribute(self, "prefix", str)

    @property
    @abstractmethod
    def n_features(self) -> int:
        """Columns of a table, channels of sequences (``n_features_in_``)."""

    @abstractmethod
    def categorical_mask(self) -> np.ndarray:
        """Which of the ``n_features`` are categorical (``is_categorical_``)."""

    @abstractmethod
    def token_names(self) -> list[str]:
        """A name for each token the tokenizer emits, in order."""

    @abstractmethod
    def tokenizer(self, d_token: int) -> InputTokens:
        """The torch module that turns this input's arrays into tokens of width
        ``d_token``."""

    @abstractmethod
    def attention_to_features(self, attention: np.ndarray) -> np.ndarray:
        """Map attention over this input's tokens (n, n_tokens) to the user's
        features: columns of a table, time steps of sequences."""

    # -- self-supervision ---------------------------------------------------------
    @abstractmethod
    def reconstruction_layout(self) -> tuple[int, list[int]]:
        """What reconstruction predicts: the number of real values, and the number
        of codes of each categorical value after them."""

    @abstractmethod
    def reconstruction_values(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """The values to reconstruct, (n_samples, n_values) float32: real values
        (NaN where missing), then categorical codes, as the layout says."""

    @abstractmethod
    def hide(self, inputs: dict[str, Tensor], mask: HideMask) -> dict[str, Tensor]:
        """``inputs`` with a random share of each row hidden as missing values;
        ``mask(shape, device)`` draws which of ``shape`` units to hide."""
