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
import json
import os
import zipfile
from typing import Any

import torch

from ._base import BaseAttentionMLP
from ._classifier import AttentionMLPClassifier
from ._extractor import AttentionFeatureExtractor
from ._inputs import PairInput, SingleInput
from ._inputs.table_encoder import TabularEncoder
from ._regressor import AttentionMLPRegressor
from ._runtime import resolve_device
from ._targets import Target

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
# (a served model needs no optimizer moments; a pickle keeps them for partial_fit).
_NOT_IN_STATE = ("module_", "device_", "pretrained", "_optimizer_state")


def _import_backends() -> tuple[Any, Any]:
    try:
        import safetensors.torch
        import skops.io
    except ImportError as exc:
        raise ImportError(
            "save_model and load_model need safetensors and skops, optional "
            "dependencies: pip install 'skattn[export]' (pickle and joblib need "
            "neither)"
        ) from exc
    return safetensors.torch, skops.io


def save_model(estimator: BaseAttentionMLP, path: str | os.PathLike) -> None:
    """Save a fitted skattn estimator to ``path`` without pickle.

    The file is a zip archive of a JSON config, the network's weights in
    safetensors format and the rest of the learned state in skops format; see
    :func:`load_model`. Parameters are stored as set, except ``pretrained``, whose
    weights the model already holds: it is stored as None. Needs the optional
    dependencies safetensors and skops (``pip install "skattn[export]"``).

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
        archive.writestr("weights.safetensors", safetensors_torch.save(weights))
        archive.writestr("state.skops", skops_io.dumps(state))


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
        version (older or newer) than this skattn's, or its state names types that
        skattn does not trust.

    See Also
    --------
    save_model : Write such a file.
    """
    safetensors_torch, skops_io = _import_backends()
    target_device = resolve_device(device)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights_bytes = archive.read("weights.safetensors")
            state_bytes = archive.read("state.skops")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{os.fspath(path)!r} is not a model file written by skattn.save_model: "
            f"{exc}"
        ) from exc
    _check_config(config, path)
    untrusted = skops_io.get_untrusted_types(data=state_bytes)
    foreign = [name for name in untrusted if name not in _STATE_TYPES]
    if foreign:
        raise ValueError(
            f"{os.fspath(path)!r} holds types that skattn does not trust: {foreign}. "
            "skattn.save_model never writes them, so the file was altered or made "
            "by something else; load it only if you trust its source, with pickle."
        )
    state = skops_io.loads(state_bytes, trusted=untrusted)

    estimator = _ESTIMATORS[config["estimator"]].__new__(
        _ESTIMATORS[config["estimator"]]
    )
    estimator.__dict__.update(state)
    estimator.pretrained = None
    estimator._load_network(safetensors_torch.load(weights_bytes), target_device)
    return estimator


def _check_config(config: dict[str, Any], path: str | os.PathLike) -> None:
    """Raise unless ``config`` is that of a model file in this skattn's format."""
    if config.get("format") != FORMAT or config.get("estimator") not in _ESTIMATORS:
        raise ValueError(
            f"{os.fspath(path)!r} is not a model file written by skattn.save_model "
            f"(config: {config})"
        )
    version = config.get("format_version", 0)
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
