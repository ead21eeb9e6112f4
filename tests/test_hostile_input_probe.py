"""The hostile-input probe (benchmarks/hostile_input_probe.py) tells failures from
passes: a few of its probes of each kind, run in this process, and its verdicts on
outputs that are wrong on purpose. The sweep itself is a benchmark, not a test."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_benchmark

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def probe():
    return load_benchmark("hostile_input_probe")


@pytest.fixture(scope="module")
def crafted(probe, tmp_path_factory):
    bases = probe._base_models(tmp_path_factory.mktemp("bases"))
    return probe.crafted_specs(bases, seeds=1)


@pytest.mark.parametrize(
    "how",
    [
        "untouched",
        "archive cut",
        "member replaced",
        "schema flipped",
        "config",
        "state",
        "weights",
    ],  # fmt: skip
)
def test_crafted_files_of_every_kind_pass(probe, crafted, how):
    passing, _ = probe.PARTS["crafted"]
    for spec in [spec for spec in crafted if spec["how"] == how][::25][:4]:
        result = probe.probe_crafted(spec)
        assert result["outcome"] in passing, (spec, result)
        assert result["seconds"] < 30


def test_the_untouched_file_loads_and_a_bomb_is_refused(probe, crafted):
    untouched = next(spec for spec in crafted if spec["how"] == "untouched")
    assert probe.probe_crafted(untouched)["outcome"] == "loaded"
    bomb = next(spec for spec in crafted if spec.get("kind") == "bomb 64 MB")
    result = probe.probe_crafted(bomb)
    assert result["outcome"] == "refused" and "declares" in result["error"]


def test_fuzzed_and_legal_probes_pass(probe):
    outcomes = [probe.probe_fuzzed({"seed": seed})["outcome"] for seed in range(12)]
    assert set(outcomes) <= probe.PARTS["fuzzed"][0] and "fitted" in outcomes
    legal = [
        probe.probe_legal({"seed": seed, "estimator": estimator})["outcome"]
        for seed, estimator in [(0, "classifier"), (3, "classifier"), (0, "regressor")]
    ]
    assert set(legal) <= probe.PARTS["legal"][0] and "fitted" in legal


class FakeClassifier:
    classes_ = np.array(["a", "b"])

    def __init__(self, proba):
        self.proba = np.asarray(proba, dtype=float)

    def predict_proba(self, X):
        return self.proba

    def predict(self, X):
        return self.classes_[np.nan_to_num(self.proba).argmax(axis=1)]


@pytest.mark.parametrize(
    "proba, problem",
    [
        ([[0.3, 0.7], [0.9, 0.1]], None),
        ([[np.nan, np.nan], [0.9, 0.1]], "probabilities are not a distribution"),
        ([[0.3, 0.3], [0.9, 0.1]], "probabilities are not a distribution"),
    ],
)
def test_malformed_outputs_are_told_apart(probe, proba, problem):
    assert probe._malformed_outputs(FakeClassifier(proba), None, 2) == problem


def test_a_prediction_of_the_wrong_length_is_malformed(probe):
    assert probe._malformed_outputs(FakeClassifier([[0.5, 0.5]]), None, 2) == (
        "predict gave 1 rows for 2"
    )


def test_the_memory_bound_sees_an_allocation(probe):
    with probe.PeakMemory() as memory:
        block = np.ones(64 * 2**20 // 8)  # 64 MB, touched
    assert memory.growth >= 48 * 2**20
    del block
    results = [
        {"part": "crafted", "how": "untouched", "peak_growth_bytes": 2**20,
         "file_bytes": 10_000, "seconds": 0.1},
        {"part": "crafted", "how": "state", "peak_growth_bytes": 200 * 2**20,
         "file_bytes": 10_000, "seconds": 0.1},
        {"part": "crafted", "how": "state", "peak_growth_bytes": 2**20,
         "file_bytes": 10_000, "seconds": 9.0},
    ]  # fmt: skip
    probe._over_bounds(results)
    assert "bound" not in results[0]
    assert results[1]["bound"].startswith("peak growth")
    assert results[2]["bound"] == "9.0 s"
