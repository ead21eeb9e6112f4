"""Behaviour of the network's pure PyTorch modules: :mod:`skattn._attention`,
:mod:`skattn._embeddings`, :mod:`skattn._tokenizers` and :mod:`skattn._network`.

Each test states one property of the network that the estimators rely on. The
modules are small and run on the CPU, so the whole file takes a few seconds.
"""

from __future__ import annotations

import math
import re
from fnmatch import fnmatchcase

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skattn import AttentionMLPClassifier
from skattn._attention import (
    ACTIVATIONS,
    AttentionBlock,
    FeedForward,
    GatedLinearUnit,
    MultiHeadAttention,
    make_activation,
)
from skattn._embeddings import (
    NUMERICAL_EMBEDDINGS,
    LinearEmbedding,
    PiecewiseLinearEmbedding,
)
from skattn._network import NO_WEIGHT_DECAY_PATTERNS, AttentionMLPNetwork
from skattn._tokenizers import FeatureTokenizer, InputTokens

ATOL = 1e-6


@pytest.fixture(autouse=True, scope="module")
def single_thread():
    """The tensors here are tiny: one intra-op thread is faster than several
    fighting over a busy machine. The previous setting is restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# What each activation name means, written out independently of the module.
REFERENCE_ACTIVATIONS = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "reglu": lambda h: h.chunk(2, -1)[0] * torch.relu(h.chunk(2, -1)[1]),
    "geglu": lambda h: h.chunk(2, -1)[0] * F.gelu(h.chunk(2, -1)[1]),
}


def make_network(**overrides) -> AttentionMLPNetwork:
    params = dict(
        n_numerical=3,
        category_cardinalities=[4, 5],
        n_outputs=2,
        d_token=8,
        n_blocks=2,
        n_heads=2,
        activation="reglu",
        ffn_factor=4 / 3,
        attention_dropout=0.0,
        ffn_dropout=0.0,
        residual_dropout=0.0,
    )
    params.update(overrides)
    tokenizer = FeatureTokenizer(
        n_numerical=params.pop("n_numerical"),
        category_cardinalities=params.pop("category_cardinalities"),
        d_token=params["d_token"],
    )
    return AttentionMLPNetwork(
        main=InputTokens(tokenizer, ("x_num", "x_cat")), **params
    )


def as_inputs(x_num: torch.Tensor, x_cat: torch.Tensor) -> dict[str, torch.Tensor]:
    """The batch dict the network reads."""
    return {"x_num": x_num, "x_cat": x_cat}


def make_inputs(
    n_rows: int = 6,
    n_numerical: int = 3,
    cardinalities: tuple[int, ...] = (4, 5),
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Numerical values with a few NaN and valid categorical codes (0 to card-1)."""
    gen = torch.Generator().manual_seed(seed)
    x_num = torch.randn(n_rows, n_numerical, generator=gen)
    if n_numerical:
        x_num[::3, 0] = math.nan
        x_num[1::4, -1] = math.nan
    x_cat = torch.zeros(n_rows, len(cardinalities), dtype=torch.long)
    for column, cardinality in enumerate(cardinalities):
        x_cat[:, column] = torch.randint(0, cardinality, (n_rows,), generator=gen)
    return x_num, x_cat


def padding_mask(n_rows: int, n_keys: int, n_valid: list[int]) -> torch.Tensor:
    """True for key positions ``>= n_valid[row]`` (padding at the end of each row)."""
    return torch.arange(n_keys)[None, :] >= torch.tensor(n_valid)[:, None]


# --------------------------------------------------------------------------------------
# MultiHeadAttention: fused (SDPA) path == explicit path
# --------------------------------------------------------------------------------------


def test_fused_and_explicit_self_attention_agree():
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=2).eval()
    x = torch.randn(3, 5, 8)

    fused, no_weights = mha(x)
    explicit, weights = mha(x, return_weights=True)

    assert no_weights is None
    assert weights is not None
    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=0)


def test_fused_and_explicit_cross_attention_agree_with_other_context_shape():
    """Context with another token count (7 vs 4) and width (d_context=6 vs 8)."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=4, d_context=6).eval()
    x, context = torch.randn(3, 4, 8), torch.randn(3, 7, 6)

    fused, _ = mha(x, context)
    explicit, weights = mha(x, context, return_weights=True)

    assert fused.shape == (3, 4, 8)
    assert weights.shape == (3, 4, 4, 7)
    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=0)


@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_fused_and_explicit_paths_agree_with_key_padding_mask(cross):
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=2, d_context=6 if cross else None)
    mha.eval()
    x = torch.randn(3, 5, 8)
    context = torch.randn(3, 7, 6) if cross else None
    n_keys = 7 if cross else 5
    mask = padding_mask(3, n_keys, [n_keys, 2, 4])

    fused, _ = mha(x, context, key_padding_mask=mask)
    explicit, _ = mha(x, context, key_padding_mask=mask, return_weights=True)

    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------------------
# MultiHeadAttention: the weights
# --------------------------------------------------------------------------------------


def test_attention_weights_are_row_stochastic_and_zero_on_padded_keys():
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=12, n_heads=3, d_context=5).eval()
    x, context = torch.randn(4, 2, 12), torch.randn(4, 6, 5)
    mask = padding_mask(4, 6, [6, 1, 3, 5])

    _, weights = mha(x, context, key_padding_mask=mask, return_weights=True)

    assert weights.shape == (4, 3, 2, 6)  # (B, H, Tq, Tk)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 3, 2), atol=ATOL, rtol=0)
    padded = mask[:, None, None, :].expand_as(weights)
    assert torch.all(weights[padded] == 0.0)
    assert torch.all(weights[~padded] > 0.0)


def test_explicit_attention_is_softmax_of_scaled_dot_products():
    """With one head: ``out(softmax(q k^T / sqrt(D)) v)`` from the module's Linears."""
    torch.manual_seed(0)
    d_token, d_context = 6, 4
    mha = MultiHeadAttention(d_token=d_token, n_heads=1, d_context=d_context).eval()
    x, context = torch.randn(2, 3, d_token), torch.randn(2, 5, d_context)

    out, weights = mha(x, context, return_weights=True)

    q = x @ mha.query.weight.T + mha.query.bias  # (B, Tq, D)
    k = context @ mha.key.weight.T + mha.key.bias  # (B, Tk, D)
    v = context @ mha.value.weight.T + mha.value.bias  # (B, Tk, D)
    scores = torch.einsum("bqd,bkd->bqk", q, k) / math.sqrt(d_token)
    expected_weights = torch.exp(scores) / torch.exp(scores).sum(-1, keepdim=True)
    expected = (expected_weights @ v) @ mha.out.weight.T + mha.out.bias

    torch.testing.assert_close(weights[:, 0], expected_weights, atol=ATOL, rtol=0)
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


def test_each_head_attends_with_its_own_slice_of_the_projections():
    """Head ``h`` uses columns ``h*Dh:(h+1)*Dh`` of q and k, scaled by sqrt(Dh)."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=2).eval()
    x = torch.randn(2, 4, 8)

    _, weights = mha(x, return_weights=True)

    q, k = mha.query(x), mha.key(x)
    for head, cols in enumerate([slice(0, 4), slice(4, 8)]):
        scores = q[..., cols] @ k[..., cols].transpose(1, 2) / math.sqrt(4)
        torch.testing.assert_close(
            weights[:, head], scores.softmax(-1), atol=ATOL, rtol=0
        )


# --------------------------------------------------------------------------------------
# MultiHeadAttention: padding, cross-attention, validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("return_weights", [False, True], ids=["fused", "explicit"])
def test_padded_context_tokens_do_not_change_the_output(return_weights):
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=2, d_context=6).eval()
    x, context = torch.randn(3, 4, 8), torch.randn(3, 7, 6)
    mask = padding_mask(3, 7, [7, 2, 5])
    scrambled = torch.where(mask[..., None], 1e3 * torch.randn(3, 7, 6), context)
    assert not torch.equal(scrambled, context)

    out, _ = mha(x, context, key_padding_mask=mask, return_weights=return_weights)
    out_scrambled, _ = mha(
        x, scrambled, key_padding_mask=mask, return_weights=return_weights
    )

    torch.testing.assert_close(out, out_scrambled, atol=ATOL, rtol=0)


def test_padded_tokens_do_not_change_other_tokens_in_self_attention():
    """In self-attention the padded tokens still get outputs, but the valid tokens'
    outputs ignore them."""
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=2).eval()
    x = torch.randn(2, 5, 8)
    mask = padding_mask(2, 5, [3, 4])
    scrambled = torch.where(mask[..., None], 1e3 * torch.randn(2, 5, 8), x)

    out, _ = mha(x, key_padding_mask=mask)
    out_scrambled, _ = mha(scrambled, key_padding_mask=mask)

    torch.testing.assert_close(out[~mask], out_scrambled[~mask], atol=ATOL, rtol=0)


def test_cross_attention_output_follows_queries_not_context():
    torch.manual_seed(0)
    mha = MultiHeadAttention(d_token=8, n_heads=2, d_context=3)
    for n_queries, n_keys in [(1, 9), (6, 2), (4, 4)]:
        out, weights = mha(
            torch.randn(2, n_queries, 8),
            torch.randn(2, n_keys, 3),
            return_weights=True,
        )
        assert out.shape == (2, n_queries, 8)
        assert weights.shape == (2, 2, n_queries, n_keys)


@pytest.mark.parametrize("d_token, n_heads", [(8, 3), (6, 4), (10, 4)])
def test_n_heads_must_divide_d_token(d_token, n_heads):
    with pytest.raises(ValueError) as excinfo:
        MultiHeadAttention(d_token=d_token, n_heads=n_heads)
    message = str(excinfo.value)
    assert f"n_heads={n_heads}" in message
    assert f"d_token={d_token}" in message


def test_network_rejects_n_heads_not_dividing_d_token():
    with pytest.raises(ValueError, match=re.escape("n_heads=3")):
        make_network(d_token=8, n_heads=3)


# --------------------------------------------------------------------------------------
# AttentionBlock
# --------------------------------------------------------------------------------------


def make_block(**overrides) -> AttentionBlock:
    params = dict(
        d_token=8,
        n_heads=2,
        d_hidden=10,
        activation="geglu",
        attention_dropout=0.0,
        ffn_dropout=0.0,
        residual_dropout=0.0,
    )
    params.update(overrides)
    return AttentionBlock(**params)


def test_cross_attention_block_attends_to_a_context_of_another_shape():
    torch.manual_seed(0)
    block = make_block(cross_attention=True, d_context=5).eval()
    x, context = torch.randn(3, 2, 8), torch.randn(3, 6, 5)

    fused, _ = block(x, context)
    explicit, weights = block(x, context, return_weights=True)

    assert fused.shape == (3, 2, 8)
    assert weights.shape == (3, 2, 2, 6)
    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=0)


def test_cross_attention_block_ignores_padded_context_tokens():
    torch.manual_seed(0)
    block = make_block(cross_attention=True, d_context=5).eval()
    x, context = torch.randn(3, 2, 8), torch.randn(3, 6, 5)
    mask = padding_mask(3, 6, [6, 1, 4])
    scrambled = torch.where(mask[..., None], 1e3 * torch.randn(3, 6, 5), context)

    out, _ = block(x, context, key_padding_mask=mask)
    out_scrambled, _ = block(x, scrambled, key_padding_mask=mask)

    torch.testing.assert_close(out, out_scrambled, atol=ATOL, rtol=0)


def test_cross_attention_block_requires_a_context():
    block = make_block(cross_attention=True, d_context=5)
    with pytest.raises(ValueError, match="cross-attention block needs a context"):
        block(torch.randn(2, 3, 8))


def test_self_attention_block_rejects_a_context():
    block = make_block(cross_attention=False)
    with pytest.raises(ValueError, match="self-attention block takes none"):
        block(torch.randn(2, 3, 8), torch.randn(2, 3, 8))


def test_self_attention_block_is_pre_norm_with_residuals():
    """``x + attn(norm(x))`` then ``+ ffn(norm(.))``, with the block's submodules."""
    torch.manual_seed(0)
    block = make_block().eval()
    x = torch.randn(2, 4, 8)

    out, _ = block(x)

    h = x + block.attention(block.attention_norm(x))[0]
    expected = h + block.ffn(block.ffn_norm(h))
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


def test_cross_attention_block_normalises_the_context_with_its_own_norm():
    """``x + attn(norm(x), norm_c(context))`` then ``+ ffn(norm(.))``."""
    torch.manual_seed(0)
    block = make_block(cross_attention=True, d_context=5).eval()
    assert block.context_norm.normalized_shape == (5,)
    x, context = torch.randn(2, 4, 8), 3.0 + 2.0 * torch.randn(2, 6, 5)

    out, _ = block(x, context)

    normed_context = block.context_norm(context)
    h = x + block.attention(block.attention_norm(x), normed_context)[0]
    expected = h + block.ffn(block.ffn_norm(h))
    torch.testing.assert_close(out, expected, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------------------
# Activations and FeedForward
# --------------------------------------------------------------------------------------


def test_every_activation_name_has_a_reference():
    assert set(ACTIVATIONS) == set(REFERENCE_ACTIVATIONS)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_feed_forward_is_linear_activation_linear(name):
    torch.manual_seed(0)
    ffn = FeedForward(d_token=6, d_hidden=5, activation=name, dropout=0.0).eval()
    x = torch.randn(2, 3, 6)

    out = ffn(x)

    hidden = REFERENCE_ACTIVATIONS[name](ffn.linear_in(x))
    assert hidden.shape == (2, 3, 5)
    torch.testing.assert_close(out, ffn.linear_out(hidden), atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "name, gated", [("reglu", True), ("geglu", True), ("relu", False), ("gelu", False)]
)
def test_gated_activations_double_the_first_layer(name, gated):
    ffn = FeedForward(d_token=6, d_hidden=5, activation=name, dropout=0.0)
    assert make_activation(name)[1] is gated
    assert ffn.linear_in.out_features == (10 if gated else 5)
    assert ffn.linear_out.in_features == 5


@pytest.mark.parametrize("gate, act", [("reglu", torch.relu), ("geglu", F.gelu)])
def test_gated_linear_unit_computes_first_half_times_activated_second_half(gate, act):
    x = torch.tensor([[1.0, -2.0, 3.0, 0.5, -1.5, 2.0]])
    a, b = x[:, :3], x[:, 3:]

    out = GatedLinearUnit(gate=gate)(x)

    torch.testing.assert_close(out, a * act(b), atol=ATOL, rtol=0)
    # Negative gates: ReGLU closes them fully, GeGLU almost.
    if gate == "reglu":
        assert out[0, 1] == 0.0


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match=re.escape("activation='swish'")):
        make_activation("swish")
    with pytest.raises(ValueError, match="is not one of"):
        FeedForward(d_token=4, d_hidden=4, activation="swish", dropout=0.0)


# --------------------------------------------------------------------------------------
# FeatureTokenizer
# --------------------------------------------------------------------------------------


def test_tokenizer_output_has_one_token_per_feature_numerical_first():
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(
        n_numerical=3, category_cardinalities=[4, 5], d_token=8
    )
    x_num, x_cat = make_inputs(n_rows=6)

    tokens = tokenizer(x_num, x_cat)

    assert tokenizer.n_tokens == 5
    assert tokens.shape == (6, 5, 8)  # (B, Fn + Fc, D)
    row, col = 2, 1
    assert not math.isnan(x_num[row, col])
    embedding = tokenizer.numerical_embedding
    expected = x_num[row, col] * embedding.weight[col] + embedding.bias[col]
    torch.testing.assert_close(tokens[row, col], expected, atol=ATOL, rtol=0)


def test_nan_numerical_value_becomes_the_learned_missing_token_exactly():
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(n_numerical=3, category_cardinalities=[], d_token=8)
    x_num = torch.tensor([[math.nan, 1.0, 2.0], [0.5, math.nan, math.nan]])

    tokens = tokenizer(x_num, torch.zeros(2, 0, dtype=torch.long))

    assert torch.isfinite(tokens).all()
    assert torch.equal(tokens[0, 0], tokenizer.numerical_missing[0])
    assert torch.equal(tokens[1, 1], tokenizer.numerical_missing[1])
    assert torch.equal(tokens[1, 2], tokenizer.numerical_missing[2])
    # NaN is not the same as zero: a zero value gives the bias, not the missing token,
    # which starts at zero (neutral) and is learned from rows with gaps.
    zero = tokenizer(torch.zeros(1, 3), torch.zeros(1, 0, dtype=torch.long))
    assert torch.equal(zero[0, 0], tokenizer.numerical_embedding.bias[0])
    assert not torch.equal(zero[0, 0], tokens[0, 0])
    assert torch.equal(tokenizer.numerical_missing, torch.zeros(3, 8))


def test_nan_input_does_not_poison_the_gradient():
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(n_numerical=2, category_cardinalities=[], d_token=4)
    x_num = torch.tensor([[math.nan, 1.0], [2.0, math.nan]])

    tokenizer(x_num, torch.zeros(2, 0, dtype=torch.long)).sum().backward()

    for name, param in tokenizer.named_parameters():
        assert torch.isfinite(param.grad).all(), name
    # The missing token of feature 0 was used once (row 0), its weight by row 1 only.
    torch.testing.assert_close(tokenizer.numerical_missing.grad, torch.ones(2, 4))
    torch.testing.assert_close(
        tokenizer.numerical_embedding.weight.grad,
        torch.tensor([[2.0] * 4, [1.0] * 4]),
    )


def piecewise_linear_tokenizer(edges: list[list[float]]) -> FeatureTokenizer:
    """A tokenizer whose tokens are the piecewise-linear encoding itself: identity
    weights (one token coordinate per bin) and zero biases."""
    n_bins = len(edges[0]) - 1
    tokenizer = FeatureTokenizer(
        n_numerical=len(edges),
        category_cardinalities=[],
        d_token=n_bins,
        numerical_embedding="piecewise_linear",
        bin_edges=np.array(edges, dtype=np.float32),
    )
    embedding = tokenizer.numerical_embedding
    with torch.no_grad():
        embedding.weight.copy_(torch.eye(n_bins).expand(len(edges), -1, -1))
        embedding.bias.zero_()
    return tokenizer


def test_piecewise_linear_encoding_fills_the_bins_below_the_value():
    tokenizer = piecewise_linear_tokenizer([[0.0, 1.0, 2.0, 4.0]])
    x_num = torch.tensor([[0.5], [1.5], [3.0], [4.0]])

    encoded = tokenizer(x_num, torch.zeros(4, 0, dtype=torch.long))[:, 0]

    expected = [[0.5, 0, 0], [1, 0.5, 0], [1, 1, 0.5], [1, 1, 1]]
    torch.testing.assert_close(encoded, torch.tensor(expected), atol=ATOL, rtol=0)


def test_piecewise_linear_encoding_extends_the_outer_bins_linearly():
    # Values outside the training range keep moving the token along the first and
    # last bins' directions, instead of saturating.
    tokenizer = piecewise_linear_tokenizer([[0.0, 1.0, 2.0]])
    x_num = torch.tensor([[-2.0], [5.0]])

    encoded = tokenizer(x_num, torch.zeros(2, 0, dtype=torch.long))[:, 0]

    torch.testing.assert_close(encoded, torch.tensor([[-2.0, 0.0], [1.0, 4.0]]))


def test_piecewise_linear_encoding_leaves_empty_bins_at_zero():
    # A binary column has one bin; the repeated last edge pads empty ones, and the
    # one bin then behaves like the linear embedding.
    tokenizer = piecewise_linear_tokenizer([[0.0, 1.0, 1.0, 1.0], [3.0, 3.0, 3.0, 3.0]])
    x_num = torch.tensor([[2.0, 7.0], [0.25, math.nan]])

    tokens = tokenizer(x_num, torch.zeros(2, 0, dtype=torch.long))

    torch.testing.assert_close(tokens[:, 0], torch.tensor([[2.0, 0, 0], [0.25, 0, 0]]))
    # A column with a single value (no bin) gives the bias (here zero).
    assert torch.equal(tokens[0, 1], torch.zeros(3))
    assert torch.equal(tokens[1, 1], tokenizer.numerical_missing[1])


def test_piecewise_linear_tokens_are_continuous_at_the_bin_edges():
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(
        n_numerical=1,
        category_cardinalities=[],
        d_token=4,
        numerical_embedding="piecewise_linear",
        bin_edges=np.array([[-1.0, 0.0, 0.5, 2.0]], dtype=np.float32),
    )
    no_codes = torch.zeros(2, 0, dtype=torch.long)
    for edge in [0.0, 0.5]:
        around = torch.tensor([[edge - 1e-4], [edge + 1e-4]])
        below, above = tokenizer(around, no_codes)[:, 0]
        torch.testing.assert_close(below, above, atol=1e-3, rtol=0)


def edges_for(kind: str, n_numerical: int) -> np.ndarray | None:
    """Two bins per feature for the embeddings that use bins, else None."""
    if NUMERICAL_EMBEDDINGS[kind].n_bins is None:
        return None
    return np.array([[0.0, 1.0, 2.0]] * n_numerical, dtype=np.float32)


def test_numerical_embeddings_are_the_estimators_options():
    constraint = AttentionMLPClassifier._parameter_constraints["numerical_embedding"]
    assert constraint[0].options == set(NUMERICAL_EMBEDDINGS)
    assert NUMERICAL_EMBEDDINGS == {
        "linear": LinearEmbedding,
        "piecewise_linear": PiecewiseLinearEmbedding,
    }
    assert LinearEmbedding.n_bins is None
    assert PiecewiseLinearEmbedding.n_bins == 48


def test_numerical_embeddings_check_their_bin_edges():
    edges = np.array([[0.0, 1.0, 2.0]], dtype=np.float32)
    with pytest.raises(ValueError, match="LinearEmbedding takes no bin edges"):
        LinearEmbedding(n_features=1, d_token=4, bin_edges=edges)
    with pytest.raises(ValueError, match="PiecewiseLinearEmbedding takes bin edges"):
        PiecewiseLinearEmbedding(n_features=1, d_token=4)
    with pytest.raises(ValueError, match="numerical_embedding='spline' is not one"):
        FeatureTokenizer(
            n_numerical=1,
            category_cardinalities=[],
            d_token=4,
            numerical_embedding="spline",
        )


@pytest.mark.parametrize("kind", list(NUMERICAL_EMBEDDINGS))
def test_tokenizer_draws_its_initial_weights_in_a_fixed_order(kind):
    # A seed gives the same network as when the tokenizer held the numerical weights
    # itself: numerical weight, numerical bias, then the category table
    # (nn.Embedding's own normal draw, overwritten), the category bias and the
    # table's uniform draw.
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(
        n_numerical=3,
        category_cardinalities=[4],
        d_token=8,
        numerical_embedding=kind,
        bin_edges=edges_for(kind, 3),
    )
    torch.manual_seed(0)
    bound = 1 / math.sqrt(8)
    if kind == "piecewise_linear":
        weight = torch.empty(3, 2, 8).uniform_(-1 / math.sqrt(2), 1 / math.sqrt(2))
    else:
        weight = torch.empty(3, 8).uniform_(-bound, bound)
    bias = torch.empty(3, 8).uniform_(-bound, bound)
    torch.empty(4, 8).normal_()
    category_bias = torch.empty(1, 8).uniform_(-bound, bound)
    table = torch.empty(4, 8).uniform_(-bound, bound)
    table[:2] = 0.0  # the "missing" and "unknown" rows

    assert torch.equal(tokenizer.numerical_embedding.weight, weight)
    assert torch.equal(tokenizer.numerical_embedding.bias, bias)
    assert torch.equal(tokenizer.category_bias, category_bias)
    assert torch.equal(tokenizer.category_embedding.weight, table)


@pytest.mark.parametrize("kind", list(NUMERICAL_EMBEDDINGS))
def test_tokenizer_state_dict_names(kind):
    # The names save_model writes (its FORMAT_VERSION changes with them).
    tokenizer = FeatureTokenizer(
        n_numerical=2,
        category_cardinalities=[3],
        d_token=4,
        numerical_embedding=kind,
        bin_edges=edges_for(kind, 2),
    )
    bins = {"bin_left", "bin_width", "bin_lower", "bin_upper", "bin_used"}
    expected = {
        "numerical_embedding.weight",
        "numerical_embedding.bias",
        "numerical_missing",
        "category_embedding.weight",
        "category_bias",
    }
    if kind == "piecewise_linear":
        expected |= {f"numerical_embedding.{name}" for name in bins}
    assert set(tokenizer.state_dict()) == expected


def test_missing_and_unknown_category_codes_start_as_the_column_bias():
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(
        n_numerical=0, category_cardinalities=[3, 4, 5], d_token=8
    )
    codes = torch.tensor([[1, 1, 1], [0, 0, 0]])  # unknown, then missing, everywhere

    tokens = tokenizer(torch.zeros(2, 0), codes)

    for column in range(3):
        assert torch.equal(tokens[0, column], tokenizer.category_bias[column])
        assert torch.equal(tokens[1, column], tokenizer.category_bias[column])
    # The category codes (2+) start as random, non-zero rows.
    weight = tokenizer.category_embedding.weight
    for offset in (0, 3, 7):
        assert weight[offset + 2].abs().sum() > 0


def test_each_categorical_column_has_its_own_embedding_table():
    torch.manual_seed(0)
    cardinalities = [3, 4, 5]
    tokenizer = FeatureTokenizer(
        n_numerical=0, category_cardinalities=cardinalities, d_token=8
    )
    weight = tokenizer.category_embedding.weight
    assert weight.shape == (3 + 4 + 5, 8)
    assert tokenizer.category_offsets.tolist() == [0, 3, 7]

    same_code = torch.full((1, 3), 2)
    tokens = tokenizer(torch.zeros(1, 0), same_code)

    for column, offset in enumerate([0, 3, 7]):
        expected = weight[offset + 2] + tokenizer.category_bias[column]
        torch.testing.assert_close(tokens[0, column], expected, atol=ATOL, rtol=0)
    assert not torch.allclose(tokens[0, 0], tokens[0, 1])

    # Editing column 0's table leaves the other columns' tokens unchanged.
    with torch.no_grad():
        weight[:3] += 1.0
    edited = tokenizer(torch.zeros(1, 0), same_code)
    assert not torch.allclose(edited[0, 0], tokens[0, 0])
    assert torch.equal(edited[0, 1:], tokens[0, 1:])


@pytest.mark.parametrize(
    "n_numerical, cardinalities", [(0, (4, 5)), (3, ()), (0, ())], ids=str
)
def test_tokenizer_works_without_one_kind_of_feature(n_numerical, cardinalities):
    torch.manual_seed(0)
    tokenizer = FeatureTokenizer(
        n_numerical=n_numerical, category_cardinalities=cardinalities, d_token=8
    )
    x_num, x_cat = make_inputs(5, n_numerical, cardinalities)

    tokens = tokenizer(x_num, x_cat)

    assert tokens.shape == (5, n_numerical + len(cardinalities), 8)
    assert torch.isfinite(tokens).all()


@pytest.mark.parametrize("n_numerical, cardinalities", [(0, (4, 5)), (3, ())], ids=str)
def test_network_works_without_one_kind_of_feature(n_numerical, cardinalities):
    torch.manual_seed(0)
    net = make_network(
        n_numerical=n_numerical, category_cardinalities=cardinalities
    ).eval()
    x_num, x_cat = make_inputs(5, n_numerical, cardinalities)

    out = net(as_inputs(x_num, x_cat))

    assert out.shape == (5, 2)
    assert torch.isfinite(out).all()


# --------------------------------------------------------------------------------------
# AttentionMLPNetwork
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_network_output_has_one_column_per_output(n_outputs):
    torch.manual_seed(0)
    net = make_network(n_outputs=n_outputs)
    x_num, x_cat = make_inputs(n_rows=7)

    out = net(as_inputs(x_num, x_cat))

    assert out.shape == (7, n_outputs)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("d_embedding, width", [(None, 8), (5, 5)])
def test_embedding_width_is_d_token_or_d_embedding(d_embedding, width):
    torch.manual_seed(0)
    net = make_network(d_embedding=d_embedding).eval()
    x_num, x_cat = make_inputs(n_rows=4)

    embedding, weights = net.embed(as_inputs(x_num, x_cat))

    assert embedding.shape == (4, width)
    assert weights == {"read": [], "main": [], "context": [], "cross": []}
    # The output layer reads exactly this embedding.
    torch.testing.assert_close(
        net(as_inputs(x_num, x_cat)), net.output(embedding), atol=ATOL, rtol=0
    )


def test_embed_returns_one_attention_map_per_block_over_cls_and_features():
    torch.manual_seed(0)
    # float64 so that three blocks of rounding stay far below the tolerance.
    net = make_network(n_blocks=3, n_heads=4).double().eval()
    x_num, x_cat = make_inputs(n_rows=4)  # 3 numerical + 2 categorical = 5 features
    x_num = x_num.double()

    plain, _ = net.embed(as_inputs(x_num, x_cat))
    embedding, weights = net.embed(as_inputs(x_num, x_cat), return_weights=True)

    assert len(weights["main"]) == 3
    for block_weights in weights["main"]:
        assert block_weights.shape == (4, 4, 6, 6)  # (B, H, F + 1, F + 1)
        torch.testing.assert_close(
            block_weights.sum(-1),
            torch.ones_like(block_weights[..., 0]),
            atol=ATOL,
            rtol=0,
        )
    # Asking for the weights switches to the explicit path: same embedding.
    torch.testing.assert_close(embedding, plain, atol=ATOL, rtol=0)


def test_cls_token_comes_first():
    torch.manual_seed(0)
    net = make_network(n_blocks=0)  # encode() then returns the tokens as built
    x_num, x_cat = make_inputs(n_rows=3)

    tokens, padding, _ = net.encode(as_inputs(x_num, x_cat))

    assert tokens.shape == (3, 6, 8)
    assert not padding.any()
    for row in range(3):
        assert torch.equal(tokens[row, 0], net.cls_token)
    assert torch.equal(tokens[:, 1:], net.main.tokenizer(x_num, x_cat))


def test_a_rows_output_does_not_depend_on_the_other_rows():
    torch.manual_seed(0)
    net = make_network(n_blocks=2, d_embedding=6).eval()
    x_num, x_cat = make_inputs(n_rows=8)

    batch = net(as_inputs(x_num, x_cat))
    one_by_one = torch.cat(
        [net(as_inputs(x_num[i : i + 1], x_cat[i : i + 1])) for i in range(8)]
    )
    reversed_batch = net(as_inputs(x_num.flip(0), x_cat.flip(0))).flip(0)

    torch.testing.assert_close(batch, one_by_one, atol=ATOL, rtol=0)
    torch.testing.assert_close(batch, reversed_batch, atol=ATOL, rtol=0)


@pytest.mark.parametrize("d_embedding", [None, 6])
def test_backward_reaches_every_parameter(d_embedding):
    torch.manual_seed(0)
    net = make_network(d_embedding=d_embedding, attention_dropout=0.1)
    # Enough rows that every code (0 = missing, 1 = unknown, 2+ = categories) and
    # both present and NaN numerical values occur.
    x_num, x_cat = make_inputs(n_rows=40)
    x_cat[:5] = torch.tensor([[0, 0], [1, 1], [2, 2], [3, 3], [3, 4]])

    net(as_inputs(x_num, x_cat)).square().sum().backward()

    for name, param in net.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    # Every row of every embedding table was used, so each got a gradient.
    table_grad = net.main.tokenizer.category_embedding.weight.grad
    assert (table_grad.abs().sum(1) > 0).all()


@pytest.mark.parametrize(
    "dropout", ["attention_dropout", "ffn_dropout", "residual_dropout"]
)
def test_dropout_is_active_in_train_mode_only(dropout):
    torch.manual_seed(0)
    net = make_network(**{dropout: 0.5})
    x_num, x_cat = make_inputs(n_rows=16)

    net.train()
    assert not torch.allclose(
        net(as_inputs(x_num, x_cat)), net(as_inputs(x_num, x_cat))
    )

    net.eval()
    first = net(as_inputs(x_num, x_cat))
    assert torch.equal(first, net(as_inputs(x_num, x_cat)))
    # Eval mode equals the same network with dropout switched off.
    for module in net.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, MultiHeadAttention):
            module.dropout = 0.0
    torch.testing.assert_close(
        net.train()(as_inputs(x_num, x_cat)), first, atol=ATOL, rtol=0
    )


def test_without_dropout_train_and_eval_modes_agree():
    torch.manual_seed(0)
    net = make_network()
    x_num, x_cat = make_inputs(n_rows=5)

    train_out = net.train()(as_inputs(x_num, x_cat))
    eval_out = net.eval()(as_inputs(x_num, x_cat))

    torch.testing.assert_close(train_out, eval_out, atol=ATOL, rtol=0)


# --------------------------------------------------------------------------------------
# NO_WEIGHT_DECAY_PATTERNS
# --------------------------------------------------------------------------------------


def no_decay(name: str) -> bool:
    return any(fnmatchcase(name, pattern) for pattern in NO_WEIGHT_DECAY_PATTERNS)


def linear_weight_names(module: nn.Module) -> set[str]:
    return {
        f"{prefix}.weight" if prefix else "weight"
        for prefix, sub in module.named_modules()
        if isinstance(sub, nn.Linear)
    }


@pytest.mark.parametrize("d_embedding", [None, 6])
def test_weight_decay_applies_to_exactly_the_linear_weight_matrices(d_embedding):
    net = make_network(d_embedding=d_embedding)
    names = {name for name, _ in net.named_parameters()}
    decayed = linear_weight_names(net)

    assert {name for name in names if not no_decay(name)} == decayed
    # Spelled out: what the structural check above covers.
    assert {
        "blocks.0.attention.query.weight",
        "blocks.0.attention.key.weight",
        "blocks.0.attention.value.weight",
        "blocks.0.attention.out.weight",
        "blocks.1.ffn.linear_in.weight",
        "blocks.1.ffn.linear_out.weight",
        "output.weight",
    } <= decayed
    for name in [
        "cls_token",
        "main.tokenizer.numerical_embedding.weight",
        "main.tokenizer.numerical_embedding.bias",
        "main.tokenizer.numerical_missing",
        "main.tokenizer.category_embedding.weight",
        "main.tokenizer.category_bias",
        "blocks.0.attention_norm.weight",
        "blocks.0.ffn_norm.bias",
        "head_norm.weight",
        "output.bias",
        "blocks.1.attention.query.bias",
    ]:
        assert name in names and no_decay(name), name


def test_cross_attention_block_context_norm_is_not_decayed():
    block = make_block(cross_attention=True, d_context=5)
    names = {name for name, _ in block.named_parameters()}

    assert {"context_norm.weight", "context_norm.bias"} <= names
    assert {name for name in names if not no_decay(name)} == linear_weight_names(block)


# -- edge cases of construction and masking --------------------------------------
@pytest.mark.parametrize("n_heads", [0, -4])
def test_n_heads_must_be_positive(n_heads):
    with pytest.raises(ValueError, match=rf"n_heads={n_heads} must be positive"):
        MultiHeadAttention(d_token=8, n_heads=n_heads)


def test_fully_padded_query_gets_zero_attention_on_both_paths():
    mha = MultiHeadAttention(d_token=4, n_heads=1).eval()
    x = torch.randn(2, 3, 4)
    mask = torch.tensor([[True, True, True], [False, True, False]])
    fused, _ = mha(x, key_padding_mask=mask)
    explicit, weights = mha(x, key_padding_mask=mask, return_weights=True)
    torch.testing.assert_close(fused, explicit, atol=ATOL, rtol=0)
    assert torch.equal(weights[0], torch.zeros_like(weights[0]))
    torch.testing.assert_close(fused[0], mha.out.bias.expand(3, 4))


def test_self_attention_block_rejects_a_context_width():
    with pytest.raises(
        ValueError,
        match="d_context=5 and context_is_keys_values=False are for cross-attention",
    ):
        AttentionBlock(
            d_token=8,
            n_heads=2,
            d_hidden=8,
            activation="relu",
            attention_dropout=0.0,
            ffn_dropout=0.0,
            residual_dropout=0.0,
            d_context=5,
        )


def test_tokenizer_rejects_tables_without_missing_and_unknown_rows():
    with pytest.raises(ValueError, match=r"at least 2 codes .*got \[1, 4\]"):
        FeatureTokenizer(n_numerical=1, category_cardinalities=[1, 4], d_token=4)
