"""Sphinx configuration of skattn's documentation.

Build (from the repository root; warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build never uses the network: cross-references to other projects come from the
inventories in ``docs/_inventories`` (see the intersphinx section below), and the
gallery's examples train on data bundled with scikit-learn or made up on the spot.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

# The gallery trains torch models in this process next to scikit-learn: with OpenMP's
# default active wait policy their thread pools can slow each other down many times
# on machines with few cores (see benchmarks/README.md). Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DOCS_DIR = Path(__file__).resolve().parent
RESULTS = DOCS_DIR.parent / "benchmarks" / "results"  # the benchmarks' JSON
# Document the checkout these docs live in, installed or not.
sys.path.insert(0, str(DOCS_DIR.parent))

import torch  # noqa: E402

import skattn  # noqa: E402

# The gallery's examples train tiny networks on batches of a few dozen rows, where
# waking a second thread for every small operation costs more than it saves: on a
# 2-core machine the regression example took 10 s with one torch thread and 27 s
# with two. This setting lasts for the whole build (the examples run in-process).
torch.set_num_threads(1)

# -- Project -----------------------------------------------------------------------
project = "skattn"
author = "skattn developers"
copyright = "skattn developers, BSD-3-Clause license"
version = skattn.__version__
release = skattn.__version__

# -- General -----------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_templates",
    "_inventories",
    # The gallery's sources: sphinx-gallery turns them into auto_examples/.
    "examples",
    "Thumbs.db",
    ".DS_Store",
]
# Plain ``text`` in backquotes stays literal text, as in numpydoc docstrings.
default_role = "literal"
pygments_style = "sphinx"

# -- autodoc, autosummary, numpydoc -------------------------------------------------
# One page per public object (written to generated/ from docs/_templates/autosummary),
# holding its full docstring and every method, inherited ones included.
autosummary_generate = True
# Signatures without annotations: the numpydoc "Parameters" section carries the types.
autodoc_typehints = "none"

# Members are documented by autodoc on the generated pages, not listed a second
# time by numpydoc.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Link the types in "Parameters" and "Returns" where we know the target; all other
# words of a type description stay text.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    # Python
    "dict": "dict",
    "list": "list",
    "tuple": "tuple",
    "str": "str",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "None": "None",
    # NumPy, pandas, matplotlib
    "ndarray": "numpy.ndarray",
    "RandomState": "numpy.random.RandomState",
    "DataFrame": "pandas.DataFrame",
    "Axes": "matplotlib.axes.Axes",
    # scikit-learn
    "array-like": ":term:`array-like <sklearn:array-like>`",
    "FrozenEstimator": "sklearn.frozen.FrozenEstimator",
    # PyTorch
    "torch.device": "torch.device",
    "torch.nn.Module": "torch.nn.Module",
    "Tensor": "torch.Tensor",
    # skattn
    "TwoInputs": "skattn.TwoInputs",
    "AttentionMLPClassifier": "skattn.AttentionMLPClassifier",
    "AttentionMLPRegressor": "skattn.AttentionMLPRegressor",
    "AttentionFeatureExtractor": "skattn.AttentionFeatureExtractor",
}

# -- intersphinx, without the network -----------------------------------------------
# intersphinx normally downloads each project's objects.inv from its website. The
# machines that build these docs (CI included) cannot reach those sites, so every
# entry names a local inventory file instead, and the build never opens a
# connection. docs/make_inventories.py writes these files from the *installed*
# packages, with the URL scheme of each project's documentation; rerun it after an
# upgrade. The links point at each project's "stable" docs.
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_inventories/numpy.inv"),
    "pandas": ("https://pandas.pydata.org/docs/", "_inventories/pandas.inv"),
    "sklearn": ("https://scikit-learn.org/stable/", "_inventories/sklearn.inv"),
    "torch": ("https://docs.pytorch.org/docs/stable/", "_inventories/torch.inv"),
    "matplotlib": ("https://matplotlib.org/stable/", "_inventories/matplotlib.inv"),
    "joblib": ("https://joblib.readthedocs.io/en/stable/", "_inventories/joblib.inv"),
}
for _name, (_url, _inventory) in intersphinx_mapping.items():
    if "://" in _inventory or not (DOCS_DIR / _inventory).is_file():
        raise RuntimeError(
            f"intersphinx inventory {_inventory!r} of {_name!r} must be a local file "
            "in docs/_inventories (run: python docs/make_inventories.py)"
        )
# Never fall back to a download, even for an inventory that fails to load.
intersphinx_cache_limit = -1
intersphinx_timeout = 1

# -- MyST (docs/design.md) ----------------------------------------------------------
myst_heading_anchors = 3

# -- Diagrams drawn by matplotlib at build time (plot directive) --------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 150)]
plot_rcparams = {"font.size": 9}

# -- sphinx-gallery -----------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # Run every example whose name starts with plot_ (each < 20 s on 2 CPU cores).
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    # An example that raises fails the build.
    "abort_on_example_error": True,
    # "Examples using X" on the API pages (docs/_templates/autosummary).
    "doc_module": ("skattn",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_signature": False,
    # No binder, no JupyterLite: nothing in the gallery reaches out.
    "binder": {},
    "jupyterlite": {},
}

# -- HTML ---------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skattn {version}"
html_theme_options = {
    # Only options that need no network: no version switcher (which fetches a JSON
    # file), no announcement fetched from a URL, no external icons or analytics.
    "navbar_align": "left",
    "header_links_before_dropdown": 5,
    "navbar_end": ["theme-switcher"],
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": []}
html_static_path: list[str] = []
html_show_sourcelink = True


# -- The demo's results, as a table (user_guide/benchmarks.rst) ---------------------
# Written from benchmarks/results/demo.json at every build, so that the page shows
# the numbers of the JSON in the repository, whichever run made them.
def _write_demo_table(results: Path, table: Path) -> None:
    demo = json.loads(results.read_text())
    env = demo["environment"]
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 28 42 10 10 10",
        "",
        "   * - data set (train / test rows, values per sample)",
        "     - model",
        "     - score",
        "     - fit s",
        "     - epochs",
    ]
    previous = None
    for row in demo["results"]:
        name = row["dataset"]
        label = ""
        if name != previous:
            label = (
                f"{name} ({row['n_train']:,} / {row['n_test']:,}, {row['n_features']})"
            )
        previous = name
        scores = row["scores"]
        score = scores["accuracy"] if "accuracy" in scores else scores["r2"]
        epochs = str(row["n_iter"]) if row["model"].startswith("Attention") else ""
        lines += [
            f"   * - {label}".rstrip(),
            f"     - {row['model']}",
            f"     - {score:.3f}",
            f"     - {row['fit_seconds']:.1f}",
            f"     - {epochs}".rstrip(),
        ]
    lines += [
        "",
        f"Run of {env['date'][:10]}: {env['cpu_count']} CPU cores, "
        f"torch {env['torch']}, scikit-learn {env['sklearn']}, "
        f"skattn {env['skattn']}; {demo['total_seconds']:.0f} s in all.",
    ]
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("\n".join(lines) + "\n")


_write_demo_table(
    RESULTS / "demo.json",
    DOCS_DIR / "generated" / "demo_table.inc",
)


# -- The accuracy benchmark's grids of scores (user_guide/benchmarks.rst) ------------
# Laid out by the benchmark's own score_grid from benchmarks/results/accuracy.json
# (accuracy_*.inc) and accuracy_small.json (accuracy_small_*.inc, with the seeds'
# standard deviation).
def _results(name: str) -> Any:
    """The stored results ``benchmarks/results/<name>.json``."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def _benchmark(name: str) -> Any:
    """The script ``benchmarks/<name>.py`` as a module (its ``main`` not run)."""
    spec = importlib.util.spec_from_file_location(
        name, DOCS_DIR.parent / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[name] = bench  # dataclasses of the script look their module up
    spec.loader.exec_module(bench)
    return bench


def _write_list_table(
    header: tuple[str, ...], rows: list[tuple[str, ...]], path: Path
) -> None:
    """A ``list-table`` of ``header`` and ``rows`` written to ``path`` (markdown's
    code marks, as README's cells have them, become literals)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in (header, *rows):
        row = tuple(cell.replace("`", "``") for cell in row)
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}".rstrip() for cell in row[1:]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _write_accuracy_tables(
    results: Path, folder: Path, prefix: str = "accuracy", std: bool = False
) -> None:
    bench = _benchmark("accuracy_benchmark")
    summary = json.loads(results.read_text())["summary"]
    for value in ("score", "fit_s"):
        header, rows = bench.score_grid(summary, value, std=std)
        _write_list_table(header, rows, folder / f"{prefix}_{value}.inc")


_write_accuracy_tables(
    RESULTS / "accuracy.json",
    DOCS_DIR / "generated",
)
_write_accuracy_tables(
    RESULTS / "accuracy_small.json",
    DOCS_DIR / "generated",
    prefix="accuracy_small",
    std=True,
)


# -- The sequence benchmark's summary (user_guide/benchmarks.rst) --------------------
# Laid out by the benchmark's own summary_table from benchmarks/results/sequence.json,
# the table README shows too.
_write_list_table(
    *_benchmark("sequence_benchmark").summary_table(_results("sequence")),
    DOCS_DIR / "generated" / "sequence_summary.inc",
)


# -- The quantile benchmark's table (user_guide/quantiles.rst) -----------------------
# Laid out by the benchmark's own summary_table from benchmarks/results/quantile.json,
# the numbers of README's table.
_write_list_table(
    *_benchmark("quantile_benchmark").summary_table(_results("quantile")["results"]),
    DOCS_DIR / "generated" / "quantile_summary.inc",
)


# -- The multi-output benchmark's table (user_guide/benchmarks.rst) ------------------
# Laid out by the benchmark's own summary_table from
# benchmarks/results/multi_output.json, README's table.
_multi_output = _results("multi_output")
_write_list_table(
    *_benchmark("multi_output_benchmark").summary_table(
        _multi_output["results"],
        {name: task["kind"] for name, task in _multi_output["tasks"].items()},
    ),
    DOCS_DIR / "generated" / "multi_output_summary.inc",
)


# -- The explanation benchmark's table (user_guide/benchmarks.rst) -------------------
# Laid out by the benchmark's own summary_table from benchmarks/results/explanation.json
# (README's table; concrete is its one regression dataset, scored by R²).
_write_list_table(
    *_benchmark("explanation_benchmark").summary_table(
        _results("explanation")["results"], {"concrete"}
    ),
    DOCS_DIR / "generated" / "explanation_summary.inc",
)


# -- The pre-training benchmark's two tables (user_guide/benchmarks.rst) -------------
# Laid out by the benchmark's own summary_tables from
# benchmarks/results/pretraining.json, the tables README shows too.
for _number, _table in enumerate(
    _benchmark("pretraining_benchmark").summary_tables(
        _results("pretraining")["summary"]
    ),
    start=1,
):
    _write_list_table(*_table, DOCS_DIR / "generated" / f"pretraining_{_number}.inc")


# -- The small-fit profile's thread and floor tables (user_guide/benchmarks.rst) -----
# Laid out by the profile's own thread_table from benchmarks/results/small_fit.json,
# and its floor_table from benchmarks/results/small_fit_floor.json.
_small_fit = _benchmark("small_fit_profile")
_write_list_table(
    *_small_fit.thread_table(_results("small_fit")["results"]),
    DOCS_DIR / "generated" / "small_fit_threads.inc",
)
_write_list_table(
    *_small_fit.floor_table(_results("small_fit_floor")["results"]),
    DOCS_DIR / "generated" / "small_fit_floor.inc",
)


# -- scikit-learn's own docstrings ---------------------------------------------------
# The class pages include the methods inherited from scikit-learn (score,
# get_params, set_output, the metadata-routing methods). Their docstrings link to
# sections of scikit-learn's user guide with :ref:. The labels that the local
# inventory knows resolve to scikit-learn's site; any other one would be an
# "undefined label" warning, so in scikit-learn's docstrings (only) it becomes
# plain text.
def _inventory_labels(path: Path) -> set[str]:
    import posixpath

    from sphinx.util.inventory import InventoryFile

    with open(path, "rb") as stream:
        inventory = InventoryFile.load(stream, "", posixpath.join)
    return set(inventory.get("std:label", {}))


_SKLEARN_LABELS = _inventory_labels(DOCS_DIR / intersphinx_mapping["sklearn"][1])
_REF = re.compile(r":ref:`(?:([^`<]*?)\s*<([^`<>]+)>|([^`<>]+))`")


def _unlink_unknown_sklearn_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn."):
        return

    def replace(match: re.Match) -> str:
        label = (match.group(2) or match.group(3)).strip()
        if label in _SKLEARN_LABELS:
            return match.group(0)
        return match.group(1) or label

    lines[:] = _REF.sub(replace, "\n".join(lines)).split("\n")


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_unknown_sklearn_refs)
