"""AttentionMLPClassifier: the attention-MLP network as a scikit-learn classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin

from ._base import BaseAttentionMLP
from ._docstrings import fill_doc
from ._sklearn_private import StrOptions, _fit_context
from ._targets import ClassificationTarget


@fill_doc
class AttentionMLPClassifier(ClassifierMixin, BaseAttentionMLP):
    """Classifier whose features attend to each other before an MLP head.

    Every feature becomes a token (numerical: a learned linear embedding;
    categorical: a learned embedding table), a CLS token is prepended, and
    ``n_blocks`` blocks of multi-head self-attention followed by an MLP let the
    tokens weigh each other. The CLS token's final state feeds a linear layer with
    one logit per class. Trained with cross-entropy by AdamW. Accepts NumPy arrays
    and pandas DataFrames with numerical, categorical, string and boolean columns
    and missing values.

    Parameters
    ----------
    %(network_parameters)s

    %(training_parameters)s

    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, as ``{label: weight}``; "balanced" weighs classes
        inversely to their frequency. Multiplied into ``sample_weight``.

    %(input_parameters)s

    %(runtime_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.

    %(fitted_attributes)s

    See Also
    --------
    AttentionMLPRegressor : The same network for regression.
    AttentionFeatureExtractor : The same network's embedding as a transformer.
    sklearn.ensemble.HistGradientBoostingClassifier : Gradient-boosted trees.
    sklearn.neural_network.MLPClassifier : A plain multi-layer perceptron.

    Notes
    -----
    The network is the FT-Transformer of Gorishniy et al. (2021) at a smaller
    default size, trained by a private skorch loop. Attention weights are available
    through :meth:`attention_maps`.

    References
    ----------
    Gorishniy, Rubachev, Khrulkov, Babenko. "Revisiting Deep Learning Models for
    Tabular Data." NeurIPS 2021.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skattn import AttentionMLPClassifier
    >>> X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    >>> clf = AttentionMLPClassifier(d_token=16, random_state=0).fit(X, y)
    >>> clf.predict(X[:5]).shape
    (5,)
    >>> bool(clf.score(X, y) > 0.9)
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.attention_maps(X[:2]).shape  # rows, blocks, heads, tokens, tokens
    (2, 2, 4, 6, 6)
    """

    _parameter_constraints: dict = {
        **BaseAttentionMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
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
        class_weight: dict | str | None = None,
        categorical_features: Any = "auto",
        numerical_scaling: str | None = "quantile",
        numerical_embedding: str = "piecewise_linear",
        input_type: str = "auto",
        patch_size: int | str = "auto",
        n_cross_blocks: int = 1,
        n_latent_tokens: Any = "auto",
        device: Any = "auto",
        precision: str = "auto",
        compile: bool = False,
        distributed: bool = False,
        random_state: Any = None,
        verbose: int = 0,
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
            n_cross_blocks=n_cross_blocks,
            n_latent_tokens=n_latent_tokens,
            device=device,
            precision=precision,
            compile=compile,
            distributed=distributed,
            random_state=random_state,
            verbose=verbose,
            warm_start=warm_start,
            pretrained=pretrained,
        )
        self.class_weight = class_weight

    _target: ClassificationTarget

    def _make_target(self, y: Any) -> ClassificationTarget:
        return ClassificationTarget()

    def _class_weight(self) -> dict | str | None:
        return self.class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AttentionMLPClassifier:
        """Train the network on ``X`` and labels ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; may hold missing values and, in DataFrames or object
            arrays, categorical columns.
        y : array-like of shape (n_samples,)
            Class labels of any type (ints, strings, ...); at least two classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : AttentionMLPClassifier
            The fitted classifier.
        """
        self._fit(X, y, sample_weight)
        self.classes_ = self._target.classes_
        return self

    @fill_doc
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> AttentionMLPClassifier:
        """Train on one chunk of the data: one epoch over ``X``, ``y``.

        %(partial_fit_description)s

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            One chunk of training data.
        y : array-like of shape (n_samples,)
            Labels of the chunk's samples.
        classes : array-like of shape (n_classes,), default=None
            Every label that any chunk holds. Required on the first call, ignored
            after it unless it differs from :attr:`classes_`, which is an error.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the chunk's samples, scaled to mean one within
            the chunk.

        Returns
        -------
        self : AttentionMLPClassifier
            The updated classifier.
        """
        if not hasattr(self, "module_"):
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: every "
                    "label that any chunk holds"
                )
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(np.asarray(classes)).tolist()} differs from the "
                f"fitted classes_={self.classes_.tolist()}; a model's classes are "
                "fixed by its first fit or partial_fit"
            )
        self._partial_fit(X, y, sample_weight, classes=classes)
        self.classes_ = self._target.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the rows of ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of :attr:`classes_`.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        return self._target.probabilities(outputs)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed stably from the logits.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of :attr:`classes_`.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        return self._target.log_probabilities(outputs)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class label of each row of ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from :attr:`classes_`.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        return self._target.decode(outputs)
