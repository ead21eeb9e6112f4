"""AttentionMLPRegressor: the attention-MLP network as a scikit-learn regressor."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAttentionMLP
from ._docstrings import fill_doc
from ._parameters import MEMBER_CONSTRAINTS
from ._sklearn_private import Interval, StrOptions, _fit_context
from ._targets import REGRESSION_LOSSES, RegressionTarget


@fill_doc
class AttentionMLPRegressor(RegressorMixin, BaseAttentionMLP):
    """Regressor whose features attend to each other before an MLP head.

    The network of :class:`AttentionMLPClassifier` with one output per target
    (and per quantile), trained on standardised targets with mean squared error or
    the ``loss`` chosen; predictions are mapped back to the original units. Single
    and multiple targets (a 2-D ``y``) are supported.

    Parameters
    ----------
    %(network_parameters)s

    %(training_parameters)s

    %(member_parameters)s

    loss : {"squared_error", "absolute_error", "huber", "quantile"}, \
default="squared_error"
        The loss on the standardised targets: squared error (predicts the
        mean), absolute error (the median), Huber's loss with ``delta`` one
        standard deviation of ``y`` (squared within it, absolute beyond: the mean,
        less pulled by outliers), or the pinball loss of ``quantile``.

    quantile : float or array-like of float, default=0.5
        With ``loss="quantile"``: the quantile to predict, in (0, 1), or several,
        learned together by one network (one output per target and quantile).
        With several, the median is learned too, and :meth:`predict` returns it;
        :meth:`predict_quantiles` returns them all. Ignored by the other losses.

    %(input_parameters)s

    %(runtime_parameters)s

    Attributes
    ----------
    quantiles_ : ndarray of shape (n_quantiles,)
        With ``loss="quantile"``: the quantiles learned, increasing (the
        ``quantile`` parameter, with 0.5 added when several are asked for).

    %(fitted_attributes)s

    See Also
    --------
    AttentionMLPClassifier : The same network for classification.
    AttentionFeatureExtractor : The same network's embedding as a transformer.
    sklearn.ensemble.HistGradientBoostingRegressor : Gradient-boosted trees.
    sklearn.neural_network.MLPRegressor : A plain multi-layer perceptron.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skattn import AttentionMLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> reg = AttentionMLPRegressor(d_token=16, max_iter=200, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **BaseAttentionMLP._parameter_constraints,
        **MEMBER_CONSTRAINTS,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "quantile": [Interval(Real, 0, 1, closed="neither"), "array-like"],
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
        n_members: int | str = "auto",
        loss: str = "squared_error",
        quantile: Any = 0.5,
        categorical_features: Any = "auto",
        numerical_scaling: str | None = "quantile",
        numerical_embedding: str = "piecewise_linear",
        input_type: str = "auto",
        patch_size: int | str = "auto",
        sequence_tokenizer: str = "auto",
        n_cross_blocks: int = 1,
        n_latent_tokens: Any = "auto",
        device: Any = "auto",
        precision: str = "auto",
        compile: bool = False,
        distributed: bool = False,
        n_threads: int | str | None = "auto",
        random_state: Any = None,
        verbose: int = 0,
        callbacks: list | None = None,
        warm_start: bool = False,
        pretrained: Any = None,
    ) -> None:
        super().__init__(
            n_blocks=n_blocks,
            d_token=d_token,
            n_heads=n_heads,
            activation=activation,
            ffn_factor=ffn_factor,
            attention_dropout=attention_dropout,
            ffn_dropout=ffn_dropout,
            residual_dropout=residual_dropout,
            learning_rate=learning_rate,
            learning_rate_schedule=learning_rate_schedule,
            weight_decay=weight_decay,
            batch_size=batch_size,
            max_iter=max_iter,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            categorical_features=categorical_features,
            numerical_scaling=numerical_scaling,
            numerical_embedding=numerical_embedding,
            input_type=input_type,
            patch_size=patch_size,
            sequence_tokenizer=sequence_tokenizer,
            n_cross_blocks=n_cross_blocks,
            n_latent_tokens=n_latent_tokens,
            device=device,
            precision=precision,
            compile=compile,
            distributed=distributed,
            n_threads=n_threads,
            random_state=random_state,
            verbose=verbose,
            callbacks=callbacks,
            warm_start=warm_start,
            pretrained=pretrained,
        )
        self.n_members = n_members
        self.loss = loss
        self.quantile = quantile

    _target: RegressionTarget

    def _make_target(self, y: Any) -> RegressionTarget:
        if self.loss != "quantile":
            return RegressionTarget(self.loss)
        return RegressionTarget("quantile", self._quantiles())

    def _quantiles(self) -> np.ndarray:
        """The increasing quantiles to learn, from the ``quantile`` parameter."""
        asked = np.asarray(self.quantile, dtype=np.float64)
        if asked.ndim > 1 or asked.size == 0:
            raise ValueError(
                "quantile must be a float or a 1-D array-like of floats in (0, 1); "
                f"got {self.quantile!r}"
            )
        if asked.ndim == 1 and not ((asked > 0) & (asked < 1)).all():
            raise ValueError(f"every quantile must lie in (0, 1); got {asked.tolist()}")
        quantiles = np.unique(asked)
        if len(quantiles) < asked.size:
            raise ValueError(f"quantile has repeated values: {asked.tolist()}")
        return np.union1d(quantiles, [0.5]) if len(quantiles) > 1 else quantiles

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AttentionMLPRegressor:
        """Train the network on ``X`` and targets ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; may hold missing values and categorical columns.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Real-valued targets, without NaN or infinity.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : AttentionMLPRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight)

    @property
    def quantiles_(self) -> np.ndarray:
        """The quantiles learned (only after a fit with ``loss="quantile"``)."""
        check_is_fitted(self)
        if self._target.loss_name != "quantile":
            raise AttributeError(
                f"quantiles_ is set by loss='quantile'; this model was fitted with "
                f"loss={self._target.loss_name!r}"
            )
        return self._target.quantiles

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, sample_weight: Any = None
    ) -> AttentionMLPRegressor:
        """Train on one chunk of the data: one epoch over ``X``, ``y``.

        %(partial_fit_description)s

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            One chunk of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets of the chunk's samples.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's samples, scaled to mean one within
            the chunk.

        Returns
        -------
        self : AttentionMLPRegressor
            The updated regressor.
        """
        self._partial_fit(X, y, sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets of the rows of ``X``, in the units of ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            1-D when ``y`` was 1-D in fit.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        return self._target.decode(outputs)

    @available_if(lambda self: self.loss == "quantile")
    def predict_quantiles(self, X: Any) -> np.ndarray:
        """Every learned quantile of the target for the rows of ``X``.

        Only with ``loss="quantile"``. The quantiles of a row are sorted, so they
        never cross; ``predict_quantiles(X)[:, [0, -1]]`` of
        ``quantile=[0.1, 0.9]`` is an 80% interval, calibrated on the training
        distribution only (see :ref:`quantiles` for conformal calibration).

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            Input samples.

        Returns
        -------
        quantiles : ndarray of shape (n_samples, n_quantiles) or \
(n_samples, n_targets, n_quantiles)
            In the units of ``y``, in the order of :attr:`quantiles_`.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        if self._target.loss_name != "quantile":
            raise ValueError(
                f"this model was fitted with loss={self._target.loss_name!r}; refit it "
                "with loss='quantile' to predict quantiles"
            )
        return self._target.quantile_values(outputs)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
