"""What the three estimators do: learn, predict in the user's terms, and stay put."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
)

# Most tests train on purpose for a few epochs only; the warning this provokes is
# tested in test_convergence_warning_when_max_iter_is_reached.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=16, n_heads=2, n_blocks=1, learning_rate=3e-3, random_state=0)


def xor_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels that are the sign of x0 * x1: no linear model beats chance on them."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 4))
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def xor_split():
    X, y = xor_data()
    return train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def fitted_xor_classifier(xor_split):
    X_train, _, y_train, _ = xor_split
    return AttentionMLPClassifier(max_iter=60, **FAST).fit(X_train, y_train)


# -- learning ----------------------------------------------------------------------
def test_classifier_learns_interaction_no_linear_model_can(
    xor_split, fitted_xor_classifier
):
    X_train, X_test, y_train, y_test = xor_split
    linear = LogisticRegression().fit(X_train, y_train).score(X_test, y_test)
    attention = fitted_xor_classifier.score(X_test, y_test)
    assert linear < 0.65
    assert attention > 0.9


def test_training_loss_falls(fitted_xor_classifier):
    curve = fitted_xor_classifier.loss_curve_
    assert len(curve) == fitted_xor_classifier.n_iter_
    assert curve[-1] < 0.5 * curve[0]


def test_regressor_learns_nonlinear_function():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(600, 3))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    linear = LinearRegression().fit(X_train, y_train).score(X_test, y_test)
    reg = AttentionMLPRegressor(max_iter=80, **FAST).fit(X_train, y_train)
    assert linear < 0.7
    assert reg.score(X_test, y_test) > 0.9


# -- targets -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "eel"]), np.array([-3, 10, 42])],
)
def test_labels_round_trip_and_proba_columns_follow_classes(labels):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = labels[np.argmax(X, axis=1)]
    clf = AttentionMLPClassifier(max_iter=30, tol=1.0, **FAST).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    predicted = clf.predict(X)
    assert predicted.dtype == y.dtype
    assert set(predicted) <= set(labels)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-6)
    assert clf.score(X, y) > 0.8


def test_class_weight_shifts_predictions_towards_the_heavy_class():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=300) > 0, "b", "a")
    params = dict(max_iter=20, tol=1.0, **FAST)
    plain = AttentionMLPClassifier(**params).fit(X, y)
    heavy_b = AttentionMLPClassifier(class_weight={"b": 10.0}, **params).fit(X, y)
    assert np.mean(heavy_b.predict(X) == "b") > np.mean(plain.predict(X) == "b") + 0.1


def test_class_weight_naming_an_unknown_label_is_an_error():
    X, y = xor_data(40)
    with pytest.raises(
        ValueError, match=r"class_weight has labels that are not classes"
    ):
        AttentionMLPClassifier(class_weight={7: 2.0}, max_iter=1).fit(X, y)


def test_unit_sample_weights_equal_no_weights_and_scale_does_not_matter():
    X, y = xor_data(120)
    params = dict(max_iter=5, tol=1.0, **FAST)
    base = AttentionMLPClassifier(**params).fit(X, y).predict_proba(X)
    ones = AttentionMLPClassifier(**params).fit(X, y, sample_weight=np.ones(120))
    np.testing.assert_array_equal(ones.predict_proba(X), base)
    weights = np.arange(1, 121) % 3 + 1.0
    once = AttentionMLPClassifier(**params).fit(X, y, sample_weight=weights)
    scaled = AttentionMLPClassifier(**params).fit(X, y, sample_weight=4 * weights)
    np.testing.assert_array_equal(once.predict_proba(X), scaled.predict_proba(X))


def test_weighted_loss_equals_loss_over_repeated_rows():
    from skattn._engine import WeightedLoss
    from skattn._targets import ClassificationTarget

    loss = WeightedLoss(ClassificationTarget().loss)
    logits = torch.tensor([[2.0, -1.0], [0.3, 0.1], [-1.0, 1.5]])
    target = torch.tensor([0, 1, 1])
    weighted = loss(
        logits, target, torch.tensor([2.0, 1.0, 0.0])
    )  # mean one, as fit scales them
    repeated = loss(logits[[0, 0, 1]], target[[0, 0, 1]], torch.ones(3))
    torch.testing.assert_close(weighted, repeated)


def test_regressor_targets_are_standardised_internally():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0] - 2 * X[:, 1]
    params = dict(max_iter=15, tol=1.0, **FAST)
    small = AttentionMLPRegressor(**params).fit(X, y).predict(X)
    big = AttentionMLPRegressor(**params).fit(X, 1e6 * y + 3e7).predict(X)
    np.testing.assert_allclose(big, 1e6 * small + 3e7, rtol=1e-4)


@pytest.mark.parametrize("shape", [(200,), (200, 1), (200, 2)])
def test_regressor_prediction_shape_follows_y(shape):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, :1] * np.ones((1, shape[1] if len(shape) == 2 else 1))).reshape(shape)
    reg = AttentionMLPRegressor(max_iter=3, tol=1.0, **FAST).fit(X, y)
    expected = (200,) if shape in [(200,), (200, 1)] else shape
    assert reg.predict(X).shape == expected
    assert not hasattr(reg, "predict_proba")


# -- reproducibility ---------------------------------------------------------------
def test_same_random_state_gives_identical_models_and_leaves_global_rng_alone():
    X, y = xor_data(150)
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 - the global state is the point
    params = dict(max_iter=5, tol=1.0, ffn_dropout=0.2, **FAST)
    first = AttentionMLPClassifier(**params).fit(X, y).predict_proba(X)
    second = AttentionMLPClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002
    other = AttentionMLPClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not np.allclose(other.predict_proba(X), first)


def test_refitting_one_estimator_gives_the_same_model():
    X, y = xor_data(150)
    clf = AttentionMLPClassifier(max_iter=5, tol=1.0, **FAST)
    first = clf.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clf.fit(X, y).predict_proba(X), first)


# -- rows are independent ----------------------------------------------------------
def test_a_rows_prediction_does_not_depend_on_its_batch(fitted_xor_classifier):
    rng = np.random.default_rng(5)
    X = rng.uniform(-1, 1, size=(1100, 4))  # spans several prediction chunks
    together = fitted_xor_classifier.predict_proba(X)
    alone = np.vstack(
        [fitted_xor_classifier.predict_proba(X[i : i + 1]) for i in [0, 7, 600, 1099]]
    )
    np.testing.assert_allclose(together[[0, 7, 600, 1099]], alone, rtol=1e-5, atol=1e-6)
    shuffled = rng.permutation(1100)
    np.testing.assert_allclose(
        fitted_xor_classifier.predict_proba(X[shuffled]), together[shuffled], atol=1e-6
    )


# -- stopping ----------------------------------------------------------------------
def test_convergence_warning_when_max_iter_is_reached():
    X, y = xor_data(100)
    constant = dict(FAST, learning_rate_schedule="constant")
    with pytest.warns(ConvergenceWarning, match=r"max_iter=2"):
        AttentionMLPClassifier(max_iter=2, **constant).fit(X, y)
    with warnings.catch_warnings():
        # The cosine schedule ends by design at max_iter, its learning rate at 0.
        warnings.simplefilter("error", ConvergenceWarning)
        AttentionMLPClassifier(
            max_iter=2, **dict(FAST, learning_rate_schedule="cosine")
        ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # One network: without a hold-out it stops on the training loss.
        clf = AttentionMLPClassifier(
            max_iter=50, tol=10.0, n_iter_no_change=2, n_members=1, **FAST
        )
        clf.fit(X, y)
    assert clf.n_iter_ == 3  # epoch 1 sets the bar; 2 epochs without a 10.0 gain
    assert clf.validation_scores_ is None
    assert clf.best_validation_score_ is None


def test_early_stopping_holds_out_data_and_keeps_the_best_epoch():
    X, y = xor_data(400)
    flipped = y.copy()
    flipped[::3] = 1 - flipped[::3]  # noise to overfit
    clf = AttentionMLPClassifier(
        early_stopping=True, n_iter_no_change=4, max_iter=200, **FAST
    ).fit(X, flipped)
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)
    # Training stopped 4 epochs after the last gain of at least tol; the kept epoch
    # is that one or a later, smaller minimum, never one before it.
    assert clf.best_validation_score_ in clf.validation_scores_[clf.n_iter_ - 4 - 1 :]


def test_early_stopping_restores_the_weights_of_the_lowest_validation_loss(
    monkeypatch,
):
    import skattn._fitting
    from skattn._targets import ClassificationTarget

    seen = {}
    train_network = skattn._fitting.train_network

    def spy(module, **kwargs):
        seen["result"] = train_network(module, **kwargs)
        seen["valid"] = kwargs["valid_data"]
        return seen["result"]

    monkeypatch.setattr(skattn._fitting, "train_network", spy)
    X, y = xor_data(400)
    y[::3] = 1 - y[::3]  # label noise, so that validation loss turns up
    clf = AttentionMLPClassifier(
        early_stopping=True, n_iter_no_change=4, max_iter=200, n_members=1, **FAST
    ).fit(X, y)
    valid_loss = seen["result"].valid_loss
    assert valid_loss[-1] > min(valid_loss)  # the last epoch is not the best one
    valid = seen["valid"]
    with torch.no_grad():
        logits = clf.module_(valid.inputs)
    loss = (ClassificationTarget().loss(logits, valid.y) * valid.weight).mean()
    assert loss.item() == pytest.approx(min(valid_loss), rel=1e-5)


def test_stopping_rule_is_mlps_best_follows_every_minimum():
    from types import SimpleNamespace

    from skattn._engine import StopWhenStalled

    stopper = StopWhenStalled(
        monitor="loss", patience=2, tol=0.1, restore_best=False
    ).initialize()
    history = []
    net = SimpleNamespace(history=None, verbose=0, stop_requested_=False)
    stopped_at = None
    for epoch, loss in enumerate([1.0, 0.95, 0.92, 0.91], start=1):
        history.append({"loss": loss})
        net.history = _History(history)
        stopper.on_epoch_end(net)
        if net.stop_requested_:  # the net ends training once every callback ran
            stopped_at = epoch
            break
    # 0.95 and 0.92 miss the 0.1 bar (2 misses): stop at epoch 3, best is 0.92.
    assert stopped_at == 3
    assert stopper.best_ == 0.92
    assert stopper.best_epoch_ == 3


def _stop_epoch(stopper, losses):
    from types import SimpleNamespace

    stopper.initialize()
    history = []
    net = SimpleNamespace(history=None, verbose=0, stop_requested_=False)
    for epoch, loss in enumerate(losses, start=1):
        history.append({"train_loss": loss})
        net.history = _History(history)
        stopper.on_epoch_end(net)
        if net.stop_requested_:
            return epoch
    return None


def test_a_spike_of_the_training_loss_restarts_the_plateau_count():
    from skattn._engine import StopWhenStalled

    # Learning, a spike at epoch 8 (0.5 against a best of 0.1), then learning again
    # from the spike's level, but never back below 0.1 within ten epochs.
    losses = [1.0, 0.6, 0.4, 0.3, 0.2, 0.15, 0.1, 0.5, 0.3, 0.25, 0.2, 0.18]
    losses += [0.17 - 0.005 * i for i in range(12)]
    rule = dict(monitor="train_loss", patience=10, tol=1e-4, restore_best=False)
    # The plain rule counts every epoch after the spike as a miss: it stops at 17.
    assert _stop_epoch(StopWhenStalled(**rule), losses) == 17
    restarting = StopWhenStalled(restart_after_spike=True, **rule)
    assert _stop_epoch(restarting, losses) is None  # it learns on
    assert restarting.best_ == losses[-1]
    # Without a spike the two rules are the same rule.
    smooth = [1.0 / epoch for epoch in range(1, 8)] + [1 / 7] * 12
    assert _stop_epoch(StopWhenStalled(**rule), smooth) == 17
    assert _stop_epoch(StopWhenStalled(restart_after_spike=True, **rule), smooth) == 17
    # Small rises are not spikes: twice the best, but less than 0.01 above it.
    low = [0.01, 0.008, 0.006, 0.005, 0.004, 0.003, 0.0079] + [0.0035] * 10
    assert _stop_epoch(StopWhenStalled(restart_after_spike=True, **rule), low) == 16


def test_cosine_schedule_warms_up_over_the_first_epoch_then_decays_to_zero():
    from skattn._engine import warmup_cosine

    factor = warmup_cosine(n_steps=100, n_warmup_steps=10)
    warmup = [factor(step) for step in range(10)]
    decay = [factor(step) for step in range(10, 101)]

    assert warmup == pytest.approx([(step + 1) / 10 for step in range(10)])
    assert decay[0] == 1.0 and decay[-1] == pytest.approx(0.0, abs=1e-12)
    assert factor(55) == pytest.approx(0.5)  # half-way through the decay
    assert all(a >= b for a, b in zip(decay[:-1], decay[1:], strict=True))


class _History(list):
    """The two ways StopWhenStalled reads skorch's history."""

    def __getitem__(self, key):
        if isinstance(key, tuple):
            return super().__getitem__(key[0])[key[1]]
        return super().__getitem__(key)


def test_early_stopping_auto_turns_on_above_two_thousand_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2_001, 2))
    y = X[:, 0]
    # One network (members below 3,000 rows stop early whenever they can).
    tiny = dict(
        n_members=1, d_token=4, n_heads=1, n_blocks=1, batch_size=2048, random_state=0
    )
    reg = AttentionMLPRegressor(max_iter=1, **tiny).fit(X, y)
    small = AttentionMLPRegressor(max_iter=1, **tiny).fit(X[:2_000], y[:2_000])
    assert len(reg.validation_scores_) == 1
    assert small.validation_scores_ is None


def test_warm_start_continues_from_the_fitted_network():
    X, y = xor_data(200)
    params = dict(max_iter=10, tol=1.0, **FAST)
    clf = AttentionMLPClassifier(warm_start=True, **params).fit(X, y)
    module = clf.module_
    first_curve = clf.loss_curve_
    clf.fit(X, y)
    assert clf.module_ is module
    assert clf.loss_curve_[0] < first_curve[0]
    with pytest.raises(
        ValueError, match=r"labels that are not among the classes: \[2\]"
    ):
        clf.fit(X, np.where(y == 1, 2, y))
    cold = AttentionMLPClassifier(**params).fit(X, y)
    cold.fit(X, y)
    assert cold.module_ is not module


def test_warm_start_applies_a_changed_class_weight():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] + 0.8 * rng.normal(size=300) > 0, "b", "a")  # overlapping
    params = dict(max_iter=10, tol=1.0, warm_start=True, **FAST)
    clf = AttentionMLPClassifier(**params).fit(X, y)
    before = np.mean(clf.predict(X) == "b")
    clf.set_params(class_weight={"b": 10.0}).fit(X, y)
    assert np.mean(clf.predict(X) == "b") > before + 0.1


def test_verbose_prints_one_line_per_epoch_and_is_silent_by_default(capsys):
    X, y = xor_data(60)
    AttentionMLPClassifier(max_iter=3, tol=1.0, n_iter_no_change=5, **FAST).fit(X, y)
    assert capsys.readouterr().out == ""
    AttentionMLPClassifier(max_iter=3, verbose=1, **FAST).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 3


def test_verbose_two_adds_a_progress_bar_and_shows_validation(capsys):
    X, y = xor_data(100)
    clf = AttentionMLPClassifier(max_iter=2, verbose=2, early_stopping=True, **FAST)
    clf.fit(X, y)
    captured = capsys.readouterr()
    assert "valid_loss" in captured.out and "valid_accuracy" in captured.out
    assert "it/s" in captured.out + captured.err  # tqdm's progress bar


# -- attention ---------------------------------------------------------------------
def test_attention_maps_are_distributions_over_named_tokens(mixed_frame):
    X, y = mixed_frame
    clf = AttentionMLPClassifier(max_iter=3, tol=1.0, **{**FAST, "n_blocks": 2}).fit(
        X, y
    )
    maps = clf.attention_maps(X.iloc[:7])
    assert maps.shape == (7, 2, 2, 6, 6)
    np.testing.assert_allclose(maps.sum(axis=-1), 1.0, rtol=1e-5)
    assert list(clf.token_names_) == [
        "[CLS]",
        "size",
        "count",
        "flag",
        "colour",
        "city",
    ]


def test_fused_attention_in_predict_equals_the_explicit_path(fitted_xor_classifier):
    X, _ = xor_data(50, seed=3)
    module = fitted_xor_classifier.module_
    arrays = fitted_xor_classifier._input.transform(X)
    batch = {key: torch.from_numpy(array) for key, array in arrays.items()}
    with torch.inference_mode():
        fused, _ = module.embed(batch)
        explicit, weights = module.embed(batch, return_weights=True)
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
    assert len(weights["main"]) == 1


# -- the feature extractor ---------------------------------------------------------
def test_extractor_embedding_makes_an_interaction_linearly_separable(xor_split):
    X_train, X_test, y_train, y_test = xor_split
    extractor = AttentionFeatureExtractor(n_components=8, max_iter=60, **FAST)
    Z_train = extractor.fit_transform(X_train, y_train)
    assert Z_train.shape == (len(X_train), 8)
    assert Z_train.dtype == np.float64
    assert extractor.objective_ == "classification"
    linear = LogisticRegression().fit(Z_train, y_train)
    assert linear.score(extractor.transform(X_test), y_test) > 0.9


def test_extractor_width_names_and_pandas_output():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = X["a"].to_numpy() * 2.5
    extractor = AttentionFeatureExtractor(max_iter=2, tol=1.0, **FAST).fit(X, y)
    assert extractor.objective_ == "regression"
    names = extractor.get_feature_names_out()
    assert list(names) == [f"attentionfeatureextractor{i}" for i in range(16)]
    extractor.set_output(transform="pandas")
    Z = extractor.transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == list(names)
    assert Z.index.equals(X.index)


def test_extractor_objective_can_be_forced():
    X, y = xor_data(60)
    extractor = AttentionFeatureExtractor(objective="regression", max_iter=2, tol=1.0)
    assert extractor.set_params(**FAST).fit(X, y).objective_ == "regression"


@pytest.mark.parametrize(
    "estimator",
    [
        AttentionMLPClassifier(),
        AttentionMLPRegressor(),
        # Without y, the extractor's objective="auto" learns by reconstruction
        # (tests/test_pretraining.py); a supervised objective needs y.
        AttentionFeatureExtractor(objective="classification"),
    ],
    ids=lambda est: type(est).__name__,
)
def test_fit_without_y_is_a_clear_error(estimator):
    X, _ = xor_data(20)
    with pytest.raises(
        ValueError, match="requires y to be passed, but the target y is None"
    ):
        clone(estimator).fit(X, None)


def test_fitted_device_is_the_cpu_here():
    X, y = xor_data(30)
    clf = AttentionMLPClassifier(max_iter=1, tol=1.0, **FAST).fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert clf.device_.type == expected
    assert next(clf.module_.parameters()).device.type == expected


@pytest.mark.parametrize(
    "estimator_class",
    [AttentionMLPClassifier, AttentionMLPRegressor, AttentionFeatureExtractor],
)
def test_the_estimators_agree_on_their_shared_parameters(estimator_class):
    # Every parameter of the base comes in the same order, keyword-only, with the
    # same default; the estimator's own parameters (class_weight, n_components...)
    # have constraints too.
    import inspect

    from skattn._base import BaseAttentionMLP

    def parameters(cls):
        signature = inspect.signature(cls.__init__).parameters
        return {name: p for name, p in signature.items() if name != "self"}

    shared = parameters(BaseAttentionMLP)
    own = parameters(estimator_class)
    assert [name for name in own if name in shared] == list(shared)
    for name, parameter in own.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        if name in shared:
            assert parameter.default == shared[name].default, name
    assert set(own) == set(estimator_class._parameter_constraints)


def test_a_failed_refit_keeps_the_previous_model():
    # The error comes after the encoding and the target were learned from the new
    # data: the earlier fit's model stays whole, not mixed with the new one.
    X, y = xor_data(100)
    clf = AttentionMLPClassifier(max_iter=2, **FAST).fit(X, y)
    before = dict(vars(clf)), clf.predict_proba(X)
    clf.set_params(class_weight={5: 2.0})
    with pytest.raises(ValueError, match="class_weight has labels that are not"):
        clf.fit(X, y)
    assert set(vars(clf)) == set(before[0]) and clf._input is before[0]["_input"]
    np.testing.assert_array_equal(clf.predict_proba(X), before[1])
