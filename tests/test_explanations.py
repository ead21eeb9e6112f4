"""What the model attends to: per-sample feature attention, feature_importances_ and
the plot helpers."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.feature_selection import SelectFromModel

from skattn import AttentionMLPClassifier, AttentionMLPRegressor, TwoInputs
from skattn._attention import MultiHeadAttention
from skattn.plotting import (
    plot_attention_map,
    plot_feature_importances,
    plot_sequence_attention,
)

SMALL = dict(d_token=16, n_heads=2, max_iter=40, random_state=0)


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def signal_frame(n: int = 1200) -> tuple[pd.DataFrame, np.ndarray]:
    """Eight noise columns around two that carry the label: a number and a
    category, at the 4th and last positions."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"noise_{i}" for i in range(8)])
    X.insert(3, "signal_number", rng.normal(size=n))
    X["signal_category"] = pd.Categorical(rng.choice(["a", "b", "c"], size=n))
    y = (X["signal_number"] + 2.0 * (X["signal_category"] == "a") > 0.7).astype(int)
    return X, y.to_numpy()


def test_signal_features_rank_top_of_feature_importances():
    X, y = signal_frame()
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    importances = pd.Series(clf.feature_importances_, index=clf.feature_names_in_)
    assert importances.sum() == pytest.approx(1.0)
    top_two = set(importances.nlargest(2).index)
    assert top_two == {"signal_number", "signal_category"}
    # Each signal column draws more attention than any noise column does.
    assert (
        importances.filter(like="noise").max() < importances.filter(like="signal").min()
    )
    # scikit-learn's feature selection reads it like any other importance.
    selector = SelectFromModel(clf, prefit=True, threshold=-np.inf, max_features=2)
    assert set(X.columns[selector.get_support()]) == top_two


def test_latent_tokens_rank_the_signal_features_too():
    X, y = signal_frame()
    clf = AttentionMLPClassifier(n_latent_tokens=4, **SMALL).fit(X, y)
    top_two = set(pd.Series(clf.feature_importances_, X.columns).nlargest(2).index)
    assert top_two == {"signal_number", "signal_category"}


def test_feature_attention_is_per_sample_in_column_order(mixed_frame):
    X, y = mixed_frame  # categorical columns are tokens after the numerical ones
    # One network: members' CLS rows are normalised per member before they are
    # averaged (tests/test_members.py).
    clf = AttentionMLPClassifier(n_members=1, **SMALL).fit(X, y)
    attention = clf.feature_attention(X.iloc[:6])
    assert attention.shape == (6, X.shape[1])
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, rtol=1e-5)
    # The CLS row of attention_maps, averaged over blocks and heads, without the
    # CLS token itself, reordered from token order to column order.
    cls_rows = clf.attention_maps(X.iloc[:6], cls_only=True)  # (6, blocks, heads, T)
    np.testing.assert_array_equal(cls_rows, clf.attention_maps(X.iloc[:6])[:, :, :, 0])
    maps = cls_rows[..., 1:].mean(axis=(1, 2))
    maps /= maps.sum(axis=1, keepdims=True)
    by_name = dict(zip(clf.token_names_[1:], maps.T, strict=True))
    expected = np.stack([by_name[c] for c in X.columns], axis=1)
    np.testing.assert_allclose(attention, expected, rtol=1e-5, atol=1e-7)


def test_value_norm_weighs_attention_by_what_each_token_contributes():
    torch.manual_seed(0)
    attention = MultiHeadAttention(d_token=8, n_heads=2)
    x = torch.randn(3, 5, 8)
    _, weights = attention(x, return_weights=True)
    _, scaled = attention(x, return_weights=True, value_norm=True)
    # What token k adds to the output through head h: W_o[:, head h] @ v_k^h.
    values = attention.value(x).view(3, 5, 2, 4)  # (B, T, H, Dh)
    out = attention.out.weight.view(8, 2, 4)  # (D, H, Dh)
    contribution = torch.einsum("dhe,bkhe->bhkd", out, values).norm(dim=-1)
    torch.testing.assert_close(scaled, weights * contribution[:, :, None, :])


def test_value_norm_feature_attention_is_a_distribution(mixed_frame):
    X, y = mixed_frame
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    plain = clf.feature_attention(X.iloc[:5])
    scaled = clf.feature_attention(X.iloc[:5], value_norm=True)
    np.testing.assert_allclose(scaled.sum(axis=1), 1.0, rtol=1e-5)
    assert (scaled >= 0).all() and not np.allclose(scaled, plain)


def test_feature_importances_are_reproducible():
    X, y = signal_frame(400)
    first = AttentionMLPRegressor(**SMALL, early_stopping=True).fit(X, y)
    second = AttentionMLPRegressor(**SMALL, early_stopping=True).fit(X, y)
    np.testing.assert_array_equal(
        first.feature_importances_, second.feature_importances_
    )


def test_sequences_give_attention_per_step_not_feature_importances():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 12, 2))
    y = (X[:, 5, 0] > 0).astype(int)
    clf = AttentionMLPClassifier(patch_size=3, **SMALL).fit(X, y)
    attention = clf.feature_attention(X[:4])
    assert attention.shape == (4, 12)  # one weight per step
    np.testing.assert_allclose(attention.sum(axis=1), 1.0, rtol=1e-5)
    # Steps of one patch share its weight evenly.
    np.testing.assert_allclose(attention[:, 0], attention[:, 2])
    assert not hasattr(clf, "feature_importances_")
    with pytest.raises(AttributeError, match="feature_attention"):
        clf.feature_importances_  # noqa: B018


def test_two_inputs_give_main_and_context_attention():
    rng = np.random.default_rng(0)
    table, context = rng.normal(size=(100, 3)), rng.normal(size=(100, 8, 2))
    y = (context[:, :, 1].mean(axis=1) > 0).astype(int)
    clf = AttentionMLPClassifier(**SMALL).fit(TwoInputs(table, context), y)
    attention = clf.feature_attention(TwoInputs(table[:5], context[:5]))
    assert attention["main"].shape == (5, 3)
    assert attention["context"].shape == (5, 8)
    for part in attention.values():
        np.testing.assert_allclose(part.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.feature_importances_.shape == (3,)  # the main table's columns
    cls_rows = clf.attention_maps(TwoInputs(table[:5], context[:5]), cls_only=True)
    assert set(cls_rows) == {"main", "cross"}  # the context has no CLS token
    assert cls_rows["cross"].shape == (5, 1, 2, 8)  # (rows, blocks, heads, steps)


def test_unfitted_model_has_no_feature_importances():
    assert not hasattr(AttentionMLPClassifier(), "feature_importances_")


# -- plots ---------------------------------------------------------------------------
@pytest.fixture
def plt():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plots_render_to_png(plt, tmp_path):
    X, y = signal_frame(300)
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    ax = plot_feature_importances(clf, max_features=5)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 5
    top = X.columns[np.argmax(clf.feature_importances_)]
    assert labels[0] == top  # drawn top-down, most important first
    ax.figure.savefig(tmp_path / "importances.png")

    ax = plot_attention_map(clf, X.iloc[[0]])
    assert ax.images[0].get_array().shape == (2 * 2, 1 + X.shape[1])  # blocks*heads
    ax.figure.savefig(tmp_path / "attention.png")
    ax = plot_attention_map(clf, X.iloc[[0]], block=0)
    assert ax.images[0].get_array().shape == (1 + X.shape[1],) * 2
    ax.figure.savefig(tmp_path / "block.png")

    rng = np.random.default_rng(0)
    series = rng.normal(size=(60, 16, 2))
    seq = AttentionMLPClassifier(**SMALL).fit(series, series[:, 3, 0] > 0)
    axes = plot_sequence_attention(seq, series[:1])
    assert len(axes) == 2 and len(axes[0].lines) == 2  # one line per channel
    axes[0].figure.savefig(tmp_path / "sequence.png")

    for name in ("importances", "attention", "block", "sequence"):
        png = (tmp_path / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_plots_check_their_input(plt):
    X, y = signal_frame(200)
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="exactly one sample"):
        plot_attention_map(clf, X.iloc[:2])
    with pytest.raises(ValueError, match="out of range"):
        plot_attention_map(clf, X.iloc[[0]], block=5)
    with pytest.raises(ValueError, match="fitted on sequences"):
        plot_sequence_attention(clf, X.iloc[[0]])


def test_plots_say_how_to_get_matplotlib(monkeypatch):
    X, y = signal_frame(200)
    clf = AttentionMLPClassifier(**SMALL).fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib"):
        plot_feature_importances(clf)
