"""Plots of what a fitted skattn model attends to (needs matplotlib).

matplotlib is an optional dependency (``pip install matplotlib``, or the ``plot`` extra
of a checkout: ``pip install -e ".[plot]"``), imported when a function here is first
called. Every function draws on the axes it is given (or on new
ones), returns the matplotlib objects it drew on, and never calls ``show()``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skattn.plotting needs matplotlib, an optional dependency: "
            "pip install matplotlib (or, in a checkout of skattn's repository, "
            "pip install -e '.[plot]'; skattn is not on a package index yet)"
        ) from exc
    return plt


def _feature_names(estimator: Any) -> list[str]:
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        return [f"x{j}" for j in range(estimator.n_features_in_)]
    return [str(name) for name in names]


def _one_sample(X: Any) -> None:
    n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    if n_samples != 1:
        raise ValueError(
            f"X must hold exactly one sample to plot its attention; got {n_samples} "
            "(select one, e.g. X.iloc[[i]] or X[i : i + 1])"
        )


def plot_feature_importances(
    estimator: Any, *, max_features: int | None = 20, ax: Any = None
) -> Any:
    """Horizontal bar chart of a fitted model's ``feature_importances_``.

    Parameters
    ----------
    estimator : fitted skattn estimator
        Fitted on a table (``feature_importances_`` exists).
    max_features : int or None, default=20
        Show the most important features only; None shows all.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's axes by default.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on, the most important feature at the top.
    """
    plt = _pyplot()
    importances = estimator.feature_importances_
    order = np.argsort(importances)[::-1][:max_features]
    names = _feature_names(estimator)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.3 * len(order) + 1))
    positions = np.arange(len(order))[::-1]
    ax.barh(positions, importances[order])
    ax.set_yticks(positions, [names[j] for j in order])
    ax.set_xlabel("mean attention of the CLS token")
    ax.set_title(f"{type(estimator).__name__}: attention-based feature importance")
    return ax


def plot_attention_map(
    estimator: Any, X: Any, *, block: int | None = None, ax: Any = None
) -> Any:
    """Heat map of one sample's attention.

    By default, the CLS token's attention to each input feature in each block and
    head (one row per block and head): where the prediction looked, step by step.
    With ``block``, the full token-to-token map of that block, averaged over heads.

    Parameters
    ----------
    estimator : fitted skattn estimator
        Fitted on a table or sequences, without latent tokens or a context input
        (whose maps :meth:`attention_maps` returns as a dict).
    X : array-like, DataFrame or sequences
        Exactly one sample, of the kind the model was fitted on.
    block : int, default=None
        Show the full map of this block instead of the CLS rows of all blocks.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure's axes by default.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on; its image carries a colour bar.
    """
    plt = _pyplot()
    _one_sample(X)
    maps = estimator.attention_maps(X)
    if isinstance(maps, dict):
        raise ValueError(
            "plot_attention_map draws models with one attention stack; this model "
            f"has several ({', '.join(maps)}): plot attention_maps(X)[name] yourself"
        )
    tokens = list(estimator.token_names_)
    sample = maps[0]  # (n_blocks, n_heads, T, T)
    n_blocks, n_heads = sample.shape[:2]
    if block is None:
        matrix = sample[:, :, 0, :].reshape(n_blocks * n_heads, -1)  # (B*H, T)
        rows = [f"block {b} head {h}" for b in range(n_blocks) for h in range(n_heads)]
        columns = tokens
        title = "attention of the CLS token"
    else:
        if not -n_blocks <= block < n_blocks:
            raise ValueError(f"block={block} is out of range for {n_blocks} blocks")
        matrix = sample[block].mean(axis=0)  # (T, T)
        rows = columns = tokens
        title = f"block {block}, mean over heads"
    if ax is None:
        width = max(4.0, 0.35 * len(columns) + 2)
        _, ax = plt.subplots(figsize=(width, 0.3 * len(rows) + 1.5))
    matrix = matrix[: len(rows), : len(columns)]  # sequences: up to token_names_
    image = ax.imshow(matrix, aspect="auto", cmap="viridis")
    ax.set_xticks(np.arange(len(columns)), columns, rotation=90)
    ax.set_yticks(np.arange(len(rows)), rows)
    ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, label="attention weight")
    return ax


def plot_sequence_attention(estimator: Any, X: Any, *, axes: Any = None) -> np.ndarray:
    """One sequence, with the attention the prediction paid to each step below it.

    Parameters
    ----------
    estimator : fitted skattn estimator
        Fitted on sequences.
    X : 3-D array or list of arrays
        Exactly one sequence, of shape (1, n_steps, n_channels) or a list of one
        (n_steps, n_channels) or (n_steps,) array.
    axes : array of 2 matplotlib Axes, default=None
        Where to draw the series and the attention; a new figure's two axes,
        sharing the time axis, by default.

    Returns
    -------
    axes : ndarray of 2 matplotlib Axes
        The series (one line per channel) and the attention over its steps
        (:meth:`feature_attention`).
    """
    plt = _pyplot()
    _one_sample(X)
    if estimator.input_kind_ != "sequence":
        raise ValueError(
            "plot_sequence_attention draws models fitted on sequences; this one was "
            f"fitted on {estimator.input_kind_} data"
        )
    attention = estimator.feature_attention(X)[0]  # (n_steps,)
    series = np.asarray(X[0], dtype=float)
    series = series.reshape(len(series), -1)  # (n_steps, n_channels)
    if axes is None:
        _, axes = plt.subplots(
            2, 1, sharex=True, figsize=(7, 4), gridspec_kw={"height_ratios": [2, 1]}
        )
    axes = np.asarray(axes)
    steps = np.arange(len(series))
    axes[0].plot(steps, series)
    axes[0].set_ylabel("value")
    axes[0].set_title("sequence, and the attention of the CLS token over its steps")
    axes[1].bar(np.arange(len(attention)), attention, width=1.0)
    axes[1].set_xlim(-0.5, len(series) - 0.5)
    axes[1].set_xlabel("time step")
    axes[1].set_ylabel("attention")
    return axes
