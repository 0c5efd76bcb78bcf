"""Time and memory of the simulator: one 20-minute scan on one core, and whole cohorts.

Usage::

    python benchmarks/bench_simulator.py [--out results.json] [--cohorts]

The single-scan measurement pins the process to one CPU core and limits the BLAS/FFT thread
pools to one thread before numpy is imported. Memory is the peak of Python-traced allocations
(``tracemalloc``: numpy reports its buffers to it) while the scan is generated, compared with
the size of the arrays the scan consists of (``Dataset.nbytes``). All data are simulated.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def one_scan(preset: str = "paper", seed: int = 0) -> dict:
    """Generate the first scan of a preset; return time, traced peak and array sizes."""
    import mne  # noqa: F401  (imports are not generation time)
    import psutil
    import scipy.signal  # noqa: F401

    from unebolt_viz.simulation import simulate_cohort

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    cohort = simulate_cohort(preset, seed=seed, progress=False)
    warm = cohort.design.iloc[1]  # warm caches (montage, atlas) on another scan
    cohort._generate(warm, include_eeg=False)
    process = psutil.Process()
    rss_before = process.memory_info().rss
    tracemalloc.start()
    start = time.perf_counter()
    ds = cohort.scan_data(cohort.scans[0])
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = process.memory_info().rss
    start = time.perf_counter()
    pair = cohort.pair(cohort.scans[0])
    pair_time = time.perf_counter() - start
    return {
        "preset": preset,
        "scan": cohort.scans[0],
        "minutes": ds.sizes["volume"] * ds.attrs["tr"] / 60,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "seconds": elapsed,
        "pair_seconds": pair_time,
        "traced_peak_mb": peak / 2**20,
        "scan_arrays_mb": ds.nbytes / 2**20,
        "eeg_mb": ds["eeg"].nbytes / 2**20,
        "peak_over_arrays": peak / ds.nbytes,
        "rss_growth_mb": (rss_after - rss_before) / 2**20,
        "n_windows": pair.n_windows,
    }


def cohort_times() -> dict:
    """Wall time to generate every pair of the tiny and teaching presets."""
    from unebolt_viz.simulation import simulate_cohort

    out = {}
    for preset in ("tiny", "teaching"):
        start = time.perf_counter()
        pairs = simulate_cohort(preset, seed=0, progress=False).pairs()
        out[preset] = {"seconds": time.perf_counter() - start, "scans": len(pairs),
                       "windows": sum(p.n_windows for p in pairs)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--cohorts", action="store_true", help="also time tiny and teaching cohorts")
    args = parser.parse_args()
    results = {"data_source": "simulated", "one_scan": one_scan()}
    if args.cohorts:
        results["cohorts"] = cohort_times()
    s = results["one_scan"]
    print(f"one {s['minutes']:.0f}-minute scan ({s['preset']}), {s['cores']} core: "
          f"{s['seconds']:.2f} s (limit 15 s); pairing {s['pair_seconds']:.2f} s")
    print(f"memory: traced peak {s['traced_peak_mb']:.1f} MB for {s['scan_arrays_mb']:.1f} MB of "
          f"scan arrays (EEG {s['eeg_mb']:.1f} MB): ratio {s['peak_over_arrays']:.2f} (limit 2); "
          f"RSS growth {s['rss_growth_mb']:.1f} MB")
    for preset, c in results.get("cohorts", {}).items():
        print(f"{preset} cohort: {c['scans']} scans, {c['windows']} windows in {c['seconds']:.1f} s")
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
