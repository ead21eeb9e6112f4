"""Where a small fit's time goes, and how many torch threads suit it.

Measurements for the small-data work (issue 15), each in a fresh Python process,
on the small datasets that scikit-learn bundles (75/25 split, ``random_state=0``,
as ``demo.py`` splits them): breast_cancer (426 training rows), wine (133),
digits (1,347) and diabetes (331, regression).

- ``profile``: a default fit under cProfile (five cross-fitted members on one
  thread, as ``n_members="auto"`` and ``n_threads="auto"`` fit these sizes): its
  wall time and epochs, and the
  time inside each phase: learning the input encoding, encoding and splitting
  the rows, building the network, the training steps (forward, backward,
  optimizer), the validation passes, and the attention importances computed
  after training. What is left is the loop's own overhead (callbacks, history,
  batching) and the profiler's.
- ``threads``: fits with a fixed budget (10 epochs, no early stopping for one
  network, so both runs do the same work) on ``n_threads=1`` and ``2``,
  alternated, 3 repeats each, median seconds: one network on each dataset, one
  larger network (10,000 x 32 rows, 2 epochs), to see where a second thread
  starts to pay, and breast_cancer's five cross-fitted members (the shape of its
  default fit). Each under four conditions: OpenMP's own wait policy (what a
  user's process has) and ``OMP_WAIT_POLICY=PASSIVE`` (what the other
  benchmarks set), on an idle machine and beside a busy neighbour (a process
  spinning on one core, as another job on a shared machine would). Each record
  names its ``host`` and ``wait_policy``; the results file's ``environment``
  describes this script's own process (PASSIVE).
- ``members``: what training several ensemble members together in one batched
  forward pass would cost, for the default network and a small one (``d_token=32,
  n_blocks=1``): a 10-epoch fit on one thread of the training rows, and of the rows
  repeated 5 times with batches 5 times larger (the same number of steps, each
  with 5 times the rows: the work of 5 members trained in one batched pass),
  median of 3. An emulation: members of their own weights would multiply the
  weights too, not the arithmetic.
- ``floor``: how far a default fit is from the arithmetic it does. One default fit
  timed (one thread, as ``n_threads="auto"`` trains these sizes), then the same fit
  again (the same epochs: checked) under PyTorch's ``FlopCounterMode``, which
  counts the floating-point operations of its matrix products (forward and
  backward, attention included; not the elementwise work of normalisation,
  activations and optimizer, which only lowers the bound), and the optimizer
  steps taken. Beside them, the fastest rate (GFLOP/s) that one core reaches on a
  product of 4,096 rows through any of the network's linear layers: the
  arithmetic's time at that rate on two cores (half the one-core time: perfect
  scaling) is a lower bound that no implementation of this network and this
  training at float32 goes below, unless its products get faster than they are
  alone. Datasets: the four tables, and GunPoint and ItalyPowerDemand of the
  shared sequence suite when ``../shared`` is there.

Usage::

    python benchmarks/small_fit_profile.py          # about 30 minutes on 2 cores
    python benchmarks/small_fit_profile.py --sections threads
    python benchmarks/small_fit_profile.py --sections members \
        --output benchmarks/results/small_fit_members.json
    python benchmarks/small_fit_profile.py --sections floor \
        --output benchmarks/results/small_fit_floor.json
"""

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn (see speed_benchmark.py). A
# worker process (--measure) keeps the wait policy its parent chose for it.
if "--measure" not in sys.argv:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import cProfile
import json
import pstats
import statistics
import subprocess
import time
import warnings
from typing import Any

import numpy as np
import torch
from _reporting import (
    add_output_argument,
    environment,
    format_table,
    import_suite,
    markdown_table,
    timed,
    write_json,
)
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.model_selection import train_test_split
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.flop_counter import (
    FlopCounterMode,
    sdpa_backward_flop_count,
    sdpa_flop_count,
)

from skattn import AttentionMLPClassifier, AttentionMLPRegressor

RESULTS = Path(__file__).resolve().parent / "results" / "small_fit.json"
DATASETS = {
    "breast_cancer": (load_breast_cancer, AttentionMLPClassifier),
    "wine": (load_wine, AttentionMLPClassifier),
    "digits": (load_digits, AttentionMLPClassifier),
    "diabetes": (load_diabetes, AttentionMLPRegressor),
}
# phase -> (file part, function name) whose cumulative time is the phase's
PHASES = {
    "learn encoding": ("_fitting.py", "_start"),
    "encode and split rows": ("_fitting.py", "_training_arrays"),
    "split (hold-out)": ("_fitting.py", "_datasets"),
    "build network": ("_parameters.py", "_new_module"),
    "training steps": ("skorch/net.py", "train_step"),
    "validation passes": ("skorch/net.py", "validation_step"),
    "attention importances": ("_fitting.py", "_finish"),
}
THREAD_EPOCHS = 10
LARGE = (10_000, 32)  # rows, features of the larger network's data
NETWORKS = {"default": {}, "small": {"d_token": 32, "n_blocks": 1}}
N_MEMBERS = 5
# The thread section's fits: (dataset, members), and its conditions: (host, OpenMP
# wait policy); "busy" runs beside BUSY_NEIGHBOUR, "default" unsets OMP_WAIT_POLICY.
THREAD_FITS = [
    *((name, 1) for name in DATASETS),
    ("large", 1),
    ("breast_cancer", N_MEMBERS),
]
THREAD_CONDITIONS = [
    ("idle", "default"),
    ("idle", "passive"),
    ("busy", "default"),
    ("busy", "passive"),
]
# Spins until its parent (this script) is gone, even if the script is killed.
BUSY_NEIGHBOUR = [
    sys.executable,
    "-c",
    f"import os\nwhile os.getppid() == {os.getpid()}: pass",
]
# The floor section's fits: the tables above and two series of the shared suite.
FLOOR_SEQUENCES = ("GunPoint", "ItalyPowerDemand")
FLOOR_PRODUCT_ROWS = 4096  # rows of the products that measure a core's rate
# Records of before the conditions were recorded (2026-12-07 and earlier): one
# network, runs under OMP_WAIT_POLICY=PASSIVE, the host's load not noted.
THREAD_RECORD_DEFAULTS = {"n_members": 1, "host": "not noted", "wait_policy": "passive"}


def data(name: str) -> tuple[Any, Any, type]:
    if name in FLOOR_SEQUENCES:
        import sequence_benchmark  # the benchmark's splits, NaN-padded (n, T, C)

        split = sequence_benchmark.load_dataset(import_suite(), name)
        return split.X_train, split.y_train, AttentionMLPClassifier
    if name == "large":
        X, y = make_classification(*LARGE, n_informative=16, random_state=0)
        return X, y, AttentionMLPClassifier
    load, estimator = DATASETS[name]
    X, y = load(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0)
    return X_train, y_train, estimator


def measure_profile(name: str) -> dict:
    """A default fit under cProfile; seconds per phase."""
    X, y, estimator = data(name)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    model = estimator(random_state=0).fit(X, y)
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    phases = {}
    for phase, (file_part, function) in PHASES.items():
        phases[phase] = sum(
            entry[3]  # cumulative time
            for (filename, _, name_), entry in stats.items()
            if name_ == function and filename.endswith(file_part)
        )
    return {
        "fit_s": total,
        "n_epochs": model.n_iter_,
        "n_rows": len(X),
        "phases_s": phases,
    }


def measure_threads(name: str, threads: int, n_members: int = 1) -> dict:
    """A fit for a fixed number of epochs on ``threads`` torch threads
    (``n_threads``: "auto" would run the small ones on one): one network without
    early stopping, or ``n_members`` cross-fitted members (early stopping on, as
    their default fit has it, with a patience the budget never reaches)."""
    X, y, estimator = data(name)
    epochs = 2 if name == "large" else THREAD_EPOCHS
    model = estimator(
        random_state=0,
        max_iter=epochs,
        early_stopping="auto" if n_members > 1 else False,
        n_iter_no_change=99,
        n_members=n_members,
        n_threads=threads,
    )
    _, fit_s = timed(model.fit, X, y)
    return {"fit_s": fit_s, "n_epochs": epochs}


def measure_members(name: str, network: str, n_members: int) -> dict:
    """A 10-epoch fit on one thread of the training rows repeated ``n_members``
    times, in batches ``n_members`` times the size the rows alone get: the same
    number of steps, each with ``n_members`` times the rows."""
    X, y, estimator = data(name)
    # What batch_size="auto" picks for one network.
    batch_size = estimator()._batch_size(len(X), cross_fitted=False)
    X, y = np.tile(X, (n_members, 1)), np.tile(y, n_members)
    model = estimator(
        random_state=0,
        max_iter=THREAD_EPOCHS,
        early_stopping=False,
        n_iter_no_change=99,
        batch_size=batch_size * n_members,
        n_members=1,  # one network, n_members times the rows
        n_threads=1,
        **NETWORKS[network],
    )
    _, fit_s = timed(model.fit, X, y)
    return {"fit_s": fit_s, "n_epochs": THREAD_EPOCHS}


def _attention_flop(
    query, key, value, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """FLOPs of the CPU's fused attention forward (shapes (B, H, T, Dh)): torch's
    count for its other attention kernels, the products Q K^T and weights V."""
    return sdpa_flop_count(query, key, value)


def _attention_backward_flop(
    grad_out, query, key, value, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """FLOPs of its backward, likewise torch's count: Q K^T recomputed, then the
    gradients of V, of the weights, of Q and of K."""
    return sdpa_backward_flop_count(grad_out, query, key, value)


# FlopCounterMode counts the products that torch registers; the CPU's fused
# attention kernel is not among them in torch 2.13 (tests/test_small_fit_profile.py
# notices when it is).
ATTENTION_FLOPS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _attention_flop,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: (
        _attention_backward_flop
    ),
}


def product_gflops(model: Any, repeats: int = 5, calls: int = 10) -> float:
    """The fastest rate (GFLOP/s, one torch thread) of a product of
    :data:`FLOOR_PRODUCT_ROWS` rows through any linear layer shape of ``model``'s
    network (weights laid out as the layer keeps them, no bias): the best of
    ``repeats`` timings of ``calls`` products each."""
    shapes = {
        (layer.in_features, layer.out_features)
        for layer in model.module_.modules()
        if isinstance(layer, torch.nn.Linear)
    }
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    best = 0.0
    try:
        for n_in, n_out in sorted(shapes):
            rows = torch.randn(FLOOR_PRODUCT_ROWS, n_in)
            weight = torch.randn(n_out, n_in)  # (out, in), as nn.Linear holds it
            rows @ weight.T  # warm-up
            for _ in range(repeats):
                start = time.perf_counter()
                for _ in range(calls):
                    rows @ weight.T
                seconds = (time.perf_counter() - start) / calls
                rate = 2 * FLOOR_PRODUCT_ROWS * n_in * n_out / seconds / 1e9
                best = max(best, rate)
    finally:
        torch.set_num_threads(threads)
    return best


def measure_floor(name: str, **params: Any) -> dict:
    """A default fit (``params`` override) timed, then counted: its matrix
    products' GFLOP and optimizer steps, and the best rate of one core on the
    network's layer shapes (:func:`product_gflops`)."""
    X, y, estimator = data(name)
    # (Fits of these sizes train on one thread: n_threads="auto".)
    estimator(max_iter=1, n_members=1).fit(X[:50], y[:50])  # one-off costs
    model, fit_s = timed(estimator(random_state=0, **params).fit, X, y)
    steps = []
    hook = register_optimizer_step_post_hook(lambda *_: steps.append(1))
    counter = FlopCounterMode(display=False, custom_mapping=ATTENTION_FLOPS)
    try:
        with counter:
            counted = estimator(random_state=0, **params).fit(X, y)
    finally:
        hook.remove()
    if counted.n_iter_ != model.n_iter_:
        raise RuntimeError(f"{name}: the counted fit took other epochs than the timed")
    return {
        "fit_s": fit_s,
        "n_epochs": model.n_iter_,
        "n_rows": len(X),
        "n_steps": len(steps),
        "gflop": counter.get_total_flops() / 1e9,
        "d_token": model.d_token_,
        "n_members": model.n_members_,
        "product_gflops": product_gflops(model),
    }


def floor_table(results: list[dict]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the floor section's table."""
    rows = []
    for r in results:
        if r["section"] != "floor":
            continue
        one_core = r["gflop"] / r["product_gflops"]
        rows.append(
            (
                r["dataset"],
                f"{r['n_rows']:,}",
                str(r["n_members"]),
                str(r["n_epochs"]),
                f"{r['n_steps']:,}",
                f"{r['fit_s']:.2f}",
                f"{r['gflop']:,.1f}",
                f"{r['gflop'] / r['fit_s']:.1f}",
                f"{r['product_gflops']:.0f}",
                f"{one_core / 2:.2f}",
                f"{r['fit_s'] / r['n_steps'] * 1e3:.1f}",
                f"{one_core / r['n_steps'] * 1e3:.2f}",
            )
        )
    header = (
        "dataset",
        "rows",
        "members",
        "epochs",
        "steps",
        "fit s",
        "GFLOP",
        "GFLOP/s",
        "product GFLOP/s",
        "floor s (2 cores)",
        "fit ms a step",
        "product ms a step",
    )
    return header, rows


def floor_markdown(results: list[dict]) -> str:
    """README's copy of the floor section's table (markdown)."""
    header, rows = floor_table(results)
    return markdown_table(header, rows, ["---", *["---:"] * (len(header) - 1)])


def run(spec: dict) -> dict:
    """Measure ``spec`` in a fresh process; a thread spec's ``wait_policy``
    "default" runs it without ``OMP_WAIT_POLICY``, "passive" with PASSIVE."""
    command = [sys.executable, __file__, "--measure", json.dumps(spec)]
    env = dict(os.environ)
    if spec.get("wait_policy") == "default":
        env.pop("OMP_WAIT_POLICY", None)
    elif spec.get("wait_policy") == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return {**spec, **json.loads(done.stdout.strip().splitlines()[-1])}


def _median_s(results: list[dict], **match: Any) -> float:
    """The median ``fit_s`` of the results whose keys hold the ``match`` values."""
    return statistics.median(
        r["fit_s"] for r in results if all(r[k] == v for k, v in match.items())
    )


THREAD_KEYS = ("dataset", "n_members", "host", "wait_policy")


def thread_table(results: list[dict]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Header and rows of the thread section's table: per fit and condition, the
    median seconds on 1 and 2 threads and their ratio (the docs lay it out too)."""
    threads = [THREAD_RECORD_DEFAULTS | r for r in results if r["section"] == "threads"]
    rows = []
    for fit in dict.fromkeys(tuple(r[k] for k in THREAD_KEYS) for r in threads):
        match = dict(zip(THREAD_KEYS, fit, strict=True))
        one, two = (_median_s(threads, **match, threads=n) for n in (1, 2))
        epochs = next(r["n_epochs"] for r in threads if r["dataset"] == fit[0])
        rows.append(
            (
                *map(str, fit),
                str(epochs),
                f"{one:.2f}",
                f"{two:.2f}",
                f"{two / one:.2f}",
            )
        )
    return (*THREAD_KEYS, "epochs", "1 thread s", "2 threads s", "2 / 1"), rows


def report(results: list[dict]) -> str:
    out = []
    profiles = [r for r in results if r["section"] == "profile"]
    if profiles:
        header = ("dataset", "rows", "epochs", "fit s", *PHASES, "rest")
        rows = []
        for r in profiles:
            phases = r["phases_s"]
            rest = r["fit_s"] - sum(phases.values())
            rows.append(
                (
                    r["dataset"],
                    f"{r['n_rows']:,}",
                    str(r["n_epochs"]),
                    f"{r['fit_s']:.1f}",
                    *(f"{phases[p]:.1f}" for p in PHASES),
                    f"{rest:.1f}",
                )
            )
        out.append(
            "profile: a default fit, seconds per phase (under cProfile)\n"
            + format_table(header, rows, {0})
        )
    threads = [r for r in results if r["section"] == "threads"]
    if threads:
        out.append(
            "threads: the same fit on 1 and 2 torch threads (median of each)\n"
            + format_table(*thread_table(threads), {0, 2, 3})
        )
    if any(r["section"] == "floor" for r in results):
        out.append(
            "floor: a default fit on one thread, its matrix products' GFLOP, and "
            "their time at one core's best product rate, halved for two cores\n"
            + format_table(*floor_table(results), {0})
        )
    members = [r for r in results if r["section"] == "members"]
    if members:
        rows = []
        for name in dict.fromkeys(r["dataset"] for r in members):
            for network in NETWORKS:
                one, many = (
                    _median_s(members, dataset=name, network=network, n_members=k)
                    for k in (1, N_MEMBERS)
                )
                rows.append(
                    (name, network, f"{one:.2f}", f"{many:.2f}", f"{many / one:.2f}")
                )
        header = ("dataset", "network", "1 member s", f"{N_MEMBERS} batched s", "ratio")
        out.append(
            f"members: {THREAD_EPOCHS} epochs on one thread, one member against "
            f"{N_MEMBERS} in one batched pass (median of 3)\n"
            + format_table(header, rows, {0, 1})
        )
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sections", nargs="+", default=["profile", "threads"],
        choices=["profile", "threads", "members", "floor"],
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # worker mode
    add_output_argument(parser, RESULTS)
    args = parser.parse_args()
    if args.measure:
        warnings.simplefilter("ignore")
        spec = json.loads(args.measure)
        if spec["section"] == "profile":
            print(json.dumps(measure_profile(spec["dataset"])))
        elif spec["section"] == "floor":
            print(json.dumps(measure_floor(spec["dataset"])))
        elif spec["section"] == "members":
            measured = measure_members(
                spec["dataset"], spec["network"], spec["n_members"]
            )
            print(json.dumps(measured))
        else:
            measured = measure_threads(
                spec["dataset"], spec["threads"], spec["n_members"]
            )
            print(json.dumps(measured))
        return
    results = []
    if "profile" in args.sections:
        for name in DATASETS:
            results.append(run({"section": "profile", "dataset": name}))
            print(json.dumps(results[-1]), flush=True)
    if "threads" in args.sections:
        for host, wait_policy in THREAD_CONDITIONS:
            neighbour = subprocess.Popen(BUSY_NEIGHBOUR) if host == "busy" else None
            try:
                for name, n_members in THREAD_FITS:
                    for _ in range(args.repeats):
                        for threads in (1, 2):  # alternated: drifting load hits both
                            spec = {
                                "section": "threads",
                                "dataset": name,
                                "n_members": n_members,
                                "host": host,
                                "wait_policy": wait_policy,
                                "threads": threads,
                            }
                            results.append(run(spec))
                            print(json.dumps(results[-1]), flush=True)
            finally:
                if neighbour is not None:
                    neighbour.kill()
                    neighbour.wait()
    if "members" in args.sections:
        for name in DATASETS:
            for network in NETWORKS:
                for _ in range(args.repeats):
                    for n_members in (1, N_MEMBERS):
                        spec = {
                            "section": "members",
                            "dataset": name,
                            "network": network,
                            "n_members": n_members,
                        }
                        results.append(run(spec))
                        print(json.dumps(results[-1]), flush=True)
    if "floor" in args.sections:
        names = list(DATASETS)
        if import_suite() is not None:
            names += FLOOR_SEQUENCES
        else:
            print("../shared is missing: the floor section runs the tables only")
        for name in names:
            results.append(run({"section": "floor", "dataset": name}))
            print(json.dumps(results[-1]), flush=True)
    print()
    print(report(results))
    if "floor" in args.sections:
        print(f"\nREADME's floor table:\n{floor_markdown(results)}")
    write_json(
        {"environment": environment(), "results": results},
        args.output,
        ensure_ascii=True,
    )
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
