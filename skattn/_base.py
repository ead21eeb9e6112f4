"""The logic the three estimators share: validation, encoding, training, inference.

Subclasses differ only in the target they learn (:mod:`skattn._targets`), the public
prediction methods, and their tags.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from abc import ABCMeta, abstractmethod
from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any, cast

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import Tensor, nn

from ._attention import ACTIVATIONS
from ._batches import TensorDataset
from ._distributed import broadcast_seeds, check_same_data, join_process_group
from ._embeddings import NUMERICAL_EMBEDDINGS
from ._engine import TrainingResult, autocast, train_network
from ._explanations import cls_attention
from ._inputs import TwoInput, input_kind, make_input
from ._network import AttentionMLPNetwork
from ._preprocessing import check_tabular_input
from ._reconstruction import ReconstructionTarget
from ._sklearn_private import Interval, StrOptions, check_sample_weight
from ._targets import ClassificationTarget, RegressionTarget

Target = ClassificationTarget | RegressionTarget | ReconstructionTarget

# n_latent_tokens="auto": inputs of more than _LATENT_AUTO_MIN_TOKENS tokens are read
# by _LATENT_AUTO_TOKENS latent tokens (benchmarks/speed_benchmark.py measures both).
_LATENT_AUTO_MIN_TOKENS = 64
_LATENT_AUTO_TOKENS = 32
_MAX_SEED = np.iinfo(np.int32).max
# feature_importances_ averages the attention over at most this many rows.
_IMPORTANCE_MAX_ROWS = 2048


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn the ``device`` parameter into a :class:`torch.device`, or raise."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or "
            "'cuda:N' (or a torch.device)"
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r}: only 'cpu' and 'cuda' devices are supported"
        )
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA, but torch.cuda.is_available() is False; "
            "use device='auto' to fall back to the CPU"
        )
    return resolved


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the ``precision`` parameter on ``device`` (None: float32).

    "auto" is bfloat16 on a CUDA device that supports it, else float32: bfloat16 has
    float32's exponent range, so it needs no loss scaling, and on the CPU it was
    slower than float32 on our machines (50 against 32 ms per training step).
    """
    if precision == "bfloat16":
        return torch.bfloat16
    if precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def _cuda_index(device: torch.device) -> int:
    return torch.cuda.current_device() if device.index is None else device.index


def _n_rows(arrays: dict[str, np.ndarray]) -> int:
    """Samples in an encoded input: every array in it has one row per sample."""
    return len(next(iter(arrays.values())))


# Parameters that fix the shape of the network's body, which ``pretrained`` copies.
_NETWORK_SHAPE_PARAMETERS = (
    "d_token",
    "n_blocks",
    "n_heads",
    "activation",
    "ffn_factor",
    "n_cross_blocks",
    "numerical_embedding",
)
# Layers a pretrained network's copy leaves out: they are the task's own head.
_HEAD_LAYERS = ("output.", "head_projection.")


def _copy_body_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every weight of ``source`` into ``target`` except the head layers."""
    body = {
        name: tensor
        for name, tensor in source.state_dict().items()
        if not name.startswith(_HEAD_LAYERS)
    }
    missing, unexpected = target.load_state_dict(body, strict=False)
    assert not unexpected, unexpected
    assert all(name.startswith(_HEAD_LAYERS) for name in missing), missing


def _dataset(
    arrays: dict[str, np.ndarray],
    y_encoded: np.ndarray,
    weight: np.ndarray,
    rows: slice,
    device: torch.device,
) -> TensorDataset:
    """Tensors on ``device`` of the ``rows`` of the encoded training data."""

    def tensor(array: np.ndarray) -> Tensor:
        # A slice of rows is a view: no copy on the CPU.
        return torch.from_numpy(np.ascontiguousarray(array[rows])).to(device)

    inputs = {key: tensor(array) for key, array in arrays.items()}
    return TensorDataset(inputs, tensor(y_encoded), tensor(weight))


def _child_seed(seed: int, stream: int) -> int:
    """A seed for the ``stream``-th use of ``seed`` (e.g. a batch order), whose
    random numbers are independent of those of torch's generator seeded with
    ``seed`` itself (SeedSequence hashes its entropy)."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


def _to_cpu(state: Any) -> Any:
    """A copy of a (nested) optimizer state with every tensor on the CPU."""
    if isinstance(state, Tensor):
        return state.detach().cpu().clone()
    if isinstance(state, dict):
        return {key: _to_cpu(value) for key, value in state.items()}
    if isinstance(state, list | tuple):
        return type(state)(_to_cpu(value) for value in state)
    return state


def _prediction_chunk_rows(device: torch.device) -> int:
    # On CPU a few hundred rows per forward pass is faster per row than big batches
    # (cache-resident activations); a GPU wants large batches.
    return 512 if device.type == "cpu" else 8192


class BaseAttentionMLP(BaseEstimator, metaclass=ABCMeta):
    """Base class of the attention-MLP estimators; not for direct use."""

    _parameter_constraints: dict = {
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "d_token": [Interval(Integral, 1, None, closed="left")],
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
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "categorical_features": [StrOptions({"auto"}), "array-like", None],
        "numerical_scaling": [StrOptions({"quantile", "standard"}), None],
        "numerical_embedding": [StrOptions(set(NUMERICAL_EMBEDDINGS))],
        "learning_rate_schedule": [StrOptions({"constant", "cosine"})],
        "input_type": [StrOptions({"auto", "tabular", "sequence"})],
        "patch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
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
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        # Checked in fit, with messages that say what to pass instead.
        "pretrained": "no_validation",
    }

    def __init__(
        self,
        *,
        n_blocks: int = 2,
        d_token: int = 64,
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
        max_iter: int = 100,
        early_stopping: bool | str = "auto",
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        categorical_features: Any = "auto",
        numerical_scaling: str | None = "quantile",
        numerical_embedding: str = "piecewise_linear",
        input_type: str = "auto",
        patch_size: int | str = "auto",
        n_cross_blocks: int = 1,
        n_latent_tokens: int | str | None = "auto",
        device: str | torch.device = "auto",
        precision: str = "auto",
        compile: bool = False,
        distributed: bool = False,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
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
        self.n_cross_blocks = n_cross_blocks
        self.n_latent_tokens = n_latent_tokens
        self.device = device
        self.precision = precision
        self.compile = compile
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.pretrained = pretrained

    # -- hooks for subclasses -----------------------------------------------------
    @abstractmethod
    def _make_target(self, y: Any) -> Target:
        """Return an unfitted target object for ``y``."""

    def _labels_required(self) -> bool:
        """Whether ``fit`` needs ``y`` (the extractor can learn without it)."""
        return True

    def _class_weight(self) -> dict | str | None:
        """Class weights to multiply into the sample weights (classifiers only)."""
        return None

    def _embedding_width(self) -> int | None:
        """Width of the CLS embedding before the output layer (None: ``d_token``)."""
        return None

    # -- fit ----------------------------------------------------------------------
    def _check_architecture(self) -> None:
        if self.d_token % self.n_heads:
            raise ValueError(
                f"n_heads={self.n_heads} must divide d_token={self.d_token}"
            )

    def _fit(self, X: Any, y: Any, sample_weight: Any) -> BaseAttentionMLP:
        self._check_labels_given(y)
        self._check_architecture()
        device = self._training_device()
        rng = check_random_state(self.random_state)
        continuing = self.warm_start and hasattr(self, "module_")
        seeds = self._draw_seeds(rng, 1 if continuing else 2, device)
        for name in ("_optimizer_state", "_n_partial_fit_calls"):
            self.__dict__.pop(name, None)  # from an earlier partial_fit

        X = self._check_input(X, reset=not continuing)
        source = None if continuing else self._pretrained_model(X)
        if not continuing:
            self._start(X, y, source, seeds.pop(0))
        seed = seeds.pop(0)
        arrays, y_encoded, weight = self._training_arrays(X, y, sample_weight, device)
        train_rows, valid_rows = self._split(len(y_encoded), y_encoded, seed)

        n_train = len(train_rows)
        if valid_rows is not None:
            # One reordered copy, training rows first, replaces the encoded arrays:
            # training holds the encoded input once (on the CPU, without a split,
            # the tensors are the encoded arrays themselves).
            order = np.concatenate([train_rows, valid_rows])
            arrays = {key: array[order] for key, array in arrays.items()}
            y_encoded, weight = y_encoded[order], weight[order]
        train_data = _dataset(arrays, y_encoded, weight, slice(0, n_train), device)
        valid_data = (
            _dataset(arrays, y_encoded, weight, slice(n_train, None), device)
            if valid_rows is not None
            else None
        )
        with self._seeded(seed, device):
            if not continuing:
                self.module_ = self._new_module(source)
            self.module_.to(device)
            if source is not None:
                # Linear probing, then fine-tuning (Kumar et al., 2022): the new
                # head learns on the frozen body first, so that a random head does
                # not pull the pretrained weights about. On 5% of the labels of
                # three suite datasets this won 5 of 6 ROC AUCs against fine-tuning
                # at once (one seed; benchmarks/pretraining_benchmark.py runs 3).
                body = [
                    parameter
                    for name, parameter in self.module_.named_parameters()
                    if not name.startswith(_HEAD_LAYERS)
                ]
                for parameter in body:
                    parameter.requires_grad_(False)
                self._train(
                    train_data,
                    valid_data,
                    device,
                    self.max_iter,
                    _child_seed(seed, 1),
                    schedule=self.learning_rate_schedule,
                )
                for parameter in body:
                    parameter.requires_grad_(True)
            result = self._train(
                train_data,
                valid_data,
                device,
                self.max_iter,
                _child_seed(seed, 2),
                schedule=self.learning_rate_schedule,
            )
        self._finish(
            device,
            arrays,
            np.arange(n_train, len(y_encoded))
            if valid_rows is not None
            else np.arange(n_train),
            seed,
        )
        self.n_iter_ = result.n_epochs
        self.loss_curve_ = result.train_loss
        self.validation_scores_ = result.valid_score
        self.best_validation_score_ = (
            result.valid_score[result.best_epoch - 1] if result.valid_score else None
        )
        # With the cosine schedule, reaching max_iter is the planned end: the learning
        # rate has decayed to 0, and more epochs at that rate would change nothing.
        if not result.stopped_early and self.learning_rate_schedule == "constant":
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter} epochs "
                "before the loss converged; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self

    def _partial_fit(
        self, X: Any, y: Any, sample_weight: Any, classes: Any = None
    ) -> BaseAttentionMLP:
        """One epoch over the chunk ``X``; the first call (on an unfitted model)
        sets up the encoding, the target and the network from this chunk."""
        self._check_labels_given(y)
        first = not hasattr(self, "module_")
        if self._class_weight() == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the class "
                "frequencies of one chunk are not those of the data; pass a dict of "
                "class weights, or sample_weight"
            )
        if first:
            self._check_architecture()
        # Joined at every call, so that a model pickled between calls resumes.
        device = (
            self._training_device()
            if first or self.distributed
            else next(self.module_.parameters()).device
        )
        # Each call draws from its own stream, so that chunks of one size are not
        # shuffled alike: seeded by random_state and the number of calls so far.
        calls = getattr(self, "_n_partial_fit_calls", 0)
        base = check_random_state(self.random_state).randint(_MAX_SEED)
        rng = np.random.RandomState([base, calls])
        input_seed, seed = self._draw_seeds(rng, 2, device)

        X = self._check_input(X, reset=first)
        try:
            if first:
                source = self._pretrained_model(X)
                target = {} if classes is None else {"classes": classes}
                self._start(X, y, source, input_seed, **target)
            arrays, y_encoded, weight = self._training_arrays(
                X, y, sample_weight, device
            )
            train_data = _dataset(arrays, y_encoded, weight, slice(None), device)
            with self._seeded(seed, device):
                if first:
                    self.module_ = self._new_module(source)
                self.module_.to(device)
                result = self._train(
                    train_data,
                    None,
                    device,
                    max_epochs=1,
                    shuffle_seed=_child_seed(seed, 2),
                    optimizer_state=getattr(self, "_optimizer_state", None),
                )
        except BaseException:
            if first:  # leave no half-fitted model behind
                for name in (
                    "_input",
                    "_target",
                    "module_",
                    "input_kind_",
                    "n_features_in_",
                    "feature_names_in_",
                    "n_latent_tokens_",
                ):
                    self.__dict__.pop(name, None)
            raise
        # Kept on the CPU, so that a pickle of the model holds no GPU tensors.
        self._optimizer_state = _to_cpu(result.optimizer_state)
        self._n_partial_fit_calls = calls + 1
        self._finish(device, arrays, np.arange(len(y_encoded)), seed)
        self.n_iter_ = (0 if first else self.n_iter_) + 1
        self.loss_curve_ = ([] if first else list(self.loss_curve_)) + result.train_loss
        # A chunk has no validation split: scores of an earlier fit's would be stale.
        self.validation_scores_ = self.best_validation_score_ = None
        return self

    def _check_labels_given(self, y: Any) -> None:
        if y is None and self._labels_required():
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None"
            )

    def _training_device(self) -> torch.device:
        """The ``device`` parameter resolved; with ``distributed``, this process's
        device, the process group joined."""
        device = resolve_device(self.device)
        return join_process_group(device) if self.distributed else device

    def _draw_seeds(
        self, rng: np.random.RandomState, n_seeds: int, device: torch.device
    ) -> list[int]:
        seeds = [int(rng.randint(_MAX_SEED)) for _ in range(n_seeds)]
        return broadcast_seeds(seeds, device) if self.distributed else seeds

    def _start(
        self, X: Any, y: Any, source: BaseAttentionMLP | None, seed: int, **target: Any
    ) -> None:
        """Learn the input encoding (or take the pretrained source's) and the
        target from the first data."""
        if source is None:
            self._input = make_input(X, self, seed)
            self._input.fit(X)
        else:  # the source's encoding, its messages naming this estimator
            self._input = copy.deepcopy(source._input, {id(source): self})
        self.input_kind_ = self._input.kind
        self.n_features_in_ = self._input.n_features
        self.n_latent_tokens_: int | None = (
            self._resolve_latent_tokens() if source is None else source.n_latent_tokens_
        )
        self._target = self._make_target(y).fit(y, self, **target)

    def _training_arrays(
        self, X: Any, y: Any, sample_weight: Any, device: torch.device
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """The encoded inputs, the encoded target and the training weights."""
        if y is None and not self._target.from_inputs:
            raise ValueError(
                f"{type(self).__name__} continues a fit on labels (warm_start=True), "
                "so it requires y to be passed, but the target y is None"
            )
        arrays = self._input.transform(X)
        n_samples = _n_rows(arrays)
        y_encoded = self._target.encode(arrays if self._target.from_inputs else y, self)
        if len(y_encoded) != n_samples:
            raise ValueError(
                f"X and y have different numbers of samples: {n_samples} and "
                f"{len(y_encoded)}"
            )
        weight = self._training_weights(sample_weight, y_encoded)
        if self.distributed:
            check_same_data(n_samples, [*arrays.values(), y_encoded, weight], device)
        return arrays, y_encoded, weight

    @contextlib.contextmanager
    def _seeded(self, seed: int, device: torch.device) -> Iterator[None]:
        """All randomness (init, batch order, dropout) comes from torch's generators
        of the CPU and the training device, seeded with ``seed`` and forked so that
        the caller's are left as they were. (torch.manual_seed would reseed every
        GPU's generator.)"""
        cuda = [_cuda_index(device)] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.default_generator.manual_seed(seed)
            for index in cuda:
                with torch.cuda.device(index):
                    torch.cuda.manual_seed(seed)
            yield

    def _train(
        self,
        train_data: TensorDataset,
        valid_data: TensorDataset | None,
        device: torch.device,
        max_epochs: int,
        shuffle_seed: int,
        optimizer_state: dict[str, Any] | None = None,
        schedule: str = "constant",
    ) -> TrainingResult:
        # The compiled wrapper shares the parameters of module_, which stays the
        # plain module that predicts and pickles.
        training_module = self._target.training_module(self.module_)
        if self.compile:
            training_module = cast(nn.Module, torch.compile(training_module))
        return train_network(
            training_module,
            train_data=train_data,
            valid_data=valid_data,
            per_sample_loss=self._target.loss,
            score=self._target.score,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            batch_size=self._batch_size(len(train_data)),
            max_epochs=max_epochs,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            device=device,
            autocast_dtype=autocast_dtype(self.precision, device),
            verbose=self.verbose,
            shuffle_seed=shuffle_seed,
            optimizer_state=optimizer_state,
            distributed=self.distributed,
            schedule=schedule,
        )

    def _finish(
        self,
        device: torch.device,
        arrays: dict[str, np.ndarray],
        importance_rows: np.ndarray,
        seed: int,
    ) -> None:
        """What every fit sets after training."""
        self.module_.eval()
        self.device_ = device
        self.is_categorical_ = self._input.categorical_mask()
        self._feature_importances = self._attention_importances(
            arrays, importance_rows, seed
        )

    def _pretrained_model(self, X: Any) -> BaseAttentionMLP | None:
        """The fitted model ``pretrained`` names, checked against this one."""
        source = self.pretrained
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
        different = {
            name: (getattr(self, name), getattr(source, name))
            for name in _NETWORK_SHAPE_PARAMETERS
            if getattr(self, name) != getattr(source, name)
        }
        if self.n_latent_tokens != "auto" and (
            self.n_latent_tokens != source.n_latent_tokens_
        ):
            different["n_latent_tokens"] = (
                self.n_latent_tokens,
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
        kind = input_kind(X, self.input_type)
        if kind != source.input_kind_:
            raise ValueError(
                f"pretrained was fitted on {source.input_kind_} data, but X is "
                f"{kind} data"
            )
        return source

    def _training_weights(
        self, sample_weight: Any, y_encoded: np.ndarray
    ) -> np.ndarray:
        weight = check_sample_weight(
            sample_weight, y_encoded, dtype=np.float64, ensure_non_negative=True
        )
        weight = weight * self._target.sample_weight_factor(
            y_encoded, self._class_weight()
        )
        if (weight < 0).any() or not weight.sum() > 0:
            raise ValueError(
                "sample weights times class weights must be non-negative with a "
                f"positive sum; got class_weight={self._class_weight()!r}"
            )
        # Mean one: the loss is then a weighted mean, and unit weights change nothing.
        return (weight / weight.mean()).astype(np.float32)

    def _split(
        self, n_samples: int, y_encoded: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        early_stopping = self.early_stopping
        if early_stopping == "auto":
            early_stopping = n_samples > self._target.auto_early_stopping_min_samples
        rows = np.arange(n_samples)
        if not early_stopping:
            return rows, None
        train_rows, valid_rows = train_test_split(
            rows,
            test_size=self.validation_fraction,
            random_state=seed,
            stratify=y_encoded if self._target.stratify else None,
        )
        return train_rows, valid_rows

    def _batch_size(self, n_train: int) -> int:
        if self.batch_size == "auto":
            return min(256, max(16, n_train // 10))
        return int(self.batch_size)

    def _resolve_latent_tokens(self) -> int | None:
        if self.n_latent_tokens != "auto":
            return cast(int | None, self.n_latent_tokens)
        n_tokens = len(self._input.token_names()[0])
        return _LATENT_AUTO_TOKENS if n_tokens > _LATENT_AUTO_MIN_TOKENS else None

    def _check_input(self, X: Any, *, reset: bool) -> Any:
        """Check ``X`` for fit (``reset``) or for a fitted model, whose input kind
        it must match; tables also go through scikit-learn's feature checks."""
        kind = input_kind(X, self.input_type)
        if not reset and kind != self.input_kind_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.input_kind_} data, but X "
                f"is {kind} data ({type(X).__name__}"
                + (f" with {X.ndim} dimensions)" if hasattr(X, "ndim") else ")")
            )
        if kind == "tabular":
            X = check_tabular_input(X, self)
            validate_data(self, X, reset=reset, skip_check_array=True)
        elif reset:
            self.__dict__.pop("feature_names_in_", None)  # from an earlier tabular fit
        return X

    def _build_module(self) -> AttentionMLPNetwork:
        # With latent tokens, the main input's tokenizer emits each token's key and
        # value side by side (see AttentionMLPNetwork).
        d_main = 2 * self.d_token if self.n_latent_tokens_ is not None else None
        main, context = self._input.network_inputs(self.d_token, d_main)
        return AttentionMLPNetwork(
            main=main,
            context=context,
            n_cross_blocks=self.n_cross_blocks,
            n_latent_tokens=self.n_latent_tokens_,
            n_outputs=self._target.n_outputs,
            d_token=self.d_token,
            n_blocks=self.n_blocks,
            n_heads=self.n_heads,
            activation=self.activation,
            ffn_factor=self.ffn_factor,
            attention_dropout=self.attention_dropout,
            ffn_dropout=self.ffn_dropout,
            residual_dropout=self.residual_dropout,
            d_embedding=self._embedding_width(),
        )

    def _new_module(self, source: BaseAttentionMLP | None) -> AttentionMLPNetwork:
        """A freshly initialised network, with the body of ``source``'s copied in
        when training starts from a pretrained model."""
        module = self._build_module()
        if source is not None:
            _copy_body_weights(source.module_, module)
        return module

    # -- inference ----------------------------------------------------------------
    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        """No autograd, and the autocast of ``precision`` on the network's device."""
        check_is_fitted(self)
        device = next(self.module_.parameters()).device
        with (
            torch.inference_mode(),
            autocast(autocast_dtype(self.precision, device), device),
        ):
            yield

    def _input_chunks(
        self, X: Any
    ) -> tuple[int, Iterator[tuple[slice, dict[str, Tensor]]]]:
        """Encode ``X``; return its number of rows and an iterator over chunks of
        them: ``(rows, inputs)``, the rows a slice, the inputs a dict of tensors on
        the network's device. The network is put in eval mode."""
        check_is_fitted(self)
        arrays = self._input.transform(self._check_input(X, reset=False))
        return _n_rows(arrays), self._array_chunks(arrays)

    def _array_chunks(
        self, arrays: dict[str, np.ndarray]
    ) -> Iterator[tuple[slice, dict[str, Tensor]]]:
        """Chunks ``(rows, inputs)`` of encoded arrays, as in :meth:`_input_chunks`."""
        self.module_.eval()
        device = next(self.module_.parameters()).device
        chunk = _prediction_chunk_rows(device)
        n_samples = _n_rows(arrays)

        def chunks() -> Iterator[tuple[slice, dict[str, Tensor]]]:
            for start in range(0, n_samples, chunk):
                rows = slice(start, start + chunk)
                yield (
                    rows,
                    {
                        key: torch.from_numpy(array[rows]).to(device)
                        for key, array in arrays.items()
                    },
                )

        return chunks()

    def _run_network(self, X: Any, *, embed: bool = False) -> np.ndarray:
        """Network outputs (n_samples, O), or embeddings (n_samples, E), as float64.

        Each row's result depends on that row alone (up to float32 rounding, which
        BLAS may do differently for another batch shape): attention mixes the tokens
        of one row, never rows, and nothing (batch norm, say) pools over the batch.
        """
        n_samples, chunks = self._input_chunks(X)
        # NOTE[PERF]: results go straight into one array allocated up front. Keeping
        # each chunk's small result alive between the chunks' large, short-lived
        # activations fragmented glibc's heap: resident memory grew by about 6 kB
        # per predicted row, 300 MB for 60,000 rows, instead of staying flat.
        result = np.empty((n_samples, 0))
        with self._inference():
            for rows, batch in chunks:
                out = self.module_.embed(batch)[0] if embed else self.module_(batch)
                if rows.start == 0:
                    result = np.empty((n_samples, out.shape[1]))  # float64
                result[rows] = out.float().cpu().numpy()
        return result

    def attention_maps(
        self, X: Any, *, cls_only: bool = False
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Attention weights of every block and head for the samples of ``X``.

        Computed by the explicit attention path, which equals the fused one.
        :meth:`feature_attention` sums them up per feature.

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            Input samples, of the kind the model was fitted on.
        cls_only : bool, default=False
            Return only the CLS token's attention (the query axis ``q=0``, which
            is dropped), i.e. what the prediction looked at in each block and head:
            arrays of shape (n_samples, n_blocks, n_heads, n_tokens). The
            ``"context"`` maps, which have no CLS token, are then left out.

        Returns
        -------
        maps : ndarray of shape (n_samples, n_blocks, n_heads, n_tokens, n_tokens), \
or dict of such arrays
            ``maps[i, b, h, q, k]`` is how much token ``q`` attended to token ``k``
            in block ``b``, head ``h``, for sample ``i``; each ``maps[i, b, h, q]``
            sums to one. Tokens are named by :attr:`token_names_`: the CLS token first
            (the row ``q=0`` is what the prediction reads), then the features
            (numerical, then categorical) or the patches of steps. For sequences the
            token axis is as long as the longest sequence in ``X`` (token ``i >= 1``
            covers steps ``(i - 1) * patch_size`` to ``i * patch_size - 1``, which
            :attr:`token_names_` spells out up to the longest training sequence);
            padding tokens after a shorter sequence get zero weight, and their own
            rows are meaningless.

            A dict when the network has several attention stacks, keyed like
            :attr:`token_names_`:

            - with latent tokens (see ``n_latent_tokens``), ``"read"`` of shape
              (n_samples, 1, n_heads, 1 + n_latent_tokens, n_input_tokens) is the
              first block, in which the CLS and latent tokens (``token_names_["main"]``)
              attend to the input's tokens (``token_names_["input"]``); ``"main"``
              holds the other ``n_blocks - 1`` blocks, over the CLS and latent
              tokens;
            - with :class:`TwoInputs`, ``"main"`` and ``"context"`` hold each input's
              self-attention, ``"cross"`` of shape (n_samples, n_cross_blocks,
              n_heads, n_tokens, n_context_tokens) the main tokens' attention to the
              context tokens.
        """
        chunks: dict[str, list[np.ndarray]] = {}
        _, batches = self._input_chunks(X)
        with self._inference():
            for _, batch in batches:
                _, weights = self.module_.embed(batch, return_weights=True)
                for name, per_block in weights.items():
                    if per_block:
                        stacked = torch.stack(per_block, dim=1)  # (B, blocks, H, T, T')
                        chunks.setdefault(name, []).append(
                            stacked.float().cpu().numpy()
                        )
        maps = {
            name: np.concatenate(c).astype(np.float64) for name, c in chunks.items()
        }
        if cls_only:
            maps = {
                name: array[:, :, :, 0]
                for name, array in maps.items()
                if name != "context"
            }
        return maps if self._has_token_groups() else maps["main"]

    def feature_attention(
        self, X: Any, *, value_norm: bool = False
    ) -> np.ndarray | dict[str, np.ndarray]:
        """How much the prediction attended to each feature, for each sample.

        The attention of the CLS token (whose final state the output layer reads)
        to each input token, averaged over blocks and heads, as the FT-Transformer
        paper measures feature importance (Gorishniy et al., 2021), then mapped to
        the columns of ``X`` or its time steps. With latent tokens, which read the
        input for the CLS token, a one-step attention rollout combines the two
        stages (see :mod:`skattn._explanations`). Attention says where the model
        looked, not how much each value moved the prediction; compare
        :func:`sklearn.inspection.permutation_importance` for the latter.

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            Input samples, of the kind the model was fitted on.
        value_norm : bool, default=False
            Weigh each attention weight by the norm of what the attended token
            contributes through that head, ``alpha * ||W_o v||`` (Kobayashi et
            al., 2020, "Attention is not only a weight"), before averaging: a
            token that draws attention but adds a near-zero vector counts little.
            On the shared benchmark suite this agreed better with permutation
            importance than plain attention on average (Spearman +0.37 against
            +0.32; ``benchmarks/explanation_benchmark.py``).

        Returns
        -------
        attention : ndarray of shape (n_samples, n_features), or dict of such arrays
            Each row sums to one. For a table, one column per column of ``X``, in
            its order (named by :attr:`feature_names_in_` for a DataFrame). For
            sequences, one column per time step, up to the longest sequence in
            ``X`` or in training (each token's weight shared evenly by its
            ``patch_size`` steps; patches that start after a sequence's end get
            zero). For
            :class:`TwoInputs`, a dict: ``"main"`` over the main input's features,
            ``"context"`` over the context input's features, from the
            cross-attention blocks.
        """
        n_samples, batches = self._input_chunks(X)
        return self._feature_attention(n_samples, batches, value_norm)

    def _feature_attention(
        self,
        n_samples: int,
        batches: Iterator[tuple[slice, dict[str, Tensor]]],
        value_norm: bool = False,
    ) -> np.ndarray | dict[str, np.ndarray]:
        per_group: dict[str, np.ndarray] = {}
        with self._inference():
            for rows, batch in batches:
                _, weights = self.module_.embed(
                    batch, return_weights=True, value_norm=value_norm
                )
                for group, attention in cls_attention(weights).items():
                    if rows.start == 0:
                        per_group[group] = np.empty((n_samples, attention.shape[1]))
                    per_group[group][rows] = attention.cpu().numpy()
        main, context = self._input_parts()
        features = {"main": main.attention_to_features(per_group["main"])}
        if context is not None:
            features["context"] = context.attention_to_features(per_group["context"])
        return features if context is not None else features["main"]

    def _input_parts(self) -> tuple[Any, Any]:
        """The main input and the context input (None without one)."""
        if isinstance(self._input, TwoInput):
            return self._input.main, self._input.context
        return self._input, None

    def _attention_importances(
        self, arrays: dict[str, np.ndarray], rows: np.ndarray, seed: int
    ) -> np.ndarray | None:
        """``feature_importances_``: mean CLS attention per column over at most
        ``_IMPORTANCE_MAX_ROWS`` of ``rows``; None unless the main input is a table."""
        main, _ = self._input_parts()
        if main.kind != "tabular":
            return None
        if len(rows) > _IMPORTANCE_MAX_ROWS:
            rows = np.random.RandomState(seed).choice(
                rows, _IMPORTANCE_MAX_ROWS, replace=False
            )
        sample = {key: array[rows] for key, array in arrays.items()}
        attention = self._feature_attention(len(rows), self._array_chunks(sample))
        if isinstance(attention, dict):
            attention = attention["main"]
        importances = attention.mean(axis=0)
        return importances / importances.sum()

    @property
    def feature_importances_(self) -> np.ndarray:
        """Attention-based importance of each column of ``X``, summing to one.

        The mean over training samples of :meth:`feature_attention`: the CLS
        token's attention to each feature, averaged over blocks and heads, as in
        the FT-Transformer paper. Computed at the end of ``fit`` on the
        validation rows when early stopping holds some out, else on the training
        rows, at most 2,048 of them, chosen with ``random_state``. Only for tables
        (the main input's columns with :class:`TwoInputs`); for sequences use
        :meth:`feature_attention`, which gives the attention over time per sample.
        """
        check_is_fitted(self)
        if self._feature_importances is None:
            raise AttributeError(
                "feature_importances_ is defined for tabular input (one value per "
                "column), but this model's main input is sequences; "
                "feature_attention(X) gives the attention over their time steps"
            )
        return self._feature_importances

    def _has_token_groups(self) -> bool:
        """Whether attention maps and token names come as dicts of several groups."""
        return self.input_kind_ == "two_inputs" or self.n_latent_tokens_ is not None

    @property
    def token_names_(self) -> np.ndarray | dict[str, np.ndarray]:
        """Names of the network's tokens, in the order of :meth:`attention_maps`.

        An array ``["[CLS]", feature or patch names...]``; a dict of such arrays when
        the network has several token groups: "main" (the CLS token, then the
        latent tokens when there are any, else the main input's tokens), "input"
        (the main input's tokens, with latent tokens) and "context" (the second input
        of :class:`TwoInputs`).
        """
        check_is_fitted(self)
        main, context = self._input.token_names()
        names: dict[str, list[str]] = {}
        if self.n_latent_tokens_ is None:
            names["main"] = ["[CLS]", *main]
        else:
            latents = [f"[latent {i}]" for i in range(self.n_latent_tokens_)]
            names["main"] = ["[CLS]", *latents]
            names["input"] = main
        if context is not None:
            names["context"] = context
        arrays = {key: np.asarray(value, dtype=object) for key, value in names.items()}
        return arrays if self._has_token_groups() else arrays["main"]

    # -- persistence --------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # BaseEstimator returns self.__dict__
        module = state.get("module_")
        if module is not None and next(module.parameters()).device.type != "cpu":
            # Pickles hold CPU tensors, so a GPU-trained model loads anywhere.
            state["module_"] = copy.deepcopy(module).cpu()
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        module = getattr(self, "module_", None)
        if module is not None and self.device_.type == "cuda":
            index = _cuda_index(self.device_) if torch.cuda.is_available() else -1
            if 0 <= index < torch.cuda.device_count():
                module.to(self.device_)
            else:  # trained on a GPU this machine lacks: predict on the CPU
                self.device_ = torch.device("cpu")

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags
