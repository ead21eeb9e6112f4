"""The one training sequence that ``fit`` and ``partial_fit`` share.

A *round* checks X, learns the encoding, target and network from it when the model
starts afresh, encodes the data, trains, then records what every fit records. ``fit``
runs one round over up to ``max_iter`` epochs, with a validation split for early
stopping; each ``partial_fit`` call runs one epoch over its chunk. What differs is
a :class:`Round`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from torch import Tensor, nn

from ._autolog import autolog_callbacks, autologged_fit
from ._batches import TensorDataset, with_fixed_features
from ._distributed import check_same_data
from ._engine import TrainingResult, train_network
from ._explanations import ExplanationsMixin
from ._inference import n_rows
from ._inputs import SequenceInput, make_input
from ._members import MemberEnsemble, MemberOutputs
from ._pretrained import body_parameters, pretrained_source, source_width
from ._runtime import (
    MAX_SEED,
    autocast_dtype,
    child_seed,
    draw_seeds,
    drawing_from,
    numpy_to_tensors,
    seeded,
    tensors_to_numpy,
    torch_threads,
    training_device,
    training_generator,
)
from ._sklearn_private import check_sample_weight
from ._validation import check_input

# n_latent_tokens="auto": inputs of more than _LATENT_AUTO_MIN_TOKENS tokens are read
# by _LATENT_AUTO_TOKENS latent tokens (benchmarks/speed_benchmark.py measures both).
_LATENT_AUTO_MIN_TOKENS = 64
_LATENT_AUTO_TOKENS = 32
# n_members="auto": fits on fewer than _MEMBERS_AUTO_MAX_SAMPLES rows of tables train
# _MEMBERS_AUTO cross-fitted members (docs/design.md, "Ensembles inside one
# estimator", "The small-data defaults"); sequences (which have a small network of
# their own) and partial_fit, whose chunks say nothing of the data's size, one.
_MEMBERS_AUTO = 5
_MEMBERS_AUTO_MAX_SAMPLES = 3_000
# n_threads="auto": a round of training on the CPU on fewer than _ONE_THREAD_MAX_SAMPLES
# rows runs on one torch thread, others on torch's count (docs/design.md, "The
# small-data defaults").
_ONE_THREAD_MAX_SAMPLES = 3_000
# batch_size="auto" for cross-fitted members below _MEMBERS_AUTO_MAX_SAMPLES rows, the
# sizes where it was measured (one network, and larger data: about ten steps per epoch).
_CROSS_FITTED_BATCH_SIZE = 128
# d_token and max_iter = "auto": a network of half the width, trained for half the
# epochs, when fit gets sequences on fewer than _SMALL_SEQUENCES_MAX_SAMPLES rows
# (docs/design.md, "A narrower network for small sets of sequences"); else, and in
# partial_fit (a chunk says nothing of the data's size), the sizes of tables.
_NETWORK_SIZE = {"d_token": 64, "max_iter": 100}
_SMALL_SEQUENCES_NETWORK_SIZE = {"d_token": 32, "max_iter": 50}
_SMALL_SEQUENCES_MAX_SAMPLES = 3_000
# A training set's fixed features (random-kernel counts of sequences) are computed once
# per fit, not per epoch, when they take at most this much memory (one byte per count:
# about 6,000 series of 16 patches at the most kernel features; docs/design.md,
# "Kernel counts computed once per fit").
_FIXED_FEATURES_MAX_BYTES = 256 * 2**20


def fitted_sizes_of_before(state: dict[str, Any]) -> None:
    """Give the fitted state of a model of before ``"auto"`` sizes (whose
    ``d_token`` and ``max_iter`` were numbers) the fitted ``d_token_`` and
    ``max_iter_`` that a fit now sets."""
    for name in _NETWORK_SIZE:
        if name in state:
            state.setdefault(f"{name}_", state[name])


def parameters_of_before(state: dict[str, Any]) -> None:
    """Give the state of a model saved before a parameter existed the value that
    it behaved by: patch tokens made linearly (before random-kernel tokens) and
    torch's thread count (before ``n_threads``)."""
    state.setdefault("sequence_tokenizer", "linear")
    state.setdefault("n_threads", None)


@dataclass
class Round:
    """How one call trains.

    Attributes
    ----------
    start : bool
        Whether the model starts afresh: learn the encoding, the target and a new
        network from this data (else continue the fitted ones).
    max_epochs : int or None
        Epochs to train at most; None: the fit's ``max_iter_``.
    schedule : str
        The learning-rate schedule, ``"constant"`` or ``"cosine"``.
    hold_out : bool
        Whether early stopping may hold out validation rows (``fit``) or training
        uses every row (``partial_fit``).
    probe : bool
        Whether the new head trains alone on a pretrained body first.
    optimizer_state : dict or None
        AdamW's moments to resume.
    target_options : dict
        Extra arguments of the target's ``fit`` (``classes`` of ``partial_fit``).
    """

    start: bool
    max_epochs: int | None
    schedule: str
    hold_out: bool
    probe: bool
    optimizer_state: dict[str, Any] | None = None
    target_options: dict[str, Any] = field(default_factory=dict)


def _dataset(
    arrays: dict[str, np.ndarray],
    y_encoded: np.ndarray,
    weight: np.ndarray,
    rows: slice,
    device: torch.device,
    fold: np.ndarray | None = None,
) -> TensorDataset:
    """Tensors on ``device`` of the ``rows`` of the encoded training data (and of
    the rows' ``fold``, for an ensemble)."""

    def tensor(array: np.ndarray) -> Tensor:
        # A slice of rows is a view: no copy on the CPU.
        return torch.from_numpy(np.ascontiguousarray(array[rows])).to(device)

    inputs = {key: tensor(array) for key, array in arrays.items()}
    return TensorDataset(
        inputs,
        tensor(y_encoded),
        tensor(weight),
        None if fold is None else tensor(fold),
    )


def _can_stratify(labels: np.ndarray, test_fraction: float) -> bool:
    """Whether a split stratified on ``labels`` exists: every class has two
    members, and each side has room for one of every class. When it does not (a
    class of one sample, more classes than validation rows), the split is a plain
    random one."""
    counts = np.unique(labels, return_counts=True)[1]
    n_test = math.ceil(test_fraction * len(labels))
    n_train = len(labels) - n_test
    return bool(counts.min() >= 2 and min(n_test, n_train) >= len(counts))


def _weights_snapshot(module: nn.Module) -> tuple[torch.device, dict[str, Tensor]]:
    """The device and a copy of the weights of ``module``, to put back."""
    device = next(module.parameters()).device
    return device, {k: v.detach().clone() for k, v in module.state_dict().items()}


def _restore_weights(
    module: nn.Module, snapshot: tuple[torch.device, dict[str, Tensor]]
) -> None:
    device, weights = snapshot
    module.to(device)
    module.load_state_dict(weights)


class FitMixin(ExplanationsMixin):
    """``fit`` and ``partial_fit`` of :class:`~skattn._base.BaseAttentionMLP`."""

    def _fit(self, X: Any, y: Any, sample_weight: Any) -> Any:
        self._check_labels_given(y)
        self._check_architecture()
        device = training_device(self.device, self.distributed)
        rng = check_random_state(self.random_state)
        start = not (self.warm_start and hasattr(self, "module_"))
        seeds = draw_seeds(rng, 2 if start else 1, device, self.distributed)
        plan = Round(
            start=start,
            max_epochs=None,
            schedule=self.learning_rate_schedule,
            hold_out=True,
            probe=True,
        )
        with autologged_fit(self, X, y, sample_weight):  # mlflow.sklearn.autolog()
            result = self._run_round(X, y, sample_weight, plan, seeds, device)
            self._set_fit_results(result)
        return self

    def _set_fit_results(self, result: TrainingResult) -> None:
        for name in ("_optimizer_state", "_n_partial_fit_calls"):
            self.__dict__.pop(name, None)  # from an earlier partial_fit
        self.n_iter_ = result.n_epochs
        self.loss_curve_ = result.train_loss
        self.validation_scores_ = result.valid_score
        self.best_validation_score_ = result.best_score
        # With the cosine schedule, reaching max_iter is the planned end: the learning
        # rate has decayed to 0, and more epochs at that rate would change nothing.
        if not result.stopped_early and self.learning_rate_schedule == "constant":
            warnings.warn(
                f"{type(self).__name__} stopped after max_iter={self.max_iter_} epochs "
                "before the loss converged; raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _partial_fit(
        self, X: Any, y: Any, sample_weight: Any, classes: Any = None
    ) -> Any:
        """One epoch over the chunk ``X``; the first call (on an unfitted model)
        sets up the encoding, the target and the network from this chunk."""
        self._check_labels_given(y)
        start = not hasattr(self, "module_")
        if self._class_weight() == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: the class "
                "frequencies of one chunk are not those of the data; pass a dict of "
                "class weights, or sample_weight"
            )
        if start:
            self._check_architecture()
        # Joined at every call, so that a model pickled between calls resumes.
        device = (
            training_device(self.device, self.distributed)
            if start or self.distributed
            else next(self.module_.parameters()).device
        )
        # Each call draws from its own stream, so that chunks of one size are not
        # shuffled alike: seeded by random_state and the number of calls so far.
        calls = getattr(self, "_n_partial_fit_calls", 0)
        base = check_random_state(self.random_state).randint(MAX_SEED)
        rng = np.random.RandomState([base, calls])
        seeds = draw_seeds(rng, 2, device, self.distributed)
        if not start:
            seeds.pop(0)  # the input seed, unused when continuing
        plan = Round(
            start=start,
            max_epochs=1,
            schedule="constant",
            hold_out=False,
            probe=False,
            optimizer_state=numpy_to_tensors(getattr(self, "_optimizer_state", None)),
            target_options={} if classes is None else {"classes": classes},
        )
        result = self._run_round(X, y, sample_weight, plan, seeds, device)
        # Kept as NumPy arrays: a pickle of the model then holds no GPU tensors.
        self._optimizer_state = tensors_to_numpy(result.optimizer_state)
        self._n_partial_fit_calls = calls + 1
        self.n_iter_ = 1 if start else self.n_iter_ + 1
        self.loss_curve_ = ([] if start else list(self.loss_curve_)) + result.train_loss
        # A chunk has no validation split: scores of an earlier fit's would be stale.
        self.validation_scores_ = self.best_validation_score_ = None
        return self

    def _run_round(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        plan: Round,
        seeds: list[int],
        device: torch.device,
    ) -> TrainingResult:
        """Check, (start,) encode, train and finish; ``seeds`` are the input
        encoder's (when starting) and the training's.

        Transactional: the new state replaces the old only when the round ends
        well. On any exception (``KeyboardInterrupt`` included) the attributes and
        the network's weights of before are put back, so a fitted model stays the
        model it was and an unfitted one keeps only its parameters."""
        before = dict(self.__dict__)
        # A new start builds a new network; continuing trains this one in place.
        snapshot = None if plan.start else _weights_snapshot(self.module_)
        threads = contextlib.ExitStack()
        try:
            if plan.start:
                source = pretrained_source(self, X)
                X = self._start(X, y, source, seeds[0], plan.target_options)
            else:
                source = None
                self._check_same_members()
                X = check_input(self, X, self._input, reset=False)
            seed = seeds[-1]
            arrays, y_encoded, weight = self._training_arrays(
                X, y, sample_weight, device
            )
            n_threads = self._resolve_threads(len(y_encoded), device)
            threads.enter_context(torch_threads(n_threads))
            if plan.start and source is None and not self._target.from_inputs:
                # Choices of the encoding that depend on the target and the
                # training weights (the sequence tokens); the encoded arrays do not.
                self._input.choose_tokens(X, y_encoded, weight)
            self._resolve_size(len(y_encoded), plan, source)
            max_epochs = self.max_iter_ if plan.max_epochs is None else plan.max_epochs
            if plan.start:
                self.n_members_ = self._resolve_members(len(y_encoded), plan)
                # Kept, so that a warm-started fit on the same rows cuts the same
                # folds: a member is never scored on rows it trained on before.
                self._fold_seed = seed
            arrays, train_data, valid_data, importance_rows = self._datasets(
                arrays, y_encoded, weight, seed, device, plan.hold_out
            )
            with seeded(seed):
                if plan.start:
                    self.module_ = self._new_module(source)
                generator = training_generator(device, seed)
            self.module_.to(device)
            train_data, valid_data = self._with_fixed_features(
                train_data, valid_data, max_epochs
            )
            if source is not None and plan.probe:
                self._probe(train_data, valid_data, device, seed, generator)
            result = self._train(
                train_data,
                valid_data,
                device,
                max_epochs,
                child_seed(seed, 2),
                generator,
                optimizer_state=plan.optimizer_state,
                schedule=plan.schedule,
            )
            self._finish(device, arrays, importance_rows, seed)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            if snapshot is not None:
                _restore_weights(self.module_, snapshot)
            raise
        finally:
            threads.close()
        return result

    def _check_labels_given(self, y: Any) -> None:
        if y is None and self._labels_required():
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None"
            )

    def _check_architecture(self) -> None:
        if self.d_token != "auto" and self.d_token % self.n_heads:
            raise ValueError(
                f"n_heads={self.n_heads} must divide d_token={self.d_token}"
            )

    def _resolve_size(self, n_samples: int, plan: Round, source: Any) -> None:
        """Set ``d_token_`` (when a network is built: ``d_token``, or for
        ``"auto"`` the pretrained source's or the width for this data) and
        ``max_iter_`` (a continued fit keeps what ``"auto"`` made of it)."""
        if plan.start:
            small = (
                plan.hold_out
                and self.input_kind_ == "sequence"
                and n_samples < _SMALL_SEQUENCES_MAX_SAMPLES
            )
            sizes = _SMALL_SEQUENCES_NETWORK_SIZE if small else _NETWORK_SIZE
            width = self.d_token
            if width == "auto":
                width = sizes["d_token"] if source is None else source_width(source)
            self.d_token_ = int(width)
            if self.d_token_ % self.n_heads:
                raise ValueError(
                    f"n_heads={self.n_heads} must divide the network's width "
                    f"{self.d_token_} (d_token={self.d_token!r} for this data): set "
                    "d_token to a multiple of n_heads, or change n_heads"
                )
            self._auto_max_iter = sizes["max_iter"]
        # A continued fit keeps what "auto" gave the first (a model of before
        # "auto" existed: its number).
        auto = vars(self).get("_auto_max_iter", getattr(self, "max_iter_", None))
        self.max_iter_ = int(auto if self.max_iter == "auto" else self.max_iter)

    def _resolve_members(self, n_samples: int, plan: Round) -> int:
        if self.n_members != "auto":
            return int(self.n_members)
        # Five members need five folds of two rows to be cross-fitted.
        small = 2 * _MEMBERS_AUTO <= n_samples < _MEMBERS_AUTO_MAX_SAMPLES
        sequences = self._sequence_part() is not None
        return _MEMBERS_AUTO if plan.hold_out and small and not sequences else 1

    def _resolve_threads(self, n_samples: int, device: torch.device) -> int | None:
        """torch threads for a round of training on ``n_samples`` rows on
        ``device`` (None: torch's count as it is)."""
        if self.n_threads != "auto":
            return cast(int | None, self.n_threads)
        small = device.type == "cpu" and n_samples < _ONE_THREAD_MAX_SAMPLES
        return 1 if small else None

    def _check_same_members(self) -> None:
        """A fit that continues (``warm_start``, ``partial_fit``) trains the
        networks it has: their number cannot change."""
        fitted = self.n_members_
        if self.n_members not in ("auto", fitted):
            raise ValueError(
                f"n_members={self.n_members}, but the fitted model has {fitted} "
                "member networks; a fit that continues (warm_start=True, partial_fit) "
                "cannot change their number: set n_members back, or fit afresh"
            )

    def _start(
        self, X: Any, y: Any, source: Any, seed: int, target_options: dict[str, Any]
    ) -> Any:
        """Learn the input encoding (or take the pretrained source's) and the
        target from the first data; return the checked ``X``."""
        if source is None:
            input = make_input(X, self.get_params(deep=False), seed)
        else:  # the source's encoding, already fitted
            input = copy.deepcopy(source._input)
        X = check_input(self, X, input, reset=True)
        self._input = input.fit(X) if source is None else input
        self.input_kind_ = input.kind
        self.n_features_in_ = input.n_features
        self.n_latent_tokens_: int | None = (
            self._resolve_latent_tokens() if source is None else source.n_latent_tokens_
        )
        self._target = self._make_target(y).fit(y, self, **target_options)
        return X

    @property
    def sequence_tokenizer_(self) -> str | None:
        """The tokens of the sequence input: ``"linear"`` or ``"random_kernels"``
        (the resolved ``sequence_tokenizer``), or None when no input is sequences
        (with two sequence inputs, the main one's)."""
        check_is_fitted(self)
        part = self._sequence_part()
        return None if part is None else part.tokens

    @property
    def sequence_tokenizer_scores_(self) -> dict[str, float] | None:
        """What chose the tokens of ``sequence_tokenizer="auto"``: the probe's
        out-of-fold scores of a ridge model on the series' raw values
        (``"linear"``) and on their random-kernel features (``"random_kernels"``),
        and the standard error of their difference (``"standard_error"``); the
        kernels are taken when they score higher by more than 1.5 standard errors
        (with two sequence inputs, the main one's). The score is the accuracy for
        a single-output classifier, else R2 pooled over the outputs (of the class
        indices, for a multi-output classifier); weighted when the training
        weights (``sample_weight`` times class weights) are unequal. A
        ``pretrained`` fit takes its source's tokens, and its scores with them.
        None when no probe chose the tokens (a ``sequence_tokenizer`` given, a
        source fitted without labels, a class with too few rows to compare, a
        model fitted before the scores were kept) or when no input is
        sequences."""
        check_is_fitted(self)
        part = self._sequence_part()
        scores = None if part is None else vars(part).get("tokenizer_scores_")
        return None if scores is None else dict(scores)

    def _sequence_part(self) -> SequenceInput | None:
        """The first (main) sequence input of the encoding, or None."""
        for part in self._input.parts():
            if isinstance(part, SequenceInput):
                return part
        return None

    def _resolve_latent_tokens(self) -> int | None:
        if self.n_latent_tokens != "auto":
            return cast(int | None, self.n_latent_tokens)
        n_tokens = len(self._input.parts()[0].token_names())
        return _LATENT_AUTO_TOKENS if n_tokens > _LATENT_AUTO_MIN_TOKENS else None

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
        n_samples = n_rows(arrays)
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

    def _training_weights(
        self, sample_weight: Any, y_encoded: np.ndarray
    ) -> np.ndarray:
        weight = check_sample_weight(
            sample_weight, y_encoded, dtype=np.float64, ensure_non_negative=True
        )
        weight = weight * self._target.sample_weight_factor(
            y_encoded, self._class_weight()
        )
        if (weight < 0).any() or not weight.max() > 0:
            raise ValueError(
                "sample weights times class weights must be non-negative with a "
                f"positive sum; got class_weight={self._class_weight()!r}"
            )
        # Mean one: the loss is then a weighted mean, and unit weights change nothing.
        # Divided by the largest first, so that the mean of weights near the top of
        # float64 (1e308) cannot overflow to inf and turn every weight into 0.
        weight = weight / weight.max()
        return (weight / weight.mean()).astype(np.float32)

    def _datasets(
        self,
        arrays: dict[str, np.ndarray],
        y_encoded: np.ndarray,
        weight: np.ndarray,
        seed: int,
        device: torch.device,
        hold_out: bool,
    ) -> tuple[dict[str, np.ndarray], TensorDataset, TensorDataset | None, np.ndarray]:
        """The arrays (reordered when some rows are held out), the training and
        validation tensors, and the rows of the arrays that feature importances
        average over: the validation rows, else the training rows."""
        n_samples = len(y_encoded)
        if self.n_members_ > 1:
            folds = self._member_folds(y_encoded, self._fold_seed) if hold_out else None
            fold = np.full(n_samples, -1) if folds is None else folds
            data = _dataset(arrays, y_encoded, weight, slice(None), device, fold)
            # Cross-fitted members hold no row out of the ensemble: the validation
            # data are the training rows, each scored by the member that skips it.
            valid = None if folds is None else data
            return arrays, data, valid, np.arange(n_samples)
        split = self._validation_rows(y_encoded, seed) if hold_out else None
        if split is None:
            data = _dataset(arrays, y_encoded, weight, slice(None), device)
            return arrays, data, None, np.arange(n_samples)
        train_rows, valid_rows = split
        n_train = len(train_rows)
        # One reordered copy, training rows first, replaces the encoded arrays:
        # training holds the encoded input once (on the CPU, without a split, the
        # tensors are the encoded arrays themselves).
        order = np.concatenate([train_rows, valid_rows])
        arrays = {key: array[order] for key, array in arrays.items()}
        y_encoded, weight = y_encoded[order], weight[order]
        train = _dataset(arrays, y_encoded, weight, slice(0, n_train), device)
        valid = _dataset(arrays, y_encoded, weight, slice(n_train, None), device)
        return arrays, train, valid, np.arange(n_train, n_samples)

    def _with_fixed_features(
        self,
        train_data: TensorDataset,
        valid_data: TensorDataset | None,
        max_epochs: int,
    ) -> tuple[TensorDataset, TensorDataset | None]:
        """The training and validation data with their fixed features, computed
        once (:func:`~skattn._batches.with_fixed_features`) for training of more
        than one epoch (one epoch, each ``partial_fit`` call's, computes them once
        anyway), unless self-supervision hides parts of the inputs before the
        network sees them."""
        if max_epochs <= 1 or self._target.from_inputs:
            return train_data, valid_data
        # Cross-fitted members validate on their training rows: one dataset.
        distinct = [train_data]
        if valid_data is not None and valid_data is not train_data:
            distinct.append(valid_data)
        cached = with_fixed_features(self.module_, distinct, _FIXED_FEATURES_MAX_BYTES)
        return cached[0], None if valid_data is None else cached[-1]

    def _validation_rows(
        self, y_encoded: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Training and validation rows when early stopping holds some out."""
        early_stopping = self.early_stopping
        n_samples = len(y_encoded)
        if early_stopping == "auto":
            early_stopping = n_samples > self._target.auto_early_stopping_min_samples
        if not early_stopping:
            return None
        stratify = self._target.stratify and _can_stratify(
            y_encoded, self.validation_fraction
        )
        train_rows, valid_rows = train_test_split(
            np.arange(n_samples),
            test_size=self.validation_fraction,
            random_state=seed,
            stratify=y_encoded if stratify else None,
        )
        return train_rows, valid_rows

    def _member_folds(self, y_encoded: np.ndarray, seed: int) -> np.ndarray | None:
        """The fold of each row, member ``m`` holding out fold ``m`` (stratified
        like the validation split), when early stopping is on; with ``"auto"`` it
        is whenever every fold gets two rows: cross-fitting costs no training
        rows, and on small data it won (docs/design.md, "Small data")."""
        n_members, n_samples = self.n_members_, len(y_encoded)
        early_stopping = self.early_stopping
        if early_stopping == "auto":
            early_stopping = n_samples >= 2 * n_members
        if not early_stopping:
            return None
        if n_samples < 2 * n_members:
            raise ValueError(
                f"early_stopping=True with n_members={n_members} holds out one fold "
                f"per member, which needs at least {2 * n_members} samples; got "
                f"{n_samples}. Lower n_members, or set early_stopping=False"
            )
        # Stratified when every class has a row for every fold, else at random.
        stratify = (
            self._target.stratify
            and np.unique(y_encoded, return_counts=True)[1].min() >= n_members
        )
        splitter = (StratifiedKFold if stratify else KFold)(
            n_members, shuffle=True, random_state=seed
        )
        fold = np.empty(n_samples, dtype=np.int64)
        for member, (_, held_out) in enumerate(splitter.split(y_encoded, y_encoded)):
            fold[held_out] = member
        return fold

    def _probe(
        self,
        train_data: TensorDataset,
        valid_data: TensorDataset | None,
        device: torch.device,
        seed: int,
        generator: torch.Generator,
    ) -> None:
        """Linear probing, then fine-tuning (Kumar et al., 2022): the new head
        learns on the frozen pretrained body first, so that a random head does not
        pull the pretrained weights about. On 5% of the labels of three suite
        datasets this won 5 of 6 ROC AUCs against fine-tuning at once (one seed;
        benchmarks/pretraining_benchmark.py runs 3)."""
        body = body_parameters(self.module_)
        for parameter in body:
            parameter.requires_grad_(False)
        self._train(
            train_data,
            valid_data,
            device,
            self.max_iter_,
            child_seed(seed, 1),
            generator,
            schedule=self.learning_rate_schedule,
        )
        for parameter in body:
            parameter.requires_grad_(True)

    def _train(
        self,
        train_data: TensorDataset,
        valid_data: TensorDataset | None,
        device: torch.device,
        max_epochs: int,
        shuffle_seed: int,
        generator: torch.Generator,
        optimizer_state: dict[str, Any] | None = None,
        schedule: str = "constant",
    ) -> TrainingResult:
        """Train ``module_``; dropout and masks draw from ``generator``."""
        # The compiled wrapper shares the parameters of module_, which stays the
        # plain module that predicts and pickles.
        ensemble = self.module_ if isinstance(self.module_, MemberEnsemble) else None
        cross_fitted = valid_data is not None and train_data.fold is not None
        network = (
            self.module_ if ensemble is None else MemberOutputs(ensemble, cross_fitted)
        )
        plain = self._target.training_module(network)
        training_module = plain
        if self.compile:
            training_module = cast(nn.Module, torch.compile(plain))
        with drawing_from(plain, generator):
            return train_network(
                training_module,
                train_data=train_data,
                valid_data=valid_data,
                per_sample_loss=self._target.loss,
                score=self._target.score,
                score_name=self._target.score_name,
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                batch_size=self._batch_size(len(train_data), cross_fitted),
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
                callbacks=[*(self.callbacks or ()), *autolog_callbacks()],
                members=() if ensemble is None else list(ensemble.members),
                cross_fitted=cross_fitted,
            )

    def _batch_size(self, n_train: int, cross_fitted: bool) -> int:
        """``batch_size``, or what "auto" makes of it: about ten steps per epoch,
        but 128 rows for cross-fitted members on fewer than 3,000 rows, where five
        members scored better or the same with it, on average, on all seven small
        tables measured (docs/design.md, "Batch size for cross-fitted members")."""
        if self.batch_size != "auto":
            return int(self.batch_size)
        if cross_fitted and n_train < _MEMBERS_AUTO_MAX_SAMPLES:
            return min(_CROSS_FITTED_BATCH_SIZE, n_train)
        return min(256, max(16, n_train // 10))

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
