"""Hostile input, swept: crafted model files, fuzzed frames and every legal dataset.

Three parts, each a list of probes made from one seed. Every probe runs in a fresh
process forked from one that has imported skattn (so a probe's memory and time
are its own, and a crash or hang cannot touch the others), two at a time, with one
torch thread each and a 60-second limit.

- ``crafted``: ``load_model`` on files that ``save_model`` did not write, made from
  four saved models (a classifier of a table with a text column, a regressor, an
  extractor, a sequence classifier): the archive's bytes flipped or cut; a member
  cut, flipped (zip checksums made valid again), emptied, replaced by noise or a zip
  bomb; the JSON inside the state flipped; every config key dropped or given
  hostile values; every attribute of the saved state, and of the objects it holds
  two levels down, deleted or replaced (None, bools, negative, huge and fractional
  numbers, strings, empty containers, arrays of NaN, of 1e30, one row short,
  transposed); every weight tensor filled with NaN, inf or 1e38, reshaped, retyped
  or dropped. A probe passes when ``load_model`` refuses the file with a
  ``ValueError``, or loads a model whose outputs on the saved model's rows are well
  formed (or refused with a ``ValueError``); ``load_model`` itself must take under 5
  seconds and grow the peak resident memory by at most twice the file's size above
  the largest growth of loading the untouched file (measured after a first load in
  the same process), plus 16 MB for the allocator.
- ``fuzzed``: random small inputs (pandas frames of float, int, nullable, bool,
  text, category, pyarrow, datetime, complex, mixed-object, sparse and all-missing
  columns with NaN, extreme and tiny values; numpy arrays of many dtypes; polars
  and pyarrow frames; odd column names; labels of any type, 2-D targets) given to
  the three estimators (tiny networks, 2 epochs, random scaling and
  categorical options). A probe passes when it is refused with a ``ValueError``
  or ``TypeError`` that has a message, or fits and then: outputs of the right shape,
  finite, labels among ``classes_``, probabilities summing to 1 and agreeing with
  ``predict``; the same outputs twice and for the first rows alone; the caller's
  ``X`` and ``y`` unchanged; a frame with its columns reversed refused.
- ``legal``: random numeric datasets (1 to 3,000 rows, 1 to 20 features, dense,
  sparse or frames, scales from 1e-30 to 1e30, constant and duplicated columns,
  1 to n classes of any label type, balanced to one member per class; regression
  targets of any scale, 1-D or 2-D). Those that scikit-learn's ``MLPClassifier``
  or ``MLPRegressor`` fits (``max_iter=5``) are legal, and the skattn estimator at
  its defaults (``max_iter=2``: the epochs do not change which data a fit
  accepts) must fit them and predict well-formed outputs.

Prints the count of each outcome per part and writes
``benchmarks/results/hostile_input.json`` with every failure's probe and error.
Takes about 13 minutes on 2 CPU cores; ``--quick`` runs a few probes of each kind.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn (see demo.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Benchmark the skattn of this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The helpers shared with the other benchmark scripts (_reporting.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import io
import json
import multiprocessing
import pickle
import resource
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _reporting import add_output_argument, environment, format_table, write_json

PROBE_SECONDS = 60.0  # a probe running longer is killed and counted as a hang
LOAD_SECONDS = 5.0  # "a few seconds" for load_model
ALLOCATOR_SLACK = 16 * 2**20

# --- measuring a probe in its own process -----------------------------------------


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


class PeakMemory:
    """Peak resident memory growth (bytes) of this process inside a ``with``."""

    def __enter__(self) -> PeakMemory:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # the kernel's peak (VmHWM) restarts from now
        self._start = _status_kb("VmRSS")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.growth = (_status_kb("VmHWM") - self._start) * 1024


def _probe_process(spec: dict[str, Any], connection: Any) -> None:
    import torch

    torch.set_num_threads(1)
    # Far above what any probe should use: a runaway allocation fails instead of
    # taking the machine (and the probe then fails its memory bound anyway).
    limit = _status_kb("VmSize") * 1024 + 6 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    warnings.simplefilter("ignore")
    try:
        result = PARTS[spec["part"]][1](spec)
    except BaseException as exc:  # the probe's own code broke: report, don't hide
        result = {"outcome": "crash", "error": f"harness {type(exc).__name__}: {exc}"}
    connection.send(result)
    connection.close()


def run_probes(specs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Each spec run in a fresh process, ``workers`` at a time; a result per spec."""
    # Forked from this process, which has imported everything a probe needs and
    # runs torch on one thread (no OpenMP pool for a child to inherit).
    context = multiprocessing.get_context("fork")
    results: list[dict[str, Any] | None] = [None] * len(specs)
    pending = list(enumerate(specs))[::-1]
    running: dict[int, tuple[Any, Any, float]] = {}
    done = 0
    while pending or running:
        while pending and len(running) < workers:
            index, spec = pending.pop()
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_probe_process, args=(spec, sender))
            process.start()
            sender.close()
            running[index] = (process, receiver, time.perf_counter())
        time.sleep(0.002)
        for index, (process, receiver, started) in list(running.items()):
            result = None
            if receiver.poll():
                try:
                    result = receiver.recv()
                except EOFError:
                    pass
            if result is None and process.is_alive():
                if time.perf_counter() - started < PROBE_SECONDS:
                    continue
                process.kill()
                result = {"outcome": "hang", "error": f"over {PROBE_SECONDS:.0f} s"}
            process.join()
            if result is None:
                result = {"outcome": "crash", "error": f"exit code {process.exitcode}"}
            results[index] = {**specs[index], **result}
            del running[index]
            done += 1
            if done % 200 == 0:
                print(f"  {done}/{len(specs)} probes", flush=True)
    return [result for result in results if result is not None]


# --- well-formed outputs ------------------------------------------------------------


def _malformed_outputs(model: Any, X: Any, n_rows: int) -> str | None:
    """What is wrong with the outputs of fitted ``model`` on ``X``, or None."""
    kind = type(model).__name__
    if kind == "AttentionFeatureExtractor":
        embedding = model.transform(X)
        if embedding.shape != (n_rows, len(model.get_feature_names_out())):
            return f"transform shape {embedding.shape}"
        return None if np.isfinite(embedding).all() else "non-finite transform"
    predicted = model.predict(X)
    if len(predicted) != n_rows:
        return f"predict gave {len(predicted)} rows for {n_rows}"
    if kind == "AttentionMLPRegressor":
        values = np.asarray(predicted, dtype=float)
        return None if np.isfinite(values).all() else "non-finite prediction"
    proba = model.predict_proba(X)
    if isinstance(model.classes_, list):  # multi-output
        for column, (classes, p) in enumerate(zip(model.classes_, proba, strict=True)):
            if not np.isin(predicted[:, column], classes).all():
                return f"output {column} predicts labels outside classes_"
            if not (np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1)):
                return f"output {column}'s probabilities are not a distribution"
        return None
    if not np.isin(predicted, model.classes_).all():
        return "labels outside classes_"
    if not (np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)):
        return "probabilities are not a distribution"
    if not (model.classes_[proba.argmax(axis=1)] == predicted).all():
        return "predict disagrees with predict_proba"
    return None


def _outputs(model: Any, X: Any) -> np.ndarray:
    if type(model).__name__ == "AttentionFeatureExtractor":
        return model.transform(X)
    if type(model).__name__ == "AttentionMLPRegressor":
        return np.asarray(model.predict(X), dtype=float)
    proba = model.predict_proba(X)
    return np.hstack(proba) if isinstance(proba, list) else proba


# --- crafted model files ------------------------------------------------------------

MEMBERS = ("config.json", "weights.safetensors", "state.skops")
HOSTILE_VALUES: dict[str, Callable[[Any], Any]] = {
    "None": lambda value: None,
    "True": lambda value: True,
    "-1": lambda value: -1,
    "0": lambda value: 0,
    "10**12": lambda value: 10**12,
    "1.5": lambda value: 1.5,
    "nan": lambda value: float("nan"),
    "'x'": lambda value: "x",
    "[]": lambda value: [],
    "{}": lambda value: {},
    "empty array": lambda value: np.zeros(0),
}
JSON_VALUES = {"None": None, "True": True, "-1": -1, "10**30": 10**30, "1.5": 1.5,
               "'x'": "x", "[]": [], "{}": {}, "deep": [[[[[[[[1]]]]]]]]}  # fmt: skip
ARRAY_CHANGES: dict[str, Callable[[np.ndarray], Any]] = {
    "NaN-filled": lambda a: np.full(a.shape, np.nan),
    "times 1e30": lambda a: a * 1e30 if a.dtype.kind in "fiu" else a[::-1],
    "one row short": lambda a: a[:-1],
    "transposed": lambda a: a.T,
    "as strings": lambda a: a.astype(str),
}
SCALAR_CHANGES: dict[str, Callable[[Any], Any]] = {
    "plus one": lambda v: v + 1,
    "times 1000": lambda v: v * 1000,
}
WEIGHT_CHANGES = ("nan", "inf", "1e38", "reshaped", "float64", "dropped")


def _base_models(folder: Path) -> dict[str, dict[str, str]]:
    """Fit and save the four models the crafted files start from."""
    from skattn import (
        AttentionFeatureExtractor,
        AttentionMLPClassifier,
        AttentionMLPRegressor,
        save_model,
    )

    rng = np.random.default_rng(0)
    n = 160
    table = pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "count": rng.integers(0, 9, n),
            "colour": pd.Series(rng.choice(["red", "green", "blue", None], n)),
        }
    )
    labels = np.array(["low", "mid", "high"])[rng.integers(0, 3, n)]
    sequences = rng.normal(size=(n, 6, 2))
    small = dict(d_token=8, n_heads=2, n_blocks=1, max_iter=2, random_state=0)
    models = {
        "classifier": (AttentionMLPClassifier(**small), table, labels),
        "regressor": (
            AttentionMLPRegressor(**small, loss="quantile", quantile=[0.1, 0.9]),
            table.drop(columns="colour").to_numpy(float),
            rng.normal(size=n),
        ),
        "extractor": (AttentionFeatureExtractor(**small, n_components=4), table, None),
        "sequence": (AttentionMLPClassifier(**small), sequences, labels),
    }
    bases = {}
    for name, (model, X, y) in models.items():
        model.fit(X, y) if y is not None else model.fit(X)
        path = folder / f"{name}.skattn"
        save_model(model, path)
        rows = folder / f"{name}.rows.pkl"
        rows.write_bytes(pickle.dumps(X[:16] if not hasattr(X, "iloc") else X[:16]))
        bases[name] = {"path": str(path), "rows": str(rows)}
    return bases


def _state_paths(state: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every attribute of the saved state, and of the objects it holds, two levels
    down, with its value."""
    for key, value in state.items():
        yield (key,), value
        for inner, inner_value in (
            vars(value).items() if hasattr(value, "__dict__") else ()
        ):
            yield (key, inner), inner_value
            if hasattr(inner_value, "__dict__") and not isinstance(inner_value, type):
                for leaf, leaf_value in vars(inner_value).items():
                    yield (key, inner, leaf), leaf_value


def _changes_for(value: Any) -> list[str]:
    changes = ["delete", *HOSTILE_VALUES]
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.size:
        changes += list(ARRAY_CHANGES)
    if isinstance(value, int | float) and not isinstance(value, bool):
        changes += list(SCALAR_CHANGES)
    return changes


def crafted_specs(bases: dict[str, dict[str, str]], seeds: int) -> list[dict[str, Any]]:
    """Every crafted file of the sweep, as specs a probe process rebuilds."""
    import skops.io

    from skattn import SKOPS_TRUSTED_TYPES

    specs: list[dict[str, Any]] = []
    for base, files in bases.items():
        common = {"part": "crafted", "base": base, **files}
        specs.append({**common, "how": "untouched"})
        for fraction in (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999):
            specs.append({**common, "how": "archive cut", "fraction": fraction})
        for seed in range(seeds):
            specs.append({**common, "how": "archive flipped", "seed": seed})
        for member in MEMBERS:
            for fraction in (0.0, 0.1, 0.5, 0.9, 0.99):
                specs.append({**common, "how": "member cut", "member": member,
                              "fraction": fraction})  # fmt: skip
            for seed in range(seeds):
                specs.append({**common, "how": "member flipped", "member": member,
                              "seed": seed})  # fmt: skip
            for kind in ("noise 1 kB", "noise 1 MB", "bomb 64 MB", "null"):
                specs.append({**common, "how": "member replaced", "member": member,
                              "kind": kind})  # fmt: skip
        for seed in range(seeds):
            specs.append({**common, "how": "schema flipped", "seed": seed})
        with zipfile.ZipFile(files["path"]) as archive:
            config = json.loads(archive.read("config.json"))
            state = skops.io.loads(
                archive.read("state.skops"), trusted=SKOPS_TRUSTED_TYPES
            )
            header_size = int.from_bytes(
                archive.read("weights.safetensors")[:8], "little"
            )
            header = json.loads(
                archive.read("weights.safetensors")[8 : 8 + header_size]
            )
        for key in config:
            for value in ("delete", *JSON_VALUES, "'AttentionMLPRegressor'"):
                specs.append({**common, "how": "config", "key": key, "value": value})
        for path, value in _state_paths(state):
            for change in _changes_for(value):
                specs.append({**common, "how": "state", "attribute": list(path),
                              "change": change})  # fmt: skip
        for key in [key for key in header if key != "__metadata__"][:16]:
            for change in WEIGHT_CHANGES:
                specs.append({**common, "how": "weights", "key": key, "change": change})
    return specs


def _flip(data: bytes, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    changed = bytearray(data)
    for position in rng.integers(0, len(data), rng.integers(1, 17)):
        changed[position] = int(rng.integers(0, 256))
    return bytes(changed)


def _zip(members: dict[str, bytes], stored: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            compression = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(name, data, compression)
    return buffer.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _replacement(kind: str, seed: int = 0) -> tuple[bytes, bool]:
    """Bytes of a replaced member and whether to store them uncompressed."""
    rng = np.random.default_rng(seed)
    if kind == "noise 1 kB":
        return rng.bytes(2**10), True
    if kind == "noise 1 MB":
        return rng.bytes(2**20), True
    if kind == "bomb 64 MB":
        return bytes(64 * 2**20), False
    return b"null", True


def _set_path(state: dict[str, Any], path: list[str], change: str) -> None:
    holder: Any = state
    for key in path[:-1]:
        holder = holder[key] if isinstance(holder, dict) else getattr(holder, key)
    key = path[-1]
    value = holder[key] if isinstance(holder, dict) else getattr(holder, key)
    if change == "delete":
        holder.pop(key) if isinstance(holder, dict) else delattr(holder, key)
        return
    table = {**HOSTILE_VALUES, **ARRAY_CHANGES, **SCALAR_CHANGES}
    new = table[change](value)
    holder.__setitem__(key, new) if isinstance(holder, dict) else setattr(
        holder, key, new
    )


def _changed_weights(weights: bytes, key: str, change: str) -> bytes:
    import torch
    from safetensors.torch import load, save

    tensors = load(weights)
    tensor = tensors[key]
    if change == "dropped":
        del tensors[key]
    elif change == "reshaped":
        tensors[key] = torch.zeros(tensor.shape[0] + 1, *tensor.shape[1:])
    elif change == "float64":
        tensors[key] = tensor.double()
    else:
        tensors[key] = torch.full_like(tensor, float(change))
    return save(tensors)


def crafted_file(spec: dict[str, Any]) -> bytes:
    """The bytes of the crafted file that ``spec`` describes."""
    import skops.io

    from skattn import SKOPS_TRUSTED_TYPES

    original = Path(spec["path"]).read_bytes()
    how = spec["how"]
    if how == "untouched":
        return original
    if how == "archive cut":
        return original[: int(len(original) * spec["fraction"])]
    if how == "archive flipped":
        return _flip(original, spec["seed"])
    members = _members(original)
    stored = True
    if how == "member cut":
        data = members[spec["member"]]
        members[spec["member"]] = data[: int(len(data) * spec["fraction"])]
    elif how == "member flipped":
        members[spec["member"]] = _flip(members[spec["member"]], spec["seed"])
    elif how == "member replaced":
        members[spec["member"]], stored = _replacement(spec["kind"])
    elif how == "schema flipped":
        inner = _members(members["state.skops"])
        inner["schema.json"] = _flip(inner["schema.json"], spec["seed"])
        members["state.skops"] = _zip(inner, stored=False)
    elif how == "config":
        config = json.loads(members["config.json"])
        if spec["value"] == "delete":
            config.pop(spec["key"])
        elif spec["value"] == "'AttentionMLPRegressor'":
            config[spec["key"]] = "AttentionMLPRegressor"
        else:
            config[spec["key"]] = JSON_VALUES[spec["value"]]
        members["config.json"] = json.dumps(config).encode()
    elif how == "state":
        state = skops.io.loads(members["state.skops"], trusted=SKOPS_TRUSTED_TYPES)
        _set_path(state, spec["attribute"], spec["change"])
        members["state.skops"] = skops.io.dumps(state)
    elif how == "weights":
        members["weights.safetensors"] = _changed_weights(
            members["weights.safetensors"], spec["key"], spec["change"]
        )
    return _zip(members, stored=stored)


def probe_crafted(spec: dict[str, Any]) -> dict[str, Any]:
    from skattn import load_model

    try:
        data = crafted_file(spec)
    except Exception as exc:  # a change that the state's own types cannot take
        return {"outcome": "not made", "error": f"{type(exc).__name__}: {exc}"}
    folder = Path(tempfile.mkdtemp())
    path = folder / "crafted.skattn"
    path.write_bytes(data)
    X = pickle.loads(Path(spec["rows"]).read_bytes())
    # Loading the untouched file first: what a first load imports and caches is not
    # what the crafted file costs.
    _outputs(load_model(spec["path"], device="cpu"), X)
    result: dict[str, Any] = {"file_bytes": len(data)}
    start = time.perf_counter()
    model = None
    with PeakMemory() as memory:
        try:
            model = load_model(path, device="cpu")
        except ValueError as exc:
            outcome, error = "refused", f"{exc}"
        except Exception as exc:
            outcome, error = "crash", f"{type(exc).__name__}: {exc}"
    result.update(seconds=time.perf_counter() - start, peak_growth_bytes=memory.growth)
    if model is not None:
        start = time.perf_counter()
        try:
            problem = _malformed_outputs(model, X, len(X))
        except ValueError as exc:
            outcome, error = "loaded, predict refused", f"{exc}"
        except Exception as exc:
            outcome, error = "crash", f"at predict: {type(exc).__name__}: {exc}"
        else:
            outcome = "loaded" if problem is None else "silent wrong result"
            error = problem or ""
        result["predict_seconds"] = time.perf_counter() - start
    result.update(outcome=outcome, error=error[:300])
    if outcome == "refused" and not error.strip():
        result["outcome"] = "crash"  # a ValueError that says nothing
    path.unlink()
    folder.rmdir()
    return result


# --- fuzzed inputs ------------------------------------------------------------------

COLUMN_KINDS = (
    "float", "extreme", "tiny", "int", "huge_int", "Int64", "Float64", "bool",
    "boolean", "str", "category", "int_category", "arrow_float", "arrow_str",
    "all_nan", "all_none_str", "constant", "datetime", "timedelta", "complex",
    "mixed_object", "bytes", "sparse",
)  # fmt: skip
ARRAY_DTYPES = (
    "float64",
    "float32",
    "float16",
    "int8",
    "uint64",
    "bool",
    "object",
    "str",
)


def _fuzzed_column(rng: np.random.Generator, kind: str, n: int) -> pd.Series:
    missing = rng.random(n) < rng.choice([0.0, 0.2, 0.8])
    words = np.array(["a", "b", "c", "", "ü", "1", "None"])
    if kind == "float":
        return pd.Series(np.where(missing, np.nan, rng.normal(size=n)))
    if kind == "extreme":
        values = rng.choice([0.0, 1e-300, -1e-12, 1e16, -1e20, 1e308, -1e308, 5.0], n)
        return pd.Series(np.where(missing, np.nan, values))
    if kind == "tiny":
        return pd.Series(rng.normal(size=n) * rng.choice([1e-9, 1e-30, 1e-310]))
    if kind == "int":
        return pd.Series(rng.integers(-(2**40), 2**40, n))
    if kind == "huge_int":
        return pd.Series(rng.integers(2**62, 2**63 - 1, n, dtype=np.uint64) * 2)
    if kind in ("Int64", "Float64"):
        values = pd.array(rng.integers(-5, 5, n), dtype=kind)
        values[missing] = pd.NA
        return pd.Series(values)
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if kind == "boolean":
        values = pd.array(rng.random(n) < 0.5, dtype="boolean")
        values[missing] = pd.NA
        return pd.Series(values)
    if kind in ("str", "category", "arrow_str"):
        values = np.where(missing, None, rng.choice(words, n)).astype(object)
        dtype = {"str": "str", "category": "category", "arrow_str": "string[pyarrow]"}
        return pd.Series(values, dtype=dtype[kind])
    if kind == "int_category":
        return pd.Series(rng.integers(0, 4, n), dtype="category")
    if kind == "arrow_float":
        values = np.where(missing, None, rng.normal(size=n)).astype(object)
        return pd.Series(values, dtype="float64[pyarrow]")
    if kind == "all_nan":
        return pd.Series(np.full(n, np.nan))
    if kind == "all_none_str":
        return pd.Series([None] * n, dtype="str")
    if kind == "constant":
        return pd.Series(np.full(n, rng.choice([0.0, 1e300, -7.5])))
    if kind == "datetime":
        return pd.Series(pd.date_range("2020-01-01", periods=n, freq="D"))
    if kind == "timedelta":
        return pd.Series(pd.to_timedelta(rng.integers(0, 100, n), unit="s"))
    if kind == "complex":
        return pd.Series(rng.normal(size=n) + 1j)
    if kind == "mixed_object":
        values = [rng.choice(words) if rng.random() < 0.5 else float(v)
                  for v in rng.normal(size=n)]  # fmt: skip
        return pd.Series(values, dtype=object)
    if kind == "bytes":
        return pd.Series(
            [bytes(w, "utf-8") for w in rng.choice(words, n)], dtype=object
        )
    return pd.Series(pd.arrays.SparseArray(np.where(missing, 0.0, rng.normal(size=n))))


def _fuzzed_X(rng: np.random.Generator, n: int) -> Any:
    n_columns = int(rng.integers(1, 6))
    container = rng.choice(["pandas"] * 7 + ["numpy"] * 2 + ["polars", "pyarrow"])
    if container == "numpy":
        dtype = rng.choice(ARRAY_DTYPES)
        values = rng.normal(size=(n, n_columns)) * 10.0 ** rng.integers(-40, 40)
        if dtype in ("object", "str"):
            return np.where(values > 0, "pos", "neg").astype(dtype)
        with np.errstate(all="ignore"):
            array = values.astype(dtype)
        if dtype.startswith("float"):
            array[rng.random(array.shape) < 0.1] = np.nan
        return array
    kinds = rng.choice(COLUMN_KINDS, n_columns)
    names: list[Any] = [f"c{j}" for j in range(n_columns)]
    style = rng.choice(["plain"] * 8 + ["int", "duplicate", "mixed"])
    if style == "int":
        names = list(range(n_columns))
    elif style == "duplicate" and n_columns > 1:
        names[1] = names[0]
    elif style == "mixed":
        names[0] = 0
    columns = [_fuzzed_column(rng, str(kind), n) for kind in kinds]
    frame = pd.concat(columns, axis=1, ignore_index=True)
    frame.columns = names
    if container == "polars":
        import polars as pl

        try:
            return pl.from_pandas(frame)
        except Exception:  # polars takes no duplicate, int or odd columns
            return frame
    if container == "pyarrow":
        import pyarrow as pa

        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except Exception:
            return frame
    return frame


def _fuzzed_y(rng: np.random.Generator, estimator: str, n: int) -> Any:
    if estimator == "extractor":
        return None
    if estimator == "regressor":
        kind = rng.choice(["normal", "huge", "constant", "int", "nan", "inf", "2d"])
        y = {
            "normal": lambda: rng.normal(size=n),
            "huge": lambda: rng.normal(size=n) * 1e300,
            "constant": lambda: np.full(n, 3.0),
            "int": lambda: rng.integers(0, 5, n),
            "nan": lambda: np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
            "inf": lambda: np.where(rng.random(n) < 0.2, np.inf, rng.normal(size=n)),
            "2d": lambda: rng.normal(size=(n, 2)),
        }[str(kind)]()
        return y
    kind = rng.choice(
        ["str", "int", "bool", "float", "one", "mixed", "none", "2d", "series"]
    )
    labels = {
        "str": lambda: rng.choice(["yes", "no", "maybe"], n),
        "int": lambda: rng.integers(-3, 3, n),
        "bool": lambda: rng.random(n) < 0.5,
        "float": lambda: rng.integers(0, 3, n).astype(float),
        "one": lambda: np.full(n, "only"),
        "mixed": lambda: np.array([1, "a"] * n, dtype=object)[:n],
        "none": lambda: np.array(["a", None] * n, dtype=object)[:n],
        "2d": lambda: rng.integers(0, 2, (n, 3)),
        "series": lambda: pd.Series(rng.choice(["x", "y"], n), dtype="category"),
    }
    return labels[str(kind)]()


def fuzzed_specs(count: int) -> list[dict[str, Any]]:
    return [{"part": "fuzzed", "seed": seed} for seed in range(count)]


def _copy(value: Any) -> Any:
    if hasattr(value, "copy"):
        try:
            return value.copy(deep=True)
        except TypeError:
            return value.copy()
    return value  # polars and pyarrow frames are immutable


def _unchanged(before: Any, after: Any) -> bool:
    if isinstance(before, pd.DataFrame | pd.Series):
        return before.equals(after) and (
            not isinstance(before, pd.DataFrame)
            or (before.dtypes == after.dtypes).all()
        )
    if isinstance(before, np.ndarray):
        return before.dtype == after.dtype and pd.DataFrame(
            before.reshape(len(before), -1)
        ).equals(pd.DataFrame(after.reshape(len(after), -1)))
    return True


def probe_fuzzed(spec: dict[str, Any]) -> dict[str, Any]:
    from skattn import (
        AttentionFeatureExtractor,
        AttentionMLPClassifier,
        AttentionMLPRegressor,
    )

    rng = np.random.default_rng(spec["seed"])
    estimator = str(rng.choice(["classifier"] * 6 + ["regressor"] * 3 + ["extractor"]))
    n = int(rng.choice([1, 2, 3, 5, 8, 13, 24, 40]))
    X, y = _fuzzed_X(rng, n), _fuzzed_y(rng, estimator, n)
    params: dict[str, Any] = dict(
        d_token=4, n_heads=1, n_blocks=1, max_iter=2, batch_size=8, random_state=0
    )
    params["numerical_scaling"] = rng.choice(["quantile", "standard", None])
    if rng.random() < 0.2:
        params["categorical_features"] = rng.choice([[0], ["c0"], ["missing"], [True]])
    cls = {
        "classifier": AttentionMLPClassifier,
        "regressor": AttentionMLPRegressor,
        "extractor": AttentionFeatureExtractor,
    }[estimator]
    model = cls(**params)
    X_before, y_before = _copy(X), _copy(y)
    described = {"estimator": estimator, "n_rows": n, "X": type(X).__name__}
    try:
        model.fit(X, y) if y is not None else model.fit(X)
        problem = _malformed_outputs(model, X, n)
        if problem is None:
            first = _outputs(model, X)
            if not np.array_equal(first, _outputs(model, X), equal_nan=True):
                problem = "outputs differ from one call to the next"
            elif n > 1 and not np.allclose(
                _outputs(model, _head(X, n // 2)), first[: n // 2], atol=1e-5
            ):
                problem = "the first rows alone give other outputs"
            elif (reversed_ := _reversed_columns(X)) is not None:
                try:
                    _outputs(model, reversed_)
                    problem = "a frame with reversed columns was accepted"
                except ValueError:
                    pass
    except (ValueError, TypeError) as exc:
        message = str(exc).strip()
        outcome = "refused" if message else "crash"
        return {
            **described,
            "outcome": outcome,
            "error": f"{type(exc).__name__}: {message}"[:300],
        }
    except Exception as exc:
        return {
            **described,
            "outcome": "crash",
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }
    if problem is None and not (_unchanged(X_before, X) and _unchanged(y_before, y)):
        problem = "the caller's X or y was modified"
    if problem is not None:
        return {**described, "outcome": "silent wrong result", "error": problem}
    return {**described, "outcome": "fitted"}


def _head(X: Any, k: int) -> Any:
    if isinstance(X, pd.DataFrame):
        return X.iloc[:k]
    return X[:k] if not hasattr(X, "slice") else X.slice(0, k)


def _reversed_columns(X: Any) -> pd.DataFrame | None:
    """X with its columns reversed, for a pandas frame of distinct names."""
    if not isinstance(X, pd.DataFrame):
        return None
    names = list(X.columns)
    if len(set(map(str, names))) < 2 or len(set(names)) != len(names):
        return None
    return X[names[::-1]]


# --- legal datasets -----------------------------------------------------------------


def legal_specs(count: int) -> list[dict[str, Any]]:
    return [
        {"part": "legal", "seed": seed, "estimator": estimator}
        for seed in range(count)
        for estimator in ("classifier", "regressor")
        if estimator == "classifier" or seed % 2 == 0
    ]


def _legal_data(rng: np.random.Generator, estimator: str) -> tuple[Any, Any, str]:
    n = int(np.exp(rng.uniform(0, np.log(3000))))
    p = int(np.exp(rng.uniform(0, np.log(20))))
    X = rng.normal(size=(n, p)) * 10.0 ** rng.integers(-30, 31, p)
    if p > 1 and rng.random() < 0.3:
        X[:, 1] = X[:, 0]  # duplicated
    if rng.random() < 0.3:
        X[:, -1] = 4.0  # constant
    form = str(rng.choice(["float64", "float32", "int", "bool", "sparse", "frame"]))
    if form == "float32":
        X = X.astype(np.float32)
    elif form == "int":
        X = np.round(X).clip(-(2**40), 2**40).astype(np.int64)
    elif form == "bool":
        X = X > 0
    elif form == "sparse":
        X = sp.csr_matrix(np.where(rng.random(X.shape) < 0.7, 0, X))
    elif form == "frame":
        X = pd.DataFrame(X, columns=[f"f{j}" for j in range(p)])
    if estimator == "regressor":
        scale = 10.0 ** rng.integers(-20, 21)
        shape = str(rng.choice(["1d", "2d", "constant", "int"]))
        y = {
            "1d": lambda: rng.normal(size=n) * scale,
            "2d": lambda: rng.normal(size=(n, 2)) * scale,
            "constant": lambda: np.full(n, scale),
            "int": lambda: rng.integers(-5, 5, n),
        }[shape]()
        return X, y, f"{n}x{p} {form}, y {shape} x{scale:g}"
    n_classes = int(rng.choice([1, 2, 3, 10, max(n // 2, 1), n]))
    balance = str(rng.choice(["uniform", "one rare", "singletons"]))
    if balance == "uniform":
        codes = rng.integers(0, n_classes, n)
    elif balance == "one rare":
        codes = np.zeros(n, int)
        codes[rng.integers(0, n)] = n_classes - 1
    else:
        codes = np.arange(n) % n_classes
    label_type = str(rng.choice(["int", "negative", "str", "bool", "float", "object"]))
    y = {
        "int": lambda: codes,
        "negative": lambda: -codes - 7,
        "str": lambda: np.array([f"class {c}" for c in codes]),
        "bool": lambda: codes % 2 == 0,
        "float": lambda: codes.astype(float) / 2,
        "object": lambda: np.array([f"k{c}" for c in codes], dtype=object),
    }[label_type]()
    return X, y, f"{n}x{p} {form}, {n_classes} {balance} {label_type} classes"


def probe_legal(spec: dict[str, Any]) -> dict[str, Any]:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from skattn import AttentionMLPClassifier, AttentionMLPRegressor

    rng = np.random.default_rng(spec["seed"])
    X, y, described = _legal_data(rng, spec["estimator"])
    reference = MLPClassifier if spec["estimator"] == "classifier" else MLPRegressor
    try:
        reference(max_iter=5, random_state=0).fit(X, y)
    except Exception as exc:
        return {"data": described, "outcome": "not legal",
                "error": f"{type(exc).__name__}: {exc}"[:200]}  # fmt: skip
    cls = (
        AttentionMLPClassifier
        if spec["estimator"] == "classifier"
        else AttentionMLPRegressor
    )
    try:
        model = cls(max_iter=2, random_state=0).fit(X, y)
        problem = _malformed_outputs(model, X, X.shape[0])
    except Exception as exc:
        return {"data": described, "outcome": "not fitted",
                "error": f"{type(exc).__name__}: {exc}"[:300]}  # fmt: skip
    if problem is not None:
        return {"data": described, "outcome": "silent wrong result", "error": problem}
    return {"data": described, "outcome": "fitted"}


# part -> (what passes, the probe)
PARTS: dict[str, tuple[frozenset[str], Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "crafted": (
        frozenset({"refused", "loaded", "loaded, predict refused"}),
        probe_crafted,
    ),
    "fuzzed": (frozenset({"refused", "fitted"}), probe_fuzzed),
    "legal": (frozenset({"fitted", "not legal"}), probe_legal),
}


def _over_bounds(results: list[dict[str, Any]]) -> None:
    """Mark crafted files that took too long or too much memory as failures."""
    baseline = max(
        (r["peak_growth_bytes"] for r in results if r.get("how") == "untouched"),
        default=0,
    )
    for result in results:
        if result["part"] != "crafted" or "peak_growth_bytes" not in result:
            continue
        allowed = baseline + 2 * result["file_bytes"] + ALLOCATOR_SLACK
        if result["peak_growth_bytes"] > allowed:
            result["bound"] = f"peak growth {result['peak_growth_bytes']} > {allowed}"
        elif result["seconds"] > LOAD_SECONDS:
            result["bound"] = f"{result['seconds']:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a few probes of each part"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    add_output_argument(
        parser, Path(__file__).resolve().parent / "results" / "hostile_input.json"
    )
    args = parser.parse_args()
    flips, fuzzed, legal = (2, 30, 20) if args.quick else (40, 3000, 400)

    import safetensors.torch  # noqa: F401 (imported once, before the forks)
    import skops.io  # noqa: F401
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    specs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        if "crafted" in args.parts:
            specs += crafted_specs(_base_models(Path(folder)), flips)
            if args.quick:
                specs = specs[:: max(1, len(specs) // 120)]
        if "fuzzed" in args.parts:
            specs += fuzzed_specs(fuzzed)
        if "legal" in args.parts:
            specs += legal_specs(legal)
        print(f"{len(specs)} probes, {args.workers} at a time", flush=True)
        results = run_probes(specs, args.workers)
    _over_bounds(results)

    rows, failures = [], []
    for part in args.parts:
        passing, _ = PARTS[part]
        mine = [r for r in results if r["part"] == part]
        counts = Counter(r["outcome"] for r in mine)
        failed = [r for r in mine if r["outcome"] not in passing or "bound" in r]
        failures += failed
        for outcome, count in sorted(counts.items()):
            rows.append(
                (part, outcome, str(count), "yes" if outcome in passing else "NO")
            )
        rows.append((part, "all", str(len(mine)), f"{len(failed)} failed"))
    print(format_table(("part", "outcome", "probes", "passes"), rows, left={0, 1, 3}))
    for failure in failures[:40]:
        print("FAILED", json.dumps(failure, default=str)[:400])
    crafted = [r for r in results if r["part"] == "crafted" and "seconds" in r]
    summary = {
        "probes": len(results),
        "failures": len(failures),
        "seconds": round(time.perf_counter() - started, 1),
        "outcomes": {
            part: dict(Counter(r["outcome"] for r in results if r["part"] == part))
            for part in args.parts
        },
        "crafted_max_load_seconds": max((r["seconds"] for r in crafted), default=None),
        "crafted_max_predict_seconds": max(
            (r.get("predict_seconds", 0.0) for r in crafted), default=None
        ),
        "crafted_max_peak_growth_mb": max(
            (r["peak_growth_bytes"] / 2**20 for r in crafted), default=None
        ),
        "crafted_untouched_peak_growth_mb": max(
            (
                r["peak_growth_bytes"] / 2**20
                for r in crafted
                if r["how"] == "untouched"
            ),
            default=None,
        ),
    }
    print(json.dumps(summary, indent=2))
    report = {
        "environment": environment(),
        "quick": args.quick,
        "summary": summary,
        "failures": failures,
    }
    write_json(report, args.output, ensure_ascii=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
