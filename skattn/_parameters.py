"""The estimators' shared parameters, their hooks, and the network they describe.

:class:`AttentionMLPParameters` is the first layer of the estimator base; the layers
above it (inference, explanations, fitting; see :mod:`skattn._base`) read the
parameters and the fitted attributes it declares.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ._attention import ACTIVATIONS
from ._embeddings import NUMERICAL_EMBEDDINGS
from ._engine import user_callbacks
from ._inputs import SEQUENCE_TOKENIZERS, SINGLE_INPUTS, Input
from ._members import MemberEnsemble
from ._network import AttentionMLPNetwork
from ._pretrained import copy_body_weights
from ._runtime import numpy_to_tensors, seeded
from ._sklearn_private import Interval, InvalidParameterError, StrOptions
from ._targets import Target

# The classifier's and regressor's own parameter (the extractor has one network).
MEMBER_CONSTRAINTS: dict = {
    "n_members": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")]
}


class AttentionMLPParameters(BaseEstimator, metaclass=ABCMeta):
    """The parameters every attention-MLP estimator shares, the hooks by which the
    estimators differ, and the network they describe; the first layer of
    :class:`~skattn._base.BaseAttentionMLP`."""

    _parameter_constraints: dict = {
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "d_token": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "ffn_factor": [Interval(Real, 0, None, closed="neither")],
        "attention_dropout": [Interval(Real, 0, 1, closed="left")],
        "ffn_dropout": [Interval(Real, 0, 1, closed="left")],
        "residual_dropout": [Interval(Real, 0, 1, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_iter": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "categorical_features": [StrOptions({"auto"}), "array-like", None],
        "numerical_scaling": [StrOptions({"quantile", "standard"}), None],
        "numerical_embedding": [StrOptions(set(NUMERICAL_EMBEDDINGS))],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "input_type": [StrOptions({"auto", *SINGLE_INPUTS})],
        "patch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "sequence_tokenizer": [StrOptions(set(SEQUENCE_TOKENIZERS))],
        "n_cross_blocks": [Interval(Integral, 1, None, closed="left")],
        "n_latent_tokens": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "compile": ["boolean"],
        "distributed": ["boolean"],
        "n_threads": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        # Checked in fit, with messages that say what to pass instead.
        "pretrained": "no_validation",
    }

    def __init__(
        self,
        *,
        n_blocks: int = 2,
        d_token: int | str = "auto",
        n_heads: int = 4,
        activation: str = "reglu",
        ffn_factor: float = 4 / 3,
        attention_dropout: float = 0.0,
        ffn_dropout: float = 0.1,
        residual_dropout: float = 0.0,
        learning_rate: float = 1e-3,
        learning_rate_schedule: str = "cosine",
        weight_decay: float = 1e-5,
        batch_size: int | str = "auto",
        max_iter: int | str = "auto",
        early_stopping: bool | str = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        categorical_features: Any = "auto",
        numerical_scaling: str | None = "quantile",
        numerical_embedding: str = "piecewise_linear",
        input_type: str = "auto",
        patch_size: int | str = "auto",
        sequence_tokenizer: str = "auto",
        n_cross_blocks: int = 1,
        n_latent_tokens: int | str | None = "auto",
        device: str | torch.device = "auto",
        precision: str = "auto",
        compile: bool = False,
        distributed: bool = False,
        n_threads: int | str | None = "auto",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        callbacks: list | None = None,
        warm_start: bool = False,
        pretrained: Any = None,
    ) -> None:
        self.n_blocks = n_blocks
        self.d_token = d_token
        self.n_heads = n_heads
        self.activation = activation
        self.ffn_factor = ffn_factor
        self.attention_dropout = attention_dropout
        self.ffn_dropout = ffn_dropout
        self.residual_dropout = residual_dropout
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.categorical_features = categorical_features
        self.numerical_scaling = numerical_scaling
        self.numerical_embedding = numerical_embedding
        self.input_type = input_type
        self.patch_size = patch_size
        self.sequence_tokenizer = sequence_tokenizer
        self.n_cross_blocks = n_cross_blocks
        self.n_latent_tokens = n_latent_tokens
        self.device = device
        self.precision = precision
        self.compile = compile
        self.distributed = distributed
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.pretrained = pretrained

    # Networks trained side by side (the classifier's and regressor's parameter;
    # the extractor's transform is one network's embedding).
    n_members: int | str = 1

    # -- what a fit sets (declared here for the layers that read it) --------------
    module_: AttentionMLPNetwork | MemberEnsemble
    device_: torch.device
    input_kind_: str
    n_latent_tokens_: int | None
    n_members_: int
    d_token_: int
    max_iter_: int
    _input: Input
    _target: Target
    _feature_importances: np.ndarray | None

    def _validate_params(self) -> None:
        """scikit-learn's validation of the parameters, and no bool where a number
        is expected: scikit-learn's ``Interval(Integral, ...)`` takes ``True`` for
        1, so ``d_token=True`` would otherwise build a network of width 1."""
        super()._validate_params()
        for name, constraints in self._parameter_constraints.items():
            value = getattr(self, name)
            takes_bools = any(c in ("boolean", "verbose", bool) for c in constraints)
            if isinstance(value, bool | np.bool_) and not takes_bools:
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be a "
                    f"number or one of its named options, not a bool; got {value!r}."
                )
        user_callbacks(self.callbacks)  # a TypeError naming a wrong entry

    # -- hooks for subclasses -----------------------------------------------------
    @abstractmethod
    def _make_target(self, y: Any) -> Target:
        """Return an unfitted target object for ``y``."""

    def _labels_required(self) -> bool:
        """Whether ``fit`` needs ``y`` (the extractor can learn without it)."""
        return True

    def _class_weight(self) -> dict | list | str | None:
        """Class weights to multiply into the sample weights (classifiers only)."""
        return None

    def _embedding_width(self) -> int | None:
        """Width of the CLS embedding before the output layer (None: ``d_token_``)."""
        return None

    # -- the network --------------------------------------------------------------
    def _build_module(self) -> AttentionMLPNetwork | MemberEnsemble:
        """A freshly initialised network for the fitted input and target; with
        ``n_members_ > 1``, an ensemble of such networks, each drawn in turn."""
        networks = [self._build_network() for _ in range(self.n_members_)]
        if len(networks) == 1:
            return networks[0]
        return MemberEnsemble(networks, self._target.member_combination)

    def _build_network(self) -> AttentionMLPNetwork:
        """One freshly initialised network for the fitted input and target."""
        main, context = self._input.parts()
        # With latent tokens, the main input's tokenizer emits each token's key and
        # value side by side (see AttentionMLPNetwork).
        latents = self.n_latent_tokens_ is not None
        return AttentionMLPNetwork(
            main=main.tokenizer(2 * self.d_token_ if latents else self.d_token_),
            context=None if context is None else context.tokenizer(self.d_token_),
            n_cross_blocks=self.n_cross_blocks,
            n_latent_tokens=self.n_latent_tokens_,
            n_outputs=self._target.n_outputs,
            d_token=self.d_token_,
            n_blocks=self.n_blocks,
            n_heads=self.n_heads,
            activation=self.activation,
            ffn_factor=self.ffn_factor,
            attention_dropout=self.attention_dropout,
            ffn_dropout=self.ffn_dropout,
            residual_dropout=self.residual_dropout,
            d_embedding=self._embedding_width(),
        )

    def _new_module(
        self, source: AttentionMLPParameters | None
    ) -> AttentionMLPNetwork | MemberEnsemble:
        """A freshly initialised network, with the body of ``source``'s copied in
        (into every member) when training starts from a pretrained model."""
        module = self._build_module()
        if source is not None:
            copy_body_weights(source.module_, module)
        return module

    def _load_network(self, weights: dict[str, Any], device: torch.device) -> None:
        """Set ``module_`` to the network with ``weights`` (a state dict of tensors or
        NumPy arrays), on ``device``, in eval mode."""
        with seeded(None):  # the initial weights are replaced
            module = self._build_module()
        module.load_state_dict(numpy_to_tensors(weights))
        self.module_ = module.to(device).eval()
        self.device_ = device
