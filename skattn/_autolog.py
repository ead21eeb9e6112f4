"""``mlflow.sklearn.autolog()`` for skattn's estimators.

MLflow's scikit-learn autologging patches the ``fit`` of the estimators that
``sklearn.utils.all_estimators`` lists (scikit-learn's own) and of its
meta-estimators; other libraries' estimators fit unlogged. So skattn's ``fit``
does what that patch does, when it is on: in the active run (or a run of its own,
ended with the fit, when none is active) it logs the estimator's parameters (as
``get_params(deep=True)`` gives them, like MLflow), tags with its name and class,
every epoch's ``train_loss``, ``valid_loss`` and validation metric
(``valid_accuracy``, ``valid_r2``, ...; step = epoch), and after the fit
``training_score``, the estimator's ``score`` on the training data.

It follows MLflow's rules: nothing is logged when autologging is off (or
disabled for a block by ``disable_autologging()``), when ``exclusive=True`` and
the run is the user's, or inside a fit that MLflow itself patched (a
``Pipeline`` or ``GridSearchCV`` around a skattn estimator: MLflow logs that fit,
with skattn's parameters among the pipeline's). Tags given as
``autolog(extra_tags=...)`` are set. The model itself is not logged: skattn is
not on a package index, so MLflow could not write a requirement that installs
it; ``mlflow.sklearn.log_model(model, ...)`` logs it with the requirements a
serving environment has.

As MLflow's patches do, it never fails a fit: an error of MLflow's (a tracking
server out of reach, a parameter logged twice with two values in one run) is a
warning, and the fit goes on.

skattn never imports MLflow: only a process that imported it can have turned
autologging on.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
import warnings
from collections.abc import Callable, Iterator
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
        if getattr(utils, "_AUTOLOGGING_GLOBALLY_DISABLED", False):
            return None  # inside mlflow.utils.autologging_utils.disable_autologging()
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
        self.failed = False

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
        if not self.failed:  # one warning, not one per epoch
            self.failed = not _safely(
                "log the epoch's metrics",
                lambda: self.mlflow.log_metrics(metrics, step=self.step),
            )


def autolog_callbacks() -> list[tuple[str, Callback]]:
    """The callback that logs the running fit's epochs, if it is logged."""
    logger = _epoch_logger.get()
    return [] if logger is None else [("mlflow_autolog", logger)]


def _safely(what: str, action: Callable[[], object]) -> bool:
    """Run ``action``; on an error, warn that MLflow could not do ``what``."""
    try:
        action()
    except Exception as exc:
        warnings.warn(
            f"MLflow autologging could not {what} ({type(exc).__name__}: {exc}); "
            "the fit goes on",
            UserWarning,
            stacklevel=2,
        )
        return False
    return True


def _log_estimator(mlflow: Any, estimator: Any) -> None:
    """What MLflow logs of a scikit-learn estimator before its fit: parameters and
    tags (with ``autolog(extra_tags=...)``)."""
    from mlflow.utils import autologging_utils as utils

    cls = type(estimator)
    tags = {
        "estimator_name": cls.__name__,
        "estimator_class": f"{cls.__module__}.{cls.__qualname__}",
    }
    tags.update(utils.get_autologging_config(_FLAVOR, "extra_tags", None) or {})
    mlflow.set_tags(tags)
    params = estimator.get_params(deep=True)
    mlflow.log_params(
        {name: str(value)[:_MAX_PARAM_LENGTH] for name, value in params.items()}
    )


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
    if own_run and not _safely("start a run", mlflow.start_run):
        yield
        return
    token = _epoch_logger.set(EpochMetrics(mlflow))
    status = "FAILED"
    try:
        _safely("log the parameters", lambda: _log_estimator(mlflow, estimator))
        yield
        if y is not None and hasattr(estimator, "score"):
            _safely(
                "log the training score",
                lambda: mlflow.log_metric(
                    "training_score",
                    float(estimator.score(X, y, sample_weight=sample_weight)),
                ),
            )
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        _epoch_logger.reset(token)
        if own_run:
            _safely("end its run", lambda: mlflow.end_run(status))
