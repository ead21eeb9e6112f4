"""The speed benchmark's measuring code runs, and its table says what it measured.

Only tiny sizes, in this process: timings themselves are never asserted here."""

from __future__ import annotations

import pytest
from conftest import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("speed_benchmark")


def tiny(model: str, **extra) -> dict:
    spec = {"device": "cpu", "section": "compare", "model": model, "n_rows": 600}
    return {**spec, "n_features": 6, "epochs": 1, **extra}


@pytest.mark.parametrize("model", ["skattn_no_validation", "hand_loop", "mlp"])
def test_each_measure_reports_times_rates_and_memory(bench, model):
    result = bench.measure(tiny(model))
    # An epoch of 600 rows is short (well under a millisecond for scikit-learn's
    # MLP), so on a loaded machine T(1 + k) - T(1) can vanish in timer noise;
    # epoch_seconds clamps it at 0 (seen for skattn too while other jobs ran).
    assert result["epoch_s"] >= 0
    if result["epoch_s"] > 0:
        assert result["train_rows_per_s"] == pytest.approx(600 / result["epoch_s"])
    assert result["predict_rows_per_s"] > 0
    assert result["peak_rss_mb"] >= result["peak_rss_over_data_mb"] >= 0


def test_sequence_measure_uses_the_default_patching(bench):
    spec = tiny("skattn", section="steps", n_steps=40, epochs=None)
    result = bench.measure(spec)
    assert result["one_epoch_fit_s"] > 0 and "epoch_s" not in result


def test_the_table_shows_the_overhead_ratio(bench):
    hand = {**tiny("hand_loop"), "epoch_s": 2.0, "train_rows_per_s": 300.0}
    plain = {**tiny("skattn_no_validation"), "epoch_s": 2.1, "train_rows_per_s": 286}
    for result in (hand, plain):
        result.update(predict_rows_per_s=1e4, peak_rss_mb=500.0)
        result["peak_rss_over_data_mb"] = 100.0
    missing = {**tiny("tabm"), "skipped": "tabm is not installed"}
    text = bench.report([hand, plain, missing])
    assert "skattn overhead over the hand-written loop: 1.050x" in text
    assert "skipped: tabm is not installed" in text


def test_the_plan_compares_every_model_on_one_table(bench):
    specs = bench.plan(["compare", "features"], quick=True, device="cpu")
    compare = [s["model"] for s in specs if s["section"] == "compare"]
    assert compare == list(bench.MODEL_LABELS)
    features = [s for s in specs if s["section"] == "features"]
    # 128 features: the default (latent tokens) and full attention, side by side.
    assert [s.get("params") for s in features if s["n_features"] == 128] == [
        None,
        {"n_latent_tokens": None},
    ]


def test_the_embedding_section_times_both_embeddings_against_linear(bench):
    specs = bench.plan(["embedding"], quick=True, device="cpu")
    assert [s["params"]["numerical_embedding"] for s in specs] == [
        "linear",
        "piecewise_linear",
    ]
    measured = [
        {**spec, "epoch_s": seconds, "predict_rows_per_s": 1e4, "peak_rss_mb": 500.0}
        for spec, seconds in zip(specs, (2.0, 2.5), strict=True)
    ]
    text = bench.report(measured)
    assert "embedding: 5,000 rows x 32 features" in text
    assert "piecewise_linear" in text and "1.25" in text


def test_the_serving_section_times_onnxruntime_next_to_skattn(bench):
    pytest.importorskip("onnxruntime")
    (spec,) = bench.plan(["serving"], quick=True, device="cpu")
    result = bench.measure({**spec, "n_rows": 300, "n_features": 4})
    assert result["max_abs_diff"] < 1e-5  # the exported graph predicts the same
    for key in ("predict_rows_per_s", "onnx_rows_per_s", "onnx_chunked_rows_per_s"):
        assert result[key] > 0
    assert result["onnx_single_row_ms"] > 0 and result["export_s"] > 0
    text = bench.report([{**spec, **result, "n_rows": 300}])
    assert "onnxruntime, calls of 512 rows" in text
