"""Peak memory of the ridge fit at the paper's scale: streaming versus concatenating all windows.

The data are semi-synthetic: the real DiFuMo-64 resting BOLD of the paper's 18 cross-subject
training scans (``neurobolt_rest_difumo64`` in the shared data folder) with EEG simulated from
it (:func:`unebolt_viz.simulation.semi_synthetic_cohort`, 26 channels, 16-s windows at 200 Hz,
about 10,000 windows). The scans are simulated once into a cache folder; each fit then runs in
its own child process, which reports its peak resident memory (``ru_maxrss``):

* ``streaming``: :meth:`RidgeBaseline.fit_chunks` over
  :func:`unebolt_viz.training.experiments.ridge_chunks`, the scans read one at a time;
* ``concatenated``: the fit as it was before streaming (every scan's windows concatenated,
  then reduced to band powers in one go) on small subsets (``--baseline-scans``, default 1 and
  2 scans, since 18 scans were killed at 24 GB); its peak is extrapolated linearly to the full
  set. The same child refits with streaming and reports the largest relative difference of the
  coefficients.

Prints one JSON object (and writes it to ``--out``). Simulating 18 paper-size scans takes a
few minutes on 2 cores; ``--cache-dir`` keeps them for later runs.

Example
-------
    python benchmarks/bench_ridge_memory.py --out ridge_memory.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA_SOURCE = "semi-synthetic"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder holding neurobolt_rest_difumo64/ and difumo_labels/ "
                             "(default: the shared data folder beside the checkout)")
    parser.add_argument("--n-scans", type=int, default=None,
                        help="training scans to fit on (default: all 18 of the paper's split)")
    parser.add_argument("--baseline-scans", default="1,2",
                        help="subset sizes for the concatenating fit (comma-separated)")
    parser.add_argument("--alpha", type=float, default=1000.0, help="ridge penalty")
    parser.add_argument("--seed", type=int, default=0, help="seed of the EEG simulation")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="keep the simulated scans here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--child", choices=("streaming", "concatenated"), help=argparse.SUPPRESS)
    parser.add_argument("--fit-scans", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _peak_mb() -> float:
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _train_scans(data_dir: Path, n_scans: int | None) -> list[str]:
    from unebolt_viz.datasets import read_neurobolt_split

    split = read_neurobolt_split(data_dir / "neurobolt_rest_difumo64" / "split_cross_subject.csv")
    scans = [str(s) for s in split.loc[split["split"] == "train", "scan"]]
    return scans if n_scans is None else scans[:n_scans]


def _cohort(args: argparse.Namespace, scans: list[str]):
    from unebolt_viz.datasets import load_neurobolt_rest
    from unebolt_viz.simulation import semi_synthetic_cohort

    bold = load_neurobolt_rest(args.data_dir, scans=scans)
    return semi_synthetic_cohort(bold, seed=args.seed, cache_dir=args.cache_dir, progress=False)


def _streaming_fit(cohort, scans: list[str], alpha: float):
    from unebolt_viz.models import RidgeBaseline
    from unebolt_viz.training.experiments import ridge_chunks

    pairs = (cohort.pair(s) for s in scans)  # read from the cache one at a time
    model = RidgeBaseline(alpha=alpha, ch_names=cohort.ch_names)
    return model.fit_chunks(ridge_chunks(pairs, cohort.ch_names))


def _concatenated_fit(cohort, scans: list[str], alpha: float):
    """The fit before streaming: all windows concatenated, reduced to features at once."""
    import numpy as np

    from unebolt_viz.models import RidgeBaseline
    from unebolt_viz.training import WindowDataset

    pairs = cohort.pairs(scans)
    dataset = WindowDataset(pairs, ch_names=cohort.ch_names)
    windows = np.concatenate([dataset.scan_windows(k).numpy() for k in range(len(pairs))])
    targets = np.concatenate([np.asarray(p.bold.values) for p in pairs])
    model = RidgeBaseline(alpha=alpha, ch_names=cohort.ch_names)
    return model.fit_features(model.features(windows, chunk_size=len(windows)), targets)


def run_child(args: argparse.Namespace, scans: list[str]) -> dict:
    """Fit on the first ``--fit-scans`` scans and report this process's peak memory.

    The cohort is built on all ``scans``, as in the parent, so that its cache holds them.
    """
    import numpy as np

    import unebolt_viz.training  # noqa: F401  (torch: counted in the baseline, not the fit)

    cohort = _cohort(args, scans)
    scans = scans[:args.fit_scans]
    uncached = [s for s in scans if not cohort._cache_path(s).exists()]
    if uncached:  # simulating here would add the simulator's memory to the fit's
        raise RuntimeError(f"scans {uncached} are not in the cache {args.cache_dir}")
    before = _peak_mb()
    start = time.perf_counter()
    if args.child == "streaming":
        model = _streaming_fit(cohort, scans, args.alpha)
    else:
        model = _concatenated_fit(cohort, scans, args.alpha)
    seconds = time.perf_counter() - start
    record = {"fit": args.child, "n_scans": len(scans), "peak_rss_mb": _peak_mb(),
              "rss_before_fit_mb": before, "fit_seconds": seconds}
    if args.child == "concatenated":
        streamed = _streaming_fit(cohort, scans, args.alpha)
        record["max_rel_coef_diff_vs_streaming"] = float(
            np.abs(streamed.coef_ - model.coef_).max() / np.abs(model.coef_).max())
    record["n_windows"] = int(sum(cohort.pair(s).n_windows for s in scans))
    return record


def _in_child(args: argparse.Namespace, kind: str, n_scans: int) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--fit-scans", str(n_scans),
               "--alpha", str(args.alpha), "--seed", str(args.seed),
               "--cache-dir", str(args.cache_dir), "--data-dir", str(args.data_dir)]
    if args.n_scans is not None:
        command += ["--n-scans", str(args.n_scans)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the {kind} fit on {n_scans} scans failed (exit {done.returncode}):"
                           f"\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _extrapolate(baseline: list[dict], n_windows: int) -> float | None:
    """Peak of the concatenating fit at ``n_windows``, linear in the windows of the subsets."""
    if len(baseline) < 2:
        return None
    a, b = baseline[0], baseline[-1]
    slope = (b["peak_rss_mb"] - a["peak_rss_mb"]) / (b["n_windows"] - a["n_windows"])
    return a["peak_rss_mb"] + slope * (n_windows - a["n_windows"])


def run(args: argparse.Namespace) -> dict:
    """Simulate the cohort into the cache, then measure each fit in a child process."""
    import torch

    scans = _train_scans(args.data_dir, args.n_scans)
    start = time.perf_counter()
    cohort = _cohort(args, scans)
    for scan in scans:
        cohort.scan_data(scan)  # written to the cache for the children
    simulate_s = time.perf_counter() - start
    sizes = sorted({min(int(k), len(scans)) for k in args.baseline_scans.split(",") if k})
    baseline = [_in_child(args, "concatenated", k) for k in sizes]
    streaming = [_in_child(args, "streaming", k) for k in sorted({sizes[-1], len(scans)})]
    full = streaming[-1]
    extrapolated = _extrapolate(baseline, full["n_windows"])
    return {
        "benchmark": "ridge fit peak memory", "data_source": DATA_SOURCE,
        "data": "real DiFuMo-64 resting BOLD of the paper's cross-subject training scans with "
                "simulated EEG (26 channels, 16-s windows at 200 Hz)",
        "scans": scans, "alpha": args.alpha, "simulate_seconds": simulate_s,
        "streaming": streaming, "concatenated": baseline,
        "concatenated_extrapolated_peak_mb": extrapolated,
        "streaming_peak_mb": full["peak_rss_mb"],
        "extrapolated_ratio_concatenated_over_streaming":
            None if extrapolated is None else extrapolated / full["peak_rss_mb"],
        "streaming_under_4gb": full["peak_rss_mb"] < 4096,
        "python": platform.python_version(), "torch": torch.__version__,
        "machine": platform.machine(), "cpu_count": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.data_dir is None:
        from unebolt_viz.datasets import shared_data_dir

        args.data_dir = shared_data_dir()
    if args.data_dir is None or not (args.data_dir / "neurobolt_rest_difumo64").is_dir():
        print("The real DiFuMo-64 ROI tables were not found: pass --data-dir pointing to the "
              "folder that holds neurobolt_rest_difumo64/ and difumo_labels/.", file=sys.stderr)
        return 2
    if args.child:
        print(json.dumps(run_child(args, _train_scans(args.data_dir, args.n_scans))))
        return 0
    temporary = args.cache_dir is None
    if temporary:
        args.cache_dir = Path(tempfile.mkdtemp(prefix="ridge-memory-"))
    try:
        result = run(args)
    finally:
        if temporary:
            shutil.rmtree(args.cache_dir, ignore_errors=True)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        from unebolt_viz._utils import atomic_path

        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
