"""Self-supervised training without labels: reconstruct masked inputs.

:class:`skattn.AttentionFeatureExtractor` fitted without ``y`` learns its embedding as
a denoising autoencoder whose bottleneck is the CLS token. During training a random
``mask_fraction`` of each row's features (of a table) or patches of steps (of a
sequence) is hidden from the network, in the way a missing value is: the tokenizer
then emits its learned "missing" token for them. The output layer reads the CLS
embedding, the representation ``transform`` returns, and must reconstruct every
observed value of the row, hidden or not:

- numerical features and sequence values on the encoder's scale (quantile-normal or
  standardised), by squared error;
- categorical features, by cross-entropy over the feature's categories.

A sample's loss is the mean over its observed values, so missing values never count.
Held-out rows are masked too, with a fixed pattern, so that early stopping compares
the same task from epoch to epoch.

NOTE[DIFF]: BERT-style masked modelling predicts the hidden tokens from their own
positions; here every value is predicted from the CLS token alone, because that is
the vector ``transform`` hands to the downstream model. Reconstructing the visible
values too (as denoising autoencoders do, Vincent et al., 2008) keeps it a summary of
the whole row rather than of the hidden part.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import _state_checks as checks
from ._inputs import Input, SingleInput
from ._inputs.table_encoder import MISSING_CODE
from ._targets import Target

# Early stopping "auto" holds out rows above this many samples: below, a 10% hold-out
# has under 10 rows, too few to stop on.
_AUTO_EARLY_STOPPING_MIN_SAMPLES = 100
# Held-out rows get the same mask at every epoch (see the module docstring).
_VALIDATION_MASK_SEED = 0


class ReconstructionTarget(Target):
    """The "target" of a self-supervised fit: the encoded input itself.

    The input encoder says what its arrays hold (``reconstruction_layout``:
    real values first, then categorical codes) and how to hide parts of them
    (``hide``), so that this class works for every kind of single input.

    Parameters
    ----------
    input : SingleInput or PairInput
        The fitted input encoder, which fixes the layout of the encoded arrays (a
        PairInput refuses in ``fit``: two inputs have no single layout).
    mask_fraction : float
        Share of features (or patches of steps) hidden from the network per row.
    """

    name = "reconstruction"
    stratify = False
    from_inputs = True
    auto_early_stopping_min_samples = _AUTO_EARLY_STOPPING_MIN_SAMPLES

    def __init__(self, input: Input, mask_fraction: float) -> None:
        self.input = input
        self.mask_fraction = mask_fraction

    def fit(self, y: None, estimator: object) -> ReconstructionTarget:
        # A TwoInputs encoder raises here: it has no single layout to reconstruct.
        self.n_numerical_, self.cardinalities_ = self.input.reconstruction_layout()
        return self

    def check_state(self) -> None:
        checks.number(self, "mask_fraction", 0.0, 1.0)
        checks.attribute(self, "input", SingleInput).check_state()
        layout = (
            checks.attribute(self, "n_numerical_", int),
            checks.attribute(self, "cardinalities_", list),
        )
        if layout != self.input.reconstruction_layout():
            raise checks.state_error(
                self, "cardinalities_", "and n_numerical_ do not fit its input"
            )

    @property
    def n_outputs(self) -> int:
        return self.n_numerical_ + sum(self.cardinalities_)

    def encode(self, arrays: dict[str, np.ndarray], estimator: object) -> np.ndarray:
        """The values to reconstruct, (n_samples, n_numerical + n_categorical)
        float32: numerical values (NaN where missing), then categorical codes."""
        return self.input.reconstruction_values(arrays)

    def sample_weight_factor(
        self, y_encoded: np.ndarray, class_weight: dict | list | str | None
    ) -> np.ndarray:
        return np.ones(len(y_encoded))

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-sample mean reconstruction loss over the observed values, (B,)."""
        n_num = self.n_numerical_
        numerical, codes = (
            target[:, :n_num],
            target[:, n_num:].long(),
        )  # (B, Fn), (B, Fc)
        observed = ~torch.isnan(numerical)  # (B, Fn)
        error = torch.where(observed, output[:, :n_num] - numerical, 0.0)
        total = error.square().sum(dim=1)  # (B,)
        count = observed.sum(dim=1)  # (B,)
        start = n_num
        for j, cardinality in enumerate(self.cardinalities_):
            logits = output[:, start : start + cardinality]  # (B, K_j)
            code = codes[:, j]  # (B,)
            known = code != MISSING_CODE
            cross_entropy = F.cross_entropy(logits, code, reduction="none")  # (B,)
            total = total + torch.where(known, cross_entropy, 0.0)
            count = count + known
            start += cardinality
        return total / count.clamp_min(1)

    score_name = "neg_reconstruction_loss"

    def score(self, output: np.ndarray, target: np.ndarray) -> float:
        """Minus the mean reconstruction loss, so that higher is better."""
        loss = self.loss(torch.from_numpy(output), torch.from_numpy(target))
        return -float(loss.mean())

    def training_module(self, network: nn.Module) -> nn.Module:
        return MaskedInputs(network, self.mask_fraction, self.input)


class MaskedInputs(nn.Module):
    """Wrap a network so that it sees its inputs with random parts hidden.

    The input encoder hides them as missing values (its ``hide``). In training mode
    each call draws a fresh mask from the fit's generator (``generator``, seeded by
    the estimator; torch's global one when unset);
    in eval mode the mask is fixed.
    """

    def __init__(self, network: nn.Module, mask_fraction: float, input: Input) -> None:
        super().__init__()
        self.network = network
        self.mask_fraction = mask_fraction
        self.input = input
        self.generator: torch.Generator | None = None  # set while a fit trains

    def _hidden(self, shape: tuple[int, ...], device: torch.device) -> Tensor:
        """(shape) bool, True for each unit to hide."""
        generator = self.generator  # the fit's, while it trains
        if not self.training:
            generator = torch.Generator(device=device)
            generator.manual_seed(_VALIDATION_MASK_SEED)
        draws = torch.rand(shape, generator=generator, device=device)
        return draws < self.mask_fraction

    def forward(self, inputs: dict[str, Tensor]) -> Tensor:
        return self.network(self.input.hide(inputs, self._hidden))
