"""``mlflow.sklearn.autolog()`` for skattn's estimators.

MLflow's scikit-learn autologging patches the ``fit`` of the estimators that
``sklearn.utils.all_estimators`` lists (scikit-learn's own) and of its
meta-estimators; other libraries' estimators fit unlogged. So skattn's ``fit``
does what that patch does, when it is on: in the active run (or a run of its own,
ended with the fit, when none is active) it logs the estimator's parameters (as
``get_params(deep=True)`` gives them, like MLflow), tags with its name and class,
every epoch's ``train_loss``, ``valid_loss`` and validation metric (``valid_accuracy``,
``valid_r2``, ...; step = epoch), and after the fit ``training_score``, the
estimator's ``score`` on the training data.

It follows MLflow's rules: nothing is logged when autologging is off, when
``exclusive=True`` and the run is the user's, or inside a fit that MLflow itself
patched (a ``Pipeline`` or ``GridSearchCV`` around a skattn estimator: MLflow
logs that fit, with skattn's parameters among the pipeline's). The model itself is
not logged: skattn is not on a package index, so MLflow could not write a
requirement that installs it; ``mlflow.sklearn.log_model(model, ...)`` logs it
with the requirements a serving environment has.

skattn never imports MLflow: only a process that imported it can have turned
autologging on.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator
from typing import Any

from skorch.callbacks import Callback
from skorch.net import NeuralNet

_FLAVOR = "sklearn"
_MAX_PARAM_LENGTH = 6000  # MLflow's limit on a parameter's value

# The epoch logger of the fit running in this thread (or task), if it is logged.
_epoch_logger: contextvars.ContextVar[EpochMetrics | None] = contextvars.ContextVar(
    "skattn_mlflow_epoch_logger", default=None
)


def _autologging() -> Any | None:
    """MLflow, if its scikit-learn autologging should log this fit; else None."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    try:
        from mlflow.utils import autologging_utils as utils

        if utils.autologging_is_disabled(_FLAVOR):
            return None
        if utils._has_active_training_session():
            return None  # a fit that MLflow patched logs this one
        exclusive = utils.get_autologging_config(_FLAVOR, "exclusive", False)
    except (ImportError, AttributeError):  # an MLflow without these
        return None
    if exclusive and mlflow.active_run() is not None:
        return None
    return mlflow


class EpochMetrics(Callback):
    """Log each epoch's losses and validation metric to the active MLflow run, at
    steps counted over the whole fit (a pretrained model's linear probing, then
    its fine-tuning, follow each other)."""

    def __init__(self, mlflow: Any) -> None:
        self.mlflow = mlflow
        self.step = 0

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        record = net.history[-1]
        names = {
            "train_loss": "train_loss",
            "valid_loss": "valid_loss",
            "valid_score": f"valid_{net.score_name}",
        }
        metrics = {
            logged: float(record[key]) for key, logged in names.items() if key in record
        }
        self.step += 1
        self.mlflow.log_metrics(metrics, step=self.step)


def autolog_callbacks() -> list[tuple[str, Callback]]:
    """The callback that logs the running fit's epochs, if it is logged."""
    logger = _epoch_logger.get()
    return [] if logger is None else [("mlflow_autolog", logger)]


def _param_value(value: Any) -> str:
    return str(value)[:_MAX_PARAM_LENGTH]


@contextlib.contextmanager
def autologged_fit(
    estimator: Any, X: Any, y: Any, sample_weight: Any
) -> Iterator[None]:
    """Log the fit that runs inside this context, as described above."""
    mlflow = _autologging()
    if mlflow is None:
        yield
        return
    own_run = mlflow.active_run() is None
    if own_run:
        mlflow.start_run()
    token = _epoch_logger.set(EpochMetrics(mlflow))
    status = "FAILED"
    try:
        cls = type(estimator)
        mlflow.set_tags(
            {
                "estimator_name": cls.__name__,
                "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
            }
        )
        params = estimator.get_params(deep=True)
        mlflow.log_params({name: _param_value(v) for name, v in params.items()})
        yield
        if y is not None and hasattr(estimator, "score"):
            score = estimator.score(X, y, sample_weight=sample_weight)
            mlflow.log_metric("training_score", float(score))
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        _epoch_logger.reset(token)
        if own_run:
            mlflow.end_run(status)
