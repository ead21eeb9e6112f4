"""The result tables of README are what the benchmarks' own formatting makes of the
stored results: a table cannot be edited by hand away from its JSON, and a re-run's
tables are pasted, not retyped. (The docs' tables are generated from the same JSON
at every build, by docs/conf.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = (ROOT / "README.md").read_text()


def stored(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def whole_block(table: str, text: str) -> bool:
    """``table`` stands in ``text`` as a whole block: a line of its own before it,
    a blank line after it (no row added or dropped by hand around it)."""
    return f"\n{table}\n\n" in text


@pytest.mark.parametrize(
    ("results", "std"),
    [
        ("accuracy", False),  # the mid-sized suite
        ("accuracy_small", True),  # the small tables, with the seeds' spread
        ("accuracy_small_ablation", True),  # the routes measured
    ],
)
def test_readme_accuracy_grids_are_the_benchmarks_own(results, std):
    bench = load_benchmark("accuracy_benchmark")
    summary = stored(results)["summary"]
    for value in ("score", "fit_s"):
        grid = bench.markdown(*bench.score_grid(summary, value, std=std))
        assert whole_block(grid, README), f"README's {results} {value} table"


def test_the_sequence_summary_is_the_benchmarks_own():
    bench = load_benchmark("sequence_benchmark")
    report = stored("sequence")
    assert whole_block(bench.summary_markdown(report), README)
    # The ratio column is skattn's fit over MiniRocket's, from the same rows.
    header, rows = bench.summary_table(report)
    gunpoint = dict(zip(header, rows[0], strict=True))
    by = {(r["dataset"], r["model"]): r for r in report["results"]}
    ratio = (
        by[("GunPoint", "AttentionMLPClassifier")]["fit_seconds"]
        / by[("GunPoint", "minirocket")]["fit_seconds"]
    )
    assert gunpoint["skattn / MiniRocket fit"] == f"{ratio:.1f}"


def test_the_quantile_table_is_the_benchmarks_own():
    bench = load_benchmark("quantile_benchmark")
    rows = stored("quantile")["results"]
    table = bench.summary_markdown(rows)
    assert whole_block(table, README)
    # Bold marks the lower loss of the two models, quantile by quantile.
    skattn, hgb = rows[0], rows[1]
    first = table.splitlines()[2].split(" | ")[1].split(" / ")
    for cell, mine, other in zip(first, skattn["pinball"], hgb["pinball"], strict=True):
        assert cell.startswith("**") == (mine < other)


def test_the_multi_output_table_is_the_benchmarks_own():
    bench = load_benchmark("multi_output_benchmark")
    report = stored("multi_output")
    kinds = {name: task["kind"] for name, task in report["tasks"].items()}
    assert whole_block(bench.summary_markdown(report["results"], kinds), README)


def test_the_explanation_table_is_the_benchmarks_own():
    bench = load_benchmark("explanation_benchmark")
    # concrete is the one regression table of the six (its score is R²).
    table = bench.summary_markdown(stored("explanation")["results"], {"concrete"})
    assert whole_block(table, README)


def test_the_pretraining_tables_are_the_benchmarks_own():
    bench = load_benchmark("pretraining_benchmark")
    rows = stored("pretraining")["summary"]
    for table in bench.summary_markdown(rows):
        assert whole_block(table, README)
    # Bold marks the higher accuracy of the two compared models, where they differ.
    first = bench.summary_markdown(rows)[0].splitlines()[2].split(" | ")
    raw, learned = (float(cell.strip("*").split(" ")[0]) for cell in first[1:3])
    assert first[1].startswith("**") == (raw > learned)
    assert first[2].startswith("**") == (learned > raw)
