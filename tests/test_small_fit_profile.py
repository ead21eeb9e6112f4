"""The small-fit profile's measuring code runs, and its tables say what it measured.

Only the smallest dataset, in this process: timings themselves are never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from conftest import BENCHMARKS, load_benchmark
from torch.utils.flop_counter import FlopCounterMode


@pytest.fixture(scope="module")
def profile():
    return load_benchmark("small_fit_profile")


def test_the_profile_finds_every_phase_of_a_fit(profile):
    result = profile.measure_profile("wine")
    phases = result["phases_s"]
    assert set(phases) == set(profile.PHASES)
    # Each phase ran (a function renamed in skattn or skorch would read as 0 here).
    for phase in ("learn encoding", "build network", "training steps"):
        assert phases[phase] > 0, phase
    assert sum(phases.values()) <= result["fit_s"]


def test_the_thread_table_compares_one_and_two_threads_per_condition(profile):
    fake = [
        {"section": "threads", "dataset": "wine", "n_members": 1, "threads": threads}
        | {"host": host, "wait_policy": "default", "n_epochs": 10, "fit_s": seconds}
        for host, times in (
            ("idle", (2.0, 3.0, 2.2, 2.8)),
            ("busy", (1.0, 4.0, 1.0, 4.0)),
        )
        for threads, seconds in zip((1, 2, 1, 2), times, strict=True)
    ]
    text = profile.report(fake)
    idle, busy = (
        next(line for line in text.splitlines() if f" {host} " in line)
        for host in ("idle", "busy")
    )
    assert idle.split()[-1] == "1.38"  # the ratio of the medians 2.1 and 2.9
    assert busy.split()[-1] == "4.00"


def test_thread_records_of_before_read_as_one_network_under_passive(profile):
    old = [
        {"section": "threads", "dataset": "wine", "threads": threads}
        | {"n_epochs": 10, "fit_s": seconds}
        for threads, seconds in ((1, 2.0), (2, 3.0))
    ]
    header, rows = profile.thread_table(old)
    row = dict(zip(header, rows[0], strict=True))
    assert (row["n_members"], row["host"], row["wait_policy"]) == (
        "1",
        "not noted",
        "passive",
    )
    assert row["2 / 1"] == "1.50"


def test_a_worker_keeps_the_wait_policy_its_parent_gave_it():
    # The script sets PASSIVE for itself, but a worker (--measure) run without
    # the variable must stay without it: that is the "default" condition.
    script = BENCHMARKS / "small_fit_profile.py"
    code = "\n".join(
        [
            "import importlib.util, os, sys",
            f"sys.path.insert(0, {str(BENCHMARKS)!r})",
            "def load(*argv):",
            "    sys.argv = [*argv]",
            f"    spec = importlib.util.spec_from_file_location('p', {str(script)!r})",
            "    spec.loader.exec_module(importlib.util.module_from_spec(spec))",
            "    return os.environ.get('OMP_WAIT_POLICY')",
            "print(load('profile', '--measure', '{}'), load('profile'))",
        ]
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "PASSIVE"]


@pytest.mark.parametrize(
    ("wait_policy", "expected"), [("default", None), ("passive", "PASSIVE")]
)
def test_a_thread_fit_runs_under_the_wait_policy_it_names(
    profile, monkeypatch, wait_policy, expected
):
    seen = {}

    def fake_run(command, *, env, **kwargs):
        seen["policy"] = env.get("OMP_WAIT_POLICY")
        seen["spec"] = command[-1]
        return SimpleNamespace(stdout='{"fit_s": 1.0, "n_epochs": 10}\n')

    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setattr(profile.subprocess, "run", fake_run)
    spec = {"section": "threads", "dataset": "wine", "wait_policy": wait_policy}
    result = profile.run(spec)
    assert seen["policy"] == expected
    assert json.loads(seen["spec"]) == spec
    assert result == spec | {"fit_s": 1.0, "n_epochs": 10}


def test_the_members_thread_fit_cross_fits_for_the_fixed_epochs(profile, monkeypatch):
    seen = {}
    real_fit = profile.AttentionMLPClassifier.fit

    def recording_fit(self, X, y):
        seen.update(self.get_params())
        return real_fit(self.set_params(max_iter=1), X, y)  # one epoch is enough

    monkeypatch.setattr(profile.AttentionMLPClassifier, "fit", recording_fit)
    result = profile.measure_threads("wine", 2, n_members=5)
    assert result["n_epochs"] == profile.THREAD_EPOCHS
    asked = {
        k: seen[k] for k in ("n_members", "n_threads", "early_stopping", "max_iter")
    }
    assert asked == {
        "n_members": 5,
        "n_threads": 2,
        "early_stopping": "auto",
        "max_iter": profile.THREAD_EPOCHS,
    }


def test_the_members_fit_trains_the_repeated_rows_for_the_fixed_epochs(
    profile, monkeypatch
):
    seen = {}
    real_fit = profile.AttentionMLPClassifier.fit

    def recording_fit(self, X, y):
        seen.update(rows=len(X), batch_size=self.batch_size, d_token=self.d_token)
        return real_fit(self.set_params(max_iter=1), X, y)  # one epoch is enough

    monkeypatch.setattr(profile.AttentionMLPClassifier, "fit", recording_fit)
    result = profile.measure_members("wine", "small", 2)
    assert result["n_epochs"] == profile.THREAD_EPOCHS and result["fit_s"] > 0
    n_train = len(profile.data("wine")[0])
    assert seen == {"rows": 2 * n_train, "batch_size": 2 * 16, "d_token": 32}


def test_the_members_table_gives_the_cost_of_batching_them(profile):
    fake = [
        {"section": "members", "dataset": "wine", "network": network, "n_members": k}
        | {"fit_s": seconds * (1 if network == "small" else 3)}
        for network in profile.NETWORKS
        for k, seconds in ((1, 1.0), (profile.N_MEMBERS, 2.5))
    ]
    text = profile.report(fake)
    assert "small" in text and "default" in text and "2.50" in text


def test_the_floor_counts_the_cpus_fused_attention_forward_and_backward(profile):
    batch, heads, tokens, width = 3, 2, 5, 4
    q, k, v = (
        torch.randn(batch, heads, tokens, width, requires_grad=True) for _ in range(3)
    )
    counted = {}
    for name, mapping in (("torch", {}), ("floor", profile.ATTENTION_FLOPS)):
        counter = FlopCounterMode(display=False, custom_mapping=mapping)
        with counter:
            F.scaled_dot_product_attention(q, k, v).sum().backward()
        counted[name] = counter.get_total_flops()
    one_product = 2 * batch * heads * tokens * tokens * width
    # Forward: two products (Q K^T, weights V); backward: five (Q K^T again, then
    # the gradients of V, the weights, Q and K). Torch counting the CPU kernel
    # itself would make "torch" nonzero: then the mapping is to drop.
    assert counted == {"torch": 0, "floor": 7 * one_product}


def test_the_floor_counts_a_fits_steps_and_products(profile):
    result = profile.measure_floor("wine", max_iter=2)
    n_train = len(profile.data("wine")[0])
    # Five cross-fitted members in batches of 128 rows: 2 steps an epoch.
    assert (result["n_members"], result["n_epochs"]) == (5, 2)
    assert result["n_steps"] == 2 * -(-n_train // 128)
    assert result["gflop"] > 0 and result["product_gflops"] > 0
    header, rows = profile.floor_table(
        [{"section": "floor", "dataset": "wine"} | result]
    )
    row = dict(zip(header, rows[0], strict=True))
    floor = result["gflop"] / result["product_gflops"] / 2
    assert row["floor s (2 cores)"] == f"{floor:.2f}"
    assert row["steps"] == str(result["n_steps"])


def test_a_fits_attention_counts_and_the_rate_leaves_the_threads_as_they_were(
    profile,
):
    X, y, estimator = profile.data("wine")
    totals = []
    for mapping in ({}, profile.ATTENTION_FLOPS):
        counter = FlopCounterMode(display=False, custom_mapping=mapping)
        with counter:
            model = estimator(random_state=0, max_iter=1, n_members=1).fit(X, y)
        totals.append(counter.get_total_flops())
    assert totals[1] > totals[0]  # the fit runs the fused kernel, now counted
    threads = torch.get_num_threads()
    assert profile.product_gflops(model, repeats=1) > 0
    assert torch.get_num_threads() == threads
