"""One 20-minute simulated scan: under 15 s on one core, memory under twice its arrays."""

from __future__ import annotations

import os
import time
import tracemalloc

import pytest

from unebolt_viz.simulation import simulate_cohort


@pytest.mark.slow
def test_twenty_minute_scan_time_and_memory():
    import mne  # noqa: F401  (imports are not generation time)
    import scipy.signal  # noqa: F401
    from threadpoolctl import threadpool_limits

    cohort = simulate_cohort("paper", seed=0, progress=False)
    cohort.noise_ceiling(cohort.scans[1])  # warm the montage and atlas caches
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else None
    try:
        if affinity is not None:
            os.sched_setaffinity(0, {min(affinity)})
        with threadpool_limits(1):
            tracemalloc.start()
            start = time.perf_counter()
            ds = cohort.scan_data(cohort.scans[0])
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
    assert ds.sizes["volume"] * ds.attrs["tr"] == pytest.approx(20 * 60, rel=0.01)
    assert elapsed < 15.0, f"{elapsed:.1f} s"
    assert peak < 2 * ds.nbytes, f"peak {peak / 2**20:.1f} MB for {ds.nbytes / 2**20:.1f} MB"
