"""Unseen-subject benchmark on the simulated ``teaching`` cohort, on CPU.

Trains UnEBOLT (compact), the unified NeuroBOLT baseline (compact) and the ridge baseline on a
3:1:1 subject split of the simulated teaching cohort (8 subjects, 10 scans of 200 volumes,
64 ROIs of the embedded atlas), predicts the held-out subjects' whole scans and reports the
paper's metrics (Tcorr, Pixcorr, ConnMSE, F1-0.25, F1-0.50, Mean(std) over test scans) beside
the simulator's noise ceiling (the r between noiseless and measured BOLD targets: what a
perfect model would reach). All numbers come from SIMULATED data, not from the paper.

Run (about an hour on 2 CPU cores)::

    python benchmarks/bench_teaching.py --out bench_teaching.json --work-dir /tmp/bench_teaching

Recipe: the paper's (AdamW 3e-4 with layer decay 0.65, warm-up then cosine to 1e-6, weight
decay 0.05) with fewer epochs and a smaller batch than the paper's 20 x 64, which would give a
CPU only a handful of steps on this small cohort; UnEBOLT with its multi-objective loss,
NeuroBOLT with MSE (as in its paper); ridge alpha chosen on the validation subjects. The run
resumes where it stopped when started again with the same --work-dir.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("bench_teaching.json"), help="JSON results")
    p.add_argument("--work-dir", type=Path, default=Path("bench_teaching_work"),
                   help="experiment folder (checkpoints, predictions, metrics)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0, help="simulation and split seed")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    import torch

    from unebolt_viz.training.experiments import run_experiment

    torch.set_num_threads(args.threads)
    train = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "warmup_epochs": args.warmup_epochs, "progress": False, "device": "cpu"}
    config = {
        "name": "teaching_unseen_subject",
        "out_dir": str(args.work_dir),
        "description": "benchmarks/bench_teaching.py: unseen-subject prediction, simulated data",
        "data": {"source": "simulated", "preset": "teaching", "seed": args.seed, "n_rois": 64},
        "split": {"kind": "subject", "ratios": [3, 1, 1], "seed": args.seed},
        "train": train,
        "models": [
            {"label": "UnEBOLT (compact)", "name": "unebolt", "preset": "compact"},
            {"label": "NeuroBOLT unified (compact)", "name": "neurobolt_unified",
             "preset": "compact", "train": {"loss": "mse_only"}},
            {"label": "Ridge", "name": "ridge", "alphas": [10.0, 100.0, 1000.0, 10000.0]},
        ],
    }
    tic = time.perf_counter()
    metrics = run_experiment(config)
    seconds = time.perf_counter() - tic

    folder = args.work_dir / config["name"]
    import pandas as pd
    import xarray as xr

    summary = pd.read_csv(folder / "summary.csv", index_col="model")
    ceiling = xr.load_dataset(folder / "noise_ceiling.nc", engine="h5netcdf")["noise_ceiling"]
    per_scan = ceiling.mean("roi")
    summary.loc["Noise ceiling"] = [
        f"{float(per_scan.mean()):.3f}({float(per_scan.std(ddof=1)) if per_scan.size > 1 else 0:.3f})",
        "", "", "", ""]
    results = json.loads((folder / "results.json").read_text())
    logs = {}
    for label in ("UnEBOLT_compact", "NeuroBOLT_unified_compact"):
        log_path = folder / "runs" / label / "log.csv"
        if log_path.exists():
            log = pd.read_csv(log_path)
            logs[label] = {"epochs": int(log["epoch"].max()),
                           "train_windows_per_s": float(log["windows_per_s"].median()),
                           "val_r_by_epoch": [round(float(v), 4) for v in log["val_r"]]}
    print(f"\nUnseen-subject prediction on SIMULATED data (teaching preset, seed {args.seed}, "
          f"{metrics.sizes['scan']} test scans, 64 ROIs); Mean(std) over test scans")
    print(summary.to_string())
    print(f"(noise ceiling: Tcorr of the noiseless BOLD; wall time {seconds / 60:.1f} min on "
          f"{args.threads} CPU threads; GPU throughput not measured)")
    record = {
        "data_source": "simulated",
        "description": config["description"],
        "command": "python benchmarks/bench_teaching.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
        "test_scans": [str(s) for s in metrics.scan.values],
        "table": summary.reset_index().to_dict(orient="records"),
        "means": {label: results["models"][label] for label in results["models"]},
        "noise_ceiling_mean": float(per_scan.mean()),
        "training": logs,
        "wall_seconds": seconds,
        "threads": args.threads,
        "machine": platform.platform(),
        "gpu": "not measured (no GPU in this session)",
    }
    args.out.write_text(json.dumps(record, indent=2, default=str))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
