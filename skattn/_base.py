"""The estimator base: the layers of :class:`BaseAttentionMLP`, and pickling.

:class:`BaseAttentionMLP` stacks layers with one job each, every one reading what the
layers below it provide:

1. :class:`~skattn._parameters.AttentionMLPParameters`: parameters, constraints,
   the subclasses' hooks, and building the network;
2. :class:`~skattn._inference.InferenceMixin`: running the fitted network on new data;
3. :class:`~skattn._explanations.ExplanationsMixin`: attention maps, feature
   attention and importances, token names;
4. :class:`~skattn._fitting.FitMixin`: the training sequence of ``fit`` and
   ``partial_fit``.

Subclasses differ only in the target they learn (:mod:`skattn._targets`), the public
prediction methods, and their tags.
"""

from __future__ import annotations

import torch

from . import _state_checks as checks
from ._fitting import FitMixin, fitted_sizes_of_before, parameters_of_before
from ._inputs import PairInput, SingleInput
from ._runtime import cuda_index, tensors_to_numpy
from ._targets import Target


class BaseAttentionMLP(FitMixin):
    """Base class of the attention-MLP estimators; not for direct use."""

    # -- persistence --------------------------------------------------------------
    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())  # BaseEstimator returns self.__dict__
        module = state.pop("module_", None)
        if module is not None:
            # The weights as NumPy arrays rather than a torch module: a pickle then
            # holds no GPU tensors, so a GPU-trained model loads anywhere, and skops
            # (which stores no torch objects) can save the model too.
            state["_network_weights"] = tensors_to_numpy(module.state_dict())
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if "_input" in state:  # fitted: a pickle of before ensembles has one network
            state.setdefault("n_members_", 1)
            fitted_sizes_of_before(state)
        parameters_of_before(state)
        weights = state.pop("_network_weights", None)
        super().__setstate__(state)
        if weights is None:
            return
        device = self.device_
        if device.type == "cuda":
            index = cuda_index(device) if torch.cuda.is_available() else -1
            if not 0 <= index < torch.cuda.device_count():
                device = torch.device("cpu")  # trained on a GPU this machine lacks
        self._load_network(weights, device)

    def _check_state(self) -> None:
        """Raise a ValueError unless the fitted state is one that a fit makes: the
        input encoding, the target, and the estimator's own fitted attributes,
        which must agree with them (for a state read from a file)."""
        input = checks.attribute(self, "_input", (SingleInput, PairInput))
        input.check_state()
        checks.attribute(self, "_target", Target).check_state()
        checks.choice(self, "input_kind_", (input.kind,))
        # At most 1,024 members: a file cannot make load_model build millions.
        checks.integer(self, "n_members_", 1, 1 << 10)
        width = checks.integer(self, "d_token_", 1, 1 << 16)
        if width % self.n_heads:
            raise checks.state_error(
                self,
                "d_token_",
                f"is {width}, which n_heads={self.n_heads} does not divide",
            )
        checks.integer(self, "max_iter_", 1, 1 << 62)
        n_features = checks.integer(self, "n_features_in_", 1, 1 << 31)
        if n_features != input.n_features:
            raise checks.state_error(
                self, "n_features_in_", f"is {n_features}, its input has "
                f"{input.n_features}"
            )  # fmt: skip
        if "feature_names_in_" in vars(self):
            names = checks.array(self, "feature_names_in_", kinds="OU")
            if len(names) != n_features:
                raise checks.state_error(
                    self, "feature_names_in_", f"are not {n_features} names"
                )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "module_")

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True  # densified: one token per feature
        tags.input_tags.categorical = True
        tags.input_tags.string = True  # string columns are categorical
        return tags
