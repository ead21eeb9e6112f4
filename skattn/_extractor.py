"""AttentionFeatureExtractor: the network's learned embedding as a transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin

from . import _state_checks as checks
from ._base import BaseAttentionMLP
from ._docstrings import fill_doc
from ._network import AttentionMLPNetwork
from ._reconstruction import ReconstructionTarget
from ._sklearn_private import Interval, StrOptions, _fit_context
from ._targets import RegressionTarget, Target, classification_target, infer_target


@fill_doc
class AttentionFeatureExtractor(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseAttentionMLP
):
    """Learned attention-MLP embedding of each row, as a scikit-learn transformer.

    ``fit(X, y)`` trains the network of :class:`AttentionMLPClassifier` (or
    :class:`AttentionMLPRegressor`) on the target ``y``. ``fit(X)`` without labels
    trains it self-supervised: a random ``mask_fraction`` of each row's features
    (or patches of time steps) is hidden, and the network reconstructs the whole
    row from its CLS token (squared error for numbers, cross-entropy for
    categories), stopping early on the reconstruction loss of held-out rows.
    ``transform`` returns, for each row, the representation the trained network's
    output layer reads: the CLS token after the last block, normalised, projected
    to ``n_components`` and passed through a ReLU. Feed it to any downstream
    estimator, e.g. a linear model, or start a classifier or regressor from this
    network with their ``pretrained`` parameter.

    Parameters
    ----------
    n_components : int or None, default=None
        Width of the returned embedding. None uses the CLS token itself
        (:attr:`d_token_` columns) without a projection.

    objective : {"auto", "classification", "regression", "reconstruction"}, \
default="auto"
        What the network learns. ``"reconstruction"``: the masked rows of ``X``
        (see above), ignoring ``y``. ``"classification"`` and ``"regression"``:
        ``y``. ``"auto"``: reconstruction when ``fit`` gets no ``y``, else
        classification for binary or multiclass labels (including integers), for
        a binary indicator matrix (multi-label) and for columns of classes
        (multi-output), and regression for real values. Early stopping
        ``"auto"`` is on for reconstruction from 101 rows, since it needs no labels
        to hold out. A ``warm_start`` fit keeps the objective of the first fit.

    mask_fraction : float, default=0.3
        Share of each row's features (patches of steps, for sequences) hidden
        from the network at each reconstruction step, drawn anew every time.
        Only used by ``objective="reconstruction"``.

    %(network_parameters)s

    %(training_parameters)s

    %(input_parameters)s

    %(runtime_parameters)s

    Attributes
    ----------
    objective_ : {"classification", "regression", "reconstruction"}
        The objective the network was trained on. With "reconstruction",
        ``validation_scores_`` are minus the mean reconstruction loss.

    %(fitted_attributes)s

    See Also
    --------
    AttentionMLPClassifier : The classifier whose network this transformer trains.
    AttentionMLPRegressor : The regressor whose network this transformer trains.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from skattn import AttentionFeatureExtractor
    >>> X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    >>> extractor = AttentionFeatureExtractor(n_components=8, d_token=16,
    ...                                       random_state=0)
    >>> extractor.fit_transform(X, y).shape
    (200, 8)
    >>> extractor.get_feature_names_out()[:2]
    array(['attentionfeatureextractor0', 'attentionfeatureextractor1'],
          dtype=object)
    """

    _parameter_constraints: dict = {
        **BaseAttentionMLP._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "objective": [
            StrOptions({"auto", "classification", "regression", "reconstruction"})
        ],
        "mask_fraction": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        *,
        n_components: int | None = None,
        objective: str = "auto",
        mask_fraction: float = 0.3,
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
        self.n_components = n_components
        self.objective = objective
        self.mask_fraction = mask_fraction

    def _learns_reconstruction(self, y: Any) -> bool:
        return self.objective == "reconstruction" or (
            self.objective == "auto" and y is None
        )

    def _labels_required(self) -> bool:
        return self.objective in ("classification", "regression")

    def _make_target(self, y: Any) -> Target:
        if self._learns_reconstruction(y):
            return ReconstructionTarget(self._input, self.mask_fraction)
        if self.objective == "classification":
            return classification_target(y, self)
        if self.objective == "regression":
            return RegressionTarget()
        return infer_target(y, self)

    def _embedding_width(self) -> int | None:
        return self.n_components

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self, X: Any, y: Any = None, sample_weight: Any = None
    ) -> AttentionFeatureExtractor:
        """Train the network on ``X``, with the target ``y`` or without labels.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Training data; may hold missing values and categorical columns.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), \
default=None
            The target the embedding is trained to predict; a 2-D ``y`` of labels
            is learned as :class:`AttentionMLPClassifier` learns it, one output
            per column. None (with ``objective="auto"`` or ``"reconstruction"``)
            trains without labels, by reconstructing masked rows of ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples in the loss.

        Returns
        -------
        self : AttentionFeatureExtractor
            The fitted transformer.
        """
        self._fit(X, y, sample_weight)
        self.objective_ = self._target.name
        self._n_features_out = self.n_components or self.d_token_
        return self

    def _check_state(self) -> None:
        super()._check_state()
        checks.choice(self, "objective_", (self._target.name,))
        checks.choice(self, "n_members_", (1,))  # its transform is one network's
        width = self.n_components or self.d_token_
        checks.integer(self, "_n_features_out", width, width)

    def transform(self, X: Any) -> np.ndarray:
        """Embed the rows of ``X``.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        X_embedded : ndarray of shape (n_samples, n_components)
            The learned representation, float64.
        """
        return self._run_network(X, embed=True)

    def transform_tokens(self, X: Any) -> np.ndarray:
        """Per-token embeddings: for sequences, one vector per patch of steps.

        Parameters
        ----------
        X : {array-like, DataFrame, sequences, TwoInputs}
            Input samples, of the kind the model was fitted on.

        Returns
        -------
        tokens : ndarray of shape (n_samples, n_tokens, `d_token_`)
            The main input's tokens after the last block, in the order of
            :attr:`token_names_` without the CLS token; NaN for the padding tokens
            after a sequence's end. With latent tokens (``n_latent_tokens_``), the
            latent tokens instead, of shape (n_samples, `n_latent_tokens_`, `d_token_`).
        """
        chunks = []
        _, batches = self._input_chunks(X)
        with self._inference():
            for _, batch in batches:
                network = self.module_  # one network: the extractor has no members
                assert isinstance(network, AttentionMLPNetwork)
                tokens, padding, _ = network.encode(batch)  # (B, T, D), (B, T)
                tokens = tokens.masked_fill(padding[..., None], float("nan"))
                chunks.append(tokens[:, 1:].float().cpu().numpy())
        return np.concatenate(chunks).astype(np.float64)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags
