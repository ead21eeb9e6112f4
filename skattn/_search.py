"""Where to search when the defaults are not enough: a search space for scikit-learn's
``GridSearchCV`` and ``RandomizedSearchCV``, and for optuna's ``OptunaSearchCV``.

The defaults are meant to be good without a search (see the accuracy benchmark); the
space below spans the parameters that moved scores most in the FT-Transformer and
TabM papers' tuning spaces, scaled down to what a CPU fits in minutes: depth and
width, the learning rate, weight decay and dropout, and the numerical embedding.
"""

from __future__ import annotations

from typing import Any

from scipy.stats import loguniform, randint, uniform

_KINDS = ("random", "grid", "optuna")


def search_space(kind: str = "random", *, prefix: str = "") -> dict[str, Any]:
    """A search space over the parameters of the skattn estimators.

    Parameters
    ----------
    kind : {"random", "grid", "optuna"}, default="random"
        ``"random"``: distributions and lists for
        :class:`~sklearn.model_selection.RandomizedSearchCV` (sample 10-30
        candidates). ``"grid"``: 12 candidates for
        :class:`~sklearn.model_selection.GridSearchCV` around the defaults
        (learning rate, weight decay, depth). ``"optuna"``: the ``"random"``
        space as optuna distributions, for ``optuna_integration.OptunaSearchCV``
        (needs optuna; its sampler then chooses where to look).
    prefix : str, default=""
        Put before every name, for an estimator inside a
        :class:`~sklearn.pipeline.Pipeline` (e.g. ``"attentionmlpclassifier__"``).

    Returns
    -------
    space : dict
        Parameter names to a distribution (with an ``rvs`` method) or a list of
        values (optuna distributions for ``"optuna"``); a new dict at every call,
        free to edit.

    Examples
    --------
    >>> from sklearn.model_selection import RandomizedSearchCV
    >>> from skattn import AttentionMLPRegressor, search_space
    >>> search = RandomizedSearchCV(
    ...     AttentionMLPRegressor(), search_space(), n_iter=20, cv=3, random_state=0
    ... )
    >>> sorted(search_space("grid"))
    ['learning_rate', 'n_blocks', 'weight_decay']
    """
    if kind == "random":
        space: dict[str, Any] = {
            "n_blocks": randint(1, 5),  # 1 to 4
            "d_token": [32, 64, 96, 128],
            "learning_rate": loguniform(3e-4, 3e-3),
            "weight_decay": loguniform(1e-6, 1e-3),
            "ffn_dropout": uniform(0.0, 0.3),
            "attention_dropout": [0.0, 0.1, 0.2],
            "residual_dropout": [0.0, 0.1],
            "numerical_embedding": ["piecewise_linear", "linear"],
        }
    elif kind == "optuna":
        space = _optuna_space()
    elif kind == "grid":
        space = {
            "learning_rate": [5e-4, 1e-3, 2e-3],
            "weight_decay": [1e-5, 1e-4],
            "n_blocks": [1, 2],
        }
    else:
        raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}")
    return {prefix + name: values for name, values in space.items()}


def _optuna_space() -> dict[str, Any]:
    """The ``"random"`` space in optuna's terms: the same ranges, log scales and
    choices."""
    try:
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )
    except ImportError as exc:
        raise ImportError(
            'search_space("optuna") needs optuna: pip install optuna '
            "optuna-integration (OptunaSearchCV lives in optuna-integration)"
        ) from exc
    return {
        "n_blocks": IntDistribution(1, 4),
        "d_token": CategoricalDistribution([32, 64, 96, 128]),
        "learning_rate": FloatDistribution(3e-4, 3e-3, log=True),
        "weight_decay": FloatDistribution(1e-6, 1e-3, log=True),
        "ffn_dropout": FloatDistribution(0.0, 0.3),
        "attention_dropout": CategoricalDistribution([0.0, 0.1, 0.2]),
        "residual_dropout": CategoricalDistribution([0.0, 0.1]),
        "numerical_embedding": CategoricalDistribution(["piecewise_linear", "linear"]),
    }
