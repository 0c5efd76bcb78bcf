"""Shared preprocessing: BOLD target processing, strided EEG windows, ScanPair."""

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

import unebolt_viz as uv
from unebolt_viz.data import InvalidDataError
from unebolt_viz.io.pairing import ScanPair
from unebolt_viz.preprocessing import (
    bold_targets,
    demean_windows,
    regular_starts,
    window_starts,
    window_views,
)


def test_bold_targets_match_independent_scipy(rng):
    x = np.cumsum(rng.standard_normal((300, 4)), axis=0)
    b, a = butter(5, 0.15, btype="low", fs=1 / 2.1)
    ref = filtfilt(b, a, x, axis=0, padtype="odd", padlen=3 * (max(len(a), len(b)) - 1))
    ref = ref - ref.mean(axis=0)
    ref = ref / (np.percentile(np.abs(ref), 95, axis=0) + 1e-8)
    out = bold_targets(x, tr=2.1)
    # sosfiltfilt and ba-filtfilt differ only by edge padding details and round-off.
    np.testing.assert_allclose(out[20:-20], ref[20:-20], atol=2e-3)
    assert np.allclose(np.percentile(np.abs(out), 95, axis=0), 1.0, atol=1e-6)


def test_bold_targets_keep_coordinates(tiny_bold):
    out = bold_targets(tiny_bold)
    assert out.dims == tiny_bold.dims and "target_processing" in out.attrs


def test_bold_targets_reject_bad_cutoff():
    with pytest.raises(InvalidDataError, match="Nyquist"):
        bold_targets(np.zeros((100, 2)), tr=5.0)


def test_window_views_share_memory_and_match_slices(rng):
    sfreq, tr = 200, 2.1
    sig = rng.standard_normal((3, 20000))
    volumes = np.round(np.arange(1, 40) * tr * sfreq + rng.integers(-1, 2, 39)).astype(int)
    starts, kept = window_starts(volumes, 3200, sig.shape[1])
    assert volumes[kept].min() >= 3200 and kept.size == np.sum(volumes >= 3200)
    snapped = regular_starts(starts)
    assert np.max(np.abs(snapped - starts)) <= 1
    w = window_views(sig, snapped, 3200)
    assert w.shape == (kept.size, 3, 3200)
    assert np.shares_memory(w, sig)
    for i in (0, kept.size // 2, kept.size - 1):
        np.testing.assert_array_equal(w[i], sig[:, snapped[i]:snapped[i] + 3200])
    d = demean_windows(w[:2])
    np.testing.assert_allclose(d.mean(axis=-1), 0, atol=1e-5)


def test_scan_pair_checks_alignment(rng, tiny_bold):
    w = uv.eeg_windows(rng.standard_normal((50, 2, 8)), ["Cz", "Pz"], 200.0, scan="sub01-scan01",
                       subject="sub01", data_source="simulated")
    pair = ScanPair(w, tiny_bold)
    assert pair.n_windows == 50 and pair.scan == "sub01-scan01"
    assert pair.subset(slice(0, 10)).n_windows == 10
    with pytest.raises(InvalidDataError, match="50 EEG windows but 49 BOLD volumes"):
        ScanPair(w, tiny_bold.isel(time=slice(1, None)))
    with pytest.raises(InvalidDataError, match="EEG is real but BOLD is simulated"):
        ScanPair(w.assign_attrs(data_source="real"), tiny_bold)
