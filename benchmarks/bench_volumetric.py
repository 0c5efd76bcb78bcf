"""All four systems on the same simulated scans: UnEBOLT, NeuroBOLT, E2fNet, Spec2VolCAMU-Net.

Simulated data only (the package's simulated cohort, ``simulate_cohort(<preset>, seed=...)``).
One train/validation/test split by subject (``subject_split``, ratios 3:1:1) is shared by all:

- UnEBOLT and NeuroBOLT (unified, one model for all ROIs) are trained on the training scans'
  EEG windows with the package's ROI trainer (``train_model``, the paper's recipe with fewer
  epochs), selected on the validation scans, and predict the test scans' ROI time series.
- E2fNet and Spec2VolCAMU-Net are trained on the same scans' spectra and simulated volumes
  (``run_volumetric``: the papers' recipe with fewer epochs, selected on validation loss),
  predict the test scans' volumes, which are averaged within the simulator's regions (the
  bridge) and scored against the same ROI targets.

All four are scored on the same test volumes (those with 20 TRs of EEG before them, which the
volumetric models need): Tcorr, Pixcorr, ConnMSE, F1-0.25/0.50 for all, SSIM/PSNR (min-max
scaled volumes) for the volumetric ones; parameters at the preset used and at paper size; CPU
time per predicted volume (volumetric) or per predicted TR (ROI models), process CPU time of
the forward passes with the threads the process was given.

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_volumetric.py --quick --out bench.json``
(writes ``bench.json`` and ``bench.md``; ``--quick`` takes a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROI_MODELS = {"UnEBOLT": "unebolt", "NeuroBOLT": "neurobolt_unified"}
VOL_MODELS = {"E2fNet": "e2fnet", "Spec2VolCAMU-Net": "spec2volcamunet"}
COLUMNS = ("tcorr", "pixcorr", "conn_mse", "f1_0.25", "f1_0.50", "ssim", "psnr")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True,
                   help="JSON output file; the markdown table goes beside it (.md)")
    p.add_argument("--quick", action="store_true",
                   help="few epochs and windows (the defaults below are the quick ones)")
    p.add_argument("--cohort", default="tiny", help="simulated cohort preset (default tiny)")
    p.add_argument("--cohort-seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--model-seed", type=int, default=0)
    p.add_argument("--preset", default="compact", help="model size of all four (default compact)")
    p.add_argument("--roi-epochs", type=int, default=None, help="ROI models' epochs (quick: 3)")
    p.add_argument("--vol-epochs", type=int, default=None, help="volumetric epochs (quick: 2)")
    p.add_argument("--max-samples", type=int, default=None,
                   help="volumetric training/validation samples kept (quick: 96; full: all)")
    p.add_argument("--depth", type=int, default=30, help="slices D of the simulated volumes")
    p.add_argument("--workdir", type=Path, default=None,
                   help="keep the runs here (default: a temporary folder)")
    args = p.parse_args(argv)
    quick = {"roi_epochs": 3, "vol_epochs": 2, "max_samples": 96}
    full = {"roi_epochs": 20, "vol_epochs": 50, "max_samples": None}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def paper_params(name: str, n_outputs: int, ch_names) -> int:
    from unebolt_viz.models import build_model

    return count(build_model(name, n_outputs=n_outputs, ch_names=ch_names, preset="paper", seed=0))


def roi_system(label: str, name: str, cohort, split, keep, args) -> dict:
    """Train one ROI model, predict the test scans, score on the shared test volumes."""
    from unebolt_viz.metrics import evaluate
    from unebolt_viz.models import build_model
    from unebolt_viz.training import predict, train_model

    train, val, test = (cohort.pairs(list(getattr(split, k))) for k in ("train", "val", "test"))
    model = build_model(name, n_outputs=cohort.atlas.n_rois, ch_names=cohort.ch_names,
                        preset=args.preset, seed=args.model_seed)
    tic = time.perf_counter()
    result = train_model(model, train, val, epochs=args.roi_epochs, batch_size=16,
                         warmup_epochs=min(1.0, args.roi_epochs / 4), seed=args.model_seed,
                         progress=False)
    train_s = time.perf_counter() - tic
    cpu = time.process_time()
    pred = predict(model, test, batch_size=32)
    cpu = time.process_time() - cpu
    n_pred = int(pred.sizes["time"])
    index = [i for i, k in enumerate(zip(pred.scan.values.astype(str), pred.tr_index.values))
             if (k[0], int(k[1])) in keep]
    metrics = evaluate(pred.isel(time=index))
    f1 = metrics["f1"].mean("scan")
    return {
        "system": label, "model": name, "output": "ROI time series",
        "tcorr": float(metrics["tcorr"].mean()), "pixcorr": float(metrics["pixcorr"].mean()),
        "conn_mse": float(metrics["conn_mse"].mean()),
        "f1_0.25": float(f1.sel(density=0.25)), "f1_0.50": float(f1.sel(density=0.5)),
        "ssim": None, "psnr": None,
        "params": count(model), "params_paper": paper_params(name, cohort.atlas.n_rois,
                                                             cohort.ch_names),
        "cpu_s_per_prediction": cpu / n_pred, "prediction_unit": "TR (one EEG window)",
        "epochs": int(len(result.history)), "best_epoch": int(result.best_epoch),
        "train_windows": int(sum(p.n_windows for p in train)),
        "val_windows": int(sum(p.n_windows for p in val)),
        "scored_volumes": len(index), "train_seconds": round(train_s, 1)}


def volumetric_systems(cohort, workdir: Path, args) -> tuple[list[dict], set]:
    """Run both volumetric models; their rows and the (scan, tr_index) of the test volumes."""
    from unebolt_viz.data import load
    from unebolt_viz.training.volumetric_run import run_volumetric

    tic = time.perf_counter()
    run = run_volumetric(cohort, workdir / "volumetric", models=tuple(VOL_MODELS.values()),
                         preset=args.preset, shape=(64, 64, args.depth),
                         config={"epochs": args.vol_epochs, "batch_size": 32,
                                 "warmup_steps": 2},
                         split_seed=args.split_seed, model_seed=args.model_seed,
                         max_samples=args.max_samples, progress=False)
    seconds = time.perf_counter() - tic
    rows, keep = [], set()
    for label, name in VOL_MODELS.items():
        r = run.table.loc[name]
        bridged = load(run.paths[name]["roi_predictions"])
        keep = {(str(s), int(t)) for s, t in zip(bridged.scan.values, bridged.tr_index.values)}
        rows.append({
            "system": label, "model": name, "output": "volumes -> ROI means (bridge)",
            **{c: float(r[c]) for c in COLUMNS}, "params": int(r["n_params"]),
            "params_paper": paper_params(name, args.depth, cohort.ch_names),
            "cpu_s_per_prediction": float(r["cpu_s_per_volume"]),
            "prediction_unit": "volume (64 x 64 x D)", "epochs": int(r["epochs"]),
            "best_epoch": int(r["best_epoch"]),
            "train_windows": int(run.results["n_samples"]["train"]),
            "val_windows": int(run.results["n_samples"]["val"]),
            "scored_volumes": len(keep), "train_seconds": None})
    for row in rows:
        row["run_seconds_both_volumetric"] = round(seconds, 1)
    return rows, keep


def _fmt(value, digits=3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value / 1e6:.2f} M" if value > 10_000 else str(value)
    return f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    p = report["parameters"]
    lines = [
        f"**Simulated data** (simulate_cohort({p['cohort']!r}, seed={p['cohort_seed']}), subject "
        f"split seed {p['split_seed']}, test scans {', '.join(report['split']['test'])}; models "
        f"at preset {p['preset']!r}, seed {p['model_seed']}). Not real recordings.",
        "",
        "| System | Output | Tcorr | Pixcorr | ConnMSE | F1-0.25 | F1-0.50 | SSIM | PSNR (dB) "
        "| Params (preset) | Params (paper) | CPU ms / prediction | Epochs (best) | "
        "Train windows |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["systems"]:
        lines.append(
            f"| {r['system']} | {r['output']} | {_fmt(r['tcorr'])} | {_fmt(r['pixcorr'])} | "
            f"{_fmt(r['conn_mse'])} | {_fmt(r['f1_0.25'])} | {_fmt(r['f1_0.50'])} | "
            f"{_fmt(r['ssim'])} | {_fmt(r['psnr'], 2)} | {_fmt(r['params'])} | "
            f"{_fmt(r['params_paper'])} | {1000 * r['cpu_s_per_prediction']:.1f} per "
            f"{r['prediction_unit'].split(' ')[0]} | {r['epochs']} ({r['best_epoch']}) | "
            f"{r['train_windows']} |")
    lines += ["", f"All rows scored on the same {report['systems'][0]['scored_volumes']} test "
              "volumes (ROI metrics against the simulator's ROI targets; volumetric predictions "
              "averaged within the simulator's regions). SSIM/PSNR compare volumes min-max "
              "scaled per volume (data range 1). CPU time: process CPU seconds of the forward "
              f"passes with OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}. "
              f"Wall time of the whole benchmark: {report['wall_seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from unebolt_viz.model_selection import subject_split
    from unebolt_viz.simulation import simulate_cohort

    args = parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        cohort = simulate_cohort(args.cohort, seed=args.cohort_seed,
                                 cache_dir=workdir / "cache", progress=False)
        split = subject_split(cohort.design, seed=args.split_seed)
        vol_rows, keep = volumetric_systems(cohort, workdir, args)
        roi_rows = [roi_system(label, name, cohort, split, keep, args)
                    for label, name in ROI_MODELS.items()]
    report = {
        "data_source": "simulated", "label": "simulated data",
        "parameters": {"cohort": args.cohort, "cohort_seed": args.cohort_seed,
                       "split_seed": args.split_seed, "model_seed": args.model_seed,
                       "preset": args.preset, "roi_epochs": args.roi_epochs,
                       "vol_epochs": args.vol_epochs, "max_samples": args.max_samples,
                       "depth": args.depth, "quick": args.quick,
                       "omp_num_threads": os.environ.get("OMP_NUM_THREADS")},
        "split": split.as_dict(), "systems": roi_rows + vol_rows,
        "wall_seconds": time.perf_counter() - start}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    table = markdown(report)
    args.out.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
