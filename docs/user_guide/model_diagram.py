"""Diagrams of skattn's network, drawn by matplotlib's plot directive at build time.

``draw_network`` shows one input (a table row); ``draw_variants`` the two other
layouts: two inputs with cross-attention, and latent tokens for wide inputs.
(The plot directive runs this file as ``__main__`` before it calls the function,
so the file itself must draw nothing.)
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

COLORS = {
    "input": "#e8e8e8",
    "token": "#cfe2f3",
    "cls": "#f9cb9c",
    "attention": "#b6d7a8",
    "mlp": "#ffe599",
    "norm": "#d9d2e9",
    "head": "#f4cccc",
    "block": "#fafafa",
}


def _box(ax, x, y, w, h, text, kind, fontsize=8, **kwargs):
    """A rounded box with its lower left corner at (x, y)."""
    ax.add_patch(
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0.2,rounding_size=0.6",
            facecolor=COLORS[kind],
            edgecolor=kwargs.pop("edgecolor", "#555555"),
            linewidth=kwargs.pop("linewidth", 0.8),
            **kwargs,
        )
    )
    if text:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, text=None, text_offset=(0, 0.8), **kwargs):
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops=dict(arrowstyle="-|>", color="#333333", lw=0.9, **kwargs),
    )
    if text:
        ax.text(
            (start[0] + end[0]) / 2 + text_offset[0],
            (start[1] + end[1]) / 2 + text_offset[1],
            text,
            ha="center",
            va="bottom",
            fontsize=7,
            color="#333333",
        )


def _plus(ax, x, y):
    ax.add_patch(plt.Circle((x, y), 1.1, facecolor="white", edgecolor="#333333"))
    ax.text(x, y, "+", ha="center", va="center", fontsize=9)


def _canvas(width, height, xlim, ylim):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def draw_network():
    """One table row through the tokenizer, the blocks and the head."""
    fig, ax = _canvas(11, 4.6, (0, 124), (2, 50))

    # A row of X and its tokens.
    ax.text(8, 46, "one row of X", ha="center", fontsize=9, weight="bold")
    ax.text(33, 46, "tokens (width d_token)", ha="center", fontsize=9, weight="bold")
    _box(ax, 27, 37, 12, 4, "[CLS] (learned)", "cls")
    rows = [
        ("age = 52", "$x_j w_j + b_j$", "token: age"),
        ("plan = 'pro'", "embedding", "token: plan"),
        ("income = NaN", "missing token", "token: income"),
    ]
    for i, (value, how, token) in enumerate(rows):
        y = 29 - 8 * i
        _box(ax, 2, y, 12, 4, value, "input")
        _arrow(ax, (14.6, y + 2), (26.4, y + 2), how)
        _box(ax, 27, y, 12, 4, token, "token")
    ax.text(33, 7, "T = F + 1 tokens", ha="center", fontsize=8, style="italic")

    # One pre-norm block, repeated n_blocks times.
    _box(ax, 44, 6, 56, 40, "", "block", linewidth=1.2, edgecolor="#888888")
    ax.text(72, 43, "block, repeated n_blocks times", ha="center", fontsize=9)
    # Every token enters the block.
    for y_token in (39, 31, 23, 15):
        ax.plot([39.4, 41.5], [y_token, y_token], color="#333333", lw=0.9)
    ax.plot([41.5, 41.5], [15, 39], color="#333333", lw=0.9)
    _arrow(ax, (41.5, 25), (46.4, 25))
    y = 22
    _box(ax, 47, y, 7, 6, "Layer\nNorm", "norm")
    _arrow(ax, (54.6, 25), (56.4, 25))
    _box(ax, 57, y, 11, 6, "multi-head\nattention", "attention")
    _plus(ax, 71, 25)
    _arrow(ax, (68.6, 25), (69.9, 25))
    _arrow(ax, (72.1, 25), (73.4, 25))
    _box(ax, 74, y, 7, 6, "Layer\nNorm", "norm")
    _arrow(ax, (81.6, 25), (83.4, 25))
    _box(ax, 84, y - 3, 11, 12, "MLP\n\nLinear\nReGLU\nDropout\nLinear", "mlp")
    _plus(ax, 97.5, 25)
    _arrow(ax, (95.6, 25), (96.4, 25))
    # Residual connections around each half.
    for x0, x1 in ((45.5, 71), (72.5, 97.5)):
        ax.plot([x0, x0, x1], [25, 33, 33], color="#333333", lw=0.9)
        _arrow(ax, (x1, 33), (x1, 26.1))
    ax.text(58, 34, "residual", fontsize=7)
    ax.text(84, 34, "residual", fontsize=7)
    ax.text(
        62.5,
        13.5,
        r"$\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_h}}\right)V$" + "\nper head",
        ha="center",
        va="center",
        fontsize=8,
    )
    ax.annotate(
        "",
        xy=(62.5, 21.4),
        xytext=(62.5, 17),
        arrowprops=dict(arrowstyle="-", color="#888888", lw=0.8, ls="--"),
    )
    ax.text(89.5, 13, "hidden width\nffn_factor x d_token", ha="center", fontsize=7)

    # The head reads the CLS token only.
    _arrow(ax, (98.7, 25), (104.4, 25))
    ax.text(113, 46, "head", ha="center", fontsize=9, weight="bold")
    _box(ax, 105, 36, 16, 4, "CLS token", "cls")
    _box(ax, 105, 27, 16, 5, "LayerNorm, ReLU", "norm")
    _box(ax, 105, 18, 16, 5, "Linear", "head")
    _box(ax, 105, 8, 16, 5, "class logits\nor targets", "input")
    ax.plot([102, 102, 104.6], [25, 38, 38], color="#333333", lw=0.9)
    _arrow(ax, (113, 35.4), (113, 32.6))
    _arrow(ax, (113, 26.4), (113, 23.6))
    _arrow(ax, (113, 17.4), (113, 13.6))
    fig.tight_layout()


def draw_variants():
    """Two inputs with cross-attention, and latent tokens for wide inputs."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, title in (
        (left, "TwoInputs(main, context): cross-attention"),
        (right, "wide input: latent tokens (n_latent_tokens)"),
    ):
        ax.set_xlim(0, 60)
        ax.set_ylim(0, 46)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.text(30, 44, title, ha="center", fontsize=9, weight="bold")

    # Left: main and context, each with its own self-attention, then cross-attention.
    ax = left
    _box(ax, 1, 30, 14, 5, "main tokens\n[CLS] + table", "cls")
    _box(ax, 1, 8, 14, 5, "context tokens\nsteps or columns", "token")
    _box(ax, 19, 29, 15, 7, "n_blocks\nself-attention", "attention")
    _box(ax, 19, 7, 15, 7, "n_blocks\nself-attention", "attention")
    _arrow(ax, (15.6, 32.5), (18.4, 32.5))
    _arrow(ax, (15.6, 10.5), (18.4, 10.5))
    _box(ax, 38, 18, 13, 10, "n_cross_blocks\ncross-attention\n+ MLP", "mlp")
    _arrow(ax, (34.6, 32.5), (40, 28.6))
    _arrow(ax, (34.6, 10.5), (40, 17.4))
    ax.text(38.5, 31.5, "queries Q", fontsize=7)
    ax.text(38.5, 12, "keys K, values V", fontsize=7)
    _box(ax, 54, 20.5, 5, 5, "head", "head")
    _arrow(ax, (51.6, 23), (53.4, 23))
    ax.text(
        44.5,
        37,
        r"$\mathrm{softmax}\left(\frac{Q_{main} K_{ctx}^\top}{\sqrt{d_h}}\right)"
        r"V_{ctx}$",
        ha="center",
        fontsize=8,
    )

    # Right: latent tokens read the F feature tokens, then attend among themselves.
    ax = right
    for i in range(6):
        _box(ax, 1, 4 + 5.5 * i, 8, 3.5, f"feature {i}" if i < 5 else "...", "token")
    ax.text(5, 38, "F feature tokens\n(keys, values)", ha="center", fontsize=7.5)
    _box(ax, 15, 29, 12, 6, "[CLS] + L\nlatent tokens", "cls")
    _box(ax, 15, 12, 12, 10, "read block\ncross-attention\ncost F x L", "attention")
    _arrow(ax, (21, 28.4), (21, 22.6))
    ax.text(22, 25, "queries", fontsize=7)
    for i in range(6):
        _arrow(ax, (9.6, 5.75 + 5.5 * i), (14.4, 17))
    blocks = "n_blocks - 1\nblocks over\n1 + L tokens\ncost L x L"
    _box(ax, 32, 12, 14, 10, blocks, "mlp")
    _arrow(ax, (27.6, 17), (31.4, 17))
    _box(ax, 50, 14.5, 6, 5, "head", "head")
    _arrow(ax, (46.6, 17), (49.4, 17))
    fig.tight_layout()
