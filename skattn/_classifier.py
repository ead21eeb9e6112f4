"""AttentionMLPClassifier: the attention-MLP network as a scikit-learn classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAttentionMLP
from ._docstrings import fill_doc
from ._parameters import MEMBER_CONSTRAINTS
from ._sklearn_private import StrOptions, _fit_context
from ._targets import (
    ClassificationTarget,
    MultiOutputClassificationTarget,
    classification_target,
)


@fill_doc
class AttentionMLPClassifier(ClassifierMixin, BaseAttentionMLP):
    """Classifier whose features attend to each other before an MLP head.

    Every feature becomes a token (numerical: by default a learned
    piecewise-linear embedding of its quantile bins; categorical: a learned
    embedding table), a CLS token is prepended, and
    ``n_blocks`` blocks of multi-head self-attention followed by an MLP let the
    tokens weigh each other. The CLS token's final state feeds a linear layer with
    one logit per class. Trained with cross-entropy by AdamW. Accepts NumPy arrays
    and pandas DataFrames with numerical, categorical, string and boolean columns
    and missing values.

    A 2-D ``y`` trains one network for several outputs at once: a binary indicator
    matrix (multi-label: one sigmoid per label) or columns of classes of any type
    (multi-output: a softmax per column), as scikit-learn's multi-output
    classifiers take them. ``classes_`` and ``predict_proba`` are then lists, one
    entry per column.

    Parameters
    ----------
    %(network_parameters)s

    %(training_parameters)s

    %(member_parameters)s

    class_weight : dict, list of dict, "balanced" or None, default=None
        Weights of the classes, as ``{label: weight}``; "balanced" weighs classes
        inversely to their frequency. Multiplied into ``sample_weight``. For a 2-D
        ``y``, one dict per column (``[{0: 1, 1: 5}, ...]`` for multi-label), or
        "balanced" per column; a sample's weights over the columns multiply, as in
        scikit-learn's forests. ``partial_fit`` refuses "balanced".

    %(input_parameters)s

    %(runtime_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        Class labels, sorted; for a 2-D ``y``, a list with the labels of each
        column (``[0, 1]`` for every column of an indicator matrix).

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
        **MEMBER_CONSTRAINTS,
        "class_weight": [dict, list, StrOptions({"balanced"}), None],
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
        class_weight: dict | list | str | None = None,
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
        self.class_weight = class_weight

    _target: ClassificationTarget | MultiOutputClassificationTarget

    def _make_target(
        self, y: Any
    ) -> ClassificationTarget | MultiOutputClassificationTarget:
        return classification_target(y, self)

    def _class_weight(self) -> dict | list | str | None:
        return self.class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> AttentionMLPClassifier:
        """Train the network on ``X`` and labels ``y``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; may hold missing values and, in DataFrames or object
            arrays, categorical columns.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels of any type (ints, strings, ...); at least two classes.
            2-D: a binary indicator matrix (multi-label) or one column of labels
            per output, with two classes in at least one column; a sparse
            indicator matrix is accepted.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : AttentionMLPClassifier
            The fitted classifier.
        """
        self._fit(X, y, sample_weight)
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
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Labels of the chunk's samples.
        classes : array-like of shape (n_classes,) or list of them, default=None
            Every label that any chunk holds. Required on the first call, ignored
            after it unless it differs from :attr:`classes_`, which is an error.
            For a 2-D ``y``, a list with one array of labels per column, or one
            array that every column shares (``[0, 1]`` for multi-label).
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
        elif classes is not None:
            self._target.check_classes(classes)
        self._partial_fit(X, y, sample_weight, classes=classes)
        return self

    @property
    def classes_(self) -> np.ndarray | list[np.ndarray]:
        """The labels, read from the fitted target (so never out of step with it)."""
        if "_target" not in vars(self):
            raise AttributeError(
                f"This {type(self).__name__} has no classes_ before it is fitted"
            )
        return self._target.classes_

    def predict_proba(self, X: Any) -> np.ndarray | list[np.ndarray]:
        """Class probabilities of the rows of ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Probabilities, columns in the order of :attr:`classes_`. For a model
            fitted on a 2-D ``y``, a list with one such array per column of ``y``,
            as :class:`~sklearn.multioutput.MultiOutputClassifier` returns.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        return self._target.probabilities(outputs)

    def predict_log_proba(self, X: Any) -> np.ndarray | list[np.ndarray]:
        """Log of :meth:`predict_proba`, computed stably from the logits.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes) or list of ndarray
            Log-probabilities, columns in the order of :attr:`classes_`; a list
            of them, one per column of ``y``, for a 2-D ``y``.
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
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Labels from :attr:`classes_`.
        """
        outputs = self._run_network(X)  # checks fitted and X first
        return self._target.decode(outputs)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy of :meth:`predict` on ``X``; for a 2-D ``y``, the share of
        rows whose every column is right (subset accuracy).

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        score : float
            Mean (weighted) accuracy.
        """
        check_is_fitted(self)
        return self._target.accuracy(y, self.predict(X), sample_weight, self)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        return tags
