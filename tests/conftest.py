"""Shared fixtures: small datasets and the suite's path to ../shared."""

from __future__ import annotations

import importlib.util
import os
import sys

# Before torch (and its OpenMP) first loads: threads that sleep at once instead of
# spinning. Beside a busy process, two spinning threads made a 10,000-row fit 8.5
# times slower and PASSIVE 1.16 times (benchmarks/small_fit_profile.py, README
# "Reproducibility and devices"); the suite runs on shared 2-core machines. Results
# do not depend on it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
import torch

SHARED_BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """The script ``benchmarks/<name>.py`` imported as a module (its ``main`` not
    run), for tests of its measuring and reporting code."""
    sys.path.insert(0, str(BENCHMARKS))  # the scripts import _reporting from there
    try:
        spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # Registered first: dataclasses of a script with postponed annotations
        # look their module up there while the class is made.
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


@pytest.fixture
def mixed_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """A DataFrame with numeric, bool, category and string columns and missing
    values, and a label that depends on both kinds of column."""
    rng = np.random.default_rng(0)
    n = 240
    size = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    X = pd.DataFrame(
        {
            "size": size,
            "count": pd.array(rng.integers(0, 5, size=n), dtype="Int64"),
            "flag": rng.random(n) < 0.5,
            "colour": pd.Series(colour, dtype="category"),
            "city": pd.Series(
                rng.choice(["oslo", "rome", "lima"], size=n), dtype="str"
            ),
        }
    )
    y = np.where((size > 0) ^ (colour == "red"), "yes", "no")
    X.loc[::17, "size"] = np.nan
    X.loc[::13, "count"] = pd.NA
    X.loc[::11, "colour"] = np.nan
    X.loc[::19, "city"] = None
    return X, y
