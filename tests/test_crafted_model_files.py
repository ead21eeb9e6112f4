"""load_model on files that save_model did not write: oversized members, zip bombs,
hostile shapes, wrong names, corrupt bytes. Each is a ValueError that names the
problem, raised before the file can make load_model allocate or compute much."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from safetensors.torch import save as save_tensors

from skattn import (
    SKOPS_TRUSTED_TYPES,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
    load_model,
    save_model,
)

MEMBERS = ("config.json", "weights.safetensors", "state.skops")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small classifier (one network), with a categorical column, saved by
    save_model."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"size": rng.normal(size=120), "colour": rng.choice(["r", "g", "b"], 120)}
    )
    y = (X["size"] > 0).astype(int)
    clf = AttentionMLPClassifier(
        n_members=1, d_token=8, n_heads=2, n_blocks=1, max_iter=2
    )
    path = tmp_path_factory.mktemp("model") / "model.skattn"
    save_model(clf.fit(X, y), path)
    return path


def members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def with_state(model_file, tmp_path, change):
    """The model file with its state changed by ``change(state)``."""
    members = members_of(model_file)
    state = skops.io.loads(members["state.skops"], trusted=SKOPS_TRUSTED_TYPES)
    change(state)
    members["state.skops"] = skops.io.dumps(state)
    return write(tmp_path / "changed.skattn", members)


def load_refused(path, message):
    """load_model raises a ValueError matching ``message`` quickly and without
    holding more than a few MB (tracemalloc: Python's allocations, numpy's too)."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=message):
            load_model(path)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seconds < 5, seconds
    assert peak < 20 * 2**20, peak


def test_the_unaltered_file_loads(model_file):
    assert load_model(model_file).n_features_in_ == 2


def test_bytes_that_are_no_zip(tmp_path):
    path = tmp_path / "noise.skattn"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    load_refused(path, "is not a model file written by skattn.save_model")


def test_a_missing_member(model_file, tmp_path):
    members = members_of(model_file)
    del members["state.skops"]
    load_refused(write(tmp_path / "m.skattn", members), r"has no \['state.skops'\]")


@pytest.mark.parametrize("member", MEMBERS)
def test_zip_bombs_are_refused_before_they_inflate(model_file, tmp_path, member):
    members = members_of(model_file)
    members[member] = bytes(200 * 2**20)  # 200 MB of zeros: about 200 kB deflated
    path = write(tmp_path / "bomb.skattn", members)
    assert path.stat().st_size < 2**20
    load_refused(path, f"{member} declares 209715200 bytes from")


def test_a_bomb_inside_the_state(model_file, tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", bytes(200 * 2**20))
    members = members_of(model_file)
    members["state.skops"] = inner.getvalue()
    path = write(tmp_path / "bomb.skattn", members, compression=zipfile.ZIP_STORED)
    load_refused(path, r"\(state.skops\): schema.json declares")


@pytest.mark.parametrize(
    "config, message",
    [
        ("[" * 20_000 + "]" * 20_000, "RecursionError"),
        ("[" * 100_000 + "]" * 100_000, "config.json declares 200000 bytes"),
        ("[1, 2]", "its config is not a JSON object"),
        ("{not json", "JSONDecodeError"),
        (
            {
                "format": "skattn-model",
                "format_version": "2",
                "estimator": "AttentionMLPClassifier",
            },  # fmt: skip
            "format version '2', not an integer",
        ),
        (
            {"format": "skattn-model", "format_version": 2, "estimator": "Pipeline"},
            "not a model file written by skattn.save_model",
        ),
    ],
)
def test_malformed_configs(model_file, tmp_path, config, message):
    members = members_of(model_file)
    members["config.json"] = config if isinstance(config, str) else json.dumps(config)
    load_refused(write(tmp_path / "c.skattn", members), message)


def test_corrupt_weights(model_file, tmp_path):
    members = members_of(model_file)
    weights = bytearray(members["weights.safetensors"])
    weights[8:40] = b"\xff" * 32  # inside the JSON header
    members["weights.safetensors"] = bytes(weights)
    load_refused(write(tmp_path / "w.skattn", members), "not a valid skattn model file")


def test_weights_that_do_not_fit_the_network(model_file, tmp_path):
    members = members_of(model_file)
    tensors = {"extra": torch.zeros(4 * 2**20)}  # a valid 16 MB tensor
    members["weights.safetensors"] = save_tensors(tensors)
    load_refused(
        write(tmp_path / "w.skattn", members, compression=zipfile.ZIP_STORED),
        r"do not fit the network .*unexpected: \['extra'\]",
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda state: state.update(d_token_=12_000), "do not fit the network"),
        (lambda state: state.update(n_blocks=10**6), "n_blocks=1000000 is more than"),
        (lambda state: state.update(d_token_=2.5), "d_token_"),
        (lambda state: state.update(d_token_=9), "d_token_ is 9, which n_heads=2 does"),
        (lambda state: state.update(max_iter_="100"), "max_iter_"),
        (lambda state: state.update(n_members_=10**7), r"n_members_ is 10000000"),
        # The next fit would start a billion threads.
        (lambda state: state.update(n_threads=10**9), "n_threads=1000000000 is more"),
        (lambda state: state.update(n_threads="many"), "n_threads"),
        # The most members and blocks a file may name: refused (the weights are
        # one network's) without building 262,144 blocks.
        (
            lambda state: state.update(n_members_=1024, n_blocks=256),
            r"do not fit the network",
        ),
        (lambda state: state.update(d_token=True), "d_token"),
        (lambda state: state.update(n_heads="four"), "n_heads"),
        (
            lambda state: setattr(
                state["_input"].encoder_, "category_cardinalities_", [10**8]
            ),
            r"TabularEncoder.category_cardinalities_ are \[100000000\], but its "
            r"categories give \[5\]",
        ),
        (lambda state: state.pop("_target"), r"lacks \['_target'\]"),
        (lambda state: state.update(_input=np.zeros(3)), "input encoder is not"),
    ],
)
def test_hostile_states(model_file, tmp_path, change, message):
    load_refused(with_state(model_file, tmp_path, change), message)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            lambda state: setattr(state["_input"].encoder_, "prescale_", {}),
            "TabularEncoder.prescale_ is a dict, not ndarray",
        ),
        (
            lambda state: delattr(state["_input"].encoder_, "ordinal_encoder_"),
            "TabularEncoder.ordinal_encoder_ is missing",
        ),
        (
            lambda state: setattr(
                state["_input"].encoder_, "categorical_columns_", np.array([0])
            ),
            "numerical_columns_ and categorical_columns_ do not split the 2 features",
        ),
        (
            lambda state: setattr(
                state["_input"].encoder_.scaler_, "quantiles_", np.zeros((2, 2))
            ),
            r"TabularEncoder.scaler_ does not run: ValueError",
        ),
        (
            lambda state: setattr(state["_target"], "classes_", np.array([1, 0])),
            "ClassificationTarget.classes_ holds labels that are not distinct",
        ),
        (
            lambda state: setattr(
                state["_input"].encoder_.ordinal_encoder_, "unknown_value", 3
            ),
            "TabularEncoder.ordinal_encoder_ codes categories as",
        ),
        (
            lambda state: state.update(n_features_in_=3),
            "n_features_in_ is 3, its input has 2",
        ),
    ],
)
def test_states_that_no_fit_makes(model_file, tmp_path, change, message):
    load_refused(with_state(model_file, tmp_path, change), message)


def test_a_regression_scale_that_would_make_every_prediction_nan(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    reg = AttentionMLPRegressor(d_token=8, n_heads=2, n_blocks=1, max_iter=2)
    save_model(reg.fit(X, X[:, 0]), tmp_path / "reg.skattn")

    def nan_scale(state):
        state["_target"].scale_ = np.array([np.nan])

    path = with_state(tmp_path / "reg.skattn", tmp_path, nan_scale)
    load_refused(path, "RegressionTarget.scale_ holds NaN or infinite values")


def test_a_sequence_length_that_predict_would_pad_every_batch_to(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5, 2)), rng.integers(0, 2, 60)
    clf = AttentionMLPClassifier(d_token=8, n_heads=2, n_blocks=1, max_iter=2)
    save_model(clf.fit(X, y), tmp_path / "seq.skattn")
    path = with_state(
        tmp_path / "seq.skattn",
        tmp_path,
        lambda state: setattr(state["_input"], "max_length_", 10**12),
    )
    load_refused(path, r"SequenceInput.max_length_ is 1000000000000, outside")


def test_a_classifier_under_another_estimators_name(model_file, tmp_path):
    members = members_of(model_file)
    config = json.loads(members["config.json"])
    members["config.json"] = json.dumps(
        {**config, "estimator": "AttentionMLPRegressor"}
    )
    load_refused(
        write(tmp_path / "r.skattn", members),
        "holds a AttentionMLPRegressor, but its target is a ClassificationTarget",
    )
