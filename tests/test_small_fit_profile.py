"""The small-fit profile's measuring code runs, and its tables say what it measured.

Only the smallest dataset, in this process: timings themselves are never asserted."""

from __future__ import annotations

import pytest
from conftest import load_benchmark


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


def test_the_thread_table_compares_one_and_two_threads(profile):
    fake = [
        {"section": "threads", "dataset": "wine", "threads": threads, "n_epochs": 10}
        | {"fit_s": seconds}
        for threads, seconds in ((1, 2.0), (2, 3.0), (1, 2.2), (2, 2.8))
    ]
    text = profile.report(fake)
    assert "wine" in text and "1.38" in text  # medians 2.1 and 2.9


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
