"""AttentionMLPRegressor: the attention-MLP network as a scikit-learn regressor."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from ._base import BaseAttentionMLP
from ._docstrings import fill_doc
from ._sklearn_private import _fit_context
from ._targets import RegressionTarget


@fill_doc
class AttentionMLPRegressor(RegressorMixin, BaseAttentionMLP):
    """Regressor whose features attend to each other before an MLP head.

    The network of :class:`AttentionMLPClassifier` with one output per target,
    trained on standardised targets with mean squared error; predictions are mapped
    back to the original units. Single and multiple targets (a 2-D ``y``) are
    supported.

    Parameters
    ----------
    %(network_parameters)s

    %(training_parameters)s

    %(input_parameters)s

    %(runtime_parameters)s

    Attributes
    ----------
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

    _target: RegressionTarget

    def _make_target(self, y: Any) -> RegressionTarget:
        return RegressionTarget()

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

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
