"""The README's Python examples run, in order, as one program: the docs cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert len(python_blocks()) >= 2


def test_readme_examples_run(capsys):
    namespace: dict = {}
    for block in python_blocks():
        exec(compile(block, str(README), "exec"), namespace)
    printed = capsys.readouterr().out
    accuracy = float(printed.splitlines()[0])
    assert accuracy > 0.8, printed
    assert "[False False  True  True]" in printed


def test_readme_test_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    command = "bash .ci/setup && .venv/bin/python -m pytest"
    assert command in README.read_text()
    assert command in ci


def test_readme_docs_command_is_what_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    command = (
        "bash .ci/setup && .venv/bin/python -m sphinx -W --keep-going -b html docs "
        "docs/_build/html"
    )
    assert command in README.read_text()
    assert command in ci
