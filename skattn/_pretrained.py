"""Starting a fit from a pretrained skattn model (the ``pretrained`` parameter).

The new model takes the source's fitted input encoding and copies every weight of
its network but the head (:data:`HEAD_LAYERS`), which the new task learns; the
network's shape must therefore agree (:data:`NETWORK_SHAPE_PARAMETERS`).
"""

from __future__ import annotations

from typing import Any

from sklearn.frozen import FrozenEstimator
from torch import nn

from ._inputs import input_kind
from ._members import member_networks

# Parameters that fix the shape of the network's body, which ``pretrained`` copies.
NETWORK_SHAPE_PARAMETERS = (
    "d_token",
    "n_blocks",
    "n_heads",
    "activation",
    "ffn_factor",
    "n_cross_blocks",
    "numerical_embedding",
    "sequence_tokenizer",
)
# Layers a pretrained network's copy leaves out: they are the task's own head.
HEAD_LAYERS = ("output.", "head_projection.")


def pretrained_source(estimator: Any, X: Any) -> Any:
    """The fitted model that ``estimator.pretrained`` names (None if none),
    checked against ``estimator`` and its training input ``X``."""
    from ._base import BaseAttentionMLP  # the base imports this module

    source = estimator.pretrained
    if source is None:
        return None
    if isinstance(source, FrozenEstimator):
        source = source.estimator
    if not isinstance(source, BaseAttentionMLP):
        raise TypeError(
            "pretrained must be a fitted skattn estimator (e.g. an "
            "AttentionFeatureExtractor), a FrozenEstimator of one, or None; got "
            f"{type(source).__name__}"
        )
    if not hasattr(source, "module_"):
        raise ValueError(
            f"pretrained={type(source).__name__}(...) is not fitted. Fit it first; "
            "clone() (used by GridSearchCV and cross_val_score) replaces an "
            "estimator parameter by an unfitted copy, so pass "
            "pretrained=sklearn.frozen.FrozenEstimator(fitted_model) to keep it "
            "fitted through them."
        )
    _check_same_shape(estimator, source)
    kind = input_kind(X, estimator.input_type)
    if kind != source.input_kind_:
        raise ValueError(
            f"pretrained was fitted on {source.input_kind_} data, but X is {kind} data"
        )
    return source


def source_width(source: Any) -> int:
    """The source's fitted ``d_token_``; a model fitted before ``d_token="auto"``
    has only the parameter."""
    return int(vars(source).get("d_token_", source.d_token))


def _check_same_shape(estimator: Any, source: Any) -> None:
    def fitted(name: str) -> Any:
        return source_width(source) if name == "d_token" else getattr(source, name)

    different = {
        name: (getattr(estimator, name), fitted(name))
        for name in NETWORK_SHAPE_PARAMETERS
        if getattr(estimator, name) != fitted(name)
    }
    # "auto" takes the source's width and tokens.
    for name in ("d_token", "sequence_tokenizer"):
        if getattr(estimator, name) == "auto":
            different.pop(name, None)
    if estimator.n_latent_tokens != "auto" and (
        estimator.n_latent_tokens != source.n_latent_tokens_
    ):
        different["n_latent_tokens"] = (
            estimator.n_latent_tokens,
            source.n_latent_tokens_,
        )
    if different:
        details = ", ".join(
            f"{name}={mine!r} here but {theirs!r} there"
            for name, (mine, theirs) in different.items()
        )
        raise ValueError(
            "the pretrained network has another shape: " + details + "; set "
            "these parameters as in the pretrained model"
        )


def copy_body_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every weight of ``source`` into ``target`` except the head layers.
    Into each member of an ensemble ``target``: member ``m`` takes the weights of
    ``source``'s member ``m`` (modulo their number) when ``source`` is one too."""
    sources = member_networks(source)
    for index, network in enumerate(member_networks(target)):
        body = {
            name: tensor
            for name, tensor in sources[index % len(sources)].state_dict().items()
            if not name.startswith(HEAD_LAYERS)
        }
        missing, unexpected = network.load_state_dict(body, strict=False)
        assert not unexpected, unexpected
        assert all(name.startswith(HEAD_LAYERS) for name in missing), missing


def body_parameters(module: nn.Module) -> list[nn.Parameter]:
    """The parameters of ``module`` (of each member of an ensemble) that a
    pretrained model provides."""
    return [
        parameter
        for network in member_networks(module)
        for name, parameter in network.named_parameters()
        if not name.startswith(HEAD_LAYERS)
    ]
