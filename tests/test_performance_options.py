"""What the speed features compute: the CLS-only last block, latent tokens for wide
data, the CPU dropout, bfloat16 autocast and torch.compile. (How fast they are is
measured by benchmarks/speed_benchmark.py, never here.)"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from skattn import AttentionMLPClassifier, AttentionMLPRegressor, TwoInputs
from skattn._attention import Dropout
from skattn._network import AttentionMLPNetwork
from skattn._runtime import autocast_dtype
from skattn._tokenizers import FeatureTokenizer, InputTokens, SequenceTokenizer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=16, n_heads=2, learning_rate=3e-3, random_state=0)


def network(n_latent_tokens=None, *, sequences=False, context=False, n_blocks=2):
    """A random network over 12 numerical features (or 2-channel sequences)."""
    d_token = 16
    width = 2 * d_token if n_latent_tokens else d_token
    if sequences:
        main = InputTokens(
            SequenceTokenizer(n_channels=2, patch_size=3, d_token=width),
            ("x_seq", "lengths"),
        )
    else:
        main = InputTokens(
            FeatureTokenizer(n_numerical=12, category_cardinalities=[], d_token=width),
            ("x_num", "x_cat"),
        )
    second = None
    if context:
        second = InputTokens(
            FeatureTokenizer(n_numerical=3, category_cardinalities=[], d_token=d_token),
            ("context_x_num", "context_x_cat"),
        )
    torch.manual_seed(0)
    return AttentionMLPNetwork(
        main=main,
        context=second,
        n_cross_blocks=1 if context else 0,
        n_latent_tokens=n_latent_tokens,
        n_outputs=3,
        d_token=d_token,
        n_blocks=n_blocks,
        n_heads=4,
        activation="reglu",
        ffn_factor=4 / 3,
        attention_dropout=0.0,
        ffn_dropout=0.0,
        residual_dropout=0.0,
    ).eval()


def batch(n=9):
    torch.manual_seed(1)
    x_num = torch.randn(n, 12)
    x_num[0, 3] = float("nan")
    seq = torch.randn(n, 14, 2)
    return {
        "x_num": x_num,
        "x_cat": torch.zeros(n, 0, dtype=torch.long),
        "x_seq": seq,
        "lengths": torch.randint(1, 15, (n,)),
        "context_x_num": torch.randn(n, 3),
        "context_x_cat": torch.zeros(n, 0, dtype=torch.long),
    }


# -- the CLS-only last block ---------------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [
        dict(),
        dict(sequences=True),
        dict(context=True),
        dict(n_latent_tokens=4),
        dict(n_latent_tokens=4, sequences=True),
        dict(n_latent_tokens=4, n_blocks=1),  # the read block is the last block
        dict(n_latent_tokens=4, context=True),
    ],
    ids=[
        "table",
        "sequences",
        "two-inputs",
        "latents",
        "latent-sequences",
        "latents-one-block",
        "latents-two-inputs",
    ],
)
def test_last_block_on_the_cls_token_alone_changes_nothing(kind):
    net = network(**kind)
    inputs = batch()
    with torch.inference_mode():
        cls_only, padding, _ = net.encode(inputs, cls_only=True)  # (B, 1, D)
        every_token, _, _ = net.encode(inputs)  # (B, T, D)
    assert cls_only.shape[1] == 1 and padding.shape == (9, 1)
    torch.testing.assert_close(cls_only[:, 0], every_token[:, 0])


def test_attention_weights_come_from_every_token_of_the_last_block():
    net = network()
    with torch.inference_mode():
        fast, _ = net.embed(batch())
        explicit, weights = net.embed(batch(), return_weights=True)
    torch.testing.assert_close(fast, explicit, rtol=1e-5, atol=1e-6)
    assert [w.shape for w in weights["main"]] == [(9, 4, 13, 13)] * 2


# -- latent tokens -------------------------------------------------------------------
def test_latent_tokens_read_the_features_in_the_first_block():
    net = network(n_latent_tokens=5)
    with torch.inference_mode():
        out = net(batch())
        _, weights = net.embed(batch(), return_weights=True)
    assert out.shape == (9, 3)
    (read,) = weights["read"]
    assert read.shape == (9, 4, 1 + 5, 12)  # CLS + latents attend to 12 features
    assert [w.shape for w in weights["main"]] == [(9, 4, 6, 6)]
    torch.testing.assert_close(read.sum(-1), torch.ones(9, 4, 6))
    # The read block takes its keys and values from the tokenizer: no projections.
    attention = net.read_blocks[0].attention
    assert attention.key is None and attention.value is None
    assert net.main.tokenizer.numerical_embedding.weight.shape == (12, 2 * 16)


def test_latent_tokens_ignore_the_padding_after_a_sequence():
    net = network(n_latent_tokens=4, sequences=True)
    inputs = batch()
    inputs["lengths"][:] = 4  # patches of 3 steps: tokens 0-1 are data
    with torch.inference_mode():
        _, weights = net.embed(inputs, return_weights=True)
        out = net(inputs)
        inputs["x_seq"][:, 6:] = 1e6  # what lies past the end cannot matter
        torch.testing.assert_close(net(inputs), out)
    assert (weights["read"][0][..., 2:] == 0).all()


def test_wide_tables_switch_to_latent_tokens():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 65))
    y = (X[:, 0] > 0).astype(int)
    wide = AttentionMLPClassifier(max_iter=2, **FAST).fit(X, y)
    narrow = AttentionMLPClassifier(max_iter=2, **FAST).fit(X[:, :64], y)
    assert wide.n_latent_tokens_ == 32
    assert narrow.n_latent_tokens_ is None


def test_latent_model_names_its_tokens_and_maps(mixed_frame):
    X, y = mixed_frame
    clf = AttentionMLPClassifier(n_latent_tokens=3, max_iter=3, n_blocks=2, **FAST)
    clf.fit(X, y)
    names = clf.token_names_
    assert list(names) == ["main", "input"]
    assert list(names["main"]) == ["[CLS]", "[latent 0]", "[latent 1]", "[latent 2]"]
    assert list(names["input"]) == ["size", "count", "flag", "colour", "city"]
    maps = clf.attention_maps(X.iloc[:4])
    assert maps["read"].shape == (4, 1, 2, 4, 5)
    assert maps["main"].shape == (4, 1, 2, 4, 4)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_latent_tokens_learn_a_wide_task():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 200))
    y = X[:, 7] - 2 * X[:, 150]  # two of 200 features matter
    reg = AttentionMLPRegressor(max_iter=60, n_blocks=2, **FAST).fit(X[:600], y[:600])
    assert reg.n_latent_tokens_ == 32
    assert reg.score(X[600:], y[600:]) > 0.8


def test_latent_tokens_with_two_inputs():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(80, 70))
    context = rng.normal(size=(80, 6, 2))
    y = (table[:, 0] + context[:, :, 0].mean(1) > 0).astype(int)
    clf = AttentionMLPClassifier(max_iter=2, **FAST).fit(TwoInputs(table, context), y)
    assert list(clf.token_names_) == ["main", "input", "context"]
    maps = clf.attention_maps(TwoInputs(table[:3], context[:3]))
    assert sorted(maps) == ["context", "cross", "main", "read"]
    assert maps["cross"].shape[-2:] == (1 + 32, 6)


# -- dropout on the CPU ------------------------------------------------------------
def test_cpu_dropout_drops_the_share_p_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(200_000)
    dropout = Dropout(0.25).train()
    out = dropout(x)
    assert abs((out == 0).float().mean().item() - 0.25) < 0.005
    assert abs(out.mean().item() - 1.0) < 0.01
    torch.manual_seed(0)
    torch.testing.assert_close(dropout(x), out)  # the seed fixes the mask
    assert torch.equal(dropout.eval()(x), x)
    assert torch.equal(Dropout(1.0).train()(x), torch.zeros_like(x))
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_cpu_dropout_passes_gradients_through_the_kept_values():
    torch.manual_seed(0)
    x = torch.randn(1000, requires_grad=True)
    out = Dropout(0.5).train()(x)
    out.sum().backward()
    kept = out != 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 2.0))
    assert (x.grad[~kept] == 0).all()


# -- precision and compilation -----------------------------------------------------
def test_precision_auto_is_float32_on_the_cpu():
    cpu = torch.device("cpu")
    assert autocast_dtype("auto", cpu) is None
    assert autocast_dtype("float32", cpu) is None
    assert autocast_dtype("bfloat16", cpu) is torch.bfloat16


def test_bfloat16_training_learns_and_predicts_float64():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    clf = AttentionMLPClassifier(precision="bfloat16", max_iter=30, **FAST)
    proba = clf.fit(X[:300], y[:300]).predict_proba(X[300:])
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert clf.score(X[300:], y[300:]) > 0.85


# torch's own compile machinery uses a deprecated torch.jit API internally.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")
def test_compiled_training_matches_eager_training():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X[:, 0] - X[:, 1]
    # No dropout: compiled code draws its random numbers from another generator.
    params = dict(max_iter=3, batch_size=50, n_blocks=2, ffn_dropout=0.0, **FAST)
    eager = AttentionMLPRegressor(**params).fit(X, y)
    compiled = AttentionMLPRegressor(compile=True, **params).fit(X, y)
    # The same initial weights and batches; the compiled kernels may round in another
    # order, nothing more.
    np.testing.assert_allclose(compiled.predict(X), eager.predict(X), atol=1e-3)
    assert not hasattr(compiled.module_, "_orig_mod")  # the plain module is kept
    pickle.loads(pickle.dumps(compiled)).predict(X[:3])


@pytest.mark.gpu
def test_cuda_trains_under_bfloat16_by_default_and_matches_float32():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    params = dict(device="cuda", max_iter=30, **FAST)
    auto = AttentionMLPClassifier(**params).fit(X[:400], y[:400])
    full = AttentionMLPClassifier(precision="float32", **params).fit(X[:400], y[:400])
    if torch.cuda.is_bf16_supported():
        assert autocast_dtype("auto", auto.device_) is torch.bfloat16
    # bfloat16 rounds differently, so not the same model; as good a one.
    assert auto.score(X[400:], y[400:]) > full.score(X[400:], y[400:]) - 0.05
    assert auto.predict_proba(X[400:]).dtype == np.float64


def _threads_in_training(estimator, X, y):
    """torch's thread count in each epoch of ``estimator.fit(X, y)``."""
    seen = []

    def record_threads(record):
        seen.append(torch.get_num_threads())

    estimator.set_params(callbacks=[record_threads])
    estimator.fit(X, y)
    return set(seen)


@pytest.fixture
def two_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_small_fits_train_on_one_thread_and_leave_torchs_count_as_it_was(
    two_torch_threads,
):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(3000, 2)), np.arange(3000) % 2
    quick = dict(n_members=1, d_token=8, n_heads=2, n_blocks=1, max_iter=1)
    small = AttentionMLPClassifier(**quick)
    assert _threads_in_training(small, X[:2999], y[:2999]) == {1}
    assert torch.get_num_threads() == 2
    # From 3,000 rows on, torch's count; None always takes it, a number sets it.
    assert _threads_in_training(AttentionMLPClassifier(**quick), X, y) == {2}
    none = AttentionMLPClassifier(n_threads=None, **quick)
    assert _threads_in_training(none, X[:100], y[:100]) == {2}
    three = AttentionMLPClassifier(n_threads=3, **quick)
    assert _threads_in_training(three, X[:100], y[:100]) == {3}
    assert torch.get_num_threads() == 2


def test_a_failed_fit_puts_torchs_thread_count_back(two_torch_threads):
    def stop(record):
        raise RuntimeError("stop here")

    X, y = np.random.default_rng(0).normal(size=(50, 2)), np.arange(50) % 2
    clf = AttentionMLPClassifier(d_token=8, n_heads=2, max_iter=2, callbacks=[stop])
    with pytest.raises(RuntimeError, match="stop here"):
        clf.fit(X, y)
    assert torch.get_num_threads() == 2


def test_a_fit_in_another_thread_leaves_this_threads_count_alone(two_torch_threads):
    import threading

    from skattn._runtime import torch_threads

    torch.ones(2).sum()  # torch's threads set up in this thread
    inside, go_on, seen = threading.Event(), threading.Event(), {}

    def fit_in_a_thread():
        with torch_threads(1):
            seen["inside"] = torch.get_num_threads()
            inside.set()
            go_on.wait(10)
        seen["after"] = torch.get_num_threads()

    worker = threading.Thread(target=fit_in_a_thread)
    worker.start()
    assert inside.wait(10)
    assert torch.get_num_threads() == 2  # torch's count belongs to each thread
    go_on.set()
    worker.join(10)
    assert seen == {"inside": 1, "after": 2}
    assert torch.get_num_threads() == 2
