"""The accuracy benchmark ranks and compares models as its docstring says, and its
models fit on a small made-up frame of the suite's shape (a DataFrame with category
columns and missing values). Scores themselves are never asserted here."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("accuracy_benchmark")


def record(dataset, task, model, seed, **scores):
    return {"dataset": dataset, "task": task, "model": model, "seed": seed,
            "fit_s": 1.0, "predict_s": 0.1, **scores}  # fmt: skip


def test_ranks_use_the_mean_over_seeds_and_the_right_direction(bench):
    records = [
        # Regression: lower RMSE is better; b wins on the mean of its two seeds.
        record("r", "regression", "a", 0, rmse=1.0, r2=0.5),
        record("r", "regression", "a", 1, rmse=3.0, r2=0.1),
        record("r", "regression", "b", 0, rmse=1.5, r2=0.4),
        record("r", "regression", "b", 1, rmse=1.5, r2=0.4),
        # Classification: higher accuracy is better; a tie shares the mean rank.
        record("c", "binary", "a", 0, accuracy=0.9, roc_auc=0.95),
        record("c", "binary", "b", 0, accuracy=0.9, roc_auc=0.90),
    ]

    summary = bench.summarise(records)

    regression = summary["datasets"]["r"]["models"]
    assert regression["b"]["rank"] == 1 and regression["a"]["rank"] == 2
    assert regression["a"]["rmse"] == 2.0 and regression["a"]["rmse_std"] == 1.0
    assert regression["a"]["gap_to_best"] == pytest.approx(0.5 / 1.5)  # relative
    classification = summary["datasets"]["c"]["models"]
    assert classification["a"]["rank"] == classification["b"]["rank"] == 1.5
    assert summary["mean_rank"] == {"a": 1.75, "b": 1.25}


def test_classification_gap_is_in_accuracy_points(bench):
    records = [
        record("c", "multiclass", "a", 0, accuracy=0.95),
        record("c", "multiclass", "b", 0, accuracy=0.93),
    ]
    models = bench.summarise(records)["datasets"]["c"]["models"]
    assert models["b"]["gap_to_best"] == pytest.approx(0.02)
    assert models["a"]["gap_to_best"] == 0.0


def made_up_suite_data(task: str) -> dict:
    rng = np.random.default_rng(0)
    n = 120
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "gap": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "kind": pd.Categorical(rng.choice(["u", "v", "w"], size=n)),
        }
    )
    signal = X["x"].to_numpy() + (X["kind"] == "u").to_numpy()
    y = signal if task == "regression" else np.where(signal > 0.3, "yes", "no")
    return {"X": X, "y": y, "task": task}


@pytest.mark.parametrize("task", ["binary", "regression"])
@pytest.mark.parametrize("model", ["skattn", "hgb", "sk_mlp", "linear"])
def test_each_model_fits_a_frame_with_categories_and_gaps(bench, model, task):
    data = made_up_suite_data(task)
    args = argparse.Namespace(threads=1, budget_s=5.0, label="", skattn_members=1)
    train, test = np.arange(90), np.arange(90, 120)

    result = bench.run_one(
        model, "made_up", data, 0, train, test, args, {"max_iter": 2}
    )

    metrics = {"accuracy", "roc_auc"} if task == "binary" else {"rmse", "r2"}
    assert metrics <= result.keys()
    assert result["fit_s"] > 0 and result["predict_s"] > 0
    assert result.get("n_epochs") == (2 if model == "skattn" else None)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_catboost_fits_a_frame_with_categories_and_gaps(bench, task):
    pytest.importorskip("catboost")
    data = made_up_suite_data(task)
    args = argparse.Namespace(threads=1, budget_s=5.0, label="", skattn_members=1)

    result = bench.run_one(
        "catboost", "made_up", data, 0, np.arange(90), np.arange(90, 120), args, {}
    )

    assert ("accuracy" if task == "binary" else "rmse") in result


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_skattn_members_vote_and_each_is_seeded_apart(bench, task):
    data = made_up_suite_data(task)
    model = bench.make_model("skattn", task, 3, 1, {"max_iter": 2}, skattn_members=2)

    model.fit(data["X"].iloc[:90], data["y"][:90])

    seeds = [member.random_state for member in model.estimators_]
    assert seeds == [3000, 3001]
    assert bench.fit_details("skattn", model) == {"n_epochs": 2.0}


def test_max_grad_norm_clips_skattn_gradients_through_a_callback(bench):
    params = {"max_grad_norm": 1.0, "max_iter": 2}
    model = bench.make_model("skattn", "binary", 0, 1, params)

    (clipping,) = model.callbacks
    assert clipping.gradient_clip_value == 1.0
    assert model.max_iter == 2 and params == {"max_grad_norm": 1.0, "max_iter": 2}
    data = made_up_suite_data("binary")
    model.fit(data["X"].iloc[:90], data["y"][:90])
    assert model.n_iter_ == 2


def test_median_imputed_fills_numerical_gaps_and_leaves_categories(bench):
    from sklearn.base import BaseEstimator

    class Recorder(BaseEstimator):
        def fit(self, X, y):
            self.seen_ = X
            return self

        def predict(self, X):
            return np.zeros(len(X))

    data = made_up_suite_data("regression")
    X = data["X"].assign(never=np.nan)  # a column with no median
    model = bench.MedianImputed(Recorder()).fit(X, data["y"])

    seen = model.model_.seen_
    assert not seen[["x", "gap", "never"]].isna().any().any()
    assert (seen["never"] == 0).all()
    assert seen["gap"].where(X["gap"].isna()).dropna().eq(X["gap"].median()).all()
    assert isinstance(seen["kind"].dtype, pd.CategoricalDtype)
    assert X["gap"].isna().any()  # the caller's frame is left as it was


def test_the_markdown_grid_gives_the_seed_spread_on_request(bench):
    records = [
        record("c", "binary", "a", 0, accuracy=0.9, roc_auc=0.95),
        record("c", "binary", "a", 1, accuracy=0.8, roc_auc=0.95),
    ]
    summary = bench.summarise(records)

    _, plain = bench.score_grid(summary)
    _, spread = bench.score_grid(summary, std=True)

    assert plain[0][2] == "0.8500 (1)"
    assert spread[0][2] == "0.8500 ± 0.0500 (1)"
