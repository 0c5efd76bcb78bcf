"""CPU inference in fp32 against opt-in bf16 autocast, side by side in one run.

Two cases:

* a paper-size UnEBOLT (width 200, 12 + 4 layers, 64 ROIs, untrained, seed 0) predicting one
  20-minute scan (575 windows of random EEG, simulated), in chunks of 64 windows;
* the shipped compact ``unebolt-embedded-p64`` predicting the unseen simulated test scan
  sub02-scan01 of the embedded teaching cohort, with the agreement of the two precisions
  (largest difference relative to each ROI's prediction sd, smallest per-ROI correlation,
  mean temporal r against the simulated BOLD).

The precisions are taken in turn in each repetition, so that both see the same background load;
medians over ``--reps`` are reported. bf16 only pays on CPUs with bf16 instructions (AMX-BF16 or
AVX512-BF16); elsewhere the package refuses it and so does this benchmark. Output: JSON on
stdout (and ``--out``).

Run: ``python benchmarks/bench_cpu_bf16_inference.py [--threads 2] [--reps 3] [--out f.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

PRECISIONS = ("fp32", "bf16")


def _timed_predictions(model, windows, precision: str, chunk: int = 64):
    import torch

    from unebolt_viz.training.inference import autocast_context

    tic = time.perf_counter()
    with torch.no_grad(), autocast_context(torch.device("cpu"), precision):
        pred = torch.cat([model(c).float() for c in windows.split(chunk)]).numpy()
    return time.perf_counter() - tic, pred


def _agreement(fp32, bf16, true) -> dict:
    import numpy as np

    from unebolt_viz.metrics._common import _pearson_columns

    rel = np.abs(fp32 - bf16) / fp32.std(axis=0)
    return {
        "max_abs_diff_rel_to_roi_sd": float(rel.max()),
        "median_abs_diff_rel_to_roi_sd": float(np.median(rel)),
        "min_per_roi_correlation": float(_pearson_columns(fp32, bf16).min()),
        "tcorr_fp32": float(_pearson_columns(fp32, true).mean()),
        "tcorr_bf16": float(_pearson_columns(bf16, true).mean()),
    }


def _cases(n_windows: int):
    """(name, model, windows, true BOLD or None) for the two cases."""
    import numpy as np
    import torch

    import unebolt_viz as uv
    from unebolt_viz.models import build_model
    from unebolt_viz.simulation.cohort import simulate_cohort

    paper = build_model("unebolt", n_outputs=64, preset="paper", seed=0).eval()
    gen = torch.Generator().manual_seed(1)
    scan = torch.randn(n_windows, 26, 3200, generator=gen) * 20.0
    with tempfile.TemporaryDirectory() as atlas_dir:
        atlas = uv.load_atlas("embedded", 64, data_dir=atlas_dir)
    pair = simulate_cohort("teaching", seed=0, atlas=atlas, progress=False).pair("sub02-scan01")
    compact = uv.load_pretrained("unebolt-embedded-p64").eval()
    windows = torch.from_numpy(np.ascontiguousarray(pair.windows.values, dtype=np.float32))
    return [("paper_size_20min_scan", paper, scan, None),
            ("shipped_compact_p64_test_scan", compact, windows, np.asarray(pair.bold.values))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--windows", type=int, default=575, help="windows of the paper-size scan")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    import torch

    from unebolt_viz.training.inference import cpu_has_native_bf16

    if not cpu_has_native_bf16():
        raise SystemExit("This CPU has no bf16 instructions (AMX-BF16 or AVX512-BF16): the "
                         "package refuses bf16 on it, so there is nothing to compare.")
    torch.set_num_threads(args.threads)
    result = {"data": "simulated (random EEG windows; the embedded teaching cohort's test scan)",
              "torch": torch.__version__, "threads": args.threads, "reps": args.reps}
    for name, model, windows, true in _cases(args.windows):
        _timed_predictions(model, windows[:8], "fp32")  # warm-up, both paths
        _timed_predictions(model, windows[:8], "bf16")
        seconds = {p: [] for p in PRECISIONS}
        preds = {}
        for _ in range(args.reps):
            for precision in PRECISIONS:
                wall, preds[precision] = _timed_predictions(model, windows, precision)
                seconds[precision].append(wall)
        median = {p: statistics.median(s) for p, s in seconds.items()}
        record = {"windows": int(windows.shape[0]), "seconds_median": median,
                  "speedup_bf16_vs_fp32": median["fp32"] / median["bf16"], "raw_seconds": seconds}
        if true is not None:
            record["agreement"] = _agreement(preds["fp32"], preds["bf16"], true)
        result[name] = record
    result["load_average_1min_at_end"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    if args.out is not None:
        from unebolt_viz._utils import atomic_path

        with atomic_path(args.out) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
