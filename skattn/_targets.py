"""What differs between learning classes and learning numbers.

A target object names itself (``name``, the ``objective`` it learns), encodes ``y``
for the network, supplies the per-sample loss and the validation score, and decodes
the network's outputs back to the user's terms. The estimators hold one
(``_target``) and never branch on its type. A new kind of target is a new class
here, with the estimator or ``objective`` value that makes it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.special import log_expit, log_softmax, softmax
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from torch import Tensor, nn

from . import _state_checks as checks
from ._sklearn_private import check_y

# Early stopping "auto" holds out a validation split above this many samples. Below,
# the whole cosine schedule runs on all the rows: on the suite's two datasets under
# 2,000 rows that won (concrete RMSE 5.39 -> 4.36, digits accuracy 0.967 -> 0.972,
# seeds 0-1), while credit_data (4,454 rows) lost 4 points of accuracy without early
# stopping (benchmarks/accuracy_benchmark.py; docs/user_guide/benchmarks.rst).
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 2_000
_QUANTILE_AUTO_EARLY_STOPPING_MIN_SAMPLES = 100


class Target(ABC):
    """What the fitting sequence asks of every kind of target.

    Attributes
    ----------
    name : str
        The kind of target, as the extractor's ``objective_`` reports it.
    from_inputs : bool
        Whether the target is the encoded input itself (self-supervision) rather
        than ``y``.
    stratify : bool
        Whether a validation split keeps the share of each encoded target value.
    auto_early_stopping_min_samples : int
        ``early_stopping="auto"`` holds out rows above this many samples.
    member_combination : str
        How an ensemble's members' outputs combine (see
        :data:`skattn._members.COMBINATIONS`): averaged, unless a subclass says
        otherwise.
    """

    name: str
    from_inputs: bool
    stratify: bool
    auto_early_stopping_min_samples: int
    member_combination = "mean"

    @abstractmethod
    def fit(self, y: Any, estimator: object) -> Target:
        """Learn what encoding needs from the first ``y``."""

    @property
    @abstractmethod
    def n_outputs(self) -> int:
        """Width of the network's output layer."""

    @abstractmethod
    def encode(self, y: Any, estimator: object) -> np.ndarray:
        """The network's training target, one row per sample."""

    @abstractmethod
    def sample_weight_factor(
        self, y_encoded: np.ndarray, class_weight: dict | list | str | None
    ) -> np.ndarray:
        """Per-sample multipliers of the sample weights."""

    @abstractmethod
    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-sample loss (B,) of outputs (B, n_outputs)."""

    @abstractmethod
    def score(self, output: np.ndarray, target: np.ndarray) -> float:
        """Validation score of outputs, higher is better."""

    @property
    @abstractmethod
    def score_name(self) -> str:
        """What :meth:`score` measures, as the training log names it."""

    @abstractmethod
    def training_module(self, network: nn.Module) -> nn.Module:
        """The module that training runs (the network, or a wrapper of it)."""

    @abstractmethod
    def check_state(self) -> None:
        """Raise a ValueError unless the fitted state is one that :meth:`fit`
        makes (a state read from a file)."""


class _SupervisedTarget(Target):
    """What the supervised targets share: they learn ``y``, not the inputs."""

    from_inputs = False
    auto_early_stopping_min_samples = _AUTO_EARLY_STOPPING_MIN_SAMPLES

    def training_module(self, network: nn.Module) -> nn.Module:
        """The module to train: the network itself."""
        return network


class ClassificationTarget(_SupervisedTarget):
    """Labels of any type mapped to class indices; cross-entropy on logits."""

    name = "classification"
    stratify = True
    # A soft vote: the mean of the members' probabilities, as TabM predicts.
    member_combination = "probabilities"

    def fit(
        self, y: Any, estimator: object, classes: Any = None
    ) -> ClassificationTarget:
        """Learn the classes from ``y``, or take ``classes`` (all the labels that
        later chunks of a streamed fit may hold) when given."""
        y = self._check(y, estimator)
        # One class is a legal y, as for scikit-learn's MLPClassifier: the model
        # then predicts it with probability 1 (its single logit's softmax).
        self.classes_ = np.unique(y) if classes is None else _class_labels(classes)
        return self

    def check_state(self) -> None:
        checks.labels(self, "classes_", checks.attribute(self, "classes_", np.ndarray))

    @staticmethod
    def _check(y: Any, estimator: object) -> np.ndarray:
        y = check_y(y, multi_output=False, estimator=estimator)
        check_classification_targets(y)
        return y

    @property
    def n_outputs(self) -> int:
        return len(self.classes_)

    def encode(self, y: Any, estimator: object) -> np.ndarray:
        """Class indices (n_samples,) int64; labels unseen in fit are an error."""
        return _class_indices(self._check(y, estimator), self.classes_, "y")

    def decode(self, output: np.ndarray) -> np.ndarray:
        """The most probable label of each row of logits (n, n_classes)."""
        return self.classes_[output.argmax(axis=1)]

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes) of logits, columns as ``classes_``."""
        return softmax(output, axis=1)

    def log_probabilities(self, output: np.ndarray) -> np.ndarray:
        """The log of :meth:`probabilities`, computed stably from the logits."""
        return log_softmax(output, axis=1)

    def sample_weight_factor(
        self, y_encoded: np.ndarray, class_weight: dict | list | str | None
    ) -> np.ndarray:
        """Per-sample multipliers from ``class_weight`` (a dict keyed by label,
        "balanced" or None), as scikit-learn's classifiers apply it."""
        if isinstance(class_weight, list):
            raise ValueError(
                "class_weight as a list of dicts (one per output) is for a 2-D y; "
                "for a 1-D y pass one dict keyed by label, or 'balanced'"
            )
        if isinstance(class_weight, dict):
            class_weight = _weights_by_index(class_weight, self.classes_)
        return compute_sample_weight(class_weight, y_encoded)

    def check_classes(self, classes: Any) -> None:
        """Raise unless ``classes`` (of a later ``partial_fit``) are the fitted ones."""
        given = _class_labels(classes)
        if not np.array_equal(given, self.classes_):
            raise ValueError(
                f"classes={given.tolist()} differs from the "
                f"fitted classes_={self.classes_.tolist()}; a model's classes are "
                "fixed by its first fit or partial_fit"
            )

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(output, target, reduction="none")  # (B,)

    score_name = "accuracy"

    def score(self, output: np.ndarray, target: np.ndarray) -> float:
        """Accuracy of the logits ``output`` (n, n_classes)."""
        return float(np.mean(output.argmax(axis=1) == target))

    def accuracy(
        self, y: Any, y_pred: np.ndarray, sample_weight: Any, estimator: object
    ) -> float:
        """The classifier's ``score``: the (weighted) accuracy of ``y_pred``."""
        return float(accuracy_score(y, y_pred, sample_weight=sample_weight))


def _class_indices(labels: np.ndarray, classes: np.ndarray, where: str) -> np.ndarray:
    """The indices (int64) of ``labels`` among the sorted ``classes``; a label
    unseen in fit is an error naming ``where`` it is."""
    unseen = np.setdiff1d(np.unique(labels), classes)
    if len(unseen):
        raise ValueError(
            f"{where} contains labels that are not among the classes: "
            f"{unseen.tolist()}; the classes, from the first fit's y or partial_fit's "
            f"classes argument, are {classes.tolist()}"
        )
    return np.searchsorted(classes, labels).astype(np.int64)


def _weights_by_index(class_weight: dict, classes: np.ndarray) -> dict:
    """``class_weight`` keyed by label, re-keyed by class index."""
    unknown = set(class_weight) - set(classes.tolist())
    if unknown:
        unknown_labels = sorted(unknown, key=str)
        raise ValueError(
            f"class_weight has labels that are not classes: {unknown_labels}; "
            f"classes are {classes.tolist()}"
        )
    return {
        int(np.searchsorted(classes, label)): weight
        for label, weight in class_weight.items()
    }


class MultiOutputClassificationTarget(_SupervisedTarget):
    """Several columns of labels: a binary indicator matrix (multi-label) or
    columns of classes of any type (multi-output).

    Each output with two classes has one logit, learned with the binary
    cross-entropy of its sigmoid; an output with more classes has one logit per
    class and a softmax; an output with one class has no logit. The loss is the
    mean over the outputs, so that the learning rate does not depend on their
    number. The validation score is the mean of the outputs' accuracies (one minus
    the Hamming loss), which moves in finer steps than exact-match accuracy with
    many outputs. Validation splits are not stratified: most combinations of
    labels are rare.

    Attributes
    ----------
    classes_ : list of ndarray
        The sorted labels of each output. For a binary indicator matrix, every
        output has the two values of the whole matrix (``[0, 1]``, usually), even
        when one column holds only one of them.

    Notes
    -----
    ``n_outputs`` is, as for every target, the width of the network's output
    layer: the number of logits, not of columns of ``y``.
    """

    name = "classification"
    stratify = False

    def fit(
        self, y: Any, estimator: object, classes: Any = None
    ) -> MultiOutputClassificationTarget:
        """Learn each output's classes from ``y``, or take ``classes``: one array
        of labels per output, or one array for all of them."""
        y = self.check(y, estimator)
        columns = _label_columns(y)
        if classes is not None:
            self.classes_ = _classes_per_output(classes, len(columns))
        elif y.dtype.kind in "biuf" and type_of_target(y) == "multilabel-indicator":
            self.classes_ = [np.unique(y)] * len(columns)
        else:
            self.classes_ = [np.unique(column) for column in columns]
        if all(len(labels) < 2 for labels in self.classes_):
            raise ValueError(
                "A classifier needs samples of at least 2 classes in some column of "
                "y; every column of y holds one class"
            )
        return self

    def check_state(self) -> None:
        classes = checks.attribute(self, "classes_", list)
        if not classes:
            raise checks.state_error(self, "classes_", "is empty")
        for labels in classes:
            checks.labels(self, "classes_", labels)

    @staticmethod
    def check(y: Any, estimator: object) -> np.ndarray:
        """``y`` as a dense 2-D array, or a ValueError."""
        y = check_y(y, multi_output=True, estimator=estimator)
        if sp.issparse(y):
            y = y.toarray()
        if y.ndim != 2:
            raise ValueError(
                f"y must be 2-D for multi-output classification; got {y.ndim}-D"
            )
        return y

    @property
    def _offsets(self) -> np.ndarray:
        """Where each output's logits start, then the number of logits: none for
        one class, one (a sigmoid) for two, one per class for more."""
        widths = [len(c) if len(c) > 2 else len(c) - 1 for c in self.classes_]
        return np.concatenate([[0], np.cumsum(widths)]).astype(int)

    @property
    def n_outputs(self) -> int:
        return int(self._offsets[-1])

    def _groups(self) -> list[tuple[int, int, int]]:
        """``(output, first logit, logit after the last)`` of each output."""
        offsets = self._offsets
        return [
            (k, int(offsets[k]), int(offsets[k + 1])) for k in range(len(self.classes_))
        ]

    def encode(self, y: Any, estimator: object) -> np.ndarray:
        """Class indices (n_samples, n_outputs) int64; unseen labels are an error."""
        y = self.check(y, estimator)
        if y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} columns but the first fit had {len(self.classes_)}"
            )
        columns = zip(_label_columns(y), self.classes_, strict=True)
        return np.column_stack(
            [
                _class_indices(column, labels, f"column {k} of y")
                for k, (column, labels) in enumerate(columns)
            ]
        )

    def _indices(self, output: np.ndarray) -> np.ndarray:
        """The most probable class index of each output, (n, n_outputs)."""
        indices = np.zeros((len(output), len(self.classes_)), dtype=np.int64)
        for k, start, stop in self._groups():
            if stop - start == 1:
                indices[:, k] = output[:, start] > 0
            elif stop - start > 1:
                indices[:, k] = output[:, start:stop].argmax(axis=1)
        return indices

    def decode(self, output: np.ndarray) -> np.ndarray:
        """The most probable label of each output, (n, n_outputs), from logits."""
        indices = self._indices(output)
        dtypes = {labels.dtype for labels in self.classes_}
        labels = np.empty(
            indices.shape, dtype=dtypes.pop() if len(dtypes) == 1 else object
        )
        for k, classes in enumerate(self.classes_):
            labels[:, k] = classes[indices[:, k]]
        return labels

    def log_probabilities(self, output: np.ndarray) -> list[np.ndarray]:
        """Per output, the log-probabilities (n, n_classes) of its classes."""
        result = []
        for _, start, stop in self._groups():
            if stop == start:  # one class
                result.append(np.zeros((len(output), 1)))
            elif stop - start == 1:  # log(1 - sigmoid(z)), log(sigmoid(z))
                logit = output[:, start]
                result.append(np.column_stack([log_expit(-logit), log_expit(logit)]))
            else:
                result.append(log_softmax(output[:, start:stop], axis=1))
        return result

    def probabilities(self, output: np.ndarray) -> list[np.ndarray]:
        """Per output, the probabilities (n, n_classes), columns as its classes."""
        return [np.exp(log_proba) for log_proba in self.log_probabilities(output)]

    def sample_weight_factor(
        self, y_encoded: np.ndarray, class_weight: dict | str | list | None
    ) -> np.ndarray:
        """Per-sample multipliers from ``class_weight``: None, "balanced" or one
        dict per output keyed by its labels; the outputs' weights multiply, as in
        scikit-learn's multi-output forests."""
        if isinstance(class_weight, dict):
            raise ValueError(
                "for a 2-D y, class_weight must be 'balanced', None or a list of "
                f"{len(self.classes_)} dicts, one per column of y, keyed by its labels"
            )
        if isinstance(class_weight, list):
            if not all(isinstance(weights, dict) for weights in class_weight):
                raise ValueError(
                    "class_weight as a list must hold one dict per column of y; got "
                    f"{class_weight!r}"
                )
            if len(class_weight) != len(self.classes_):
                raise ValueError(
                    f"class_weight has {len(class_weight)} dicts but y has "
                    f"{len(self.classes_)} columns; pass one dict per column"
                )
            class_weight = [
                _weights_by_index(weights, labels)
                for weights, labels in zip(class_weight, self.classes_, strict=True)
            ]
        if class_weight is None:
            return np.ones(len(y_encoded))
        return compute_sample_weight(class_weight, y_encoded)

    def check_classes(self, classes: Any) -> None:
        """Raise unless ``classes`` (of a later ``partial_fit``) are the fitted ones."""
        given = _classes_per_output(classes, len(self.classes_))
        if not all(map(np.array_equal, given, self.classes_)):
            raise ValueError(
                f"classes={[c.tolist() for c in given]} differ from the fitted "
                f"classes_={[c.tolist() for c in self.classes_]}; a model's classes "
                "are fixed by its first fit or partial_fit"
            )

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-sample loss (B,): the mean over outputs of their cross-entropies,
        from logits (B, n_logits) and class indices (B, n_outputs)."""
        losses = []
        groups = self._groups()
        binary = [k for k, start, stop in groups if stop - start == 1]
        if binary:  # all the sigmoids in one call
            logits = output[:, [groups[k][1] for k in binary]]  # (B, K2)
            losses.append(
                F.binary_cross_entropy_with_logits(
                    logits, target[:, binary].to(logits.dtype), reduction="none"
                ).sum(dim=1)
            )
        for k, start, stop in groups:
            if stop - start > 1:
                losses.append(
                    F.cross_entropy(
                        output[:, start:stop], target[:, k], reduction="none"
                    )
                )
        n_learned = sum(stop > start for _, start, stop in groups)
        return torch.stack(losses).sum(dim=0) / n_learned  # (B,)

    score_name = "mean_accuracy"

    def score(self, output: np.ndarray, target: np.ndarray) -> float:
        """Mean accuracy over the outputs (one minus the Hamming loss)."""
        return float(np.mean(self._indices(output) == target))

    def accuracy(
        self, y: Any, y_pred: np.ndarray, sample_weight: Any, estimator: object
    ) -> float:
        """The classifier's ``score``: the share of rows whose every column is
        right (subset accuracy). scikit-learn's accuracy_score computes it for
        indicator matrices but refuses columns of several classes."""
        y_true = self.check(y, estimator)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"y has shape {y_true.shape} but the predictions have shape "
                f"{y_pred.shape}"
            )
        correct = np.all(y_true == y_pred, axis=1)
        return float(np.average(correct, weights=sample_weight))


def _label_columns(y: np.ndarray) -> list[np.ndarray]:
    """The columns of a 2-D ``y``, each checked as classification labels.

    A pandas ``y`` with a column of strings and one of numbers arrives as one
    object array; a column of numbers is given back its numeric dtype (scikit-learn
    reads an object array of numbers as labels of unknown type)."""
    columns = []
    for k, column in enumerate(y.T):
        if column.dtype == object:
            is_string = [isinstance(label, str) for label in column]
            if not any(is_string):
                column = np.asarray(column.tolist())
            elif not all(is_string):
                raise ValueError(
                    f"column {k} of y mixes strings with other labels; a column's "
                    "labels must be all strings or all numbers"
                )
        try:
            check_classification_targets(column)
        except ValueError as error:
            raise ValueError(f"column {k} of y: {error}") from None
        columns.append(column)
    return columns


def _class_labels(labels: Any, allow_empty: bool = False) -> np.ndarray:
    """``partial_fit``'s ``classes`` (an array-like of labels), sorted and unique;
    a ValueError for a missing label (NaN, None), which no y may hold, or for a
    shape that is not a list of labels (an empty one is the caller's to judge)."""
    array = np.asarray(labels)
    if array.ndim != 1 or (array.size == 0 and not allow_empty):
        raise ValueError(
            "classes must be a non-empty 1-D array-like of labels; got an array of "
            f"shape {array.shape}"
        )
    # As objects: NumPy turns a NaN among strings into the string "nan".
    elements = array if isinstance(labels, np.ndarray) else np.array(labels, object)
    missing = pd.isna(elements)
    if missing.any():
        raise ValueError(
            f"classes contains a missing label ({elements[missing][0]}): labels "
            f"cannot be missing; got classes={elements.tolist()}"
        )
    return np.unique(array)


def _classes_per_output(classes: Any, n_outputs: int) -> list[np.ndarray]:
    """``partial_fit``'s ``classes`` for a 2-D y: one array-like of labels per
    column, or one array-like that every column shares; sorted and unique."""
    per_output = (
        isinstance(classes, list | tuple)
        and len(classes) > 0
        and all(np.ndim(labels) == 1 for labels in classes)
    ) or (isinstance(classes, np.ndarray) and classes.ndim == 2)
    if not per_output:
        per_column = [_class_labels(classes, allow_empty=True)] * n_outputs
    elif len(classes) != n_outputs:
        raise ValueError(
            f"classes has {len(classes)} arrays of labels but y has {n_outputs} "
            "columns; pass one per column, or one array of labels for all columns"
        )
    else:
        per_column = [_class_labels(labels, allow_empty=True) for labels in classes]
    if any(len(labels) == 0 for labels in per_column):
        raise ValueError("classes holds an empty array of labels; every column has one")
    return per_column


# Losses of AttentionMLPRegressor, per sample on the standardised scale: (B, O) -> (B,).
# Huber's delta is 1 on that scale, one standard deviation of y.
_POINT_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "squared_error": lambda output, target: (output - target).square().mean(dim=1),
    "absolute_error": lambda output, target: (output - target).abs().mean(dim=1),
    "huber": lambda output, target: F.huber_loss(
        output, target, reduction="none", delta=1.0
    ).mean(dim=1),
}
REGRESSION_LOSSES = (*_POINT_LOSSES, "quantile")


class RegressionTarget(_SupervisedTarget):
    """Real targets standardised per output, learned with a point loss on that scale
    or with the pinball loss of one or several quantiles.

    Standardising is an increasing affine map, so every quantile (and the mean)
    maps back to the original units exactly, and R² and the pinball loss only
    change by the scale.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber", "quantile"}
        The training loss.
    quantiles : sequence of float, default=()
        Increasing quantiles in (0, 1) that ``loss="quantile"`` learns, one output
        each per target. :meth:`decode` returns the one closest to 0.5.
    """

    name = "regression"
    stratify = False

    @property
    def auto_early_stopping_min_samples(self) -> int:  # type: ignore[override]
        # Quantiles hold out rows from 101 samples on, as reconstruction does: on
        # diabetes (331 training rows) 100 epochs without stopping gave an 80%
        # interval that covered 22% of the held-out targets, early stopping 73%
        # (benchmarks/quantile_benchmark.py measures it on three datasets).
        if self.loss_name == "quantile":
            return _QUANTILE_AUTO_EARLY_STOPPING_MIN_SAMPLES
        return _AUTO_EARLY_STOPPING_MIN_SAMPLES

    def __init__(
        self,
        loss: str = "squared_error",
        quantiles: Sequence[float] | np.ndarray = (),
    ) -> None:
        self.loss_name = loss
        self.quantiles = np.asarray(quantiles, dtype=np.float64)

    def fit(self, y: Any, estimator: object) -> RegressionTarget:
        y = self._check(y, estimator)
        self.is_1d_ = y.ndim == 1
        y2d = y.reshape(len(y), -1)
        self.mean_ = y2d.mean(axis=0)
        # The standard deviation, computed on values divided by their largest
        # magnitude so that squaring huge targets (1e200) cannot overflow.
        spread = np.abs(y2d - self.mean_).max(axis=0)
        spread = np.where(spread > 0, spread, 1.0)
        scale = spread * ((y2d - self.mean_) / spread).std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)  # constant targets stay finite
        return self

    def check_state(self) -> None:
        loss = checks.choice(self, "loss_name", REGRESSION_LOSSES)
        quantiles = checks.array(self, "quantiles", kinds="f")
        if loss == "quantile" and not (
            len(quantiles)
            and (quantiles > 0).all()
            and (quantiles < 1).all()
            and (np.diff(quantiles) > 0).all()
        ):
            raise checks.state_error(
                self, "quantiles", "are not increasing quantiles in (0, 1)"
            )
        checks.attribute(self, "is_1d_", bool)
        mean = checks.array(self, "mean_", kinds="f")
        checks.array(self, "scale_", kinds="f", length=len(mean), positive=True)
        if not len(mean) or (self.is_1d_ and len(mean) != 1):
            raise checks.state_error(self, "mean_", f"has {len(mean)} targets")

    @staticmethod
    def _check(y: Any, estimator: object) -> np.ndarray:
        y = check_y(y, multi_output=True, y_numeric=True, estimator=estimator)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()  # (n, 1) is one target; predictions come back 1-D
        return y.astype(np.float64, copy=False)

    @property
    def _n_quantiles(self) -> int:
        return len(self.quantiles) if self.loss_name == "quantile" else 1

    @property
    def n_outputs(self) -> int:
        return len(self.mean_) * self._n_quantiles

    def encode(self, y: Any, estimator: object) -> np.ndarray:
        y = self._check(y, estimator)
        y2d = y.reshape(len(y), -1)
        if y2d.shape[1] != len(self.mean_):
            raise ValueError(
                f"y has {y2d.shape[1]} targets but the first fit had {len(self.mean_)}"
            )
        return ((y2d - self.mean_) / self.scale_).astype(np.float32)

    def quantile_values(self, output: np.ndarray) -> np.ndarray:
        """Quantiles in the units of ``y``, (n, n_quantiles), or (n, n_targets,
        n_quantiles) for a 2-D ``y``, from outputs (n, n_targets * n_quantiles).

        Sorted along the quantile axis, so that they never cross: sorting a set
        of quantile estimates never moves them further from the true quantiles
        (Chernozhukov, Fernández-Val and Galichon, 2010, "Quantile and
        probability curves without crossing")."""
        values = output.reshape(len(output), len(self.mean_), self._n_quantiles)
        values = np.sort(values, axis=2) * self.scale_[:, None] + self.mean_[:, None]
        return values[:, 0] if self.is_1d_ else values

    def decode(self, output: np.ndarray) -> np.ndarray:
        """Predictions in the units of ``y`` from outputs (n, n_outputs): the
        point prediction, or the quantile closest to the median."""
        if self.loss_name == "quantile":
            point = int(np.argmin(np.abs(self.quantiles - 0.5)))
            return self.quantile_values(output)[..., point]
        y = output * self.scale_ + self.mean_  # (n, O)
        return y.ravel() if self.is_1d_ else y

    def sample_weight_factor(
        self, y_encoded: np.ndarray, class_weight: dict | list | str | None
    ) -> np.ndarray:
        return np.ones(len(y_encoded))

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-sample loss (B,) of outputs (B, O * Q) for targets (B, O)."""
        if self.loss_name != "quantile":
            return _POINT_LOSSES[self.loss_name](output, target)
        quantiles = torch.as_tensor(self.quantiles, dtype=output.dtype).to(
            output.device
        )  # (Q,)
        error = target[:, :, None] - output.view(len(output), target.shape[1], -1)
        pinball = torch.maximum(quantiles * error, (quantiles - 1) * error)
        return pinball.mean(dim=(1, 2))  # (B,)

    @property
    def score_name(self) -> str:
        return "neg_pinball_loss" if self.loss_name == "quantile" else "r2"

    def score(self, output: np.ndarray, target: np.ndarray) -> float:
        """R² of the standardised predictions (equal to R² in the original units);
        for quantiles, minus the mean pinball loss, so that higher is better."""
        if self.loss_name == "quantile":
            loss = self.loss(torch.from_numpy(output), torch.from_numpy(target))
            return -float(loss.mean())
        return float(r2_score(target, output))


def classification_target(
    y: Any, estimator: object
) -> ClassificationTarget | MultiOutputClassificationTarget:
    """The classification target for ``y``: multi-output for a 2-D ``y`` of more
    than one column (a column vector is one output, raveled with a warning)."""
    y = check_y(y, multi_output=True, estimator=estimator)
    if y.ndim == 2 and y.shape[1] > 1:
        return MultiOutputClassificationTarget()
    return ClassificationTarget()


def infer_target(
    y: Any, estimator: object
) -> ClassificationTarget | MultiOutputClassificationTarget | RegressionTarget:
    """Pick the target kind for ``objective="auto"`` from the values of ``y``: labels
    (strings, integers, an indicator matrix) are classes, real values regression."""
    checked = check_y(y, multi_output=True, estimator=estimator)
    if checked.ndim == 2 and checked.shape[1] > 1 and checked.dtype == object:
        # Columns of labels of several types, which type_of_target cannot sort.
        return MultiOutputClassificationTarget()
    kind = type_of_target(checked, input_name="y")
    if kind in (
        "binary",
        "multiclass",
        "multilabel-indicator",
        "multiclass-multioutput",
    ):
        return classification_target(y, estimator)
    return RegressionTarget()
