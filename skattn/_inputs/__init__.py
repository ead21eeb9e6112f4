"""The kinds of ``X`` the estimators read, and the input encoder of each.

Three kinds of X reach the estimators:

- ``"tabular"``: a 2-D array or a DataFrame (pandas, or polars / pyarrow and other
  frames that narwhals reads), one token per column (:mod:`.table`);
- ``"sequence"``: a 3-D array, a list of per-sample arrays, or a 2-D array of time
  steps (``input_type="sequence"``), one token per patch of steps (:mod:`.sequence`);
- ``"two_inputs"``: a :class:`TwoInputs` holding one input of either kind per role,
  where the ``main`` input's tokens cross-attend to the ``context`` input's tokens
  (:mod:`.pair`).

A new kind of single input (images, graphs) is a :class:`~.base.SingleInput`
subclass in its own module, registered in :data:`SINGLE_INPUTS`, with its tokenizer
in :mod:`skattn._tokenizers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import SingleInput
from .pair import CONTEXT_PREFIX, PairInput, TwoInputs
from .sequence import SEQUENCE_TOKENIZERS, SequenceInput
from .table import TableInput

__all__ = [
    "SEQUENCE_TOKENIZERS",
    "SINGLE_INPUTS",
    "Input",
    "PairInput",
    "SequenceInput",
    "SingleInput",
    "TableInput",
    "TwoInputs",
    "input_kind",
    "make_input",
]

# Kinds of single input, by the name that ``input_type`` and ``input_kind_`` use.
# ``input_type="auto"`` takes the first whose ``recognises(X)`` is true: the table,
# which takes anything, comes last.
SINGLE_INPUTS: dict[str, type[SingleInput]] = {
    "sequence": SequenceInput,
    "tabular": TableInput,
}

Input = SingleInput | PairInput


def input_kind(X: Any, input_type: str) -> str:
    """The kind of ``X`` (a key of :data:`SINGLE_INPUTS` or ``"two_inputs"``) given
    the estimator's ``input_type`` parameter."""
    if isinstance(X, TwoInputs):
        return "two_inputs"
    if input_type != "auto":
        return input_type
    return next(kind for kind, cls in SINGLE_INPUTS.items() if cls.recognises(X))


def make_input(X: Any, params: Mapping[str, Any], seed: int) -> Input:
    """The unfitted input encoder for ``X`` and the estimator parameters ``params``.

    ``input_type`` and ``categorical_features`` describe a single input, or the main
    input of a :class:`TwoInputs`; its context input is read with "auto" rules.
    """
    kind = input_kind(X, params["input_type"])
    if kind != "two_inputs":
        return SINGLE_INPUTS[kind].from_parameters(
            params, seed=seed, name="X", prefix=""
        )
    main = SINGLE_INPUTS[input_kind(X.main, params["input_type"])].from_parameters(
        params, seed=seed, name="TwoInputs.main", prefix=""
    )
    context_params = {**params, "categorical_features": "auto", "input_type": "auto"}
    context = SINGLE_INPUTS[input_kind(X.context, "auto")].from_parameters(
        context_params, seed=seed, name="TwoInputs.context", prefix=CONTEXT_PREFIX
    )
    return PairInput(main, context)
