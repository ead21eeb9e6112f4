"""What the benchmark scripts share: timing, the table, the JSON and ``--output``.

Imported by the benchmark scripts (``demo.py``, ``sequence_benchmark.py``,
``speed_benchmark.py``, ``pretraining_benchmark.py``, ``explanation_benchmark.py``)
from their own folder, after they have set ``OMP_WAIT_POLICY`` and put the repository
root on ``sys.path``. Also the loader of the shared benchmark suite.
"""

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Collection
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np
import sklearn
import torch

import skattn

T = TypeVar("T")

# The shared benchmark suite's loaders, beside the repository (../shared/README.md).
SHARED_BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def import_suite() -> ModuleType | None:
    """Import the shared suite's ``datasets`` module, if ``../shared`` is there.

    Returns
    -------
    module : module or None
        ``../shared/bench/datasets.py``, or None when the folder is absent.
    """
    if not SHARED_BENCH.is_dir():
        return None
    sys.path.insert(0, str(SHARED_BENCH))
    return importlib.import_module("datasets")


def require_suite() -> ModuleType:
    """:func:`import_suite`, or exit with a message when ``../shared`` is absent.

    Returns
    -------
    module : module
        ``../shared/bench/datasets.py``.
    """
    suite = import_suite()
    if suite is None:
        sys.exit(f"{SHARED_BENCH} is missing: the suite's datasets are not here")
    return suite


def timed(function: Callable[..., T], *args: Any) -> tuple[T, float]:
    """Call ``function(*args)`` and measure its wall-clock time.

    Parameters
    ----------
    function : callable
        What to call.
    *args
        Its positional arguments.

    Returns
    -------
    value : object
        What ``function`` returned.
    seconds : float
        Elapsed wall-clock seconds.
    """
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def format_table(
    header: tuple[str, ...], rows: list[tuple[str, ...]], left: Collection[int]
) -> str:
    """Lay cells out as a plain-text table with aligned columns.

    Parameters
    ----------
    header : tuple of str
        Column titles.
    rows : list of tuple of str
        The cells of each line, as many as ``header``.
    left : collection of int
        Indices of the text columns, left-aligned; the others (numbers) are
        right-aligned.

    Returns
    -------
    table : str
        Header, rule and one line per row, without trailing spaces.
    """
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.ljust(w) if i in left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def markdown_table(
    header: tuple[str, ...], rows: list[tuple[str, ...]], align: list[str]
) -> str:
    """README's markdown table of ``header`` and ``rows``; ``align`` is each
    column's cell of the separator line (``"---"``, or ``"---:"`` to align right).

    Returns
    -------
    table : str
        The lines, without a trailing newline.
    """
    lines = ["| " + " | ".join(line) + " |" for line in (header, *rows)]
    return "\n".join([lines[0], "|" + "|".join(align) + "|", *lines[1:]])


def environment(**versions: str | None) -> dict[str, Any]:
    """Versions, date and hardware facts to store next to the scores.

    Parameters
    ----------
    **versions : str or None
        Versions of further packages, stored after numpy's under their keyword.

    Returns
    -------
    info : dict
        The UTC date and time; the git commit of the skattn that ran (with
        ``-dirty`` when its files differ from it; None outside a git checkout);
        Python, torch, scikit-learn, skattn and numpy
        versions, then ``versions``; the platform, the CPU's model and the
        instruction set torch's kernels use (the same code and seed can train a
        different model on another CPU: float sums are split differently), the
        CPU count, torch's thread count and the OpenMP wait policy.
    """
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": _skattn_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "skattn": skattn.__version__,
        "numpy": np.__version__,
        **versions,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cpu_count": os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }


def _skattn_commit() -> str | None:
    """The git commit of the checkout that skattn was imported from, with "-dirty"
    when its tracked files differ from it; None when it is not a git checkout."""
    root = Path(skattn.__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if git("rev-parse", "--show-toplevel") != str(root):
        return None  # an installed copy, or a tree exported without its history
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    changed = git("status", "--porcelain", "--untracked-files=no", "--", "skattn")
    return f"{commit}-dirty" if changed else commit


def _cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def write_json(report: dict[str, Any], path: Path, *, ensure_ascii: bool) -> None:
    """Write ``report`` as indented JSON to ``path``.

    Parameters
    ----------
    report : dict
        JSON-serialisable report.
    path : Path
        Output file; its folder is created if missing.
    ensure_ascii : bool
        Escape non-ASCII characters, as :func:`json.dumps` does.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=ensure_ascii) + "\n")


def add_output_argument(parser: argparse.ArgumentParser, default: Path) -> None:
    """Add ``--output``, the path of the JSON results, to ``parser``.

    Parameters
    ----------
    parser : ArgumentParser
        The script's parser.
    default : Path
        Where the results go without ``--output``.
    """
    parser.add_argument(
        "--output",
        type=Path,
        default=default,
        help="where to write the JSON results (default: %(default)s)",
    )
