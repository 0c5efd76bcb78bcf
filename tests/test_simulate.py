"""The simulated cohort: design, pairing, determinism and the noise ceiling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.simulation import (
    PRESETS,
    TASK_CHANNELS,
    CouplingParams,
    SimulationParams,
    simulate_cohort,
)


@pytest.fixture(scope="module")
def tiny():
    return simulate_cohort("tiny", seed=0, progress=False)


def test_tiny_cohort_has_enough_windows_for_a_tiny_model():
    # How long it takes is measured in benchmarks/bench_simulator.py, not asserted here.
    cohort = simulate_cohort("tiny", seed=123, progress=False)
    pairs = cohort.pairs()
    assert len(pairs) == PRESETS["tiny"]["rest"]["n_scans"]
    assert sum(p.n_windows for p in pairs) > 250  # enough windows to fit a tiny model


def test_design_follows_the_preset(tiny):
    design = tiny.design
    assert list(design.columns) == ["scan", "subject", "session", "site", "condition", "n_volumes"]
    assert design["subject"].nunique() == 4
    assert (design["condition"] == "rest").all()
    assert tiny.ch_names == list(PAPER_CHANNELS)
    assert tiny.scans[0] == "sub01-scan01"


def test_paper_design_matches_the_real_dataset():
    rest = simulate_cohort("paper", seed=0, progress=False)
    assert len(rest.scans) == 29 and len(rest.subjects) == 22
    twice = rest.design.groupby("subject").size()
    assert (twice == 2).sum() == 7
    assert set(rest.design["n_volumes"]) == {575} and rest.params.tr == 2.1
    task = simulate_cohort("paper", seed=0, condition="task", progress=False)
    assert len(task.scans) == 16 and len(task.subjects) == 10
    assert len(set(task.ch_names) & set(PAPER_CHANNELS)) == 23
    assert task.design["site"].iloc[0] != rest.design["site"].iloc[0]


def test_pair_windows_are_views_ending_at_each_trigger(tiny):
    scan = tiny.scans[1]
    ds = tiny.scan_data(scan)
    pair = tiny.pair(scan)
    eeg = ds["eeg"].values
    n_win = 16 * 200
    samples = ds["volume_sample"].values
    expected_kept = np.flatnonzero(samples >= n_win)
    np.testing.assert_array_equal(pair.windows.tr_index.values, expected_kept)
    np.testing.assert_array_equal(pair.bold.tr_index.values, expected_kept)
    assert pair.windows.shape == (expected_kept.size, 26, n_win)
    assert np.shares_memory(pair.windows.values, eeg)
    for i in (0, len(expected_kept) // 2, -1):
        v = samples[expected_kept[i]]
        np.testing.assert_array_equal(pair.windows.values[i], eeg[:, v - n_win:v])
    assert pair.windows.attrs["data_source"] == "simulated" == pair.bold.attrs["data_source"]
    assert pair.windows.attrs["units"] == "uV"
    # triggers every TR at 200 Hz
    np.testing.assert_array_equal(np.diff(samples), 420)


def test_targets_are_the_papers_processing_of_the_clean_bold(tiny):
    ds = tiny.scan_data(tiny.scans[0])
    sos = butter(5, 0.15, btype="low", fs=1 / 2.1, output="sos")
    x = sosfiltfilt(sos, ds["bold_clean"].values, axis=0)
    x = x - x.mean(axis=0)
    x = x / (np.percentile(np.abs(x), 95, axis=0) + 1e-8)
    np.testing.assert_allclose(ds["targets"].values, x, atol=1e-10)
    pair = tiny.pair(tiny.scans[0])
    np.testing.assert_allclose(pair.bold.values, x[pair.bold.tr_index.values])


def test_same_seed_same_data_other_seed_other_data(tiny):
    again = simulate_cohort("tiny", seed=0, progress=False)
    scan = tiny.scans[2]
    # generated alone, without the scans before it: scans are independent and lazy
    a, b = tiny.scan_data(scan), again.scan_data(scan)
    np.testing.assert_array_equal(a["eeg"].values, b["eeg"].values)
    np.testing.assert_array_equal(a["bold_raw"].values, b["bold_raw"].values)
    other = simulate_cohort("tiny", seed=1, progress=False).scan_data(scan)
    n = min(a.sizes["sample"], other.sizes["sample"])
    assert not np.allclose(a["eeg"].values[:, :n], other["eeg"].values[:, :n])
    assert not np.allclose(a["bold_raw"].values, other["bold_raw"].values)
    # scans of one cohort differ from each other
    assert not np.allclose(a["bold_raw"].values, tiny.scan_data(tiny.scans[0])["bold_raw"].values)


def test_noise_ceiling_is_the_correlation_of_noiseless_and_noisy_targets(tiny):
    scan = tiny.scans[0]
    ds = tiny.scan_data(scan)
    ceiling = tiny.noise_ceiling(scan)
    a, b = ds["targets_noiseless"].values, ds["targets"].values
    expected = [np.corrcoef(a[:, i], b[:, i])[0, 1] for i in range(a.shape[1])]
    np.testing.assert_allclose(ceiling.values, expected, atol=1e-10)
    assert list(ceiling.roi.values) == list(tiny.atlas.roi)


def test_default_noise_ceiling_lies_between_half_and_eight_tenths():
    cohort = simulate_cohort("tiny", seed=5, progress=False, n_volumes=575)
    means = [float(cohort.noise_ceiling(s).mean()) for s in cohort.scans[:2]]
    for m in means:
        assert 0.5 < m < 0.8, means


def test_cache_dir_round_trip(tmp_path):
    cohort = simulate_cohort("tiny", seed=3, progress=False, cache_dir=tmp_path)
    first = cohort.scan_data(cohort.scans[0])
    files = list(tmp_path.rglob("*.nc"))
    assert len(files) == 1
    fresh = simulate_cohort("tiny", seed=3, progress=False, cache_dir=tmp_path)
    loaded = fresh.scan_data(fresh.scans[0])
    np.testing.assert_array_equal(first["eeg"].values, loaded["eeg"].values)
    np.testing.assert_array_equal(first["targets"].values, loaded["targets"].values)
    pair = fresh.pair(fresh.scans[0])
    assert pair.n_windows > 0


def test_bad_parameters_are_rejected_with_the_fix():
    with pytest.raises(TypeError, match="valid names"):
        simulate_cohort("tiny", progress=False, not_a_param=1)
    with pytest.raises(ValueError, match="bad_channel"):
        SimulationParams(bad_channel="XYZ")
    with pytest.raises(ValueError, match="preset"):
        simulate_cohort("huge")
    with pytest.raises(ValueError, match="band"):
        CouplingParams(gains=(("kappa", "Visual", 1.0),))
    with pytest.raises(KeyError, match="sub01-scan01"):
        simulate_cohort("tiny", progress=False).scan_data("sub99-scan01")


def test_params_round_trip_and_coupling_overrides():
    params = SimulationParams().replace(coupling={"strength": 0.5, "gains": {"alpha": {"Visual": -1.0}}})
    assert params.coupling.strength == 0.5
    assert params.coupling.gain("alpha", "Visual") == -1.0
    assert params.coupling.gain("beta", "Somatomotor") == CouplingParams().gain("beta", "Somatomotor")
    d = params.to_dict()
    assert d["coupling"]["strength"] == 0.5 and d["n_volumes"] == 575


def test_task_condition_has_events_and_the_task_cap():
    cohort = simulate_cohort("tiny", seed=0, condition="task", progress=False)
    ds = cohort.scan_data(cohort.scans[0])
    assert cohort.ch_names == list(TASK_CHANNELS)
    types = list(ds["event_type"].values)
    times = ds["event_time"].values
    assert types.count("tone") + types.count("target") > 10
    # every press follows a target tone
    for i, kind in enumerate(types):
        if kind == "press":
            assert "target" in types[:i]
            last_target = max(t for t, k in zip(times[:i], types[:i]) if k == "target")
            assert 0.1 < times[i] - last_target < 1.5
    assert cohort.pair(cohort.scans[0]).windows.sizes["channel"] == len(TASK_CHANNELS)
