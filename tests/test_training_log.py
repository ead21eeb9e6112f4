"""What ``verbose`` shows: plain lines in pipes, colour in terminals, Python's logging
when it is set up, the validation metric by name, and a progress bar over the fit."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
)

SMALL = dict(d_token=8, n_heads=2, n_blocks=1, random_state=0, early_stopping=True)
ESCAPE = "\x1b["


class Terminal(io.StringIO):
    def isatty(self):
        return True


def data(n_rows=200):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 3))
    return X, (X[:, 0] > 0).astype(int)


def test_piped_output_has_no_colour_codes_and_names_the_metric(capsys):
    AttentionMLPClassifier(**SMALL, max_iter=3, verbose=1).fit(*data())
    out = capsys.readouterr().out
    assert ESCAPE not in out
    assert out.splitlines()[0].split() == [
        "epoch", "train_loss", "valid_accuracy", "valid_loss", "dur"
    ]  # fmt: skip
    assert len(out.splitlines()) == 2 + 3


def test_a_terminal_gets_colour(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    AttentionMLPClassifier(**SMALL, max_iter=3, verbose=1).fit(*data())
    assert ESCAPE in terminal.getvalue()  # the best epochs' values are highlighted


@pytest.mark.parametrize(
    "make, metric",
    [
        (lambda: AttentionMLPRegressor(**SMALL, max_iter=2, verbose=1), "valid_r2"),
        (
            lambda: AttentionMLPRegressor(
                **SMALL, max_iter=2, verbose=1, loss="quantile", quantile=0.9
            ),
            "valid_neg_pinball_loss",
        ),
        (
            lambda: AttentionFeatureExtractor(**SMALL, max_iter=2, verbose=1),
            "valid_neg_reconstruction_loss",
        ),
    ],
)
def test_every_target_names_its_validation_metric(capsys, make, metric):
    X, y = data()
    model = make()
    model.fit(X) if isinstance(model, AttentionFeatureExtractor) else model.fit(
        X, X[:, 0]
    )
    assert metric in capsys.readouterr().out.splitlines()[0].split()


def test_lines_go_through_logging_once_it_shows_them(capsys, caplog):
    caplog.set_level(logging.INFO, logger="skattn")
    AttentionMLPClassifier(**SMALL, max_iter=3, verbose=1).fit(*data())
    assert capsys.readouterr().out == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "skattn"]
    assert len(lines) == 2 + 3 and "valid_accuracy" in lines[0]
    assert not any(ESCAPE in line for line in lines)


def test_a_progress_bar_over_the_fit_in_terminals_only(monkeypatch, capsys):
    X, y = data()
    AttentionMLPClassifier(**SMALL, max_iter=3, verbose=1).fit(X, y)
    assert "epoch" not in capsys.readouterr().err  # stderr is a pipe: no bar
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    AttentionMLPClassifier(**SMALL, max_iter=3, verbose=1).fit(X, y)
    bar = terminal.getvalue()
    assert "fit" in bar and "3/3" in bar and "train_loss=" in bar
