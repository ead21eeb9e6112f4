"""Export a fitted estimator's whole predict path as one ONNX graph.

:func:`export_onnx` traces :class:`~skattn._onnx_graph.ServingNetwork` (scaling,
piecewise-linear bins, missing values, the network, the output) with
``torch.onnx.export(dynamo=True)``, then edits the graph with ``onnx.helper`` where
PyTorch has no tensors to offer:

- each table column becomes an input of its own, named after the column (as
  scikit-learn-onnx names a DataFrame's columns): numbers as double, categories as
  strings, mapped to the network's codes by ``ai.onnx.ml.LabelEncoder`` (unseen
  categories to the "unknown" code, the empty string to "missing");
- a classifier's ``label`` output looks its labels up in ``classes_``, whatever
  their type (strings included).

Needs the optional dependencies onnx and onnxscript (onnxruntime to run the graph).
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAttentionMLP
from ._export import _skattn_version
from ._extractor import AttentionFeatureExtractor
from ._inputs import SequenceInput, SingleInput, TableInput
from ._inputs.table_encoder import (
    _FIRST_CATEGORY_CODE,
    MISSING_CODE,
    UNKNOWN_CODE,
    _category_key,
)
from ._onnx_graph import ServingNetwork
from ._targets import ClassificationTarget, RegressionTarget

MISSING_CATEGORY = ""
"""How a missing value is spelled in a categorical column's (string) input."""
_ML_DOMAIN = "ai.onnx.ml"
_ML_OPSET = 4  # LabelEncoder with keys_tensor (double keys), as well as keys_strings
_BATCH = "batch"


def _import_onnx() -> Any:
    try:
        import onnx
        import onnxscript  # noqa: F401  (torch.onnx.export(dynamo=True) needs it)
    except ImportError as exc:
        raise ImportError(
            "export_onnx needs onnx and onnxscript, optional dependencies: pip "
            "install onnx onnxscript (and onnxruntime to run the exported graph; in "
            "a checkout of skattn's repository: pip install -e '.[onnx]')"
        ) from exc
    return onnx


def _parts(estimator: BaseAttentionMLP) -> list[SingleInput]:
    main, context = estimator._input.parts()
    parts = [main] if context is None else [main, context]
    for part in parts:
        if not isinstance(part, TableInput | SequenceInput):
            raise ValueError(
                f"export_onnx cannot export inputs of kind {part.kind!r} "
                f"({part.name}); tables and sequences can be exported"
            )
        if isinstance(part, TableInput) and any(
            MISSING_CATEGORY in list(categories) for categories in _categories(part)
        ):
            raise ValueError(
                "export_onnx cannot export a model that saw the empty string as a "
                "category: the ONNX graph reads an empty string as a missing category"
            )
    return parts


def _categories(part: TableInput) -> list[list[str]]:
    """The categories seen in fit, per categorical column, as skattn spells them
    (missing values left out)."""
    encoder = part.encoder_
    if not len(encoder.categorical_columns_):
        return []
    return [
        [str(c) for c in categories if not pd.isna(c)]
        for categories in encoder.ordinal_encoder_.categories_
    ]


def _numeric_categories(keys: list[str]) -> np.ndarray | None:
    """The categories as numbers (float64), if every one is a number that skattn
    spells as it is spelled here (``"3"``, ``"2.5"``; not ``"02139"``, which a
    number would spell ``"2139"``, nor ``"True"``); else None."""
    values = []
    for key in keys:
        try:
            value = float(key)
        except ValueError:
            return None
        if not np.isfinite(value) or _category_key(value) != key:
            return None
        values.append(value)
    return np.array(values, dtype=np.float64)


def _columns(part: TableInput) -> list[tuple[str, np.ndarray | list[str] | None]]:
    """``(graph input name, categories)`` of each column of a table, in the table's
    column order: None for a numerical column; for a categorical one, the
    categories seen in fit as numbers (float64) when they all are numbers, else as
    skattn spells them."""
    encoder = part.encoder_
    categorical = encoder.categorical_columns_.tolist()
    categories = dict(zip(categorical, _categories(part), strict=True))
    columns: list[tuple[str, np.ndarray | list[str] | None]] = []
    for j, name in enumerate(encoder.feature_names_):
        keys = categories.get(j)
        if keys is not None:
            numbers = _numeric_categories(keys)
            columns.append((part.prefix + name, keys if numbers is None else numbers))
        else:
            columns.append((part.prefix + name, None))
    return columns


def _input_names(parts: list[SingleInput]) -> list[str]:
    """The graph's input names: each table column's, each sequence input's."""
    names = []
    for part in parts:
        if isinstance(part, TableInput):
            names += [name for name, _ in _columns(part)]
        else:
            names.append(part.prefix + "sequences")
    return names


def _check_input_names(parts: list[SingleInput], output_keys: list[str]) -> None:
    """Refuse column names that would not make distinct graph inputs."""
    names = _input_names(parts)
    outputs = {"label" if key == "label_index" else key for key in output_keys}
    reserved = (_TRACED_INPUT, _TRACED_OUTPUT, _TRACED_VALUE, _OWN_VALUE)
    bad = {name for name in names if names.count(name) > 1}
    bad |= {name for name in names if name in outputs or name.startswith(reserved)}
    if "" in names:
        bad.add("")
    if bad:
        raise ValueError(
            f"export_onnx names each column's input after the column; the names "
            f"{sorted(bad)} are empty, repeated, or taken by the graph's outputs "
            f"{sorted(outputs)} or its prefixes {list(reserved)}: rename those columns"
        )


def _example_inputs(parts: list[SingleInput]) -> tuple[torch.Tensor, ...]:
    """Two rows of each tensor ServingNetwork reads (two: a batch of one would fix
    the batch size in the traced graph)."""
    examples = []
    for part in parts:
        if isinstance(part, SequenceInput):
            steps = (2, part.max_length_, part.n_channels_)
            examples.append(torch.zeros(steps, dtype=torch.float64))
            continue
        assert isinstance(part, TableInput)
        encoder = part.encoder_
        if len(encoder.numerical_columns_):
            numbers = (2, len(encoder.numerical_columns_))
            examples.append(torch.zeros(numbers, dtype=torch.float64))
        if len(encoder.categorical_columns_):
            codes = (2, len(encoder.categorical_columns_))
            examples.append(torch.full(codes, UNKNOWN_CODE, dtype=torch.int64))
    return tuple(examples)


def _embeds(estimator: BaseAttentionMLP) -> bool:
    """Whether the estimator's output is the network's embedding (``transform``)."""
    return isinstance(estimator, AttentionFeatureExtractor)


def _check_estimator(estimator: Any) -> None:
    if not isinstance(estimator, BaseAttentionMLP):
        raise TypeError(
            "export_onnx exports skattn estimators; got "
            f"{type(estimator).__module__}.{type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    target = estimator._target
    supported = ClassificationTarget | RegressionTarget
    if not _embeds(estimator) and not isinstance(target, supported):
        raise ValueError(
            f"export_onnx cannot export a {type(estimator).__name__} fitted on "
            f"{target.name!r} targets (several label columns); fit one model per "
            "column to export them"
        )
    if isinstance(target, ClassificationTarget) and not _embeds(estimator):
        kind = np.asarray(estimator.classes_).dtype
        if kind.kind not in "biufOUS":
            raise ValueError(
                f"export_onnx cannot store labels of dtype {kind} (classes_) in an "
                "ONNX graph: numbers, booleans and strings can be stored"
            )


# The traced graph's own inputs and outputs, renamed by _edit_graph: "in:" and
# "out:" keep them apart from the names users give columns and from the traced
# graph's values (the exporter names those after modules: "embedding", "linear").
_TRACED_INPUT, _TRACED_OUTPUT = "in:", "out:"
_TRACED_VALUE, _OWN_VALUE = "net/", "skattn/"


def _trace(
    serving: ServingNetwork, parts: list[SingleInput], opset_version: int | None
) -> Any:
    """The ONNX model of ``serving``, traced by torch.onnx's dynamo exporter."""
    examples = _example_inputs(parts)
    batch = torch.export.Dim(_BATCH)
    exporter_log = logging.getLogger("torch.onnx")
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)  # "torchvision is not installed", ...
    try:
        with warnings.catch_warnings():
            # The exporter's own deprecation and dynamic-shape notices.
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                serving,
                examples,
                dynamo=True,
                verbose=False,
                opset_version=opset_version,
                input_names=[_TRACED_INPUT + key for key in serving.input_keys],
                output_names=[_TRACED_OUTPUT + key for key in serving.output_keys],
                dynamic_shapes=(tuple({0: batch} for _ in examples),),
            )
    finally:
        exporter_log.setLevel(level)
    assert program is not None  # None only when exporting to a file
    return program.model_proto


def _rename(graph: Any, names: dict[str, str]) -> None:
    """Rename values of ``graph`` in place, wherever they appear."""
    for node in graph.node:
        node.input[:] = [names.get(name, name) for name in node.input]
        node.output[:] = [names.get(name, name) for name in node.output]
    for values in (graph.input, graph.output, graph.value_info, graph.initializer):
        for value in values:
            value.name = names.get(value.name, value.name)


def _internal_names(graph: Any) -> dict[str, str]:
    """A new name, under ``net/``, for each value the traced graph computes or
    stores (not its inputs and outputs)."""
    interface = {value.name for value in (*graph.input, *graph.output)}
    names = [value.name for value in graph.initializer]
    names += [name for node in graph.node for name in node.output]
    return {
        name: _TRACED_VALUE + name for name in names if name and name not in interface
    }


def _category_codes(
    onnx: Any, name: str, categories: np.ndarray | list[str], code: str
) -> list:
    """Nodes from a categorical column's input to its codes: the categories seen in
    fit to theirs, missing (NaN, or ``""`` for strings) to the missing code,
    anything else to the unknown code."""
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    seen = np.arange(_FIRST_CATEGORY_CODE, _FIRST_CATEGORY_CODE + len(categories))
    if not isinstance(categories, np.ndarray):
        return [
            helper.make_node(
                "LabelEncoder",
                [name],
                [code],
                domain=_ML_DOMAIN,
                keys_strings=[*categories, MISSING_CATEGORY],
                values_int64s=[*seen.tolist(), MISSING_CODE],
                default_int64=UNKNOWN_CODE,
            )
        ]
    known = code + "/known"
    is_missing = code + "/missing"
    return [
        helper.make_node(
            "LabelEncoder",
            [name],
            [known],
            domain=_ML_DOMAIN,
            keys_tensor=numpy_helper.from_array(categories, name="keys"),
            values_tensor=numpy_helper.from_array(seen.astype(np.int64), "values"),
            default_tensor=numpy_helper.from_array(
                np.array([UNKNOWN_CODE], dtype=np.int64), name="default"
            ),
        ),
        helper.make_node("IsNaN", [name], [is_missing]),
        helper.make_node(
            "Where", [is_missing, _OWN_VALUE + "missing_code", known], [code]
        ),
    ]


def _column_nodes(onnx: Any, parts: list[SingleInput]) -> tuple[list, list]:
    """Graph inputs, one per table column, and the nodes that gather them into the
    traced graph's numbers (Concat) and category codes (LabelEncoder, Concat)."""
    helper, TensorProto = onnx.helper, onnx.TensorProto
    inputs, nodes = [], []
    for part in parts:
        if not isinstance(part, TableInput):
            continue
        numbers, codes = [], []
        for k, (name, categories) in enumerate(_columns(part)):
            as_strings = categories is not None and isinstance(categories, list)
            kind = TensorProto.STRING if as_strings else TensorProto.DOUBLE
            inputs.append(helper.make_tensor_value_info(name, kind, [_BATCH, 1]))
            if categories is None:
                numbers.append(name)
                continue
            code = f"{_OWN_VALUE}{part.prefix}codes_{k}"
            nodes += _category_codes(onnx, name, categories, code)
            codes.append(code)
        for group, key in ((numbers, "numbers"), (codes, "codes")):
            if group:
                traced = _TRACED_INPUT + part.prefix + key
                nodes.append(helper.make_node("Concat", group, [traced], axis=1))
    return inputs, nodes


def _label_lookup(onnx: Any, classes: np.ndarray) -> tuple[Any, Any, Any]:
    """The initializer of ``classes``, the Gather node from the traced label
    indices to ``label``, and the ``label`` output."""
    helper = onnx.helper
    if classes.dtype.kind in "OUS":  # labels as strings
        classes = classes.astype(str).astype(object)
        label_type = onnx.TensorProto.STRING
    else:
        label_type = helper.np_dtype_to_tensor_dtype(classes.dtype)
    table = onnx.numpy_helper.from_array(classes, name=_OWN_VALUE + "classes")
    gather = helper.make_node(
        "Gather", [table.name, _TRACED_OUTPUT + "label_index"], ["label"], axis=0
    )
    return table, gather, helper.make_tensor_value_info("label", label_type, [_BATCH])


def _edit_graph(
    onnx: Any, model: Any, estimator: BaseAttentionMLP, parts: list[SingleInput]
) -> Any:
    """Column inputs in place of the traced table inputs, public input and output
    names, and the label lookup."""
    helper = onnx.helper
    graph = model.graph
    _rename(graph, _internal_names(graph))
    column_inputs, column_nodes = _column_nodes(onnx, parts)
    nodes = column_nodes + list(graph.node)
    initializers = [
        *graph.initializer,
        onnx.numpy_helper.from_array(
            np.array(MISSING_CODE, dtype=np.int64), name=_OWN_VALUE + "missing_code"
        ),
    ]
    inputs = list(column_inputs)
    for part in parts:  # sequences keep their traced input, under its public name
        if isinstance(part, SequenceInput):
            key = part.prefix + "sequences"
            _rename(graph, {_TRACED_INPUT + key: key})
            inputs += [value for value in graph.input if value.name == key]
    outputs = []
    for value in graph.output:
        key = value.name[len(_TRACED_OUTPUT) :]
        if key == "label_index":
            table, gather, label = _label_lookup(onnx, np.asarray(estimator.classes_))
            initializers.append(table)
            nodes.append(gather)
            outputs.append(label)
        else:
            _rename(graph, {value.name: key})
            outputs.append(value)
    new_graph = helper.make_graph(
        nodes, "skattn", inputs, outputs, initializers, value_info=graph.value_info
    )
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    opsets[_ML_DOMAIN] = max(opsets.get(_ML_DOMAIN, 0), _ML_OPSET)
    edited = helper.make_model(
        new_graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
        ir_version=model.ir_version,
        producer_name="skattn",
        producer_version=_skattn_version(),
        functions=model.functions,
    )
    helper.set_model_props(
        edited,
        {
            "estimator": type(estimator).__name__,
            "missing_category": MISSING_CATEGORY,
            "outputs": ", ".join(value.name for value in outputs),
        },
    )
    edited.doc_string = (
        f"skattn {type(estimator).__name__}: numerical columns as double (N, 1), "
        "NaN missing; categorical columns as double if their categories are "
        "numbers, else as strings (N, 1), '' missing; sequences "
        "as double (N, steps, channels), NaN-padded."
    )
    return edited


def export_onnx(
    estimator: BaseAttentionMLP,
    path: str | os.PathLike | None = None,
    *,
    opset_version: int | None = None,
) -> Any:
    """Export a fitted estimator's predict path as one ONNX graph.

    The graph does everything ``predict`` does after checking the input: the
    scaling of numerical columns (quantile or standard), missing values, the
    categories' codes (unseen and missing included), the network, and the output.
    It runs in any ONNX runtime, without Python or skattn.

    Inputs (``N`` rows; see ``InferenceSession.get_inputs()``):

    - a table: one input per column, named after the column (``x0``, ``x1``, ...
      for arrays): numerical columns as ``double`` of shape (N, 1), NaN where
      missing; categorical columns whose categories are all numbers as
      ``double`` too (NaN missing), other categorical columns as strings of shape
      (N, 1) (``""`` missing; ``"True"``/``"False"`` for booleans); categories
      unseen in fit are read as unknown, as by ``predict`` (which reads ``""`` as
      unknown, not missing, when fit saw missing categories);
    - sequences: one ``sequences`` input of ``double``, shape (N, steps, channels),
      NaN after each sequence's end, with ``steps`` the longest training sequence
      (pad shorter ones with NaN; longer ones are refused);
    - :class:`TwoInputs`: the main input's as above, the context's prefixed with
      ``context_``.

    Outputs: ``label`` and ``probabilities`` (classifier); ``prediction``, and
    ``quantiles`` with ``loss="quantile"`` (regressor); ``embedding``
    (:class:`AttentionFeatureExtractor`). Where ``predict`` raises on outputs
    that are not finite, the graph returns them as they are. The graph computes
    in float32: a model whose ``predict`` runs under bfloat16 autocast
    (``precision="bfloat16"``, or ``"auto"`` on CUDA) differs by bfloat16's
    rounding (5e-4 seen in probabilities).

    Needs the optional dependencies onnx and onnxscript (``pip install onnx
    onnxscript``).

    Parameters
    ----------
    estimator : AttentionMLPClassifier, AttentionMLPRegressor or \
AttentionFeatureExtractor
        A fitted estimator. Multi-output classifiers (several label columns)
        cannot be exported.
    path : str, path-like or None, default=None
        Where to write the graph (conventionally ``*.onnx``); None writes nothing.
    opset_version : int or None, default=None
        The ONNX opset of the graph; None lets ``torch.onnx`` choose.

    Returns
    -------
    model : onnx.ModelProto
        The graph, checked by ``onnx.checker``.

    See Also
    --------
    save_model : The pickle-free file that skattn itself loads back.

    Examples
    --------
    >>> import numpy as np, onnxruntime
    >>> from sklearn.datasets import load_iris
    >>> from skattn import AttentionMLPClassifier, export_onnx
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = AttentionMLPClassifier(d_token=16, max_iter=5, random_state=0)
    >>> clf = clf.fit(X, y)
    >>> session = onnxruntime.InferenceSession(
    ...     export_onnx(clf).SerializeToString(), providers=["CPUExecutionProvider"])
    >>> [i.name for i in session.get_inputs()]
    ['x0', 'x1', 'x2', 'x3']
    >>> label, proba = session.run(None, {f"x{j}": X[:, [j]] for j in range(4)})
    >>> bool(np.abs(proba - clf.predict_proba(X)).max() < 1e-5)
    True
    """
    onnx = _import_onnx()
    _check_estimator(estimator)
    parts = _parts(estimator)
    network = copy.deepcopy(estimator.module_).float().cpu().eval()
    head: ClassificationTarget | RegressionTarget | str = "embedding"
    if not _embeds(estimator):
        assert isinstance(estimator._target, ClassificationTarget | RegressionTarget)
        head = estimator._target
    serving = ServingNetwork(network, parts, head).eval()
    _check_input_names(parts, serving.output_keys)
    traced = _trace(serving, parts, opset_version)
    model = _edit_graph(onnx, traced, estimator, parts)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model
