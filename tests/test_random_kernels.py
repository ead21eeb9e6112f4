"""Random-kernel sequence tokens (``sequence_tokenizer="random_kernels"``):
MiniRocket's kernels, the features per patch, what fit chooses, the probe of
``sequence_tokenizer="auto"``, and models of before them."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import sklearn
import torch
from skorch.callbacks import Callback

import skattn._batches as batches
import skattn._fitting as fitting
import skattn._inputs.tokenizer_choice as tokenizer_choice
import skattn._tokenizers as tokenizers
from skattn import AttentionFeatureExtractor, AttentionMLPClassifier, TwoInputs
from skattn._batches import TensorDataset, with_fixed_features
from skattn._inputs.sequence import random_kernel_state
from skattn._inputs.tokenizer_choice import (
    choose_tokenizer,
    probe_scores,
    whole_series_features,
)
from skattn._members import member_networks
from skattn._tokenizers import (
    RandomKernelFeatures,
    SequenceTokenizer,
    minirocket_kernels,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=16, n_heads=2, n_blocks=1, learning_rate=3e-3, random_state=0)
KERNELS = dict(FAST, sequence_tokenizer="random_kernels")
LINEAR = dict(FAST, sequence_tokenizer="linear")


def bump_or_spike(
    n: int = 160, n_steps: int = 60, seed: int = 0, centred: bool = False
):
    """Univariate series holding, at a random place, either a wide smooth bump (1)
    or two narrow spikes (0) of the same height, under noise: the classes differ
    in shape only, never in position or peak. The bump's area is larger: a linear
    model of the values reads the classes from their mean, unless ``centred``
    subtracts each series' mean."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    steps = np.arange(n_steps)
    X = 0.2 * rng.normal(size=(n, n_steps))
    for i in range(n):
        centre = rng.integers(10, n_steps - 10)
        if y[i] == 1:
            X[i] += np.exp(-0.5 * ((steps - centre) / 4.0) ** 2)
        else:
            X[i, [centre - 3, centre + 3]] += 1.0
    if centred:
        X -= X.mean(axis=1, keepdims=True)
    return X[:, :, None], y


def centred_bump_or_spike(n: int = 160):
    return bump_or_spike(n=n, centred=True)


def noisy_mean_sign(n: int = 160, n_steps: int = 40, seed: int = 0):
    """Standard normal series whose class is the sign of their mean: a level that
    the zero-sum kernels cannot see."""
    X = np.random.default_rng(seed).normal(size=(n, n_steps, 1))
    return X, (X.mean(axis=(1, 2)) > 0).astype(int)


def direct_features(x, observed, weight, thresholds, dilation, patch_size):
    """The features of one series and one dilation, step by step in NumPy.

    x (T, C); observed (T,) bool; weight (K, C, 9); thresholds (K, Q). Returns
    (P, K * Q): for each patch, the share of its observed steps where the
    kernel's response (zero-padded series) is above each threshold."""
    n_steps = len(x)
    padded = np.pad(x, ((4 * dilation, 4 * dilation), (0, 0)))
    n_kernels, _, _ = weight.shape
    response = np.zeros((n_kernels, n_steps))
    for t in range(n_steps):
        window = padded[t : t + 8 * dilation + 1 : dilation]  # (9, C)
        response[:, t] = np.einsum("kcj,jc->k", weight, window)
    above = response[:, None, :] > thresholds[:, :, None]  # (K, Q, T)
    n_patches = n_steps // patch_size
    out = np.zeros((n_patches, thresholds.size))
    for p in range(n_patches):
        steps = slice(p * patch_size, (p + 1) * patch_size)
        count = max(observed[steps].sum(), 1)
        out[p] = (above[:, :, steps] & observed[steps]).sum(-1).ravel() / count
    return out


def test_minirocket_kernels_are_the_84_shapes_that_sum_to_zero():
    kernels = minirocket_kernels()
    assert kernels.shape == (84, 9) and kernels.dtype == np.float32
    assert set(np.unique(kernels)) == {-1.0, 2.0}
    assert (np.count_nonzero(kernels == 2.0, axis=1) == 3).all()
    np.testing.assert_array_equal(kernels.sum(axis=1), 0.0)
    assert len({k.tobytes() for k in kernels}) == 84


def test_features_are_the_share_of_steps_above_each_threshold_per_patch():
    rng = np.random.default_rng(0)
    n_channels, n_steps, patch_size = 2, 24, 6
    dilations = [1, 2]
    channels = rng.random((2, 84, n_channels)) < 0.6
    channels[..., 0] |= ~channels.any(-1)  # every kernel reads a channel
    thresholds = rng.normal(size=(2, 84, 3)).astype(np.float32)
    features = RandomKernelFeatures(
        dilations=dilations, channels=channels, thresholds=thresholds
    )
    x = rng.normal(size=(3, n_steps, n_channels)).astype(np.float32)
    lengths = np.array([24, 17, 5])
    x[np.arange(n_steps)[None, :] >= lengths[:, None]] = 0.0  # zero after the end
    observed = np.arange(n_steps)[None, :] < lengths[:, None]
    got = features(torch.from_numpy(x), torch.from_numpy(observed), patch_size)
    assert got.shape == (3, n_steps // patch_size, 2 * 84 * 3)
    weight = channels[..., None] * minirocket_kernels()[:, None, :]
    for row in range(3):
        expected = np.concatenate(
            [
                direct_features(
                    x[row], observed[row], weight[d], thresholds[d], dilation,
                    patch_size,
                )
                for d, dilation in enumerate(dilations)
            ],
            axis=1,
        )  # fmt: skip
        np.testing.assert_allclose(got[row].numpy(), expected, atol=1e-6)
    # Patches wholly after a sequence's end are zeros (their tokens are padding).
    assert (got[2, 1:] == 0).all()


def test_long_batches_are_computed_in_chunks_with_the_same_result(monkeypatch):
    rng = np.random.default_rng(1)
    state = random_kernel_state(
        rng.normal(size=(10, 40, 1)), np.full(10, 40), np.random.default_rng(0)
    )
    features = RandomKernelFeatures(
        dilations=state[0].tolist(), channels=state[1], thresholds=state[2]
    )
    lengths = torch.tensor([40, 33, 8, 40, 17, 1, 25])
    observed = torch.arange(40)[None, :] < lengths[:, None]  # (7, 40)
    x = torch.randn(7, 40, 1) * observed[..., None]
    whole = features(x, observed, 8)
    monkeypatch.setattr(tokenizers, "_KERNEL_CHUNK_ELEMENTS", 1)  # one row a time
    torch.testing.assert_close(features(x, observed, 8), whole, rtol=0, atol=0)
    empty = features(x[:0], observed[:0], 8)  # a data-parallel share may be empty
    assert empty.shape == (0, 5, features.n_features)


def test_patches_of_more_than_255_steps_are_counted_in_full():
    rng = np.random.default_rng(2)
    thresholds = rng.normal(size=(1, 84, 4)).astype(np.float32) - 3.0  # most above
    features = RandomKernelFeatures(
        dilations=[1], channels=np.ones((1, 84, 1), bool), thresholds=thresholds
    )
    x = rng.normal(size=(1, 600, 1)).astype(np.float32)
    observed = np.ones((1, 600), bool)
    got = features(torch.from_numpy(x), torch.from_numpy(observed), 300)[0].numpy()
    weight = minirocket_kernels()[:, None, :]
    expected = direct_features(x[0], observed[0], weight, thresholds[0], 1, 300)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.max() > 255 / 300  # a uint8 count would have wrapped


def test_fit_chooses_dilations_channels_and_thresholds_as_minirocket_does():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(30, 150, 12))
    lengths = rng.integers(20, 151, size=30)
    values[np.arange(150)[None, :] >= lengths[:, None]] = np.nan
    dilations, channels, thresholds = random_kernel_state(
        values, lengths, np.random.default_rng(3)
    )
    # Exponential spacing from 1 until the kernel (9 steps) spans the longest.
    assert dilations[0] == 1 and 1 < len(dilations) <= 8
    assert np.all(np.diff(dilations) > 0) and 8 * dilations[-1] <= lengths.max() - 1
    # Each kernel reads 1 to 9 channels (MiniRocket's multivariate rule).
    counts = channels.sum(-1)
    assert channels.shape == (len(dilations), 84, 12)
    assert counts.min() == 1 and counts.max() <= 9
    # Thresholds are quantiles of training responses: spread, finite, distinct.
    assert thresholds.shape == (len(dilations), 84, 4)
    assert np.isfinite(thresholds).all() and (thresholds.std(-1) > 0).mean() > 0.9
    again = random_kernel_state(values, lengths, np.random.default_rng(3))
    for a, b in zip((dilations, channels, thresholds), again, strict=True):
        np.testing.assert_array_equal(a, b)
    univariate = random_kernel_state(values[..., :1], lengths, np.random.default_rng(3))
    assert univariate[1].all()  # a single channel is always the one read


def test_random_kernels_learn_a_shape_at_any_position():
    X, y = bump_or_spike()
    clf = AttentionMLPClassifier(max_iter=40, **KERNELS).fit(X[:120], y[:120])
    assert clf.module_.main.tokenizer.kernels is not None
    assert clf.score(X[120:], y[120:]) >= 0.9
    # Same seed, same kernels and model; a row's prediction is its own.
    again = AttentionMLPClassifier(max_iter=40, **KERNELS).fit(X[:120], y[:120])
    np.testing.assert_array_equal(
        again._input.kernel_thresholds_, clf._input.kernel_thresholds_
    )
    proba = clf.predict_proba(X[120:])
    np.testing.assert_array_equal(again.predict_proba(X[120:]), proba)
    np.testing.assert_allclose(clf.predict_proba(X[125:126]), proba[5:6], atol=1e-6)
    # A short series gets the same prediction alone as batched with longer ones.
    series = [X[120, :35], X[121], X[122, :50]]
    batched = clf.predict_proba(series)
    np.testing.assert_allclose(clf.predict_proba(series[:1]), batched[:1], atol=1e-6)


def test_linear_tokens_have_no_kernels_and_unknown_tokenizers_are_refused():
    X, y = bump_or_spike(n=40)
    clf = AttentionMLPClassifier(max_iter=2, **LINEAR)
    tokenizer = clf.fit(X, y).module_.main.tokenizer
    assert isinstance(tokenizer, SequenceTokenizer) and tokenizer.kernels is None
    assert not hasattr(clf._input, "kernel_thresholds_")
    assert clf.sequence_tokenizer_ == "linear"
    with pytest.raises(ValueError, match="'sequence_tokenizer' parameter"):
        AttentionMLPClassifier(sequence_tokenizer="rocket").fit(X, y)


@pytest.mark.parametrize(
    ("make_data", "chosen"),
    [(centred_bump_or_spike, "random_kernels"), (noisy_mean_sign, "linear")],
)
def test_auto_takes_kernels_for_shapes_and_linear_tokens_for_levels(make_data, chosen):
    X, y = make_data()
    auto = AttentionMLPClassifier(max_iter=3, **FAST)
    assert auto.get_params()["sequence_tokenizer"] == "auto"
    auto.fit(X, y)
    assert auto.sequence_tokenizer_ == chosen
    assert (auto.module_.main.tokenizer.kernels is not None) == (
        chosen == "random_kernels"
    )
    # The probe's scores say why: the kernels win by more than 1.5 standard errors.
    scores = auto.sequence_tokenizer_scores_
    assert set(scores) == {"linear", "random_kernels", "standard_error"}
    lead = scores["random_kernels"] - scores["linear"]
    assert (lead > 1.5 * scores["standard_error"]) == (chosen == "random_kernels")
    # The model is the one that the chosen tokenizer makes when asked for.
    asked = AttentionMLPClassifier(max_iter=3, **dict(FAST, sequence_tokenizer=chosen))
    np.testing.assert_array_equal(
        auto.predict_proba(X), asked.fit(X, y).predict_proba(X)
    )
    assert asked.sequence_tokenizer_scores_ is None  # nothing was chosen


def test_the_probe_scores_kernels_and_raw_values_by_cross_validation():
    def probe(X, y):
        values = X.astype(np.float32)
        lengths = np.full(len(X), X.shape[1])
        state = random_kernel_state(values, lengths, np.random.default_rng(0))
        kernels = RandomKernelFeatures(
            dilations=state[0].tolist(), channels=state[1], thresholds=state[2]
        )
        return probe_scores(
            values, lengths, y, kernels=kernels, mean=np.zeros(1), scale=np.ones(1),
            seed=0,
        )  # fmt: skip

    X, y = centred_bump_or_spike()
    shapes = probe(X, y)  # accuracy over 5 stratified folds
    assert shapes["random_kernels"] > shapes["linear"] + 0.1
    X, y = noisy_mean_sign()
    levels = probe(X, y)
    assert levels["linear"] > levels["random_kernels"] + 0.1
    # A float target is scored by R2: a series' peak is a shape of sorts, its mean
    # a level.
    peaks = probe(X, X.max(axis=(1, 2)))
    assert peaks["random_kernels"] > peaks["linear"] + 0.3
    means = probe(X, X.mean(axis=(1, 2)))
    assert means["linear"] > 0.99 > means["random_kernels"]
    # A regressor's encoded target is a column: the same scores as a 1-D target.
    column = probe(X, X.mean(axis=(1, 2))[:, None])
    assert column == pytest.approx(means)
    # Nothing to compare on: one class, a class of one row, three rows.
    assert probe(X, np.zeros(len(y), int)) is None
    assert probe(X, np.r_[1, np.zeros(len(y) - 1, int)]) is None
    assert probe(X[:3], np.r_[0.0, 1.0, 2.0]) is None
    # The kernels only when they win by more than the noise of the difference.
    margin = shapes["random_kernels"] - shapes["linear"]
    assert margin > 1.5 * shapes["standard_error"] > 0
    assert choose_tokenizer(shapes) == "random_kernels"
    assert choose_tokenizer(levels) == choose_tokenizer(None) == "linear"
    within_noise = {"linear": 0.80, "random_kernels": 0.85, "standard_error": 0.04}
    assert choose_tokenizer(within_noise) == "linear"
    unscored = {"linear": np.nan, "random_kernels": 0.8, "standard_error": np.nan}
    assert choose_tokenizer(unscored) == "linear"


def shapes_then_levels(n: int = 100):
    """``n`` series of a shape task, then ``n`` of a level task (40 steps), under
    one set of labels: the probe of all of them takes the kernels."""
    X_shape, y_shape = bump_or_spike(n=n, n_steps=40, centred=True)
    X_level, y_level = noisy_mean_sign(n=n, n_steps=40)
    return np.concatenate([X_shape, X_level]), np.r_[y_shape, y_level]


def test_training_weights_steer_the_probe_as_they_steer_the_loss():
    X, y = shapes_then_levels()
    on_shapes = np.r_[np.ones(100), np.zeros(100)]
    params = dict(max_iter=1, **FAST)
    assert AttentionMLPClassifier(**params).fit(X, y).sequence_tokenizer_ == (
        "random_kernels"
    )
    # Rows of no weight count for neither ridge fit nor score: the level rows alone
    # ask for the linear tokens, the shape rows alone for the kernels.
    levels = AttentionMLPClassifier(**params).fit(X, y, sample_weight=1 - on_shapes)
    assert levels.sequence_tokenizer_ == "linear"
    shapes = AttentionMLPClassifier(**params).fit(X, y, sample_weight=on_shapes)
    assert shapes.sequence_tokenizer_ == "random_kernels"


class WeightRecordingRidge(tokenizer_choice.RidgeClassifierCV):
    """The probe's ridge, recording the weights of every fit."""

    weights: list = []

    def fit(self, X, y, sample_weight=None, **params):
        WeightRecordingRidge.weights.append(sample_weight)
        return super().fit(X, y, sample_weight=sample_weight, **params)


def test_the_ridge_fits_of_the_probe_get_the_training_weights(monkeypatch):
    X, y = shapes_then_levels()
    monkeypatch.setattr(tokenizer_choice, "RidgeClassifierCV", WeightRecordingRidge)
    params = dict(max_iter=1, **FAST)
    recorded = WeightRecordingRidge.weights = []
    AttentionMLPClassifier(**params).fit(X, y)
    assert recorded and all(weight is None for weight in recorded)  # unweighted
    # Weights of 1 and 3 (none zero): each training fold's own, as the loss sees
    # them (mean one), with metadata routing on or off.
    sample_weight = np.where(np.arange(200) % 2 == 0, 1.0, 3.0)
    for routing in (False, True):
        recorded.clear()
        with sklearn.config_context(enable_metadata_routing=routing):
            AttentionMLPClassifier(**params).fit(X, y, sample_weight=sample_weight)
        assert len(recorded) == 10  # 5 folds x (kernels, raw values)
        assert all(set(np.unique(w)) == {0.5, 1.5} for w in recorded)
    # Class weights are training weights too.
    recorded.clear()
    imbalanced = np.r_[y[:150], np.ones(50, int)]
    AttentionMLPClassifier(class_weight="balanced", **params).fit(X, imbalanced)
    assert all(len(np.unique(w)) == 2 for w in recorded) and len(recorded) == 10


def test_the_probe_of_equal_weights_is_the_unweighted_probe():
    X, y = shapes_then_levels()
    values = X.astype(np.float32)
    lengths = np.full(len(X), X.shape[1])
    state = random_kernel_state(values, lengths, np.random.default_rng(0))
    kernels = RandomKernelFeatures(
        dilations=state[0].tolist(), channels=state[1], thresholds=state[2]
    )
    common = dict(kernels=kernels, mean=np.zeros(1), scale=np.ones(1), seed=0)
    unweighted = probe_scores(values, lengths, y, **common)
    equal = probe_scores(values, lengths, y, weight=np.full(200, 3.0), **common)
    assert equal == unweighted
    # Zero weights: the probe of the other rows.
    kept = np.arange(200) % 3 != 0
    zeroed = probe_scores(values, lengths, y, weight=kept * 2.0, **common)
    assert zeroed == probe_scores(values[kept], lengths[kept], y[kept], **common)
    # Weights of 1 and 2: each series' share of the scores and of their standard
    # error is weighted (the formula gives the unweighted one for equal weights).
    weighted = probe_scores(values, lengths, y, weight=1.0 + kept, **common)
    assert weighted != unweighted
    gains = {"linear": np.r_[1.0, 0.0, 1.0, 1.0], "random_kernels": np.ones(4)}
    equal_gains = tokenizer_choice._weighted_scores(gains, np.full(4, 0.5))
    assert equal_gains["linear"] == pytest.approx(0.75)
    assert equal_gains["standard_error"] == pytest.approx(
        (gains["random_kernels"] - gains["linear"]).std(ddof=1) / 2
    )
    doubled = tokenizer_choice._weighted_scores(gains, np.r_[1.0, 2.0, 1.0, 1.0])
    assert doubled["linear"] == pytest.approx(0.6)  # the miss counted twice


def test_the_probe_pools_long_series_in_blocks_with_the_whole_series_result():
    # 600 steps: three blocks of 200, counted in bytes, weighted by their steps.
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5, 600, 2)).astype(np.float32)
    lengths = np.array([600, 599, 401, 200, 9])
    steps = np.arange(600)
    values[steps[None, :] >= lengths[:, None]] = 0.0
    state = random_kernel_state(values, lengths, rng)
    kernels = RandomKernelFeatures(
        dilations=state[0].tolist(), channels=state[1], thresholds=state[2]
    )
    observed = torch.as_tensor(steps[None, :] < lengths[:, None])
    whole = kernels(torch.as_tensor(values), observed, 600)[:, 0]  # int32 counts
    np.testing.assert_allclose(
        whole_series_features(kernels, values, lengths), whole.numpy(), atol=1e-6
    )


def test_auto_takes_linear_tokens_without_a_target_and_per_input():
    X, y = centred_bump_or_spike(n=60)
    # Masked pre-training has no target to probe with: linear tokens.
    extractor = AttentionFeatureExtractor(n_components=4, max_iter=1, **FAST).fit(X)
    assert extractor.sequence_tokenizer_ == "linear"
    supervised = AttentionFeatureExtractor(
        n_components=4, objective="classification", max_iter=1, **FAST
    )
    assert supervised.fit(X, y).sequence_tokenizer_ == "random_kernels"
    # Each sequence input of TwoInputs chooses for itself; a table has no tokens
    # to choose.
    level, _ = noisy_mean_sign(n=60)
    pair = AttentionMLPClassifier(max_iter=1, **FAST).fit(TwoInputs(X, level), y)
    main, context = pair._input.parts()
    assert (main.tokens, context.tokens) == ("random_kernels", "linear")
    assert pair.sequence_tokenizer_scores_ == main.tokenizer_scores_  # the main's
    assert extractor.sequence_tokenizer_scores_ is None  # no probe without y
    table = AttentionMLPClassifier(max_iter=1, **FAST).fit(X[:, :, 0], y)
    assert table.sequence_tokenizer_ is None
    assert table.sequence_tokenizer_scores_ is None


def test_pretrained_models_keep_their_tokenizer():
    X, y = bump_or_spike(n=40)
    source = AttentionMLPClassifier(max_iter=1, **KERNELS).fit(X, y)
    with pytest.raises(ValueError, match="sequence_tokenizer"):
        AttentionMLPClassifier(max_iter=1, pretrained=source, **LINEAR).fit(X, y)
    # "auto" takes the source's tokens, chosen or asked for (and the scores that
    # chose them, if a probe did).
    tuned = AttentionMLPClassifier(max_iter=1, pretrained=source, **FAST).fit(X, y)
    assert tuned.sequence_tokenizer_ == "random_kernels"
    assert tuned.sequence_tokenizer_scores_ is None
    chosen = AttentionMLPClassifier(max_iter=1, **FAST).fit(*centred_bump_or_spike())
    scores = chosen.sequence_tokenizer_scores_
    X, y = centred_bump_or_spike(n=60)
    tuned = AttentionMLPClassifier(max_iter=1, pretrained=chosen, **FAST).fit(X, y)
    assert scores is not None and tuned.sequence_tokenizer_scores_ == scores


def test_kernel_buffers_are_not_saved_with_the_weights(tmp_path):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from skattn import load_model, save_model

    X, y = bump_or_spike(n=40)
    clf = AttentionMLPClassifier(max_iter=2, **KERNELS).fit(X, y)
    assert not any("kernels." in name for name in clf.module_.state_dict())
    save_model(clf, tmp_path / "kernels.skattn")
    loaded = load_model(tmp_path / "kernels.skattn")
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    pickled = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(pickled.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("kernel_thresholds_", np.zeros((1, 84, 4), np.float32), "has shape"),
        ("kernel_channels_", np.ones((2, 84, 3), bool), "has shape"),
        ("kernel_channels_", np.zeros((6, 84, 1), bool), "give a kernel no channel"),
        ("kernel_dilations_", np.arange(1, 20), "are not 1 to 8 increasing"),
        ("kernel_dilations_", np.array([1, 1 << 19]), r"dilations in \[1, 7\]"),
        ("kernel_dilations_", np.array([2, 1]), "increasing dilations"),
        ("sequence_tokenizer", "rocket", "not one of"),
        ("sequence_tokenizer_", "auto", "not one of"),
        ("sequence_tokenizer", "linear", "but sequence_tokenizer is 'linear'"),
    ],
)
def test_a_crafted_kernel_state_is_refused(attribute, value, message):
    X, y = bump_or_spike(n=40)
    clf = AttentionMLPClassifier(max_iter=1, **KERNELS).fit(X, y)
    crafted = copy.deepcopy(clf)
    setattr(crafted._input, attribute, value)
    with pytest.raises(ValueError, match=message):
        crafted._check_state()


def test_the_probe_scores_are_kept_in_files_and_pickles(tmp_path):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from skattn import load_model, save_model

    X, y = centred_bump_or_spike()
    clf = AttentionMLPClassifier(max_iter=1, **FAST).fit(X, y)
    scores = clf.sequence_tokenizer_scores_
    assert clf.sequence_tokenizer_ == "random_kernels" and scores is not None
    save_model(clf, tmp_path / "auto.skattn")
    assert load_model(tmp_path / "auto.skattn").sequence_tokenizer_scores_ == scores
    assert pickle.loads(pickle.dumps(clf)).sequence_tokenizer_scores_ == scores
    # A copy, not the model's own: changing it changes nothing fitted.
    clf.sequence_tokenizer_scores_["linear"] = 2.0
    assert clf.sequence_tokenizer_scores_ == scores
    # A model of before the scores were kept has none to say.
    del clf._input.tokenizer_scores_
    clf._check_state()
    assert clf.sequence_tokenizer_scores_ is None


@pytest.fixture(scope="module")
def chosen_kernels():
    """A model whose probe chose the kernels (one epoch)."""
    X, y = centred_bump_or_spike(n=60)
    clf = AttentionMLPClassifier(max_iter=1, **FAST).fit(X, y)
    assert clf.sequence_tokenizer_ == "random_kernels"
    return clf


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({"linear": 0.9}, r"not None or a dict of floats .* \(got \['linear'\]\)"),
        ("0.9", r"\(got str\)"),
        (
            {"linear": 1, "random_kernels": 0.5, "standard_error": 0.1},
            "not None or a dict of floats",
        ),
        (  # linear tokens scored higher: the kernels made were not chosen
            {"linear": 0.9, "random_kernels": 0.5, "standard_error": 0.1},
            "chose 'linear' tokens, but the tokens are 'random_kernels'",
        ),
        (None, "chose 'linear' tokens"),  # no probe ran: fit takes linear tokens
        (
            {"linear": 0.5, "random_kernels": 1.5, "standard_error": 0.1},
            "a score above 1",
        ),
        (
            {"linear": 0.5, "random_kernels": 0.9, "standard_error": -0.1},
            "negative standard error",
        ),
    ],
)
def test_crafted_probe_scores_are_refused(chosen_kernels, scores, message):
    crafted = copy.deepcopy(chosen_kernels)
    crafted._input.tokenizer_scores_ = scores
    with pytest.raises(ValueError, match=message):
        crafted._check_state()


def test_probe_scores_of_tokens_asked_for_are_refused(chosen_kernels):
    X, y = centred_bump_or_spike(n=60)
    asked = AttentionMLPClassifier(max_iter=1, **KERNELS).fit(X, y)
    asked._input.tokenizer_scores_ = chosen_kernels.sequence_tokenizer_scores_
    with pytest.raises(ValueError, match="only 'auto' runs the probe"):
        asked._check_state()


def test_probe_scores_that_fit_can_make_load(tmp_path):
    pytest.importorskip("skops")
    pytest.importorskip("safetensors")
    from skattn import load_model, save_model

    X, y = noisy_mean_sign(n=60)
    clf = AttentionMLPClassifier(max_iter=1, **FAST).fit(X, y)
    assert clf.sequence_tokenizer_ == "linear"
    # A probe that could not run (None), or whose scores came out NaN, keeps the
    # linear tokens: both states load.
    nan = float("nan")
    for scores in (None, {"linear": nan, "random_kernels": nan, "standard_error": nan}):
        clf._input.tokenizer_scores_ = scores
        save_model(clf, tmp_path / "linear.skattn")
        loaded = load_model(tmp_path / "linear.skattn").sequence_tokenizer_scores_
        if scores is None:
            assert loaded is None
        else:
            assert set(loaded) == set(scores) and np.isnan(list(loaded.values())).all()


def test_a_state_of_auto_without_its_choice_is_refused():
    X, y = bump_or_spike(n=40)
    clf = AttentionMLPClassifier(max_iter=1, **FAST).fit(X, y)
    crafted = copy.deepcopy(clf)
    del crafted._input.sequence_tokenizer_
    with pytest.raises(ValueError, match="sequence_tokenizer_ is missing"):
        crafted._check_state()


def test_a_pickle_of_before_random_kernels_loads_with_linear_tokens():
    X, y = bump_or_spike(n=40)
    clf = AttentionMLPClassifier(max_iter=2, **LINEAR).fit(X, y)
    state = clf.__getstate__()
    del state["sequence_tokenizer"]  # as skattn wrote it before
    input_state = dict(vars(state["_input"]))
    del input_state["sequence_tokenizer"], input_state["random_state"]
    del input_state["sequence_tokenizer_"]
    state["_input"] = copy.copy(state["_input"])
    state["_input"].__dict__.clear()
    state["_input"].__dict__.update(input_state)
    old = AttentionMLPClassifier.__new__(AttentionMLPClassifier)
    old.__setstate__(state)
    old._check_state()
    assert old.get_params()["sequence_tokenizer"] == "linear"
    np.testing.assert_array_equal(old.predict_proba(X), clf.predict_proba(X))


def test_kernels_serve_the_extractor_and_a_sequence_context():
    X, y = bump_or_spike(n=60)
    extractor = AttentionFeatureExtractor(n_components=4, max_iter=2, **KERNELS)
    assert extractor.fit(X).transform(X).shape == (60, 4)
    assert extractor.module_.main.tokenizer.kernels is not None
    rng = np.random.default_rng(0)
    pair = TwoInputs(rng.normal(size=(60, 3)), X)
    clf = AttentionMLPClassifier(max_iter=2, **KERNELS).fit(pair, y)
    assert clf.module_.context.tokenizer.kernels is not None
    assert clf.predict(pair).shape == (60,)


class BatchKeys(Callback):
    """Records the keys of every training and validation batch."""

    def initialize(self) -> BatchKeys:
        self.training: set[str] = set()
        self.validation: set[str] = set()
        return self

    def on_batch_begin(self, net, batch, training, **kwargs) -> None:
        (self.training if training else self.validation).update(batch[0])


@pytest.mark.parametrize(
    "params",
    [
        dict(),  # every row trains, no validation
        dict(early_stopping=True),  # training and validation rows
        dict(n_members=2),  # cross-fitted members: one set of rows, counted once
    ],
    ids=["all-rows", "validation-split", "members"],
)
def test_a_small_training_set_is_counted_once_with_the_same_model(params, monkeypatch):
    X, y = bump_or_spike(n=80)
    params = dict(max_iter=3, **KERNELS, **params)
    cached = BatchKeys()
    model = AttentionMLPClassifier(callbacks=[cached], **params).fit(X, y)
    key = member_networks(model.module_)[0].main.fixed_key
    assert key in cached.training
    if model.n_members_ > 1 or params.get("early_stopping"):
        assert key in cached.validation
    # Above the memory bound every batch computes its counts: the same model.
    monkeypatch.setattr(fitting, "_FIXED_FEATURES_MAX_BYTES", 0)
    per_batch = BatchKeys()
    again = AttentionMLPClassifier(callbacks=[per_batch], **params).fit(X, y)
    assert key not in per_batch.training | per_batch.validation
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_the_tokenizer_reads_the_counts_it_is_given(monkeypatch):
    X, y = bump_or_spike(n=80)
    counted = []
    counts = RandomKernelFeatures.counts

    def counting(self, values, observed, patch_size):
        counted.append(len(values))
        return counts(self, values, observed, patch_size)

    monkeypatch.setattr(RandomKernelFeatures, "counts", counting)
    params = dict(max_iter=3, batch_size=20, **KERNELS)
    AttentionMLPClassifier(**params).fit(X, y)
    # One row to size the cache, then the 80 training rows once.
    assert counted == [1, 80]
    counted.clear()
    monkeypatch.setattr(fitting, "_FIXED_FEATURES_MAX_BYTES", 0)
    AttentionMLPClassifier(**params).fit(X, y)
    assert counted == [1] + [20] * 12  # sized, then every batch of 3 epochs


def test_fixed_features_are_the_tokenizer_counts_in_any_chunks(monkeypatch):
    X, y = bump_or_spike(n=30)
    model = AttentionMLPClassifier(max_iter=1, **KERNELS).fit(X, y)
    tokens = model.module_.main
    arrays = model._input.transform(model._input.check(X, model))
    inputs = {name: torch.from_numpy(array) for name, array in arrays.items()}
    data = TensorDataset(inputs, torch.zeros(30), torch.ones(30))
    monkeypatch.setattr(batches, "_FIXED_FEATURE_ROWS", 7)  # 5 chunks of rows
    (cached,) = with_fixed_features(model.module_, [data], max_bytes=2**20)
    counts = cached.inputs[tokens.fixed_key]
    assert counts.dtype == torch.uint8  # one byte a count: patches of < 256 steps
    torch.testing.assert_close(counts, tokens.fixed_features(inputs), rtol=0, atol=0)
    n_bytes = counts.nbytes
    (over,) = with_fixed_features(model.module_, [data], max_bytes=n_bytes - 1)
    assert over is data  # over the bound: nothing added
    linear = AttentionMLPClassifier(max_iter=1, **LINEAR).fit(X, y)
    (plain,) = with_fixed_features(linear.module_, [data], max_bytes=2**20)
    assert set(plain.inputs) == set(inputs)  # linear tokens have no fixed features


def test_pre_training_and_a_sequence_context_see_what_they_should():
    X, y = bump_or_spike(n=60)
    # Masked pre-training hides patches before the kernels run: no counts computed
    # from the whole series may reach it.
    hidden = BatchKeys()
    extractor = AttentionFeatureExtractor(
        n_components=4, max_iter=1, callbacks=[hidden], **KERNELS
    ).fit(X)
    assert extractor.module_.main.fixed_key not in hidden.training
    # A sequence read by cross-attention is counted once too, under its own key.
    keys = BatchKeys()
    pair = TwoInputs(np.random.default_rng(0).normal(size=(60, 3)), X)
    clf = AttentionMLPClassifier(max_iter=2, callbacks=[keys], **KERNELS).fit(pair, y)
    assert clf.module_.context.fixed_key in keys.training
    assert clf.module_.main.fixed_key not in keys.training  # a table's: none
    # One epoch (each partial_fit call) counts its rows once anyway: no copy kept.
    one_epoch = BatchKeys()
    AttentionMLPClassifier(max_iter=1, callbacks=[one_epoch], **KERNELS).fit(pair, y)
    assert clf.module_.context.fixed_key not in one_epoch.training


# torch's own compile machinery uses a deprecated torch.jit API internally.
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated")
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "per-batch"])
def test_compiled_training_counts_as_eager_training_does(cached, monkeypatch):
    if not cached:  # the compiled graph counts in floats
        monkeypatch.setattr(fitting, "_FIXED_FEATURES_MAX_BYTES", 0)
    X, y = bump_or_spike(n=40)
    # No dropout: compiled code draws its random numbers from another generator.
    params = dict(max_iter=2, batch_size=20, ffn_dropout=0.0, **KERNELS)
    eager = AttentionMLPClassifier(**params).fit(X, y)
    compiled = AttentionMLPClassifier(compile=True, **params).fit(X, y)
    np.testing.assert_allclose(
        compiled.predict_proba(X), eager.predict_proba(X), atol=1e-3
    )


@pytest.mark.gpu
def test_kernels_on_cuda_match_the_cpu():
    X, y = bump_or_spike(n=60)
    params = dict(max_iter=3, ffn_dropout=0.0, precision="float32", **KERNELS)
    cpu = AttentionMLPClassifier(device="cpu", **params).fit(X, y)
    gpu = AttentionMLPClassifier(device="cuda", **params).fit(X, y)
    features = gpu.module_.main.tokenizer.kernels
    assert features.weight.device.type == "cuda"
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=1e-3)
