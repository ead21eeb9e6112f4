"""Write the intersphinx inventories in ``docs/_inventories`` from installed packages.

The documentation links to Python, NumPy, pandas, scikit-learn, PyTorch, joblib and
matplotlib through :mod:`sphinx.ext.intersphinx`, which normally downloads each
project's ``objects.inv``. The machines that build these docs cannot reach those
sites, so ``docs/conf.py`` reads local inventories instead, and this script writes
them: it imports the installed packages, lists their public objects, and gives each
the address that the project's own documentation uses for it (its URL scheme is
spelled out in each ``*_entries`` function below, with the known exceptions).

An inventory only needs the objects that the docs refer to, so this is a useful
subset, not a copy, of each project's inventory; a name that is missing here is
rendered as plain text, as any unresolved reference is. Run it again after
upgrading one of these packages (the output is sorted, so a rerun with the same
versions writes the same bytes)::

    python docs/make_inventories.py

The files use Sphinx's inventory format, version 2: four header lines, then
zlib-compressed lines ``name domain:role priority uri display-name``, where a
``$`` at the end of ``uri`` stands for ``name`` and a display name ``-`` for the
name itself.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

# One inventory line: (name, "domain:role", uri relative to the project's root), and
# for labels a fourth item, the title that a reference without one displays.
Entry = tuple[str, ...]

OUTPUT_DIR = Path(__file__).resolve().parent / "_inventories"


# -- helpers -----------------------------------------------------------------------
def _public(names: Iterable[str]) -> list[str]:
    return sorted({name for name in names if not name.startswith("_")})


def _members(cls: type) -> Iterator[tuple[str, str]]:
    """Public methods and attributes of ``cls``, as ``(name, role)``."""
    for name in _public(dir(cls)):
        try:
            value = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(value, property):
            yield name, "py:property"
        elif callable(value) or isinstance(value, classmethod | staticmethod):
            yield name, "py:method"
        else:
            yield name, "py:attribute"


def _role(obj: object) -> str:
    if inspect.ismodule(obj):
        return "py:module"
    if inspect.isclass(obj):
        return "py:exception" if issubclass(obj, BaseException) else "py:class"
    if callable(obj):
        return "py:function"
    return "py:data"


# -- Python ------------------------------------------------------------------------
def python_entries() -> list[Entry]:
    """https://docs.python.org/3/: a hand-picked set of builtins and modules."""
    functions_html = "library/functions.html#$"
    entries: list[Entry] = [
        ("None", "py:data", "library/constants.html#$"),
        ("True", "py:data", "library/constants.html#$"),
        ("False", "py:data", "library/constants.html#$"),
        ("Ellipsis", "py:data", "library/constants.html#$"),
    ]
    for name in ("int", "float", "bool", "complex", "object", "slice", "type"):
        entries.append((name, "py:class", functions_html))
    for name in ("isinstance", "len", "print", "range", "callable", "iter", "open"):
        entries.append((name, "py:function", functions_html))
    for name in ("dict", "list", "tuple", "str", "set", "frozenset", "bytes"):
        entries.append((name, "py:class", "library/stdtypes.html#$"))
    entries.append(("range", "py:class", "library/stdtypes.html#$"))
    import builtins

    for name in _public(dir(builtins)):
        obj = getattr(builtins, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            entries.append((name, _role(obj), "library/exceptions.html#$"))
    modules = {
        "pickle": ["dump", "dumps", "load", "loads"],
        "copy": ["copy", "deepcopy"],
        "warnings": ["warn", "catch_warnings", "filterwarnings", "simplefilter"],
        "pathlib": ["Path", "PurePath"],
        "os": ["PathLike", "environ", "fspath"],
        "typing": ["Any", "Literal", "Optional", "Union"],
        "collections.abc": ["Callable", "Iterable", "Mapping", "Sequence"],
        "json": ["dump", "dumps", "load", "loads"],
        "zipfile": ["ZipFile"],
        "tempfile": ["TemporaryDirectory", "mkdtemp"],
    }
    for module_name, names in modules.items():
        module = importlib.import_module(module_name)
        page = f"library/{module_name}.html"
        entries.append((module_name, "py:module", f"{page}#module-{module_name}"))
        for name in names:
            obj = getattr(module, name)
            role = _role(obj)
            if module_name == "typing":
                role = "py:data"
            if module_name == "os" and name == "environ":
                role = "py:data"
            entries.append((f"{module_name}.{name}", role, f"{page}#$"))
    return entries


# -- NumPy ---------------------------------------------------------------------------
def numpy_entries() -> list[Entry]:
    """https://numpy.org/doc/stable/: ``reference/generated/{name}.html#{name}``.

    Exceptions: scalar types (``reference/arrays.scalars.html``), constants
    (``reference/constants.html``), modules (their routine pages) and
    ``numpy.random``'s Generator and RandomState.
    """
    import numpy as np

    generated = "reference/generated/$.html#$"
    entries: list[Entry] = [("numpy", "py:module", "reference/index.html#module-numpy")]
    module_pages = {
        "linalg": "reference/routines.linalg.html",
        "fft": "reference/routines.fft.html",
        "random": "reference/random/index.html",
        "ma": "reference/maskedarray.generic.html",
        "testing": "reference/routines.testing.html",
        "polynomial": "reference/routines.polynomials-package.html",
    }
    for name in np.__all__:
        obj = getattr(np, name, None)
        full = f"numpy.{name}"
        if obj is None and name not in ("newaxis",):
            continue
        if inspect.ismodule(obj):
            if name in module_pages:
                entries.append(
                    (full, "py:module", f"{module_pages[name]}#module-{full}")
                )
        elif inspect.isclass(obj) and issubclass(obj, np.generic):
            entries.append((full, "py:class", "reference/arrays.scalars.html#$"))
        elif inspect.isclass(obj) and issubclass(obj, BaseException):
            entries.append((full, "py:exception", generated))
        elif inspect.isclass(obj):
            entries.append((full, "py:class", generated))
        elif callable(obj):
            entries.append((full, "py:function", generated))
        elif name in ("nan", "inf", "pi", "e", "euler_gamma", "newaxis"):
            entries.append((full, "py:data", "reference/constants.html#$"))
    for cls_name in ("ndarray", "dtype"):
        for member, role in _members(getattr(np, cls_name)):
            entries.append((f"numpy.{cls_name}.{member}", role, generated))
    for name in _public(dir(np.linalg)):
        if callable(getattr(np.linalg, name)) and not inspect.isclass(
            getattr(np.linalg, name)
        ):
            entries.append((f"numpy.linalg.{name}", "py:function", generated))
    random_generated = "reference/random/generated/$.html#$"
    entries += [
        ("numpy.random.Generator", "py:class", "reference/random/generator.html#$"),
        (
            "numpy.random.default_rng",
            "py:function",
            "reference/random/generator.html#$",
        ),
        ("numpy.random.RandomState", "py:class", "reference/random/legacy.html#$"),
    ]
    for member, role in _members(np.random.Generator):
        entries.append((f"numpy.random.Generator.{member}", role, random_generated))
    for member, role in _members(np.random.RandomState):
        entries.append((f"numpy.random.RandomState.{member}", role, random_generated))
    for name in ("seed", "rand", "randn", "normal", "uniform", "choice", "shuffle"):
        entries.append((f"numpy.random.{name}", "py:function", random_generated))
    return entries


# -- pandas --------------------------------------------------------------------------
def pandas_entries() -> list[Entry]:
    """https://pandas.pydata.org/docs/: ``reference/api/{name}.html#{name}``."""
    import pandas as pd

    api = "reference/api/$.html#$"
    entries: list[Entry] = [
        ("pandas", "py:module", "reference/index.html#module-pandas")
    ]
    for name in pd.__all__:
        obj = getattr(pd, name, None)
        if obj is None or inspect.ismodule(obj):
            continue
        full = f"pandas.{name}"
        entries.append((full, _role(obj), api))
    for cls_name in ("DataFrame", "Series", "Index", "Categorical", "CategoricalDtype"):
        for member, role in _members(getattr(pd, cls_name)):
            entries.append((f"pandas.{cls_name}.{member}", role, api))
    return entries


# -- scikit-learn --------------------------------------------------------------------
def _sklearn_public_modules() -> list[str]:
    import sklearn

    skip = ("experimental", "externals", "tests", "conftest")
    names = ["sklearn"]
    for info in pkgutil.walk_packages(sklearn.__path__, "sklearn."):
        parts = info.name.split(".")
        if any(part.startswith("_") or part in skip for part in parts):
            continue
        names.append(info.name)
    return sorted(names)


def sklearn_entries() -> list[Entry]:
    """https://scikit-learn.org/stable/:
    ``modules/generated/{name}.html#{name}`` for classes and functions (methods on
    their class's page), ``api/{module}.html#module-{module}`` for modules, and the
    glossary's terms at ``glossary.html#term-{term}``.

    Public objects are those in each public module's ``__all__`` (else those it
    defines), cross-checked against :func:`sklearn.utils.discovery.all_estimators`
    and :func:`~sklearn.utils.discovery.all_functions`.
    """
    # The experimental estimators are documented under their public modules, but
    # only importable once enabled.
    from sklearn.experimental import (  # noqa: F401
        enable_halving_search_cv,
        enable_iterative_imputer,
    )
    from sklearn.utils.discovery import all_estimators, all_functions

    generated = "modules/generated/$.html#$"
    entries: list[Entry] = []
    where: dict[int, str] = {}  # id(object) -> documented full name
    for module_name in _sklearn_public_modules():
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # optional dependency missing
            continue
        entries.append((module_name, "py:module", f"api/{module_name}.html#module-$"))
        names = getattr(module, "__all__", None)
        if names is None:  # the names it defines, else its private re-exports
            origin = {
                name: getattr(obj, "__module__", None) or ""
                for name, obj in vars(module).items()
            }
            names = [
                name for name, where_from in origin.items() if where_from == module_name
            ]
            names = names or [
                name
                for name, where_from in origin.items()
                if where_from.startswith("sklearn.")
                and any(part.startswith("_") for part in where_from.split("."))
            ]
        for name in _public(names):
            try:
                obj = getattr(module, name, None)
            except ImportError:  # an experimental object not enabled above
                continue
            if obj is None or inspect.ismodule(obj):
                continue
            # The top-level helpers are documented where they are defined
            # (sklearn.clone is sklearn.base.clone).
            if module_name == "sklearn" and name == "clone":
                continue
            full = f"{module_name}.{name}"
            where.setdefault(id(obj), full)
            entries.append((full, _role(obj), generated))
            if inspect.isclass(obj):
                for member, role in _members(obj):
                    entries.append(
                        (f"{full}.{member}", role, f"modules/generated/{full}.html#$")
                    )
    entries.append(
        (
            "sklearn.clone",
            "py:function",
            "modules/generated/sklearn.base.clone.html#sklearn.base.clone",
        )
    )
    missing = [
        name
        for name, obj in [*all_estimators(), *all_functions()]
        if id(obj) not in where
    ]
    if missing:
        print(
            f"scikit-learn: {len(missing)} objects that all_estimators/all_functions "
            f"list are in no public module's namespace, so not linked: {missing}"
        )
    # Glossary terms that skattn's docs use (sphinx lower-cases term names).
    terms = [
        "array-like",
        "categorical feature",
        "classes_",
        "classifier",
        "clone",
        "cross-validation splitter",
        "early stopping",
        "estimator",
        "feature_importances_",
        "feature_names_in_",
        "fit",
        "fit_transform",
        "get_params",
        "meta-estimator",
        "missing values",
        "n_features_in_",
        "n_iter_",
        "predict",
        "predict_log_proba",
        "predict_proba",
        "random_state",
        "regressor",
        "sample_weight",
        "score",
        "set_params",
        "transform",
        "transformer",
        "warm_start",
    ]
    for term in terms:
        anchor = "term-" + term.replace(" ", "-")
        entries.append((term, "std:term", f"glossary.html#{anchor}"))
    # Labels that the docstrings of inherited methods (score, set_output, the
    # metadata-routing methods) refer to; conf.py unlinks the ones not listed here.
    labels = [
        (
            "metadata_routing",
            "metadata_routing.html#metadata-routing",
            "Metadata Routing",
        ),
        (
            "accuracy_score",
            "modules/model_evaluation.html#accuracy-score",
            "Accuracy score",
        ),
        (
            "r2_score",
            "modules/model_evaluation.html#r2-score",
            "R² score, the coefficient of determination",
        ),
        (
            "sphx_glr_auto_examples_miscellaneous_plot_set_output.py",
            "auto_examples/miscellaneous/plot_set_output.html"
            "#sphx-glr-auto-examples-miscellaneous-plot-set-output-py",
            "Introducing the set_output API",
        ),
    ]
    for label, uri, title in labels:
        entries.append((label, "std:label", uri, title))
    entries.append(("glossary", "std:doc", "glossary.html"))
    entries.append(("user_guide", "std:doc", "user_guide.html"))
    return entries


# -- PyTorch -------------------------------------------------------------------------
def torch_entries() -> list[Entry]:
    """https://docs.pytorch.org/docs/stable/: ``generated/{name}.html#{name}`` for
    functions, ``torch.nn`` layers, optimisers and ``torch.Tensor`` methods.

    Exceptions: ``torch.Tensor`` (``tensors.html``), ``torch.device`` and
    ``torch.dtype`` (``tensor_attributes.html``), ``torch.autocast`` (``amp.html``),
    ``torch.inference_mode`` (documented as
    ``torch.autograd.grad_mode.inference_mode``), ``torch.export`` (``export.html``),
    ``torch.random``, ``torch.distributed``, ``torch.nn.init`` and
    ``torch.utils.data`` (one page each) and the modules' own pages.
    """
    import torch
    import torch.distributed
    import torch.nn.functional
    import torch.nn.parallel
    import torch.utils.data

    generated = "generated/$.html#$"
    entries: list[Entry] = []
    modules = {
        "torch": "torch.html",
        "torch.nn": "nn.html",
        "torch.nn.functional": "nn.functional.html",
        "torch.nn.init": "nn.init.html",
        "torch.optim": "optim.html",
        "torch.cuda": "cuda.html",
        "torch.amp": "amp.html",
        "torch.random": "random.html",
        "torch.export": "export.html",
        "torch.utils.data": "data.html",
        "torch.compiler": "torch.compiler.html",
    }
    for name, page in modules.items():
        entries.append((name, "py:module", f"{page}#module-$"))
    # torch: top-level functions; classes are listed one by one below, because
    # many of torch's top-level classes are internal types without a page.
    for name in torch.__all__:
        obj = getattr(torch, name, None)
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            entries.append((f"torch.{name}", "py:function", generated))
    entries += [
        ("torch.Tensor", "py:class", "tensors.html#$"),
        ("torch.Size", "py:class", "size.html#$"),
        ("torch.Generator", "py:class", generated),
        ("torch.no_grad", "py:class", generated),
        ("torch.enable_grad", "py:class", generated),
        ("torch.set_grad_enabled", "py:class", generated),
    ]
    for name in ("device", "dtype", "layout", "memory_format"):
        entries.append((f"torch.{name}", "py:class", "tensor_attributes.html#$"))
    # Classes used as functions (context managers): listed under both roles, so
    # that :func: and :class: both resolve.
    inference_mode = (
        "generated/torch.autograd.grad_mode.inference_mode.html"
        "#torch.autograd.grad_mode.inference_mode"
    )
    for role in ("py:class", "py:function"):
        entries.append(("torch.autocast", role, "amp.html#$"))
        entries.append(("torch.inference_mode", role, inference_mode))
        entries.append(("torch.no_grad", role, generated))
    for member, role in _members(torch.Tensor):
        entries.append((f"torch.Tensor.{member}", role, generated))
    # torch.nn: the layers, each on its own page, methods on their class's page.
    for name in _public(dir(torch.nn)):
        obj = getattr(torch.nn, name)
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
            full = f"torch.nn.{name}"
            entries.append((full, "py:class", generated))
            for member, role in _members(obj):
                entries.append((f"{full}.{member}", role, f"generated/{full}.html#$"))
    parameter = (
        "generated/torch.nn.parameter.Parameter.html#torch.nn.parameter.Parameter"
    )
    entries += [
        ("torch.nn.Parameter", "py:class", parameter),
        ("torch.nn.parameter.Parameter", "py:class", generated),
    ]
    for name in _public(dir(torch.nn.functional)):
        obj = getattr(torch.nn.functional, name)
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            entries.append((f"torch.nn.functional.{name}", "py:function", generated))
    for name in _public(dir(torch.nn.init)):
        if inspect.isfunction(getattr(torch.nn.init, name)):
            entries.append((f"torch.nn.init.{name}", "py:function", "nn.init.html#$"))
    # torch.optim: optimisers and learning-rate schedulers.
    for name in _public(dir(torch.optim)):
        obj = getattr(torch.optim, name)
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer):
            entries.append((f"torch.optim.{name}", "py:class", generated))
    for name in _public(dir(torch.optim.lr_scheduler)):
        obj = getattr(torch.optim.lr_scheduler, name)
        if inspect.isclass(obj) and obj.__module__ == "torch.optim.lr_scheduler":
            entries.append((f"torch.optim.lr_scheduler.{name}", "py:class", generated))
    for name in torch.cuda.__all__:
        obj = getattr(torch.cuda, name, None)
        if inspect.isfunction(obj) or inspect.isbuiltin(obj):
            entries.append((f"torch.cuda.{name}", "py:function", generated))
    for name in _public(dir(torch.random)):
        if inspect.isfunction(getattr(torch.random, name)):
            entries.append((f"torch.random.{name}", "py:function", "random.html#$"))
    for name in torch.export.__all__:
        obj = getattr(torch.export, name)
        entries.append((f"torch.export.{name}", _role(obj), "export.html#$"))
    ddp = "torch.nn.parallel.DistributedDataParallel"
    entries += [
        ("torch.distributed", "py:module", "distributed.html#module-$"),
        ("torch.nn.parallel", "py:module", "nn.html#module-$"),
        (ddp, "py:class", generated),
    ]
    for member, role in _members(torch.nn.parallel.DistributedDataParallel):
        entries.append((f"{ddp}.{member}", role, f"generated/{ddp}.html#$"))
    for name in (
        "init_process_group",
        "destroy_process_group",
        "is_available",
        "is_initialized",
        "get_rank",
        "get_world_size",
        "barrier",
        "all_reduce",
        "broadcast",
    ):
        entries.append(
            (f"torch.distributed.{name}", "py:function", "distributed.html#$")
        )
    for name in ("DataLoader", "Dataset", "TensorDataset", "Subset", "Sampler"):
        entries.append((f"torch.utils.data.{name}", "py:class", "data.html#$"))
    return entries


# -- matplotlib ----------------------------------------------------------------------
def matplotlib_entries() -> list[Entry]:
    """https://matplotlib.org/stable/: ``api/_as_gen/{name}.html#{name}`` for pyplot
    functions, Figure and the methods of Axes; ``api/axes_api.html`` for Axes."""
    import matplotlib.axes
    import matplotlib.figure
    import matplotlib.pyplot as plt

    generated = "api/_as_gen/$.html#$"
    entries: list[Entry] = [
        ("matplotlib", "py:module", "api/matplotlib_configuration_api.html#module-$"),
        ("matplotlib.pyplot", "py:module", "api/pyplot_summary.html#module-$"),
        ("matplotlib.axes", "py:module", "api/axes_api.html#module-$"),
        ("matplotlib.axes.Axes", "py:class", "api/axes_api.html#$"),
        ("matplotlib.figure.Figure", "py:class", generated),
    ]
    for name in _public(dir(plt)):
        obj = getattr(plt, name)
        if inspect.isfunction(obj) and obj.__module__ == "matplotlib.pyplot":
            entries.append((f"matplotlib.pyplot.{name}", "py:function", generated))
    for member, role in _members(matplotlib.axes.Axes):
        entries.append((f"matplotlib.axes.Axes.{member}", role, generated))
    figure = "api/_as_gen/matplotlib.figure.Figure.html#$"
    for member, role in _members(matplotlib.figure.Figure):
        entries.append((f"matplotlib.figure.Figure.{member}", role, figure))
    return entries


# -- joblib --------------------------------------------------------------------------
def joblib_entries() -> list[Entry]:
    """https://joblib.readthedocs.io/en/stable/: ``generated/{name}.html#{name}``."""
    import joblib

    entries: list[Entry] = [("joblib", "py:module", "api.html#module-$")]
    for name in joblib.__all__:
        obj = getattr(joblib, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            entries.append((f"joblib.{name}", _role(obj), "generated/$.html#$"))
    return entries


# -- writing -------------------------------------------------------------------------
INVENTORIES = {
    # file stem: (project, distribution whose version it records, entries)
    "python": ("Python", None, python_entries),
    "numpy": ("NumPy", "numpy", numpy_entries),
    "pandas": ("pandas", "pandas", pandas_entries),
    "sklearn": ("scikit-learn", "scikit-learn", sklearn_entries),
    "torch": ("PyTorch", "torch", torch_entries),
    "matplotlib": ("Matplotlib", "matplotlib", matplotlib_entries),
    "joblib": ("joblib", "joblib", joblib_entries),
}


def _version(distribution: str | None) -> str:
    if distribution is None:
        import platform

        return ".".join(platform.python_version_tuple()[:2])
    from importlib.metadata import version

    return version(distribution)


def inventory_bytes(project: str, version: str, entries: Iterable[Entry]) -> bytes:
    """An ``objects.inv`` (format version 2) holding ``entries``."""
    lines = []
    for name, role, uri, *title in sorted(set(entries)):
        uri = uri.replace("$.html", f"{name}.html")
        if uri.endswith("#" + name):  # the format's shorthand: "$" is the name
            uri = uri[: -len(name)] + "$"
        priority = 1 if role.startswith("py:") else -1
        display = title[0] if title else "-"
        lines.append(f"{name} {role} {priority} {uri} {display}\n")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    return header.encode() + zlib.compress("".join(lines).encode(), 9)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=OUTPUT_DIR)
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for stem, (project, distribution, make_entries) in INVENTORIES.items():
        entries = make_entries()
        data = inventory_bytes(project, _version(distribution), entries)
        path = args.output_dir / f"{stem}.inv"
        path.write_bytes(data)
        print(f"{path}: {len(set(entries))} objects, {len(data):,} bytes")


if __name__ == "__main__":
    main()
