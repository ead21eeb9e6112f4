"""Save a fitted estimator without pickle, and load it back.

Pickle (or joblib) is the primary format and keeps everything, but loading a pickle
runs whatever code the file names. :func:`save_model` writes one zip file that a
serving process can load without that risk:

- ``config.json``: the format, the estimator's class, the versions that wrote it and
  the device it was trained on (readable with any zip tool);
- ``weights.safetensors``: the network's weights, in the `safetensors` format
  (tensors and names only, no code);
- ``state.skops``: everything else the estimator learned (column kinds, categories,
  scaling, classes, parameters), in skops' format, which rebuilds only types that
  the loader trusts.

:func:`load_model` rebuilds the network from the parameters and the input encoding,
loads the weights into it, and refuses any file whose state names a type outside skops'
default trusted ones (numpy, scikit-learn) and the few skattn classes that
:func:`save_model` writes (``_STATE_TYPES``).
"""

from __future__ import annotations

import inspect
import io
import json
import os
import zipfile
from typing import Any

import torch

from ._base import BaseAttentionMLP
from ._classifier import AttentionMLPClassifier
from ._extractor import AttentionFeatureExtractor
from ._fitting import fitted_sizes_of_before, parameters_of_before
from ._inputs import PairInput, SingleInput
from ._inputs.table_encoder import TabularEncoder
from ._regressor import AttentionMLPRegressor
from ._runtime import resolve_device, seeded
from ._targets import (
    ClassificationTarget,
    MultiOutputClassificationTarget,
    RegressionTarget,
    Target,
)

FORMAT = "skattn-model"
# 2: the numerical embedding is a submodule of the tokenizer, so its weights are named
# ``*.tokenizer.numerical_embedding.weight`` (and ``.bias``, ``.bin_*``), no longer
# ``*.tokenizer.numerical_weight``; and the inputs are TableInput, SequenceInput and
# PairInput, without a reference to the estimator.
FORMAT_VERSION = 2
_ESTIMATORS = {
    cls.__name__: cls
    for cls in (
        AttentionFeatureExtractor,
        AttentionMLPClassifier,
        AttentionMLPRegressor,
    )
}
# The targets each estimator can hold: a file naming another estimator was altered.
_TARGETS: dict[str, tuple[type, ...]] = {
    "AttentionMLPClassifier": (ClassificationTarget, MultiOutputClassificationTarget),
    "AttentionMLPRegressor": (RegressionTarget,),
    "AttentionFeatureExtractor": (Target,),
}
# What every fit sets and the network is built from, beside the parameters.
_FITTED_ATTRIBUTES = ("_input", "_target", "input_kind_", "n_features_in_",
                      "n_latent_tokens_", "n_members_", "d_token_",
                      "max_iter_")  # fmt: skip
# skattn's classes that a saved state holds, by the names skops gives them. load_model
# trusts these and skops' default types, nothing else: trusting every "skattn.*" name
# would trust anything importable from skattn's modules (skorch's NeuralNet, say, whose
# __setstate__ unpickles).
# They are the input encoders and targets (the subclasses of SingleInput and Target
# that skattn defines, so that a new kind of input or target needs no entry here),
# the two-input encoder and the table encoder.


def _skattn_subclasses(base: type) -> list[type]:
    found: list[type] = []
    subclasses: list[type] = base.__subclasses__()
    for cls in subclasses:
        if cls.__module__.startswith("skattn.") and not inspect.isabstract(cls):
            found.append(cls)
        found.extend(_skattn_subclasses(cls))
    return found


_STATE_TYPES = frozenset(
    f"{cls.__module__}.{cls.__qualname__}"
    for cls in (
        *_skattn_subclasses(SingleInput),
        *_skattn_subclasses(Target),
        PairInput,
        TabularEncoder,
    )
)
# Every type outside skops' defaults that ``skops.io.dump`` of a fitted skattn
# estimator writes: pass it as ``trusted`` to ``skops.io.load`` (or as
# ``skops_trusted_types`` to ``mlflow.sklearn.log_model``). The estimators store
# their network's weights as NumPy arrays, so no torch type is among them but the
# device.
SKOPS_TRUSTED_TYPES = sorted(
    [
        *_STATE_TYPES,
        *(
            f"{cls.__module__}.{cls.__qualname__}"
            for cls in (
                AttentionFeatureExtractor,
                AttentionMLPClassifier,
                AttentionMLPRegressor,
            )
        ),
        "torch.device",
    ]
)
# Learned state that the file stores in its own way (weights, device) or not at all
# (a served model needs no optimizer moments; a pickle keeps them for partial_fit), and
# parameters that hold the user's objects, not the model's (loaded as None).
_NOT_IN_STATE = ("module_", "device_", "pretrained", "callbacks", "_optimizer_state")


def _import_backends() -> tuple[Any, Any]:
    try:
        import safetensors.torch
        import skops.io
    except ImportError as exc:
        raise ImportError(
            "save_model and load_model need safetensors and skops, optional "
            "dependencies: pip install safetensors skops (or, in a checkout of "
            "skattn's repository, pip install -e '.[export]'; pickle and joblib "
            "need neither)"
        ) from exc
    return safetensors.torch, skops.io


def save_model(estimator: BaseAttentionMLP, path: str | os.PathLike) -> None:
    """Save a fitted skattn estimator to ``path`` without pickle.

    The file is a zip archive of a JSON config, the network's weights in
    safetensors format and the rest of the learned state in skops format; see
    :func:`load_model`. Parameters are stored as set, except ``pretrained``, whose
    weights the model already holds: it is stored as None. Needs the optional
    dependencies safetensors and skops (``pip install safetensors skops``, or
    ``pip install -e ".[export]"`` in a checkout).

    Parameters
    ----------
    estimator : AttentionMLPClassifier, AttentionMLPRegressor or \
AttentionFeatureExtractor
        A fitted estimator.
    path : str or path-like
        The file to write (conventionally ending in ``.skattn``).

    See Also
    --------
    load_model : Load what this function saved.
    pickle, joblib.dump : The primary format, which stores everything but runs
        code when loaded.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn.datasets import load_iris
    >>> from skattn import AttentionMLPClassifier, load_model, save_model
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = AttentionMLPClassifier(d_token=16, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "iris.skattn")
    >>> save_model(clf, path)
    >>> (load_model(path).predict(X) == clf.predict(X)).all()
    np.True_
    """
    safetensors_torch, skops_io = _import_backends()
    if type(estimator).__name__ not in _ESTIMATORS or not isinstance(
        estimator, BaseAttentionMLP
    ):
        raise TypeError(
            "save_model saves AttentionMLPClassifier, AttentionMLPRegressor and "
            f"AttentionFeatureExtractor models; got {type(estimator).__name__} "
            "(use pickle or joblib for other objects)"
        )
    if not hasattr(estimator, "module_"):
        raise ValueError(
            f"This {type(estimator).__name__} is not fitted yet; fit it before "
            "saving it"
        )
    state = {k: v for k, v in vars(estimator).items() if k not in _NOT_IN_STATE}
    if isinstance(state["device"], torch.device):
        state["device"] = str(state["device"])
    weights = {
        name: tensor.detach().cpu().contiguous()
        for name, tensor in estimator.module_.state_dict().items()
    }
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": type(estimator).__name__,
        "skattn_version": _skattn_version(),
        "torch_version": torch.__version__,
        "trained_on": str(estimator.device_),
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(config, indent=2))
        # Stored, not compressed: see _MAX_INFLATION.
        stored = zipfile.ZIP_STORED
        archive.writestr("weights.safetensors", safetensors_torch.save(weights), stored)
        archive.writestr("state.skops", skops_io.dumps(state), stored)


def load_model(path: str | os.PathLike, *, device: Any = "auto") -> BaseAttentionMLP:
    """Load a model written by :func:`save_model`, without unpickling anything.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.
    device : {"auto", "cpu", "cuda", "cuda:N"} or torch.device, default="auto"
        Where the loaded network predicts: "auto" is the GPU when torch sees one,
        else the CPU. The estimator's ``device`` parameter keeps its saved value,
        which a later ``fit`` uses.

    Returns
    -------
    estimator : AttentionMLPClassifier, AttentionMLPRegressor or \
AttentionFeatureExtractor
        The fitted estimator, predicting as the saved one did.

    Raises
    ------
    ValueError
        If the file is not a skattn model file, was written in another format
        version (older or newer) than this skattn's, its state names types that
        skattn does not trust, or it is malformed: a member that would inflate past
        what save_model writes, invalid or out-of-bounds parameters, weights whose
        names or shapes do not fit the network the state describes. These are
        checked before the weights are read or the network is built.

    See Also
    --------
    save_model : Write such a file.
    """
    safetensors_torch, skops_io = _import_backends()
    target_device = resolve_device(device)
    name = os.fspath(path)
    try:
        config, weights_bytes, state_bytes = _read_archive(path)
        _check_config(config, path)
        with zipfile.ZipFile(io.BytesIO(state_bytes)) as state_archive:
            _check_inflation(state_archive, f"{name!r} (state.skops)")
        untrusted = skops_io.get_untrusted_types(data=state_bytes)
        foreign = [type_ for type_ in untrusted if type_ not in _STATE_TYPES]
        if foreign:
            raise ValueError(
                f"{name!r} holds types that skattn does not trust: {foreign}. "
                "skattn.save_model never writes them, so the file was altered or "
                "made by something else; load it only if you trust its source, "
                "with pickle."
            )
        state = skops_io.loads(state_bytes, trusted=untrusted)
        estimator = _estimator_from_state(config["estimator"], state, name)
        _check_weights(weights_bytes, _expected_weights(estimator), name)
        weights = safetensors_torch.load(weights_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # ValueErrors
        raise ValueError(
            f"{name!r} is not a valid skattn model file: {type(exc).__name__}: {exc}"
        ) from exc
    except (ValueError, OSError):
        raise
    except Exception as exc:  # a malformed file: say so, whatever broke
        raise ValueError(
            f"{name!r} is not a valid skattn model file: {type(exc).__name__}: {exc}"
        ) from exc
    estimator._load_network(weights, target_device)
    return estimator


# What a model file may hold, checked before anything is read or built: save_model
# stores the weights and the state uncompressed (weights barely compress: 1.16x on
# a trained network) and compresses only the small config, so a member that would
# inflate far past its compressed size is refused before it is read: a file then
# never makes load_model hold much more than twice its own size.
_MAX_INFLATION = 2.0
_INFLATION_ALLOWANCE = 1 << 16  # bytes, for the config's compressible JSON
_MAX_CONFIG_BYTES = 1 << 20
# Architecture bounds of a loadable model: far above any trained network, low enough
# that building the network's modules takes no time.
_MAX_BLOCKS = 256
_MAX_THREADS = 1024  # torch threads the next fit of a loaded model would start
_MEMBERS = ("config.json", "weights.safetensors", "state.skops")
_SAFETENSORS_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.bool: "BOOL",
}


def _read_archive(path: str | os.PathLike) -> tuple[Any, bytes, bytes]:
    """The parsed config and the raw weights and state of a model file, every
    member's size checked before it is read."""
    name = os.fspath(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ValueError(
            f"{name!r} is not a model file written by skattn.save_model: {exc}"
        ) from exc
    with archive:
        members = {info.filename: info for info in archive.infolist()}
        lacking = [member for member in _MEMBERS if member not in members]
        if lacking:
            raise ValueError(
                f"{name!r} is not a model file written by skattn.save_model: it "
                f"has no {lacking}"
            )
        _check_inflation(archive, f"{name!r}")
        if members["config.json"].file_size > _MAX_CONFIG_BYTES:
            raise ValueError(f"{name!r}: config.json is larger than a config can be")
        # A member never yields more than its declared size (zipfile stops there
        # and checks the CRC), so these reads are bounded by the checks above.
        config_bytes, weights_bytes, state_bytes = map(archive.read, _MEMBERS)
    return json.loads(config_bytes), weights_bytes, state_bytes


def _check_inflation(archive: zipfile.ZipFile, name: str) -> None:
    """Raise if a member of ``archive`` would inflate past what save_model
    writes: members stored as they are, or compressed JSON of a few kB."""
    for info in archive.infolist():
        limit = int(_MAX_INFLATION * info.compress_size) + _INFLATION_ALLOWANCE
        if info.file_size > limit:
            raise ValueError(
                f"{name}: {info.filename} declares {info.file_size} bytes from "
                f"{info.compress_size} compressed, more than a model file holds (at "
                f"most {limit}); the file was not written by save_model"
            )


def _estimator_from_state(
    estimator_name: str, state: Any, name: str
) -> BaseAttentionMLP:
    """An estimator holding ``state``, once the state is shown to be a fitted
    model of that class with valid, bounded parameters."""
    cls = _ESTIMATORS[estimator_name]
    if not isinstance(state, dict):
        raise ValueError(f"{name!r}: the saved state is not a dict of attributes")
    target = state.get("_target")
    if target is not None and not isinstance(target, _TARGETS[estimator_name]):
        raise ValueError(
            f"{name!r} says it holds a {estimator_name}, but its target is a "
            f"{type(target).__name__}, which a {estimator_name} never has"
        )
    # Files saved before ensembles existed hold one network.
    if "n_members" in cls._get_param_names():
        state.setdefault("n_members", 1)
    state.setdefault("n_members_", 1)
    fitted_sizes_of_before(state)
    parameters_of_before(state)
    missing = [
        attribute
        for attribute in (*cls._get_param_names(), *_FITTED_ATTRIBUTES)
        if attribute not in state and attribute not in _NOT_IN_STATE
    ]
    if missing:
        raise ValueError(f"{name!r}: the saved state lacks {missing}")
    estimator = cls.__new__(cls)
    estimator.__dict__.update(state)
    estimator.pretrained = None
    estimator.callbacks = None
    estimator._validate_params()  # an InvalidParameterError is a ValueError
    for parameter in ("n_blocks", "n_cross_blocks"):
        if getattr(estimator, parameter) > _MAX_BLOCKS:
            raise ValueError(
                f"{name!r}: {parameter}={getattr(estimator, parameter)} is more than "
                f"a loadable model has (at most {_MAX_BLOCKS})"
            )
    if isinstance(estimator.n_threads, int) and estimator.n_threads > _MAX_THREADS:
        raise ValueError(
            f"{name!r}: n_threads={estimator.n_threads} is more than a loadable model "
            f"asks for (at most {_MAX_THREADS})"
        )
    if not isinstance(estimator._input, SingleInput | PairInput):
        raise ValueError(f"{name!r}: the saved input encoder is not skattn's")
    if not isinstance(target, _TARGETS[estimator_name]):
        raise ValueError(f"{name!r}: the saved target is not a {estimator_name}'s")
    try:
        estimator._check_state()
    except ValueError as exc:
        raise ValueError(f"{name!r} is not a valid skattn model file: {exc}") from exc
    return estimator


def _expected_weights(
    estimator: BaseAttentionMLP,
) -> tuple[dict[str, tuple[str, list[int]]], int]:
    """The name, dtype and shape of every weight of one of the estimator's
    networks, from a network built on the meta device (no memory, whatever sizes
    it declares), and the number of such networks (the members of an ensemble,
    whose weights are named ``members.<i>.<name>``)."""
    with torch.device("meta"), seeded(None):
        network = estimator._build_network()
    one = {
        key: (
            _SAFETENSORS_DTYPES.get(tensor.dtype, str(tensor.dtype)),
            list(tensor.shape),
        )
        for key, tensor in network.state_dict().items()
    }
    return one, estimator.n_members_


def _check_weights(
    weights_bytes: bytes,
    network: tuple[dict[str, tuple[str, list[int]]], int],
    name: str,
) -> None:
    """Raise unless the safetensors header of ``weights_bytes`` declares exactly
    the tensors of ``network`` (see :func:`_expected_weights`); read before any
    tensor is."""
    if len(weights_bytes) < 8:
        raise ValueError(f"{name!r}: the weights are truncated")
    header_size = int.from_bytes(weights_bytes[:8], "little")
    if header_size > len(weights_bytes) - 8:
        raise ValueError(f"{name!r}: the weights' header is longer than the weights")
    header = json.loads(weights_bytes[8 : 8 + header_size])
    if not isinstance(header, dict):
        raise ValueError(f"{name!r}: the weights' header is not a JSON object")
    header.pop("__metadata__", None)
    declared = {
        key: (entry.get("dtype"), entry.get("shape"))
        for key, entry in header.items()
        if isinstance(entry, dict)
    }
    one, n_members = network
    if n_members > 1 and len(declared) != len(one) * n_members:
        # Named before the names are spelled out: a crafted state's 1,024 members
        # of 256 blocks would be millions of names.
        raise ValueError(
            f"{name!r}: the weights do not fit the network its state describes "
            f"({len(declared)} tensors; {n_members} network(s) of {len(one)} each)"
        )
    expected = (
        one
        if n_members == 1
        else {
            f"members.{index}.{key}": spec
            for index in range(n_members)
            for key, spec in one.items()
        }
    )
    if declared != expected:
        extra = sorted(set(declared) - set(expected))[:5]
        lacking = sorted(set(expected) - set(declared))[:5]
        differ = [
            f"{key}: {declared[key]} instead of {expected[key]}"
            for key in sorted(set(declared) & set(expected))
            if declared[key] != expected[key]
        ][:5]
        raise ValueError(
            f"{name!r}: the weights do not fit the network its state describes "
            f"(unexpected: {extra}; missing: {lacking}; different: {differ})"
        )


def _check_config(config: dict[str, Any], path: str | os.PathLike) -> None:
    """Raise unless ``config`` is that of a model file in this skattn's format."""
    if not isinstance(config, dict):
        raise ValueError(
            f"{os.fspath(path)!r} is not a model file written by skattn.save_model "
            "(its config is not a JSON object)"
        )
    if config.get("format") != FORMAT or config.get("estimator") not in _ESTIMATORS:
        raise ValueError(
            f"{os.fspath(path)!r} is not a model file written by skattn.save_model "
            f"(config: {config})"
        )
    version = config.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(
            f"{os.fspath(path)!r} has format version {version!r}, not an integer"
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} has format version {version}, newer than this "
            f"skattn reads ({FORMAT_VERSION}); upgrade skattn"
        )
    if version < FORMAT_VERSION:
        raise ValueError(
            f"{os.fspath(path)!r} was saved by an older skattn (format version "
            f"{version}; this skattn reads version {FORMAT_VERSION}, whose weights "
            "are named differently): refit the model with this skattn and save it "
            "again"
        )


def _skattn_version() -> str:
    from . import __version__

    return __version__
