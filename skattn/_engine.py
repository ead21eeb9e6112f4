"""The training loop: a private skorch net that the estimators compose.

skorch is imported here and nowhere else. The public estimators hand this module a
built network and tensors (:mod:`skattn._batches`); :func:`train_network` runs
skorch's loop (epochs, callbacks, history, early stopping with best-weight restore,
progress output) and returns what the estimator exposes after ``fit``. Here too: the
weighted loss, the callbacks, the learning-rate schedule and :func:`autocast`.
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
    ProgressBar,
)
from skorch.helper import predefined_split
from torch import Tensor, nn

from ._batches import FOLD_KEY, WEIGHT_KEY, Batch, TensorBatches, TensorDataset
from ._distributed import data_parallel
from ._members import MemberLoss, out_of_fold_outputs
from ._network import NO_WEIGHT_DECAY_PATTERNS
from ._training_log import EpochTable, FitProgress, say

# AdamW's fused kernel (one pass over all parameters, on the CPU since torch 2.4) took
# 0.28 ms per step of the default network, the multi-tensor ("foreach") one 1.08 ms,
# the per-tensor default 1.46 ms.
_TORCH_VERSION = tuple(int(part) for part in torch.__version__.split(".")[:2])
_ADAMW_KERNEL = (
    {"optimizer__fused": True}
    if _TORCH_VERSION >= (2, 4)
    else {"optimizer__foreach": True}
)


def autocast(dtype: torch.dtype | None, device: torch.device) -> torch.autocast:
    """:class:`torch.autocast` to ``dtype`` on ``device``'s type, or a disabled one
    when ``dtype`` is None (float32 throughout)."""
    return torch.autocast(
        device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None
    )


class WeightedLoss(nn.Module):
    """Mean of ``per_sample(output, target) * weight`` over the batch.

    The estimator scales the weights to mean one over the training set, so this is an
    unbiased estimate of the weighted mean loss and unit weights equal no weights.
    With ``summed`` it is their sum: the loss of one process's share of a global
    batch in data-parallel training, whose weights :class:`TensorBatches` scales.
    """

    def __init__(self, per_sample: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self.per_sample = per_sample

    def forward(
        self, output: Tensor, target: Tensor, weight: Tensor, summed: bool = False
    ) -> Tensor:
        weighted = self.per_sample(output, target) * weight  # (B,)
        return weighted.sum() if summed else weighted.mean()


class ValidationOutputs(Callback):
    """Collect an epoch's validation outputs, which skorch computed anyway (no
    second pass over the validation data): after the epoch, :meth:`epoch_outputs`
    gives the outputs (N, O) float32, targets, weights (N,) and folds (N,) or None.
    An ensemble's outputs are taken out of fold: each row's by the member that
    held it out."""

    def on_epoch_begin(self, net: NeuralNet, **kwargs: object) -> None:
        self.batches_: list[tuple[Tensor, Tensor, Tensor, Tensor | None]] = []

    def on_batch_end(
        self, net: NeuralNet, batch: Batch, training: bool, **kwargs: object
    ) -> None:
        if training:
            return
        inputs, y = batch
        y_pred = kwargs["y_pred"]
        assert isinstance(y_pred, Tensor)
        fold = inputs.get(FOLD_KEY)
        outputs = y_pred.detach()
        if fold is not None:  # (M, B, O), from the members
            outputs = out_of_fold_outputs(outputs, fold)
        self.batches_.append((outputs.float(), y, inputs[WEIGHT_KEY], fold))

    def epoch_outputs(self) -> tuple[Tensor, Tensor, Tensor, Tensor | None] | None:
        """The epoch's validation outputs, targets, weights and folds; None
        without validation batches."""
        if not self.batches_:
            return None
        outputs, y, weight, folds = zip(*self.batches_, strict=True)
        fold = None if folds[0] is None else torch.cat(folds)
        return torch.cat(outputs), torch.cat(y), torch.cat(weight), fold


class ValidationScore(ValidationOutputs):
    """Record ``valid_score`` each epoch from the validation outputs (out of fold
    for an ensemble)."""

    def __init__(self, score: Callable[[np.ndarray, np.ndarray], float]) -> None:
        self.score = score

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        collected = self.epoch_outputs()
        if collected is not None:
            outputs, targets = collected[0].cpu().numpy(), collected[1].cpu().numpy()
            net.history.record("valid_score", self.score(outputs, targets))


class _StopTraining(Exception):
    """Ends training after the epoch in which a callback asked to stop.

    skorch ends training quietly on a ``KeyboardInterrupt``; skattn's loop does not
    (:meth:`_Net.partial_fit`), so that Ctrl-C reaches the caller, and stopping
    early has a signal of its own: a callback sets ``net.stop_requested_``, and
    :meth:`_Net.notify` raises this once every callback has seen the epoch."""


class EpochFunction(Callback):
    """A plain callable among the user's ``callbacks``: called after every epoch
    with that epoch's record (a dict: ``epoch``, ``train_loss``, ``dur`` and, with
    a hold-out, ``valid_loss`` and ``valid_score``); returning True stops
    training after the epoch, as early stopping does."""

    def __init__(self, function: Callable[[dict[str, Any]], Any]) -> None:
        self.function = function

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        record = {k: v for k, v in net.history[-1].items() if k != "batches"}
        if self.function(record) is True:
            if net.verbose:
                say(f"Stopping: {self.function!r} returned True.")
            net.stop_requested_ = True


def user_callbacks(callbacks: list | None) -> list[Any]:
    """The user's ``callbacks`` parameter as skorch takes them: skorch callbacks
    (instances, or ``(name, callback)`` pairs) as they are, plain callables
    wrapped in :class:`EpochFunction`; anything else is a TypeError."""
    converted: list[Any] = []
    for i, item in enumerate(callbacks or ()):
        if isinstance(item, Callback) or (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], Callback)
        ):
            converted.append(item)
        elif callable(item) and not isinstance(item, type):
            converted.append((f"epoch_function_{i}", EpochFunction(item)))
        else:
            raise TypeError(
                f"callbacks[{i}] is {item!r}: pass skorch callback instances, "
                "(name, callback) pairs, or callables taking each epoch's record"
            )
    return converted


# A spike of the training loss (see StopWhenStalled): measured on the small tables,
# where breast_cancer's fits spiked in 5 of 5 seeds and digits' in 3 of 3.
SPIKE_MIN_EPOCH = 4
SPIKE_RATIO = 2.0
SPIKE_MIN_RISE = 0.01


class StopWhenStalled(Callback):
    """Stop once ``monitor`` has not fallen by ``tol`` for ``patience`` epochs.

    The rule of scikit-learn's ``MLPClassifier``: an epoch counts as a miss unless it
    beats the best value so far by ``tol``, while the best value (and, with
    ``restore_best``, a copy of the weights) follows every new minimum, however small
    the step. At the end of training the best weights are put back. skorch's own
    ``EarlyStopping`` instead keeps the last epoch that improved by ``tol``.

    With ``restart_after_spike`` (the training-loss plateau, which restores no
    weights), a spike - after the first :data:`SPIKE_MIN_EPOCH` epochs, a value more
    than :data:`SPIKE_RATIO` times the best so far and :data:`SPIKE_MIN_RISE` above
    it - starts the count again from the spike's value: the network is still
    learning, from the weights the spike left, which a stop now would keep
    (docs/design.md, "The plateau rule after a spike").
    """

    def __init__(
        self,
        *,
        monitor: str,
        patience: int,
        tol: float,
        restore_best: bool,
        restart_after_spike: bool = False,
    ) -> None:
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.restore_best = restore_best
        self.restart_after_spike = restart_after_spike

    def initialize(self) -> StopWhenStalled:
        self.best_ = np.inf
        self.best_epoch_ = 0
        self.misses_ = 0
        self.stalled_ = False
        self.best_state_: dict[str, Tensor] | None = None
        return self

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        current = float(net.history[-1, self.monitor])
        self.misses_ = self.misses_ + 1 if current > self.best_ - self.tol else 0
        if self.restart_after_spike and self._is_spike(current, len(net.history)):
            self.best_, self.best_epoch_, self.misses_ = current, len(net.history), 0
        if current < self.best_:
            self.best_ = current
            self.best_epoch_ = len(net.history)
            if self.restore_best:
                state = net.module_.state_dict()
                self.best_state_ = {k: v.detach().clone() for k, v in state.items()}
        if self.misses_ >= self.patience:
            self.stalled_ = True
            if net.verbose:
                say(f"Stopping: {self.monitor} stalled for {self.patience} epochs.")
            net.stop_requested_ = True

    def _is_spike(self, value: float, epoch: int) -> bool:
        return (
            epoch > SPIKE_MIN_EPOCH
            and value > SPIKE_RATIO * self.best_
            and value > self.best_ + SPIKE_MIN_RISE
        )

    def on_train_end(self, net: NeuralNet, **kwargs: object) -> None:
        if self.best_state_ is not None and self.best_epoch_ != len(net.history):
            net.module_.load_state_dict(self.best_state_)


class BestMemberWeights(ValidationOutputs):
    """Each cross-fitted member keeps the weights of its own best epoch.

    After every epoch, each member's loss on the fold it holds out (its share of
    the out-of-fold validation outputs) is compared with its best so far; a member
    that improved has its weights and its out-of-fold outputs copied. At the end
    every member gets its best weights back, as separate estimators stopped on
    their own hold-outs would, and :meth:`best_score` scores the out-of-fold
    outputs of the kept weights: each row by the member that never trained on it.
    (:class:`StopWhenStalled` still decides when training ends, from the
    members' pooled out-of-fold loss.)
    """

    def __init__(
        self,
        members: Sequence[nn.Module],
        per_sample_loss: Callable[[Tensor, Tensor], Tensor],
        score: Callable[[np.ndarray, np.ndarray], float],
    ) -> None:
        self.members = members
        self.per_sample_loss = per_sample_loss
        self.score = score

    def initialize(self) -> BestMemberWeights:
        self.best_loss_ = [math.inf] * len(self.members)
        self.best_states_: list[dict[str, Tensor] | None] = [None] * len(self.members)
        self.best_outputs_: Tensor | None = None
        self.targets_: Tensor | None = None
        return self

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        collected = self.epoch_outputs()
        if collected is None:
            return
        outputs, y, weight, fold = collected
        assert fold is not None  # cross-fitted validation rows carry their folds
        n_members = len(self.members)
        with torch.no_grad():
            losses = self.per_sample_loss(outputs, y) * weight  # (N,)
            sums = losses.new_zeros(n_members).index_add_(0, fold, losses)
            rows = losses.new_zeros(n_members).index_add_(0, fold, weight)
        if net.world_size > 1:  # every process takes the same decisions
            torch.distributed.all_reduce(sums)
            sums /= net.world_size
        member_losses = (sums / rows.clamp_min(1e-30)).tolist()
        if self.best_outputs_ is None:
            self.best_outputs_, self.targets_ = outputs.clone(), y
        weighed = (rows > 0).tolist()
        for member, loss in enumerate(member_losses):
            if not weighed[member]:  # its fold weighs nothing: no signal, last weights
                self.best_outputs_[fold == member] = outputs[fold == member]
                continue
            if loss < self.best_loss_[member]:
                self.best_loss_[member] = loss
                state = self.members[member].state_dict()
                self.best_states_[member] = {
                    k: v.detach().clone() for k, v in state.items()
                }
                held_out = fold == member
                self.best_outputs_[held_out] = outputs[held_out]

    def on_train_end(self, net: NeuralNet, **kwargs: object) -> None:
        for member, state in zip(self.members, self.best_states_, strict=True):
            if state is not None:
                member.load_state_dict(state)

    def best_score(self) -> float | None:
        """The validation score of the kept members' out-of-fold outputs."""
        if self.best_outputs_ is None or self.targets_ is None:
            return None
        return self.score(self.best_outputs_.cpu().numpy(), self.targets_.cpu().numpy())


class RaiseOnDivergence(Callback):
    """End training with an error once the training loss is not finite: weights
    past a NaN are no model. scikit-learn's MLP raises too ("Solver produced
    non-finite parameter weights"); the estimator then keeps its previous state."""

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        train_loss = float(net.history[-1, "train_loss"])
        if not math.isfinite(train_loss):
            raise ValueError(
                f"Training diverged: the training loss was {train_loss} after epoch "
                f"{len(net.history)}. Lower learning_rate (it is {net.lr:g}), or "
                "scale inputs and targets of extreme magnitude."
            )


class _Net(NeuralNet):
    """skorch's loop with our batch format: inputs are a dict holding the network's
    input tensors and the sample weights, which go to the loss, not to the module.

    The forward pass runs under autocast to ``autocast_dtype`` when it is set; the
    loss is computed in float32. Batch losses stay on the device until the end of
    each epoch, so that the loop never waits for the GPU inside an epoch.
    """

    def __init__(
        self,
        *args: object,
        autocast_dtype: torch.dtype | None = None,
        world_size: int = 1,
        score_name: str = "score",
        **kwargs: object,
    ) -> None:
        self.autocast_dtype = autocast_dtype
        self.world_size = world_size
        self.score_name = score_name
        super().__init__(*args, **kwargs)

    def partial_fit(
        self, X: Any, y: Any = None, classes: Any = None, **fit_params: Any
    ) -> _Net:
        """skorch's ``partial_fit``, except that only :class:`_StopTraining` ends
        training quietly: a ``KeyboardInterrupt`` (Ctrl-C) propagates, as it does
        out of scikit-learn's estimators, and the estimator puts its previous state
        back."""
        if not self.initialized_:
            self.initialize()
        self.stop_requested_ = False
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, _routing_method="partial_fit", **fit_params)
        except _StopTraining:
            pass
        self.notify("on_train_end", X=X, y=y)
        return self

    def notify(self, method_name: str, **cb_kwargs: Any) -> None:
        """skorch's ``notify``; then, after the callbacks have all seen an epoch's
        end, training stops if one of them asked to. A ``KeyboardInterrupt`` from
        one of the user's callbacks (skorch's own way to stop, as its
        ``EarlyStopping`` does) is such a request; from anywhere else it is Ctrl-C,
        and propagates."""
        getattr(self, method_name)(self, **cb_kwargs)
        for name, callback in self.callbacks_:
            try:
                getattr(callback, method_name)(self, **cb_kwargs)
            except KeyboardInterrupt:
                if name in _OWN_CALLBACKS:
                    raise
                self.stop_requested_ = True
        if method_name == "on_epoch_end" and self.stop_requested_:
            raise _StopTraining

    def infer(self, x: dict[str, Tensor], **fit_params: object) -> Tensor:
        # The folds stay: an ensemble's members run on the rows that count for
        # them (skattn._members.MemberOutputs).
        inputs = {k: v for k, v in x.items() if k != WEIGHT_KEY}
        with autocast(self.autocast_dtype, torch.device(self.device)):
            return self.module_(inputs).float()

    def run_single_epoch(
        self,
        iterator: TensorBatches | None,
        training: bool,
        prefix: str,
        step_fn: Callable[..., dict[str, Tensor]],
        **fit_params: object,
    ) -> None:
        # skorch's loop, except that it records each batch loss with .item(), a
        # host-device sync per batch; here they are copied once, after the loop.
        if iterator is None:
            return
        losses, sizes = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            sizes.append(len(batch[1]))
            if self.verbose >= 2:  # the progress bar shows it: worth a sync
                self.history.record_batch(prefix + "_loss", losses[-1].item())
            self.history.record_batch(prefix + "_batch_size", sizes[-1])
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if losses:
            batch_losses = torch.stack(losses)
            batch_sizes = torch.tensor(sizes, device=batch_losses.device)
            if self.world_size > 1:
                # In training each process saw a share of every batch: the sum of
                # the shares' losses is world_size times the global batch's. The
                # validation data is whole in every process, so the average leaves
                # its losses as they are, but makes them bitwise equal everywhere:
                # all processes then take the same early-stopping decisions.
                torch.distributed.all_reduce(batch_losses)
                batch_losses /= self.world_size
                if training:
                    torch.distributed.all_reduce(batch_sizes)
            batches = self.history[-1]["batches"][-len(losses) :]
            values, counts = batch_losses.tolist(), batch_sizes.tolist()
            for record, loss, size in zip(batches, values, counts, strict=True):
                record[prefix + "_loss"] = loss
                record[prefix + "_batch_size"] = size
        self.history.record(prefix + "_batch_count", len(losses))

    def get_loss(
        self,
        y_pred: Tensor,
        y_true: Tensor,
        X: dict[str, Tensor] | None = None,
        training: bool = False,
    ) -> Tensor:
        assert X is not None, "skorch passes the batch inputs"
        summed = training and self.world_size > 1  # a share of a global batch
        if FOLD_KEY in X:  # an ensemble's members (see MemberLoss)
            return self.criterion_(
                y_pred,
                y_true,
                X[WEIGHT_KEY],
                X[FOLD_KEY],
                training=training,
                summed=summed,
            )
        return self.criterion_(y_pred, y_true, X[WEIGHT_KEY], summed)

    @property
    def _default_callbacks(self) -> list[tuple[str, Callback]]:
        # skorch's defaults, with its epoch table (through skattn's log, the
        # score named) only when verbose.
        callbacks: list[tuple[str, Callback]] = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.verbose:
            callbacks.append(("print_log", EpochTable(self.score_name)))
        return callbacks


# The callbacks skattn itself adds (skorch's defaults and :func:`_callbacks`).
_OWN_CALLBACKS = frozenset(
    {"epoch_timer", "train_loss", "valid_loss", "print_log", "valid_score",
     "divergence", "stopper", "best_members", "schedule", "fit_progress",
     "progress_bar"}
)  # fmt: skip


def warmup_cosine(n_steps: int, n_warmup_steps: int) -> Callable[[int], float]:
    """The learning-rate factor at each optimiser step: a linear warm-up over
    ``n_warmup_steps``, then a half cosine down to 0 at step ``n_steps``.

    Parameters
    ----------
    n_steps : int
        Steps of the whole schedule (every epoch that ``max_epochs`` allows).
    n_warmup_steps : int
        Steps of the warm-up.

    Returns
    -------
    factor : callable
        Step number (from 0) to the factor of the base learning rate.
    """

    def factor(step: int) -> float:
        if step < n_warmup_steps:
            return (step + 1) / n_warmup_steps
        progress = (step - n_warmup_steps) / max(1, n_steps - n_warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


@dataclass
class TrainingResult:
    """What one call of :func:`train_network` reports back to the estimator."""

    n_epochs: int
    train_loss: list[float]
    valid_loss: list[float] | None
    valid_score: list[float] | None
    stopped_early: bool
    best_epoch: int
    best_score: float | None
    optimizer_state: dict[str, Any]


def train_network(
    module: nn.Module,
    *,
    train_data: TensorDataset,
    valid_data: TensorDataset | None,
    per_sample_loss: Callable[[Tensor, Tensor], Tensor],
    score: Callable[[np.ndarray, np.ndarray], float],
    score_name: str,
    learning_rate: float,
    weight_decay: float,
    batch_size: int,
    max_epochs: int,
    n_iter_no_change: int,
    tol: float,
    device: torch.device,
    autocast_dtype: torch.dtype | None,
    verbose: int,
    shuffle_seed: int,
    optimizer_state: dict[str, Any] | None = None,
    distributed: bool = False,
    schedule: str = "constant",
    callbacks: list | None = None,
    members: Sequence[nn.Module] = (),
    cross_fitted: bool = False,
) -> TrainingResult:
    """Train ``module`` in place with AdamW and return its training history.

    Training stops when the monitored loss (validation loss when ``valid_data`` is
    given, else training loss) has not improved by ``tol`` for ``n_iter_no_change``
    epochs, or after ``max_epochs``. With validation data, the weights of the best
    validation epoch are restored at the end. ``autocast_dtype`` (e.g.
    ``torch.bfloat16``) runs the forward passes under :func:`torch.autocast`.
    ``shuffle_seed`` seeds the batch order, apart from torch's generator: dropout
    draws a different amount from that in each process of data-parallel training.
    ``optimizer_state`` (a previous result's) resumes AdamW's moments.
    ``schedule="cosine"`` warms the learning rate up over the first epoch, then
    decays it along a half cosine that reaches 0 after ``max_epochs`` (see
    :func:`warmup_cosine`); early stopping may end training before.
    ``callbacks`` (the estimator's parameter, see :func:`user_callbacks`) run after
    skattn's own, and may stop training too.

    With an ensemble's ``members`` (more than one), ``module`` returns their
    outputs (M, B, O) and the data carry each row's fold (see
    :class:`~skattn._members.MemberLoss`): with ``cross_fitted``, the validation
    data are the training rows themselves, the validation loss and score are out
    of fold, and each member keeps the weights of its own best epoch
    (:class:`BestMemberWeights`).

    With ``distributed``, this process is one of the initialised default
    :mod:`torch.distributed` group: ``module`` trains wrapped in
    :class:`~torch.nn.parallel.DistributedDataParallel`, each process on its share
    of every batch (see :class:`~skattn._batches.TensorBatches`); all hold the
    same data and seeds.
    """
    world_size, rank = 1, 0
    if distributed:
        module, world_size, rank = data_parallel(module, device)
    n_members = max(1, len(members))
    best_members = (
        BestMemberWeights(members, per_sample_loss, score)
        if n_members > 1 and cross_fitted
        else None
    )
    stopper = StopWhenStalled(
        monitor="valid_loss" if valid_data is not None else "train_loss",
        patience=n_iter_no_change,
        tol=tol,
        restore_best=valid_data is not None and best_members is None,
        restart_after_spike=valid_data is None,
    )
    steps_per_epoch = math.ceil(len(train_data) / batch_size)
    net = _Net(
        module,
        criterion=MemberLoss(per_sample_loss, n_members, cross_fitted)
        if n_members > 1
        else WeightedLoss(per_sample_loss),
        **_optimizer_params(learning_rate, weight_decay),
        max_epochs=max_epochs,
        batch_size=batch_size,
        **_iterator_params(shuffle_seed, rank, world_size),
        train_split=predefined_split(valid_data) if valid_data is not None else None,
        callbacks=_callbacks(
            stopper,
            best_members,
            score=score if valid_data is not None else None,
            schedule_steps=(max_epochs * steps_per_epoch, steps_per_epoch)
            if schedule == "cosine"
            else None,
            verbose=verbose,
        )
        + user_callbacks(callbacks),
        device=device,
        autocast_dtype=autocast_dtype,
        world_size=world_size,
        score_name=score_name,
        verbose=verbose,
    )
    _fit(net, train_data, optimizer_state)
    if distributed:
        # The DDP wrapper (and its gradient reducer) must be gone before the script
        # destroys the process group: freed later by the garbage collector, from the
        # reference cycles of skorch's net, it ended the process with std::terminate.
        net.module_ = None
        del module
        gc.collect()
    return _result(net, stopper, best_members, has_valid=valid_data is not None)


def _optimizer_params(learning_rate: float, weight_decay: float) -> dict[str, Any]:
    """skorch's parameters for AdamW: the learning rate, the fastest kernel, and no
    weight decay on the parameters of :data:`NO_WEIGHT_DECAY_PATTERNS`."""
    return {
        "optimizer": torch.optim.AdamW,
        "lr": learning_rate,
        "optimizer__weight_decay": weight_decay,
        **_ADAMW_KERNEL,
        "optimizer__param_groups": [
            (pattern, {"weight_decay": 0.0}) for pattern in NO_WEIGHT_DECAY_PATTERNS
        ],
    }


def _iterator_params(shuffle_seed: int, rank: int, world_size: int) -> dict[str, Any]:
    """skorch's parameters for the batches: :class:`TensorBatches`, the training
    ones shuffled by a generator seeded with ``shuffle_seed`` and cut into this
    process's shares."""
    return {
        "iterator_train": TensorBatches,
        "iterator_train__shuffle": True,
        "iterator_train__generator": torch.Generator().manual_seed(shuffle_seed),
        "iterator_train__rank": rank,
        "iterator_train__world_size": world_size,
        "iterator_valid": TensorBatches,
    }


def _callbacks(
    stopper: StopWhenStalled,
    best_members: BestMemberWeights | None,
    *,
    score: Callable[[np.ndarray, np.ndarray], float] | None,
    schedule_steps: tuple[int, int] | None,
    verbose: int,
) -> list[tuple[str, Callback]]:
    """The training callbacks, in the order they run: the validation score (with
    a ``score``), the divergence check, ``stopper``, ``best_members`` (if any:
    it puts the members' best weights back after ``stopper``), the warm-up and cosine
    schedule (with ``schedule_steps``, the steps of the schedule and of its
    warm-up; see :func:`warmup_cosine`), the whole-fit progress bar (``verbose >=
    1``) and the per-epoch one (``verbose >= 2``)."""
    callbacks: list[tuple[str, Callback]] = [
        ("divergence", RaiseOnDivergence()),
        ("stopper", stopper),
    ]
    if best_members is not None:
        callbacks.append(("best_members", best_members))
    if score is not None:
        callbacks.insert(0, ("valid_score", ValidationScore(score)))
    if schedule_steps is not None:
        factor = warmup_cosine(*schedule_steps)
        callbacks.append(
            (
                "schedule",
                LRScheduler(
                    policy=torch.optim.lr_scheduler.LambdaLR,
                    lr_lambda=factor,
                    step_every="batch",
                ),
            )
        )
    if verbose >= 1:
        callbacks.append(("fit_progress", FitProgress()))
    if verbose >= 2:
        callbacks.append(("progress_bar", ProgressBar()))
    return callbacks


def _fit(
    net: _Net, train_data: TensorDataset, optimizer_state: dict[str, Any] | None
) -> None:
    """Initialise ``net``, resume the optimizer's state if given, and train."""
    net.initialize()
    if optimizer_state is not None:
        net.optimizer_.load_state_dict(optimizer_state)
    with warnings.catch_warnings():
        # DDP's advice to drop find_unused_parameters when a step used every
        # weight: the next batch, without a missing value, may not.
        warnings.filterwarnings(
            "ignore", message=".*find_unused_parameters=True was specified"
        )
        net.partial_fit(train_data, y=None)  # fit() would initialise again


def _result(
    net: _Net,
    stopper: StopWhenStalled,
    best_members: BestMemberWeights | None,
    *,
    has_valid: bool,
) -> TrainingResult:
    """What the trained ``net``'s history, ``stopper`` and ``best_members`` tell
    the estimator."""
    history = net.history
    valid_score = [float(v) for v in history[:, "valid_score"]] if has_valid else None
    if best_members is not None:
        best_score = best_members.best_score()
    else:
        best_score = valid_score[stopper.best_epoch_ - 1] if valid_score else None
    return TrainingResult(
        n_epochs=len(history),
        train_loss=[float(v) for v in history[:, "train_loss"]],
        valid_loss=[float(v) for v in history[:, "valid_loss"]] if has_valid else None,
        valid_score=valid_score,
        stopped_early=net.stop_requested_,
        best_epoch=stopper.best_epoch_,
        best_score=best_score,
        optimizer_state=net.optimizer_.state_dict(),
    )
