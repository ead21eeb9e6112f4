"""Speed and memory of skattn against a hand-written loop and peer libraries.

Every measurement runs in a fresh Python process, so that its peak memory is its own
and no warm cache from another model helps it. The script prints four tables and
writes them as JSON:

- ``compare``: 50,000 rows x 32 numerical features (binary classification), one
  row per model: seconds per training epoch, training and prediction rows/s, peak
  memory. The models: skattn with its defaults (which hold out 10% for early
  stopping, so an epoch also scores the validation rows); skattn without the
  validation split; a minimal hand-written PyTorch loop over the very network that
  skattn builds, with the data already in tensors (the floor skattn's overhead is
  measured against); rtdl's FT-Transformer and TabM at their published default
  sizes, each in the same kind of hand-written loop; pytorch-tabnet's
  ``TabNetClassifier`` and scikit-learn's ``MLPClassifier`` with their defaults and
  their own loops.
- ``rows``: skattn's default fit of one epoch, end to end (preprocessing, training,
  validation), from 10,000 to 1,000,000 rows of 32 features, and its prediction rate
  (on the first 50,000 rows).
- ``features``: the same at 20,000 rows, from 8 to 1,024 features, with the default
  (latent tokens above 64 features) and with full attention over every feature.
- ``steps``: the same for 2,000 sequences of 3 channels, from 64 to 4,096 steps
  (the default patching; the full width, ``d_token=64``, that ``"auto"`` gives
  sequences only from 3,000 rows on).
- ``wide_fit``: a complete default fit (early stopping on) of 20,000 rows x 1,024
  features, with its peak memory.
- ``embedding``: what the default piecewise-linear numerical embedding costs over
  the linear one: skattn's defaults at the ``compare`` size with
  ``numerical_embedding="linear"`` and ``"piecewise_linear"``.
- ``serving``: a default model of the ``compare`` size (one epoch), its
  ``predict_proba`` rows/s next to onnxruntime's on the graph ``export_onnx``
  writes (CPU provider, one call over the same rows, and calls of one row), and
  the export's seconds.

An epoch's time is measured as ``(T(1 + k) - T(1)) / k`` where ``T(n)`` is a whole
call that trains ``n`` epochs (for skattn, TabNet and MLPClassifier: ``fit`` with
``max_iter`` or ``max_epochs`` set to ``n``): what is done once per fit cancels.
The hand-written loops time their epochs after a warm-up of a few batches. Ratios
measured in one run are the result; absolute times depend on the machine and its
load.

Usage::

    python benchmarks/speed_benchmark.py                   # everything, ~40 min
    python benchmarks/speed_benchmark.py --sections compare
    python benchmarks/speed_benchmark.py --quick           # small sizes, ~2 min

The peer libraries are the ``benchmarks`` extra (``pip install -e .[benchmarks]``);
a model whose library is missing is reported as skipped.
"""

import os
import sys
from pathlib import Path

# Must precede the first import of numpy/torch/sklearn: with the default (active)
# policy, the OpenMP runtimes of scikit-learn and torch spin against each other and
# can slow training 10-50x on machines with few cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Benchmark the skattn of this checkout, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The helpers shared with the other benchmark scripts (_reporting.py).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argparse
import copy
import importlib
import importlib.util
import itertools
import json
import resource
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from _reporting import add_output_argument, environment, format_table, write_json
from sklearn.datasets import make_classification
from torch import Tensor, nn

from skattn import AttentionMLPClassifier

RESULTS = Path(__file__).resolve().parent / "results" / "speed.json"
BATCH_SIZE = 256  # skattn's "auto" batch size above 2,560 rows; used by every loop
PREDICT_ROWS = 50_000  # skattn's prediction is timed on at most this many rows
ONNX_CHUNK_ROWS = 512  # onnxruntime is also timed in calls of this many rows
PEER_PACKAGES = {
    "rtdl_ft_transformer": "rtdl_revisiting_models",
    "tabm": "tabm",
    "tabnet": "pytorch_tabnet",
    "serving": "onnxruntime",
}
MODEL_LABELS = {
    "skattn": "skattn (defaults)",
    "skattn_no_validation": "skattn (early_stopping=False)",
    "hand_loop": "hand-written loop, same network",
    "rtdl_ft_transformer": "rtdl FT-Transformer (default)",
    "tabm": "TabM (default)",
    "tabnet": "TabNet (default)",
    "mlp": "sklearn MLPClassifier",
}


# -- data ---------------------------------------------------------------------------
def make_table(n_rows: int, n_features: int, seed: int = 0) -> tuple[Any, Any]:
    """A binary classification table of float32 features (16 informative)."""
    X, y = make_classification(
        n_samples=n_rows,
        n_features=n_features,
        n_informative=min(16, n_features),
        n_redundant=0,
        random_state=seed,
    )
    return X.astype(np.float32), y


def make_sequences(n_rows: int, n_steps: int, seed: int = 0) -> tuple[Any, Any]:
    """(n_rows, n_steps, 3) noise; the label is the sign of channel 0's trend."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n_rows)
    X = rng.normal(size=(n_rows, n_steps, 3)).astype(np.float32)
    X[:, :, 0] += np.where(y, 1.0, -1.0)[:, None] * np.linspace(0, 1, n_steps)
    return X, y


# -- measuring, inside the worker process -----------------------------------------
def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def wall(function: Callable[[], object], device: torch.device) -> float:
    """Seconds ``function()`` takes, waiting for the device to finish."""
    sync(device)
    start = time.perf_counter()
    function()
    sync(device)
    return time.perf_counter() - start


def epoch_seconds(run: Callable[[int], object], k: int, device: torch.device) -> float:
    """``(T(1 + k) - T(1)) / k`` with ``T(n) = wall(run(n))``, best of two pairs."""
    once = min(wall(lambda: run(1), device) for _ in range(2))
    more = min(wall(lambda: run(1 + k), device) for _ in range(2))
    return max(more - once, 0.0) / k


def batches(n_rows: int, device: torch.device) -> Iterator[Tensor]:
    """Shuffled row indices, ``BATCH_SIZE`` at a time."""
    order = torch.randperm(n_rows, device=device)
    yield from order.split(BATCH_SIZE)


def hand_loop(
    forward: Callable[[Tensor], Tensor],
    loss: Callable[[Tensor, Tensor], Tensor],
    parameters: Any,
    y: Tensor,
    n_epochs: int,
    device: torch.device,
    lr: float,
    weight_decay: float,
) -> float:
    """Train with AdamW for a warm-up of 10 batches then ``n_epochs`` epochs; return
    the seconds per epoch. ``forward(rows)`` runs the model on those rows."""
    # fused=True: skattn's setting (torch's default is per-tensor on the CPU)
    optimizer = torch.optim.AdamW(
        parameters, lr=lr, weight_decay=weight_decay, fused=True
    )

    def step(rows: Tensor) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss(forward(rows), y[rows]).backward()
        optimizer.step()

    for rows in itertools.islice(batches(len(y), device), 10):
        step(rows)

    def epochs() -> None:
        for _ in range(n_epochs):
            for rows in batches(len(y), device):
                step(rows)

    return wall(epochs, device) / n_epochs


def predict_rows_per_second(
    predict: Callable[[], object], n_rows: int, device: torch.device
) -> float:
    predict()  # warm-up
    return n_rows / min(wall(predict, device) for _ in range(2))


def measure_hand_loop_model(
    model: nn.Module,
    forward: Callable[[Tensor], Tensor],
    proba: Callable[[Tensor], Tensor],
    loss: Callable[[Tensor, Tensor], Tensor],
    parameters: Any,
    y: Tensor,
    spec: dict,
    device: torch.device,
    *,
    lr: float,
    weight_decay: float,
    chunk: int,
) -> dict:
    """Train ``model`` in :func:`hand_loop`, then time its prediction over all rows
    in chunks of ``chunk`` rows, as skattn predicts. ``forward(rows)`` gives the
    training outputs of those rows, ``proba(rows)`` their class probabilities."""
    epoch = hand_loop(
        forward, loss, parameters, y, spec["epochs"], device, lr, weight_decay
    )

    def predict() -> list[Tensor]:
        model.eval()
        with torch.inference_mode():
            rows = torch.arange(len(y))
            return [proba(part).float().cpu() for part in rows.split(chunk)]

    return {
        "epoch_s": epoch,
        "predict_rows_per_s": predict_rows_per_second(predict, len(y), device),
    }


# The network's own speed: one network (n_members="auto" trains five below 3,000
# rows) on the threads torch has (n_threads="auto" puts fits below 3,000 rows on one).
ONE_NETWORK = {"n_members": 1, "n_threads": None}


def measure_skattn(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    params = {
        "random_state": 0,
        "device": device,
        **ONE_NETWORK,
        **spec.get("params", {}),
    }
    if spec["model"] == "skattn_no_validation":
        params["early_stopping"] = False

    def fit(n_epochs: int) -> AttentionMLPClassifier:
        # n_iter_no_change above n_epochs: no run stops before its last epoch.
        estimator = AttentionMLPClassifier(
            **params, max_iter=n_epochs, n_iter_no_change=n_epochs + 1
        )
        return estimator.fit(X, y)

    result: dict[str, Any] = {}
    if spec.get("epochs"):
        result["epoch_s"] = epoch_seconds(fit, spec["epochs"], device)
    start = time.perf_counter()
    estimator = fit(1)
    result["one_epoch_fit_s"] = time.perf_counter() - start
    X_predict = X[:PREDICT_ROWS]  # the rate does not depend on the row count
    result["predict_rows_per_s"] = predict_rows_per_second(
        lambda: estimator.predict_proba(X_predict), len(X_predict), device
    )
    result["n_latent_tokens"] = estimator.n_latent_tokens_
    return result


def measure_hand_loop(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """skattn's own network, trained by the shortest loop we could write."""
    estimator = AttentionMLPClassifier(
        max_iter=1, early_stopping=False, random_state=0, device=device, **ONE_NETWORK
    ).fit(X, y)
    network = copy.deepcopy(estimator.module_).train()
    inputs = {
        key: torch.from_numpy(array).to(device)
        for key, array in estimator._input.transform(X).items()
    }
    y_t = torch.from_numpy(y).to(device)

    def forward(rows: Tensor) -> Tensor:
        return network({key: tensor[rows] for key, tensor in inputs.items()})

    return measure_hand_loop_model(
        network,
        forward,
        lambda rows: forward(rows).softmax(-1),
        F.cross_entropy,
        network.parameters(),
        y_t,
        spec,
        device,
        lr=1e-3,
        weight_decay=1e-5,
        chunk=512 if device.type == "cpu" else 8192,
    )


def measure_rtdl(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """rtdl's FT-Transformer, ``get_default_kwargs()`` (3 blocks, width 192, 8
    heads, attention dropout 0.2), AdamW at the paper's lr=1e-4, wd=1e-5."""
    import rtdl_revisiting_models as rtdl

    model = rtdl.FTTransformer(
        n_cont_features=X.shape[1],
        cat_cardinalities=[],
        d_out=2,
        **rtdl.FTTransformer.get_default_kwargs(),
    ).to(device)
    x_t, y_t = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)
    return measure_hand_loop_model(
        model,
        lambda rows: model(x_t[rows], None),
        lambda rows: model(x_t[rows], None).softmax(-1),
        F.cross_entropy,
        model.make_parameter_groups(),
        y_t,
        spec,
        device,
        lr=1e-4,
        weight_decay=1e-5,
        chunk=512,
    )


def measure_tabm(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """TabM via ``TabM.make`` defaults (k=32 heads, 3 blocks of 512), AdamW at the
    paper's lr=2e-3, wd=3e-4; the loss is the mean over the k predictions."""
    import tabm

    model = tabm.TabM.make(n_num_features=X.shape[1], d_out=2).to(device)
    x_t, y_t = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)

    def loss(logits: Tensor, target: Tensor) -> Tensor:  # logits (B, k, 2)
        k = logits.shape[1]
        return F.cross_entropy(logits.flatten(0, 1), target.repeat_interleave(k))

    return measure_hand_loop_model(
        model,
        lambda rows: model(x_t[rows]),
        lambda rows: model(x_t[rows]).softmax(-1).mean(1),
        loss,
        model.parameters(),
        y_t,
        spec,
        device,
        lr=2e-3,
        weight_decay=3e-4,
        chunk=512,
    )


def measure_library_fit(
    fit: Callable[[int], Any], spec: dict, X: Any, y: Any, device: torch.device
) -> dict:
    """Epoch time and prediction rate of a library with its own ``fit(n_epochs)``
    returning a model with ``predict_proba``."""
    epoch = epoch_seconds(fit, spec["epochs"], device)
    model = fit(1)
    return {
        "epoch_s": epoch,
        "predict_rows_per_s": predict_rows_per_second(
            lambda: model.predict_proba(X), len(y), device
        ),
    }


def measure_tabnet(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """pytorch-tabnet's ``TabNetClassifier`` with its defaults (batch 1,024)."""
    from pytorch_tabnet.tab_model import TabNetClassifier

    def fit(n_epochs: int) -> TabNetClassifier:
        model = TabNetClassifier(seed=0, verbose=0, device_name=device.type)
        model.fit(X, y, max_epochs=n_epochs, patience=0)
        return model

    return measure_library_fit(fit, spec, X, y, device)


def measure_mlp(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """scikit-learn's ``MLPClassifier`` with its defaults (100 units, batch 200)."""
    from sklearn.neural_network import MLPClassifier

    def fit(n_epochs: int) -> MLPClassifier:
        return MLPClassifier(max_iter=n_epochs, random_state=0).fit(X, y)

    return measure_library_fit(fit, spec, X, y, device)


def measure_full_fit(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """A complete fit with the defaults (early stopping on above 2,000 rows)."""
    start = time.perf_counter()
    estimator = AttentionMLPClassifier(random_state=0, device=device).fit(X, y)
    return {
        "fit_s": time.perf_counter() - start,
        "n_epochs": estimator.n_iter_,
        "best_validation_accuracy": estimator.best_validation_score_,
        "n_latent_tokens": estimator.n_latent_tokens_,
    }


def measure_serving(spec: dict, X: Any, y: Any, device: torch.device) -> dict:
    """skattn's predict_proba against onnxruntime on the exported graph."""
    import onnxruntime

    from skattn import export_onnx

    estimator = AttentionMLPClassifier(
        max_iter=1, random_state=0, device=device, **ONE_NETWORK
    ).fit(X, y)
    start = time.perf_counter()
    graph = export_onnx(estimator).SerializeToString()
    export_s = time.perf_counter() - start
    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    X_predict = np.asarray(X[:PREDICT_ROWS], dtype=np.float64)
    feed = {f"x{j}": X_predict[:, [j]] for j in range(X_predict.shape[1])}
    rows = {f"x{j}": X_predict[:1, [j]] for j in range(X_predict.shape[1])}
    n_single = 200

    def chunks() -> None:
        for start in range(0, len(X_predict), ONNX_CHUNK_ROWS):
            part = slice(start, start + ONNX_CHUNK_ROWS)
            session.run(None, {name: column[part] for name, column in feed.items()})

    def single_rows() -> None:
        for _ in range(n_single):
            session.run(None, rows)

    def skattn_single_rows() -> None:
        for i in range(n_single):
            estimator.predict_proba(X_predict[i : i + 1])

    cpu = torch.device("cpu")
    _, onnx_proba = session.run(None, feed)
    return {
        "export_s": export_s,
        "max_abs_diff": float(
            np.abs(onnx_proba - estimator.predict_proba(X_predict)).max()
        ),
        "predict_rows_per_s": predict_rows_per_second(
            lambda: estimator.predict_proba(X_predict), len(X_predict), device
        ),
        "onnx_rows_per_s": predict_rows_per_second(
            lambda: session.run(None, feed), len(X_predict), cpu
        ),
        "single_row_ms": 1e3
        / predict_rows_per_second(skattn_single_rows, n_single, device),
        "onnx_chunked_rows_per_s": predict_rows_per_second(chunks, len(X_predict), cpu),
        "onnx_single_row_ms": 1e3 / predict_rows_per_second(single_rows, n_single, cpu),
    }


MEASURES: dict[str, Callable[[dict, Any, Any, torch.device], dict]] = {
    "skattn": measure_skattn,
    "skattn_no_validation": measure_skattn,
    "hand_loop": measure_hand_loop,
    "rtdl_ft_transformer": measure_rtdl,
    "tabm": measure_tabm,
    "tabnet": measure_tabnet,
    "mlp": measure_mlp,
    "full_fit": measure_full_fit,
    "serving": measure_serving,
}


def measure(spec: dict) -> dict:
    """Run one measurement in this process and return its numbers."""
    warnings.simplefilter("ignore")  # max_iter=1 fits warn that they stopped early
    device = torch.device(spec["device"])
    torch.manual_seed(0)
    if spec.get("n_steps"):
        X, y = make_sequences(spec["n_rows"], spec["n_steps"])
    else:
        X, y = make_table(spec["n_rows"], spec["n_features"])
    data_mb = peak_rss_mb()
    result = MEASURES[spec["model"]](spec, X, y, device)
    epoch = result.get("epoch_s")
    if epoch:
        result["train_rows_per_s"] = spec["n_rows"] / epoch
    peak = peak_rss_mb()
    result.update(peak_rss_mb=peak, peak_rss_over_data_mb=peak - data_mb)
    if device.type == "cuda":
        result["peak_cuda_mb"] = torch.cuda.max_memory_allocated(device) / 2**20
    return result


# -- orchestration, in the parent process ------------------------------------------
def run_in_subprocess(spec: dict, timeout: float) -> dict:
    """Measure ``spec`` in a fresh Python process; errors become a ``skipped`` note."""
    package = PEER_PACKAGES.get(spec["model"])
    if package and importlib.util.find_spec(package) is None:
        return {**spec, "skipped": f"{package} is not installed"}
    command = [sys.executable, __file__, "--measure", json.dumps(spec)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {**spec, "skipped": f"ran past {timeout:.0f} s"}
    if done.returncode != 0:
        return {**spec, "skipped": done.stderr.strip().splitlines()[-1]}
    return {**spec, **json.loads(done.stdout.strip().splitlines()[-1])}


def sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "compare_rows": 5_000,
            "rows": [2_000, 10_000],
            "features": [8, 128],
            "full_attention_max_features": 128,
            "steps": [64, 256],
            "wide": None,
        }
    return {
        "compare_rows": 50_000,
        "rows": [10_000, 30_000, 100_000, 300_000, 1_000_000],
        "features": [8, 32, 64, 128, 256, 512, 1024],
        "full_attention_max_features": 256,
        "steps": [64, 256, 1024, 4096],
        "wide": (20_000, 1024),
    }


SECTIONS = [
    "compare",
    "rows",
    "features",
    "steps",
    "wide_fit",
    "embedding",
    "serving",
]
LINEAR_EMBEDDING = {"numerical_embedding": "linear"}


def plan(sections: list[str], quick: bool, device: str) -> list[dict]:
    """The measurements of the chosen sections, in order."""
    size = sizes(quick)
    specs: list[dict] = []
    base = {"device": device}
    if "compare" in sections:
        table = {**base, "section": "compare", "n_rows": size["compare_rows"]}
        table["n_features"] = 32
        for model in MODEL_LABELS:
            # The slow peers get one timed epoch; the rest two.
            slow = model in ("rtdl_ft_transformer", "tabm", "tabnet")
            specs.append({**table, "model": model, "epochs": 1 if slow else 2})
    if "rows" in sections:
        for n_rows in size["rows"]:
            specs.append(
                {**base, "section": "rows", "model": "skattn", "n_rows": n_rows}
                | {"n_features": 32}
            )
    if "features" in sections:
        for n_features in size["features"]:
            one = {**base, "section": "features", "model": "skattn"}
            one |= {"n_rows": 20_000 if not quick else 2_000, "n_features": n_features}
            specs.append(one)
            full_by_default = n_features <= 64  # skattn's n_latent_tokens="auto"
            if (
                not full_by_default
                and n_features <= size["full_attention_max_features"]
            ):
                specs.append({**one, "params": {"n_latent_tokens": None}})
    if "steps" in sections:
        for n_steps in size["steps"]:
            # The network of the stored runs: d_token="auto" gives fewer than
            # 3,000 sequences a narrower one, which would measure another network.
            specs.append(
                {**base, "section": "steps", "model": "skattn", "n_steps": n_steps}
                | {"n_rows": 2_000, "params": {"d_token": 64}}
            )
    if "embedding" in sections:
        for embedding in ("linear", "piecewise_linear"):
            specs.append(
                {**base, "section": "embedding", "model": "skattn", "epochs": 2}
                | {"n_rows": size["compare_rows"], "n_features": 32}
                | {"params": {"numerical_embedding": embedding}}
            )
    if "serving" in sections:
        specs.append(
            {**base, "section": "serving", "model": "serving"}
            | {"n_rows": size["compare_rows"], "n_features": 32}
        )
    if "wide_fit" in sections and size["wide"] is not None:
        n_rows, n_features = size["wide"]
        specs.append(
            {**base, "section": "wide_fit", "model": "full_fit", "n_rows": n_rows}
            | {"n_features": n_features}
        )
    return specs


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(results: list[dict]) -> str:
    """The printed tables, one per section present in ``results``."""
    out = []
    compare = [r for r in results if r["section"] == "compare"]
    if compare:
        by_model = {r["model"]: r for r in compare}
        default = by_model.get("skattn", {}).get("epoch_s")
        rows = []
        for model, label in MODEL_LABELS.items():
            r = by_model.get(model)
            if r is None:
                continue
            if "skipped" in r:
                rows.append((label, "skipped: " + r["skipped"][:60], *["-"] * 5))
                continue
            rows.append(
                (
                    label,
                    fmt(r["epoch_s"]),
                    fmt(r["epoch_s"] / default) if default else "-",
                    fmt(r.get("train_rows_per_s"), 0),
                    fmt(r["predict_rows_per_s"], 0),
                    fmt(r["peak_rss_mb"], 0),
                    fmt(r["peak_rss_over_data_mb"], 0),
                )
            )
        header = (
            "model",
            "s/epoch",
            "x skattn",
            "train rows/s",
            "predict rows/s",
            "peak MB",
            "over data MB",
        )
        n = compare[0]["n_rows"]
        out.append(
            f"compare: {n:,} rows x 32 features\n" + format_table(header, rows, {0})
        )
        hand = by_model.get("hand_loop", {}).get("epoch_s")
        plain = by_model.get("skattn_no_validation", {}).get("epoch_s")
        if hand and plain:
            out.append(
                f"skattn overhead over the hand-written loop: {plain / hand:.3f}x"
            )
    for section, axis in (("rows", "n_rows"), ("features", "n_features")):
        rows = []
        for r in (r for r in results if r["section"] == section):
            if "skipped" in r:
                rows.append((f"{r[axis]:,}", "-", r["skipped"][:40], *["-"] * 3))
                continue
            latent = r.get("n_latent_tokens")
            rows.append(
                (
                    f"{r[axis]:,}",
                    "full" if latent is None else f"{latent} latents",
                    fmt(r["one_epoch_fit_s"]),
                    fmt(r["n_rows"] / r["one_epoch_fit_s"], 0),
                    fmt(r["predict_rows_per_s"], 0),
                    fmt(r["peak_rss_mb"], 0),
                )
            )
        if rows:
            header = (
                axis,
                "attention",
                "1-epoch fit s",
                "fit rows/s",
                "predict rows/s",
                "peak MB",
            )
            out.append(f"{section}:\n" + format_table(header, rows, {1}))
    steps = [r for r in results if r["section"] == "steps" and "skipped" not in r]
    if steps:
        rows = [
            (
                f"{r['n_steps']:,}",
                fmt(r["one_epoch_fit_s"]),
                fmt(r["predict_rows_per_s"], 0),
                fmt(r["peak_rss_mb"], 0),
            )
            for r in steps
        ]
        header = ("n_steps", "1-epoch fit s", "predict rows/s", "peak MB")
        out.append(
            "steps (2,000 sequences x 3 channels):\n"
            + format_table(header, rows, set())
        )
    embedding = [
        r for r in results if r["section"] == "embedding" and "skipped" not in r
    ]
    if embedding:
        linear = [r["epoch_s"] for r in embedding if r["params"] == LINEAR_EMBEDDING]
        rows = [
            (
                r["params"]["numerical_embedding"],
                fmt(r["epoch_s"]),
                fmt(r["epoch_s"] / linear[0]) if linear else "-",
                fmt(r["predict_rows_per_s"], 0),
                fmt(r["peak_rss_mb"], 0),
            )
            for r in embedding
        ]
        header = (
            "numerical_embedding",
            "s/epoch",
            "x linear",
            "predict rows/s",
            "peak MB",
        )
        n = embedding[0]["n_rows"]
        out.append(
            f"embedding: {n:,} rows x 32 features, skattn defaults otherwise\n"
            + format_table(header, rows, {0})
        )
    for r in (r for r in results if r["section"] == "serving"):
        if "skipped" in r:
            out.append(f"serving: skipped ({r['skipped']})")
            continue
        rows = [
            (
                "skattn predict_proba",
                fmt(r["predict_rows_per_s"], 0),
                fmt(r["single_row_ms"]),
            ),
            (
                "onnxruntime, one call",
                fmt(r["onnx_rows_per_s"], 0),
                fmt(r["onnx_single_row_ms"]),
            ),
            (
                f"onnxruntime, calls of {ONNX_CHUNK_ROWS} rows",
                fmt(r["onnx_chunked_rows_per_s"], 0),
                "-",
            ),
        ]
        header = ("serving", "rows/s", "ms per 1-row call")
        out.append(
            f"serving: {r['n_rows']:,} rows x 32 features, default model; export "
            f"{r['export_s']:.1f} s, max |p_onnx - p_skattn| {r['max_abs_diff']:.1e}\n"
            + format_table(header, rows, {0})
        )
    for r in (r for r in results if r["section"] == "wide_fit"):
        if "skipped" in r:
            out.append(f"wide_fit: skipped ({r['skipped']})")
        else:
            out.append(
                f"wide_fit: {r['n_rows']:,} x {r['n_features']:,} default fit in "
                f"{r['fit_s']:.0f} s ({r['n_epochs']} epochs, "
                f"{r['n_latent_tokens']} latent tokens), "
                f"peak {r['peak_rss_mb']:,.0f} MB, "
                f"validation accuracy {r['best_validation_accuracy']:.3f}"
            )
    return "\n\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sections",
        nargs="+",
        default=SECTIONS,
        choices=SECTIONS,
    )
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--device", default="auto", help="'auto', 'cpu' or 'cuda'")
    parser.add_argument("--timeout", type=float, default=3600, help="s per measure")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # worker mode
    add_output_argument(parser, RESULTS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure))))
        return

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    results = []
    for spec in plan(args.sections, args.quick, device):
        result = run_in_subprocess(spec, args.timeout)
        print(json.dumps(result), flush=True)
        results.append(result)
    versions = {
        name: getattr(importlib.import_module(name), "__version__", "installed")
        if importlib.util.find_spec(name)
        else None
        for name in ("skorch", *PEER_PACKAGES.values())
    }
    env = environment(**versions)
    env["device"] = (
        torch.cuda.get_device_name(0)
        if device == "cuda"
        else f"cpu ({os.cpu_count()} cores)"
    )
    print()
    print(report(results))
    write_json(
        {"environment": env, "quick": args.quick, "results": results},
        args.output,
        ensure_ascii=True,
    )
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
