"""Sequences and two inputs with cross-attention, through the same three estimators."""

from __future__ import annotations

import pickle
import re
import sys
import warnings

import numpy as np
import pytest
from conftest import SHARED_BENCH
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skattn import AttentionFeatureExtractor, AttentionMLPClassifier, TwoInputs

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=16, n_heads=2, n_blocks=1, learning_rate=3e-3, random_state=0)


def shared_dataset(name: str) -> dict:
    if not (SHARED_BENCH / "datasets.py").exists():
        pytest.skip("../shared/bench is not available")
    sys.path.insert(0, str(SHARED_BENCH))
    from datasets import load

    return load(name)


def rising_or_falling(n: int = 120, n_steps: int = 20, seed: int = 0):
    """Univariate series that trend up (1) or down (0) under noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    slope = np.where(y == 1, 1.0, -1.0)[:, None]
    X = slope * np.linspace(0, 1, n_steps)[None, :] + 0.3 * rng.normal(
        size=(n, n_steps)
    )
    return X[:, :, None], y  # (n, T, 1)


@pytest.fixture(scope="module")
def trend_model():
    X, y = rising_or_falling()
    return AttentionMLPClassifier(max_iter=30, **FAST).fit(X, y), X, y


# -- real data, official splits ----------------------------------------------------
@pytest.mark.parametrize(
    ("name", "tokenizer", "minimum"),
    [
        ("GunPoint", "linear", 0.8),  # chance: 0.5
        ("BasicMotions", "linear", 0.7),  # chance: 0.25
        ("GunPoint", "random_kernels", 0.95),
        ("BasicMotions", "random_kernels", 0.9),
    ],
)
def test_learns_real_sequences_well_above_chance(name, tokenizer, minimum):
    data = shared_dataset(name)
    # With 50 (GunPoint) or 40 (BasicMotions) training series, one seed's accuracy
    # with the linear tokens swings by 20 points (GunPoint: 0.75 to 0.97 over seeds
    # 0-4), so the mean over five seeds is what is held to the bar. Random-kernel
    # tokens scored 0.99-1.0 on seeds 0-4 (benchmarks/results/sequence.json), at
    # their default settings; three seeds of those.
    if tokenizer == "linear":
        # Small training sets need patience: the loss sits on a plateau a while.
        make = [
            AttentionMLPClassifier(
                max_iter=200,
                n_iter_no_change=50,
                **{**FAST, "d_token": 32, "random_state": seed},
            )
            for seed in range(5)
        ]
    else:
        make = [
            AttentionMLPClassifier(sequence_tokenizer=tokenizer, random_state=seed)
            for seed in range(3)
        ]
    scores = [
        model.fit(data["X_train"], data["y_train"]).score(
            data["X_test"], data["y_test"]
        )
        for model in make
    ]
    assert np.mean(scores) > minimum, scores


def test_variable_length_padding_does_not_leak_into_predictions():
    data = shared_dataset("JapaneseVowels")  # 12 channels, lengths 7 to 29
    X_train, y_train = data["X_train"], data["y_train"]
    clf = AttentionMLPClassifier(max_iter=15, **FAST).fit(X_train, y_train)
    X_test = data["X_test"][:40]
    lengths = data["lengths_test"][:40]
    batched = clf.predict_proba(X_test)  # padded to the longest of the 40
    one_by_one = np.vstack(
        [clf.predict_proba([X_test[i, : lengths[i]]]) for i in range(40)]
    )
    np.testing.assert_allclose(batched, one_by_one, rtol=1e-5, atol=1e-6)
    longer = np.concatenate([X_test, np.full((40, 30, 12), np.nan)], axis=1)
    np.testing.assert_allclose(clf.predict_proba(longer), batched, rtol=1e-5, atol=1e-6)
    assert clf.score(data["X_test"], data["y_test"]) > 0.5  # 9 classes: chance 0.11


# -- the forms a sequence can take -------------------------------------------------
def test_columns_as_steps_list_and_padded_array_are_the_same_input(trend_model):
    clf, X, y = trend_model
    expected = clf.predict_proba(X)
    as_columns = clone(clf).set_params(input_type="sequence").fit(X[:, :, 0], y)
    np.testing.assert_array_equal(as_columns.predict_proba(X[:, :, 0]), expected)
    as_list = clf.predict_proba([series for series in X])
    np.testing.assert_allclose(as_list, expected, rtol=1e-6, atol=1e-7)
    univariate_list = clf.predict_proba([series[:, 0] for series in X])
    np.testing.assert_allclose(univariate_list, expected, rtol=1e-6, atol=1e-7)


def test_learns_a_trend_and_reports_sequence_attributes(trend_model):
    clf, X, y = trend_model
    assert clf.score(X, y) > 0.9
    assert clf.input_kind_ == "sequence"
    assert clf.n_features_in_ == 1
    assert not hasattr(clf, "feature_names_in_")
    assert list(clf.token_names_[:3]) == ["[CLS]", "steps 0-1", "steps 2-3"]
    maps = clf.attention_maps(X[:3])
    assert maps.shape == (3, 1, 2, 11, 11)  # 20 steps in patches of 2, and CLS
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, rtol=1e-5)


def test_missing_values_inside_a_sequence_are_not_padding(trend_model):
    clf, X, _ = trend_model
    gappy = X[:5].copy()
    gappy[:, 3:6] = np.nan  # a gap in the middle, not at the end
    proba = clf.predict_proba(gappy)
    assert np.isfinite(proba).all()
    shortened = clf.predict_proba([series[:3] for series in X[:5]])
    assert not np.allclose(proba, shortened)


def test_long_sequences_are_cut_into_patches():
    X, y = rising_or_falling(n=40, n_steps=2000)
    clf = AttentionMLPClassifier(max_iter=2, **FAST).fit(X, y)
    assert len(clf.token_names_) == 1 + 16  # ceil(2000 / ceil(2000 / 16)) patches
    assert clf.token_names_[1] == "steps 0-124"
    fixed = clone(clf).set_params(patch_size=100).fit(X, y)
    assert len(fixed.token_names_) == 1 + 20


def test_same_seed_same_model_and_rows_independent(trend_model):
    clf, X, y = trend_model
    again = clone(clf).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    alone = np.vstack([clf.predict_proba(X[i : i + 1]) for i in (0, 5, 9)])
    np.testing.assert_allclose(alone, clf.predict_proba(X)[[0, 5, 9]], atol=1e-6)


def test_extractor_gives_fixed_width_vectors_and_per_step_embeddings():
    rng = np.random.default_rng(0)
    sequences = [rng.normal(size=(rng.integers(5, 12), 3)) for _ in range(60)]
    y = np.array([s[:, 0].mean() > 0 for s in sequences], dtype=int)
    extractor = AttentionFeatureExtractor(n_components=6, max_iter=3, **FAST)
    Z = extractor.fit(sequences, y).transform(sequences)
    assert Z.shape == (60, 6)
    steps = extractor.transform_tokens(sequences[:3])
    lengths = [len(s) for s in sequences[:3]]
    longest = max(len(s) for s in sequences)  # every batch: the fit's token count
    assert steps.shape == (3, longest, 16)
    assert extractor.transform_tokens(sequences[3:5]).shape == (2, longest, 16)
    assert len(extractor.token_names_) == 1 + longest
    for i, length in enumerate(lengths):
        assert np.isfinite(steps[i, :length]).all()
        assert np.isnan(steps[i, length:]).all()


def test_sklearn_tools_accept_sequences(trend_model):
    clf, X, y = trend_model
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.mean() > 0.8
    search = GridSearchCV(
        clone(clf).set_params(max_iter=3), {"patch_size": [1, 4]}, cv=2
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.token_names_[1] in ("step 0", "steps 0-3")
    doubled = make_pipeline(FunctionTransformer(lambda Z: 2 * Z), clone(clf))
    assert doubled.fit(X, y).predict(X).shape == (len(y),)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


# -- errors ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "message"),
    [
        ([np.ones((3, 2)), np.ones((0, 2))], "sequences [1] have length 0"),
        ([np.ones((3, 2)), np.ones((4, 3))], "same number of channels; got [2, 3]"),
        (np.full((2, 5, 1), np.nan), "sequences [0, 1] have length 0"),
        (np.ones((2, 0, 1)), "sequences [0, 1] have length 0"),
        (np.where(np.eye(5)[None, :, :1] > 0, np.inf, 0.0), "contains infinity"),
    ],
    ids=["empty-sequence", "channels-differ", "all-missing", "no-steps", "inf"],
)
def test_bad_sequences_are_clear_errors(X, message):
    n = len(X)
    with pytest.raises(ValueError, match=re.escape(message)):
        AttentionMLPClassifier(**FAST).fit(X, np.arange(n) % 2)


def test_predict_checks_channels_and_input_kind(trend_model):
    clf, X, _ = trend_model
    with pytest.raises(
        ValueError, match="X has 2 channels, but the sequences seen in fit had 1"
    ):
        clf.predict(np.concatenate([X, X], axis=2))
    with pytest.raises(
        ValueError, match="fitted on sequence data, but X is tabular data"
    ):
        clf.predict(X[:, :, 0])


# -- two inputs, cross-attention ---------------------------------------------------
def interaction_data(n: int = 800, seed: int = 0):
    """The static input says which of two channels to read; the label is the sign of
    that channel's mean. Neither input predicts the label alone (static: chance;
    sequences: at most 75%, when both channels agree)."""
    rng = np.random.default_rng(seed)
    which = rng.integers(0, 2, n)
    level = rng.choice([-1.0, 1.0], size=(n, 2))
    sequences = level[:, None, :] + 0.5 * rng.normal(size=(n, 8, 2))  # (n, T, 2)
    static = np.column_stack([which, 1 - which]).astype(float)
    y = (level[np.arange(n), which] > 0).astype(int)
    return static, sequences, y


@pytest.fixture(scope="module")
def interaction_split():
    static, sequences, y = interaction_data()
    X = TwoInputs(static, sequences)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    return X_train, X_test, y_train, y_test


def test_cross_attention_learns_what_neither_input_predicts_alone(interaction_split):
    X_train, X_test, y_train, y_test = interaction_split
    params = dict(max_iter=60, **FAST)
    both = AttentionMLPClassifier(**params).fit(X_train, y_train)
    sequence_only = AttentionMLPClassifier(**params).fit(X_train.context, y_train)
    static_only = LogisticRegression().fit(X_train.main, y_train)
    assert static_only.score(X_test.main, y_test) < 0.6
    assert sequence_only.score(X_test.context, y_test) < 0.82
    assert both.score(X_test, y_test) > 0.95


def test_two_inputs_split_consistently_in_sklearn_tools(interaction_split):
    X_train, _, y_train, _ = interaction_split
    assert isinstance(X_train, TwoInputs)
    assert len(X_train) == len(X_train.main) == len(X_train.context) == len(y_train)
    # Only rows whose two inputs stay paired can be learned this well.
    clf = AttentionMLPClassifier(max_iter=60, **FAST)
    assert cross_val_score(clf, X_train, y_train, cv=2).min() > 0.85
    search = GridSearchCV(
        clone(clf).set_params(max_iter=2), {"n_cross_blocks": [1, 2]}, cv=2
    ).fit(X_train, y_train)
    assert search.best_estimator_.predict(X_train).shape == (len(y_train),)
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(
        restored.predict_proba(X_train[:20]),
        search.best_estimator_.predict_proba(X_train[:20]),
    )


def test_attention_of_both_kinds_can_be_retrieved(interaction_split):
    X_train, X_test, y_train, _ = interaction_split
    clf = AttentionMLPClassifier(max_iter=2, n_cross_blocks=2, **FAST).fit(
        X_train, y_train
    )
    maps = clf.attention_maps(X_test[:5])
    assert maps["main"].shape == (5, 1, 2, 3, 3)  # CLS + 2 static features
    assert maps["context"].shape == (5, 1, 2, 8, 8)  # 8 steps
    assert maps["cross"].shape == (5, 2, 2, 3, 8)  # main tokens attend to steps
    for kind in maps.values():
        np.testing.assert_allclose(kind.sum(axis=-1), 1.0, rtol=1e-5)
    names = clf.token_names_
    assert list(names["main"]) == ["[CLS]", "x0", "x1"]
    assert len(names["context"]) == 8


def test_two_input_errors():
    with pytest.raises(
        ValueError,
        match="same number of samples in both inputs; got main=3 and context=2",
    ):
        TwoInputs(np.zeros((3, 2)), np.zeros((2, 4, 1)))
    static, sequences, y = interaction_data(40)
    clf = AttentionMLPClassifier(max_iter=1, **FAST).fit(
        TwoInputs(static, sequences), y
    )
    with pytest.raises(
        ValueError, match="fitted on two_inputs data, but X is sequence data"
    ):
        clf.predict(sequences)
    with pytest.raises(ValueError, match="TwoInputs.context has 3 channels"):
        clf.predict(TwoInputs(static, np.zeros((40, 8, 3))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(
            ValueError,
            match="TwoInputs.main has 1 features, but the model is expecting 2",
        ):
            clf.predict(TwoInputs(static[:, :1], sequences))


def test_two_sequence_inputs_and_a_sequence_regressor():
    from skattn import AttentionMLPRegressor

    rng = np.random.default_rng(0)
    first = [rng.normal(size=(rng.integers(4, 9), 2)) for _ in range(80)]
    second = rng.normal(size=(80, 6, 3))
    y = np.array([s[:, 0].mean() for s in first]) + second[:, :, 1].mean(axis=1)
    reg = AttentionMLPRegressor(max_iter=3, **FAST).fit(TwoInputs(first, second), y)
    assert reg.input_kind_ == "two_inputs"
    assert reg.predict(TwoInputs(first[:5], second[:5])).shape == (5,)
    maps = reg.attention_maps(TwoInputs(first[:5], second[:5]))
    assert maps["cross"].shape[-2:] == (1 + 8, 6)  # CLS + up to 8 steps -> 6 steps


def test_forms_of_variable_length_input_all_work():
    rng = np.random.default_rng(1)
    ragged = [rng.normal(size=(n, 2)) for n in rng.integers(3, 9, size=30)]
    y = np.arange(30) % 2
    declared = AttentionMLPClassifier(input_type="sequence", max_iter=1, **FAST)
    declared.fit(ragged, y)
    as_objects = np.empty(30, dtype=object)
    as_objects[:] = ragged  # the sktime / aeon form
    auto = AttentionMLPClassifier(max_iter=1, **FAST).fit(as_objects, y)
    np.testing.assert_array_equal(
        auto.predict_proba(ragged), declared.predict_proba(ragged)
    )
    univariate = [rng.normal(size=n) for n in [10] * 29 + [9]]
    scores = cross_val_score(
        AttentionMLPClassifier(max_iter=1, **FAST), univariate, y, cv=2
    )
    assert scores.shape == (2,)  # every fold reads the 1-D arrays as sequences


def test_sequence_input_rejects_complex_values_and_categorical_features():
    X, y = rising_or_falling(n=10)
    with pytest.raises(TypeError, match="complex numbers"):
        AttentionMLPClassifier(**FAST).fit(X + 1j, y)
    with pytest.raises(ValueError, match="categorical_features applies to tables"):
        AttentionMLPClassifier(categorical_features=[0], **FAST).fit(X, y)


def test_two_inputs_check_feature_names_and_follow_input_type():
    import pandas as pd

    static, sequences, y = interaction_data(60)
    frame = pd.DataFrame(static, columns=["a", "b"])
    clf = AttentionMLPClassifier(max_iter=1, **FAST).fit(TwoInputs(frame, sequences), y)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(TwoInputs(frame[["b", "a"]], sequences))
    steps = AttentionMLPClassifier(input_type="sequence", max_iter=1, **FAST)
    steps.fit(TwoInputs(sequences[:, :, 0], static), y)  # main: 2-D array of steps
    assert steps._input.main.kind == "sequence"
    assert steps.n_features_in_ == 1


def test_the_channel_scale_is_the_plain_one_on_ordinary_data():
    from skattn._inputs.sequence import _channel_mean_and_scale

    rng = np.random.default_rng(0)
    flat = rng.normal(3.0, 2.0, size=(200, 3))
    flat[rng.random(flat.shape) < 0.3] = np.nan
    flat[:, 2] = np.nan  # a channel never observed
    mean, scale = _channel_mean_and_scale(flat)

    observed = ~np.isnan(flat[:, :2])
    counts = observed.sum(axis=0)
    plain_mean = np.nansum(flat[:, :2], axis=0) / counts
    centred = np.where(observed, flat[:, :2] - plain_mean, 0.0)
    plain_scale = np.sqrt((centred**2).sum(axis=0) / counts)
    np.testing.assert_array_equal(mean[:2], plain_mean)  # bitwise, as before
    np.testing.assert_array_equal(scale[:2], plain_scale)
    assert (mean[2], scale[2]) == (0.0, 1.0)
    with pytest.raises(ValueError, match="too far apart to standardise"):
        _channel_mean_and_scale(np.array([[1.7e308], [1.7e308], [-1.7e308]]))


# -- the network's width and epochs: "auto" ------------------------------------------
def sizes(model) -> tuple[int, int]:
    return model.d_token_, model.max_iter_


def test_auto_narrows_the_network_for_a_small_set_of_sequences_only():
    X, y = rising_or_falling(n=40, n_steps=8)
    sequences = AttentionMLPClassifier(random_state=0).fit(X, y)
    assert sizes(sequences) == (32, 50) and sequences.n_iter_ <= 50
    assert sequences.module_.main.tokenizer.projection.out_features == 32
    # Tables keep the full width and 100 epochs (stopped after two here).
    table = AttentionMLPClassifier(n_iter_no_change=1, tol=1e9, random_state=0)
    assert sizes(table.fit(X[:, :, 0], y)) == (64, 100) and table.n_iter_ == 2
    # Numbers are taken as given, beside "auto" for the other.
    given = AttentionMLPClassifier(d_token=16, random_state=0).fit(X, y)
    assert sizes(given) == (16, 50)
    assert sizes(AttentionMLPClassifier(max_iter=3).fit(X, y)) == (32, 3)
    # partial_fit's chunk says nothing of the data's size: the full width.
    chunked = AttentionMLPClassifier(random_state=0).partial_fit(X, y, classes=[0, 1])
    assert sizes(chunked) == (64, 100)
    # Two inputs with a sequence side are not a small set of sequences.
    pair = AttentionMLPClassifier(n_iter_no_change=1, tol=1e9, random_state=0)
    assert sizes(pair.fit(TwoInputs(X[:, 0, :], X), y)) == (64, 100)


def test_auto_narrows_below_three_thousand_sequences():
    X, y = rising_or_falling(n=3_000, n_steps=4)
    params = dict(sequence_tokenizer="linear", max_iter=1, random_state=0)
    assert AttentionMLPClassifier(**params).fit(X, y).d_token_ == 64
    assert AttentionMLPClassifier(**params).fit(X[:2_999], y[:2_999]).d_token_ == 32


def test_a_continued_fit_keeps_its_width_and_auto_epochs():
    X, y = rising_or_falling(n=40, n_steps=8)
    model = AttentionMLPClassifier(warm_start=True, random_state=0).fit(X, y)
    # set_params between fits does not reshape the network a warm start trains on.
    model.set_params(d_token=16).fit(X[:30], y[:30])
    assert sizes(model) == (32, 50)
    model.set_params(max_iter=2).fit(X, y)
    assert model.max_iter_ == 2 and model.n_iter_ <= 2
    # Back to "auto": what it gave the first fit, not the number set since.
    assert model.set_params(max_iter="auto").fit(X[:30], y[:30]).max_iter_ == 50


def test_auto_width_takes_the_pretrained_networks():
    X, y = rising_or_falling(n=40, n_steps=8)
    source = AttentionFeatureExtractor(d_token=16, max_iter=2).fit(X)
    tuned = AttentionMLPClassifier(pretrained=source, max_iter=2, random_state=0)
    assert sizes(tuned.fit(X, y)) == (16, 2)
    with pytest.raises(ValueError, match="d_token=32 here but 16 there"):
        AttentionMLPClassifier(pretrained=source, d_token=32).fit(X, y)


def test_a_model_of_before_auto_width_reads_it_from_its_parameters():
    X, y = rising_or_falling(n=40, n_steps=8)
    model = AttentionMLPClassifier(d_token=16, max_iter=2, random_state=0).fit(X, y)
    state = model.__getstate__()
    for name in ("d_token", "max_iter"):  # as pickled before "auto"
        state[name] = state.pop(f"{name}_")
    old = AttentionMLPClassifier.__new__(AttentionMLPClassifier)
    old.__setstate__(state)
    assert sizes(old) == (16, 2)
    np.testing.assert_array_equal(old.predict_proba(X), model.predict_proba(X))


def test_heads_that_do_not_divide_the_auto_width_are_a_clear_error():
    X, y = rising_or_falling(n=40, n_steps=8)
    with pytest.raises(ValueError, match=r"n_heads=64 must divide the network's width"):
        AttentionMLPClassifier(n_heads=64, max_iter=1).fit(X, y)
    assert (
        AttentionMLPClassifier(n_heads=64, max_iter=1).fit(X[:, :, 0], y).d_token_ == 64
    )
