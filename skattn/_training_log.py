"""What a fit says while it trains (``verbose``): its lines and its progress bar.

Lines (the epoch table at ``verbose >= 1``, the reason training stopped) go to the
``"skattn"`` logger when logging is set up to show its INFO records (a handler
anywhere up to the root, and INFO enabled), so that they land where an
application's logs go, with its format; otherwise they are printed to stdout, as
scikit-learn's estimators print. Colour codes only ever reach a terminal.

The whole-fit progress bar (an epoch a step, with the latest losses) is tqdm's, on
stderr, shown only when stderr is a terminal (tqdm's own rule for ``disable=None``):
piped logs get the lines and no bar.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from skorch import NeuralNet
from skorch.callbacks import Callback, PrintLog
from tqdm.auto import tqdm

logger = logging.getLogger("skattn")

_ANSI_CODES = re.compile(r"\x1b\[[0-9;]*m")


def say(text: str) -> None:
    """Send one line of training output to the ``"skattn"`` logger (when it shows
    INFO records somewhere) or to stdout (colour codes kept only for a terminal)."""
    if logger.isEnabledFor(logging.INFO) and logger.hasHandlers():
        logger.info(_ANSI_CODES.sub("", text))
        return
    stdout = sys.stdout
    if not (hasattr(stdout, "isatty") and stdout.isatty()):
        text = _ANSI_CODES.sub("", text)
    tqdm.write(text, file=stdout)  # above a progress bar, if one is shown


class EpochTable(PrintLog):
    """skorch's epoch table, written with :func:`say`, its validation score
    column named after the metric (``valid_accuracy``, ``valid_r2``, ...)."""

    def __init__(self, score_name: str = "score") -> None:
        super().__init__(sink=say)
        self.score_name = score_name

    def table(self, row: Any) -> str:
        named = f"valid_{self.score_name}"
        renamed = {(named if key == "valid_score" else key): row[key] for key in row}
        text: str = super().table(renamed)
        return text


class FitProgress(Callback):
    """One progress bar over the fit's epochs (tqdm on stderr, terminals only),
    its postfix the latest training and validation losses."""

    def on_train_begin(self, net: NeuralNet, **kwargs: object) -> None:
        self.bar_ = tqdm(
            total=net.max_epochs,
            desc="fit",
            unit="epoch",
            file=sys.stderr,
            disable=None,  # no bar unless stderr is a terminal
            leave=False,
        )

    def on_epoch_end(self, net: NeuralNet, **kwargs: object) -> None:
        record = net.history[-1]
        losses = {
            key: f"{record[key]:.4f}"
            for key in ("train_loss", "valid_loss")
            if key in record
        }
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net: NeuralNet, **kwargs: object) -> None:
        self.bar_.close()
