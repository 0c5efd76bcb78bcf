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

TR = 2.1
TOL = 1e-10  # the reference agrees to ~4e-15: only round-off separates the two


def _scipy_targets(x: np.ndarray, cutoff: float = 0.15, order: int = 5, **filtfilt_kw):
    """The paper's target processing written independently: butter (b, a) + filtfilt.

    filtfilt's default padding (odd extension of 3 * max(len(a), len(b)) samples, steady-state
    initial conditions) is what sosfiltfilt does for this filter, so the whole series agrees.
    """
    b, a = butter(order, cutoff, btype="low", fs=1 / TR)
    kw = {"padtype": "odd", "padlen": 3 * max(len(a), len(b))} | filtfilt_kw
    ref = filtfilt(b, a, x, axis=0, **kw)
    ref = ref - ref.mean(axis=0)
    return ref / (np.percentile(np.abs(ref), 95, axis=0) + 1e-8)


@pytest.fixture
def drifting(rng) -> np.ndarray:
    return np.cumsum(rng.standard_normal((300, 4)), axis=0)


def test_bold_targets_match_independent_scipy(drifting):
    out = bold_targets(drifting, tr=TR)
    np.testing.assert_allclose(out, _scipy_targets(drifting), rtol=0, atol=TOL)  # every sample
    np.testing.assert_allclose(np.percentile(np.abs(out), 95, axis=0), 1.0, atol=1e-6)


@pytest.mark.parametrize("variant", [
    {"cutoff": 0.149},
    {"order": 4},
    {"padtype": "even"},
    {"padtype": "constant"},
    {"padlen": 15},
    {"method": "gust"},
])
def test_bold_target_tolerance_rejects_near_misses(drifting, variant):
    """Each near miss of the reference differs by far more than TOL (measured 4e-6 to 7e-2)."""
    out = bold_targets(drifting, tr=TR)
    assert np.max(np.abs(out - _scipy_targets(drifting, **variant))) > 1e3 * TOL


def test_bold_targets_keep_coordinates(tiny_bold):
    out = bold_targets(tiny_bold)
    assert out.dims == tiny_bold.dims and "target_processing" in out.attrs
    np.testing.assert_array_equal(out.roi.values, tiny_bold.roi.values)
    np.testing.assert_array_equal(out.values, bold_targets(tiny_bold.values, tr=2.1))


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
