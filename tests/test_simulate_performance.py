"""One 20-minute simulated scan: peak memory under twice its arrays (its time is measured in
benchmarks/bench_simulator.py, not asserted here)."""

from __future__ import annotations

import tracemalloc

import pytest

from unebolt_viz.simulation import simulate_cohort


@pytest.mark.slow
def test_twenty_minute_scan_memory():
    import mne  # noqa: F401  (imports are not generation memory)
    import scipy.signal  # noqa: F401

    cohort = simulate_cohort("paper", seed=0, progress=False)
    cohort.noise_ceiling(cohort.scans[1])  # warm the montage and atlas caches
    tracemalloc.start()
    try:
        ds = cohort.scan_data(cohort.scans[0])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds.sizes["volume"] * ds.attrs["tr"] == pytest.approx(20 * 60, rel=0.01)
    assert peak < 2 * ds.nbytes, f"peak {peak / 2**20:.1f} MB for {ds.nbytes / 2**20:.1f} MB"
