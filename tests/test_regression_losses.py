"""AttentionMLPRegressor's losses: squared, absolute and Huber errors, and quantiles."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_regression
from sklearn.metrics import mean_pinball_loss
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPRegressor, load_model, save_model
from skattn._targets import RegressionTarget

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = dict(d_token=16, n_heads=2, n_blocks=1, learning_rate=3e-3, random_state=0)


def spreading_data(n_rows: int = 1200, seed: int = 0):
    """y = x0 + noise ten times wider where x1 > 0: the quantiles differ by row."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n_rows, 3))
    y = X[:, 0] + np.where(X[:, 1] > 0, 1.0, 0.1) * rng.normal(size=n_rows)
    return X, y


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_point_losses_learn_a_linear_target(loss):
    X, y = make_regression(n_samples=300, n_features=4, noise=1.0, random_state=0)
    reg = AttentionMLPRegressor(loss=loss, max_iter=60, **FAST).fit(X, y)
    assert reg.predict(X).shape == (300,)
    assert reg.score(X, y) > 0.9
    assert not hasattr(reg, "quantiles_")
    assert not hasattr(reg, "predict_quantiles")  # only with loss="quantile"


def test_absolute_error_resists_outliers_that_pull_squared_error():
    # A tenth of the targets shifted far up: the squared error's fit follows them
    # (it predicts the mean), the absolute error's much less (the median).
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = X[:, 0].copy()
    y[::10] += 50.0
    clean = np.ones(400, dtype=bool)
    clean[::10] = False
    errors = {}
    for loss in ("squared_error", "absolute_error"):
        reg = AttentionMLPRegressor(loss=loss, max_iter=40, **FAST).fit(X, y)
        errors[loss] = np.median(np.abs(reg.predict(X[clean]) - y[clean]))
    assert errors["absolute_error"] < errors["squared_error"] / 3


def test_quantiles_are_ordered_cover_held_out_data_and_track_the_spread():
    X, y = spreading_data()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    reg = AttentionMLPRegressor(loss="quantile", quantile=[0.1, 0.9], **FAST)
    reg.fit(X_train, y_train)

    np.testing.assert_array_equal(reg.quantiles_, [0.1, 0.5, 0.9])
    quantiles = reg.predict_quantiles(X_test)
    assert quantiles.shape == (len(X_test), 3)
    assert (np.diff(quantiles, axis=1) >= 0).all()  # never crossing
    np.testing.assert_array_equal(reg.predict(X_test), quantiles[:, 1])  # median
    inside = (y_test >= quantiles[:, 0]) & (y_test <= quantiles[:, 2])
    assert 0.7 < inside.mean() < 0.9  # an 80% interval
    # Wider where the noise is (the true widths are 2.56 and 0.256).
    width = quantiles[:, 2] - quantiles[:, 0]
    noisy, calm = X_test[:, 1] > 0.3, X_test[:, 1] < -0.3
    assert width[noisy].mean() > 4 * width[calm].mean()


def test_a_single_quantile_is_what_predict_returns():
    X, y = spreading_data(600)
    reg = AttentionMLPRegressor(loss="quantile", quantile=0.9, **FAST).fit(X, y)
    np.testing.assert_array_equal(reg.quantiles_, [0.9])
    prediction = reg.predict(X)
    np.testing.assert_array_equal(prediction, reg.predict_quantiles(X)[:, 0])
    assert 0.8 < np.mean(y <= prediction) < 0.97


def test_quantiles_of_several_targets():
    X, y = spreading_data(400)
    Y = np.column_stack([y, -2 * y])
    reg = AttentionMLPRegressor(
        loss="quantile", quantile=[0.25, 0.75], max_iter=5, **FAST
    ).fit(X, Y)
    quantiles = reg.predict_quantiles(X)
    assert quantiles.shape == (400, 2, 3)
    assert (np.diff(quantiles, axis=2) >= 0).all()
    np.testing.assert_array_equal(reg.predict(X), quantiles[:, :, 1])


def test_the_pinball_loss_is_scikit_learns():
    target = RegressionTarget("quantile", [0.1, 0.5, 0.9])
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 1)).astype(np.float32)
    output = rng.normal(size=(50, 3)).astype(np.float32)
    loss = target.loss(torch.from_numpy(output), torch.from_numpy(y))
    expected = np.mean(
        [
            mean_pinball_loss(y[:, 0], output[:, i], alpha=alpha)
            for i, alpha in enumerate([0.1, 0.5, 0.9])
        ]
    )
    assert float(loss.mean()) == pytest.approx(expected, rel=1e-5)


def test_quantile_models_stream_save_and_read_sequences(tmp_path):
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(200, 12, 2))
    y = steps[:, :, 0].mean(axis=1) + 0.1 * rng.normal(size=200)
    reg = AttentionMLPRegressor(loss="quantile", quantile=[0.2, 0.8], **FAST)
    reg.partial_fit(steps[:100], y[:100]).partial_fit(steps[100:], y[100:])
    assert reg.n_iter_ == 2
    np.testing.assert_array_equal(reg.quantiles_, [0.2, 0.5, 0.8])

    save_model(reg, tmp_path / "quantiles.skattn")
    loaded = load_model(tmp_path / "quantiles.skattn", device="cpu")
    np.testing.assert_array_equal(
        loaded.predict_quantiles(steps), reg.predict_quantiles(steps)
    )


@pytest.mark.parametrize(
    ("quantile", "error", "message"),
    [
        (1.5, ValueError, "The 'quantile' parameter of AttentionMLPRegressor must be"),
        ([0.1, 1.2], ValueError, r"every quantile must lie in \(0, 1\)"),
        ([0.1, 0.1], ValueError, "quantile has repeated values"),
        ([[0.1, 0.9]], ValueError, "quantile must be a float or a 1-D array-like"),
    ],
)
def test_bad_quantiles_are_clear_errors(quantile, error, message):
    X, y = spreading_data(50)
    with pytest.raises(error, match=message):
        AttentionMLPRegressor(loss="quantile", quantile=quantile, **FAST).fit(X, y)


def test_predict_quantiles_needs_a_quantile_fit():
    X, y = spreading_data(50)
    reg = AttentionMLPRegressor(max_iter=2, **FAST).fit(X, y)
    reg.set_params(loss="quantile")  # the fitted network still learned the mean
    with pytest.raises(ValueError, match="fitted with loss='squared_error'"):
        reg.predict_quantiles(X)


def test_conformalised_quantiles_cover_what_they_promise():
    # The recipe of the user guide (docs/user_guide/quantiles.rst): calibrate the
    # 10%-90% interval on held-out rows, then it covers about 80% of new rows.
    X, y = spreading_data(2400, seed=1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    X_fit, X_cal, y_fit, y_cal = train_test_split(X_train, y_train, random_state=0)
    reg = AttentionMLPRegressor(loss="quantile", quantile=[0.1, 0.9], **FAST)
    reg.fit(X_fit, y_fit)

    low, _, high = reg.predict_quantiles(X_cal).T
    outside = np.maximum(low - y_cal, y_cal - high)
    level = np.ceil((len(y_cal) + 1) * 0.8) / len(y_cal)
    margin = np.quantile(outside, level, method="higher")

    low, _, high = reg.predict_quantiles(X_test).T
    covered = (y_test >= low - margin) & (y_test <= high + margin)
    # 600 test rows, 450 calibration rows: about 0.80 +- 0.025 (one sd).
    assert 0.74 < covered.mean() < 0.86
