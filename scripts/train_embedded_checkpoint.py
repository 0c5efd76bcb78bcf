"""Train the small models shipped with unebolt_viz and precompute their test predictions.

The FC explorer (``panel serve apps/fc_explorer.py``) opens on these predictions, so that it
shows real model outputs right after install, offline, without computing anything heavy.
Everything here is simulated data: the embedded simulated cohort (``simulate_cohort``), never
the paper's recordings.

What it writes into ``unebolt_viz/resources/embedded/`` (or ``--out``), per parcellation level
``P``:

* ``unebolt_p{P}.safetensors`` + ``.json``: a compact UnEBOLT (only for ``--unebolt-levels``;
  training it is the slow part on a CPU);
* ``ridge_p{P}.safetensors`` + ``.json``: the ridge baseline on HRF-weighted band powers;
* ``predictions_{model}_p{P}.nc``: predictions of the cohort's test scans (float32), made by
  the saved file reloaded with :func:`unebolt_viz.models.load_model`;
* ``{model}_p{P}.training.json``: the command, seeds, data, split, training settings and
  history, test metrics, software versions and the sha256 of every file written;
* ``predictions.json``: the catalog the app reads;
* ``{model}_p{P}.card.md`` and ``pretrained.json``: the model cards and the index of
  :func:`unebolt_viz.pretrained` (names such as ``unebolt-embedded-p64``, with the sha256 of
  every file; rebuild them alone with ``--index-only``).

Reproduce the shipped embedded models with (40 to 95 minutes each on a 2-core machine)::

    python scripts/train_embedded_checkpoint.py --n-rois 64 --unebolt-levels 64 \
        --extra-train-subjects 240 --epochs 8 --lr 5e-4 --warmup-epochs 0.5 --threads 2
    python scripts/train_embedded_checkpoint.py --n-rois 256 --unebolt-levels 256 \
        --extra-train-subjects 60 --epochs 8 --lr 5e-4 --warmup-epochs 0.5 --threads 1
    python scripts/train_embedded_checkpoint.py --n-rois 128 --unebolt-levels 128 \
        --extra-train-subjects 120 --epochs 8 --lr 5e-4 --warmup-epochs 0.5 --threads 1

Each model card records the exact command its files came from. ``--val-metrics-only`` adds the
validation scores to records written before they were kept.

A run interrupted during UnEBOLT training resumes from ``--work-dir``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pretrained_index import file_sha256, write_index, write_json  # noqa: E402

# These long jobs usually run in the background beside other work: there, idle OpenMP threads
# that sleep rather than spin made training 3.6x faster on 2 cores (on an idle machine they cost
# 15-25%; benchmarks/bench_training_speed.py). Set before torch loads; an explicit value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "unebolt_viz" / "resources" / "embedded"


def _model_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: write KEY=VALUE, e.g. embed_dim=100")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def training_dir(work_dir: Path, stem: str, atlas_fingerprint: str,
                 options: dict[str, Any]) -> Path:
    """Where a UnEBOLT training run keeps its checkpoints: a run resumes only one on the same
    atlas and model options, whose fingerprints the folder name carries."""
    name = f"{stem}-{atlas_fingerprint[:12]}"
    if options:
        digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
        name = f"{name}-{digest[:8]}"
    return work_dir / name


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-rois", type=int, nargs="+", default=[64, 128, 256],
                        help="parcellation levels of the embedded atlas (ridge for all)")
    parser.add_argument("--unebolt-levels", type=int, nargs="*", default=[64],
                        help="levels at which a compact UnEBOLT is also trained")
    parser.add_argument("--cohort", default="teaching", help="simulate_cohort preset")
    parser.add_argument("--cohort-seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--extra-train-subjects", type=int, default=0,
                        help="simulated subjects (one scan each) added to the training set only; "
                             "the cohort's own scans, split and test scans are unchanged")
    parser.add_argument("--preset", default="compact", help="model size preset")
    parser.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                        type=_model_option,
                        help="a hyperparameter of UnEBOLT's preset to change, e.g. "
                             "embed_dim=100 (repeatable; the value is read as JSON)")
    parser.add_argument("--seed", type=int, default=0, help="model initialisation seed")
    parser.add_argument("--train-seed", type=int, default=12345, help="batch order / dropout")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup-epochs", type=float, default=None,
                        help="linear warm-up length (default: min(1, epochs / 4))")
    parser.add_argument("--alpha", type=float, default=0.8,
                        help="weight of the MSE term of UnEBOLT's loss (the paper's 0.8)")
    parser.add_argument("--beta", type=float, default=0.1,
                        help="weight of the temporal-correlation term (the paper's 0.1); the "
                             "spatial-correlation term gets 1 - alpha - beta")
    parser.add_argument("--layer-decay", type=float, default=0.65,
                        help="layer-wise learning-rate decay of the LaBraM branch (1: none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--index-only", action="store_true",
                        help="only rebuild the model cards and pretrained.json from the "
                             "training records already in --out")
    parser.add_argument("--val-metrics-only", action="store_true",
                        help="only add the validation metrics to the training records in --out "
                             "that lack them (records written before they were kept)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="training checkpoints, for resuming (default: the unebolt_viz "
                             "cache); not shipped")
    return parser.parse_args(argv)


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _versions() -> dict[str, str]:
    import torch
    import xarray

    import unebolt_viz

    return {"python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "xarray": xarray.__version__,
            "unebolt_viz": unebolt_viz.__version__, "git_commit": _git_commit(),
            "platform": platform.platform()}


def _save_predictions(pred, path: Path) -> None:
    """netCDF with float32, compressed values (the app's files stay small)."""
    from unebolt_viz._utils import atomic_path
    from unebolt_viz.data.containers import validate_predictions

    validate_predictions(pred)
    pred = pred.assign(true=pred["true"].astype(np.float32), pred=pred["pred"].astype(np.float32))
    encoding = {v: {"zlib": True, "complevel": 6} for v in ("true", "pred")}
    with atomic_path(path) as tmp:
        pred.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    path.chmod(0o644)


def _test_summary(pred) -> dict[str, float]:
    from unebolt_viz.metrics import evaluate, summary_table

    table = summary_table(evaluate(pred), formatted=False)
    return {column: float(table.loc["mean", column]) for column in table.columns}


def atlas_fingerprint(atlas) -> str:
    """sha256 of an atlas's ROI names, networks and surface labels (detects a changed atlas)."""
    digest = hashlib.sha256()
    digest.update("|".join(atlas.roi).encode())
    digest.update("|".join(map(str, atlas.network)).encode())
    for hemi in ("left", "right"):
        digest.update(np.ascontiguousarray(atlas.vertex_labels[hemi], dtype=np.int64).tobytes())
    return digest.hexdigest()


def _fit_ridge(train, val, ch_names):
    """Ridge fitted scan by scan; the penalty picked by mean temporal r on validation."""
    from unebolt_viz.conventions import N_TIMES
    from unebolt_viz.training.experiments import RIDGE_ALPHAS, fit_ridge

    model, info = fit_ridge({"label": "ridge", "alphas": RIDGE_ALPHAS}, ch_names, N_TIMES,
                            train, val)
    return model, {"ridge_alpha_val_r": info["val_r_by_alpha"], "alpha": info["alpha"]}


def _warmup(args: argparse.Namespace) -> float:
    return min(1.0, args.epochs / 4) if args.warmup_epochs is None else args.warmup_epochs


def calibrate(model, train) -> dict[str, Any]:
    """Least-squares output scale and offset per ROI on the training scans (see the card)."""
    from unebolt_viz.training import calibrate_roi_heads

    report = calibrate_roi_heads(model, train)
    return {"method": "per-ROI least-squares scale and offset on the training windows, folded "
                      "into the heads (correlations unchanged)",
            "median_scale": float(np.median(report["scale"])), "n_kept": report["n_kept"],
            "median_train_r": float(np.median(report["train_r"]))}


def _record_catalog(out: Path, entry: dict[str, Any]) -> None:
    index = out / "predictions.json"
    catalog = json.loads(index.read_text()) if index.is_file() else {"predictions": []}
    kept = [e for e in catalog["predictions"]
            if not (e["n_rois"] == entry["n_rois"] and e["model"] == entry["model"])]
    kept.append(entry)
    kept.sort(key=lambda e: (e["n_rois"], e["model"] != "UnEBOLT (compact, embedded)",
                             e["model"]))
    catalog["predictions"] = kept
    catalog["note"] = ("Predictions of the embedded simulated cohort's test scans by the "
                       "models in this folder; written by scripts/train_embedded_checkpoint.py.")
    write_json(index, catalog)


def _cohort_and_split(args: argparse.Namespace, atlas):
    """The cohort (extended by ``--extra-train-subjects``), its split, and the extra scans.

    Extra subjects are appended after the cohort's own (sub09, sub10, ... for the teaching
    cohort); every scan draws from its own child stream of the seed, so the cohort's own scans,
    and hence the split and the test scans, are byte-identical with or without them.
    """
    from unebolt_viz.model_selection import subject_split
    from unebolt_viz.simulation import simulate_cohort

    base = simulate_cohort(args.cohort, seed=args.cohort_seed, atlas=atlas)
    split = subject_split(base.design, seed=args.split_seed)
    if args.extra_train_subjects <= 0:
        return base, split, []
    first = len(base.subjects) + 1
    extra = [f"sub{s:02d}-scan01" for s in range(first, first + args.extra_train_subjects)]
    names = tuple(base.scans) + tuple(extra)
    cohort = simulate_cohort(args.cohort, seed=args.cohort_seed, atlas=atlas, scan_names=names,
                             n_subjects=len(base.subjects) + len(extra), n_scans=len(names))
    return cohort, split, extra


def run_level(n_rois: int, args: argparse.Namespace, command: str) -> None:
    import torch

    import unebolt_viz as uv
    from unebolt_viz.models import build_model, load_model, save_model
    from unebolt_viz.training import predict, train_model

    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    # Build the atlas afresh from the code of this checkout: a cached copy may come from an
    # older version of the parcellation.
    with tempfile.TemporaryDirectory() as atlas_dir:
        atlas = uv.load_atlas("embedded", n_rois, data_dir=atlas_dir)
    cohort, split, extra = _cohort_and_split(args, atlas)
    train = cohort.pairs(list(split["train"]) + extra)
    val, test = (cohort.pairs(list(split[k])) for k in ("val", "test"))
    data = {"cohort": repr(cohort), "preset": args.cohort, "cohort_seed": args.cohort_seed,
            "atlas": f"embedded{n_rois}", "atlas_fingerprint": atlas_fingerprint(atlas),
            "data_source": "simulated",
            "split": {"method": "subject_split 3:1:1", "seed": args.split_seed,
                      **split.as_dict()},
            "extra_train_scans": extra,
            "windows": {k: int(sum(p.n_windows for p in v))
                        for k, v in (("train", train), ("val", val), ("test", test))}}
    base_attrs = {"atlas": f"embedded{n_rois}", "experiment": "embedded simulated cohort",
                  "split": "test"}

    jobs = ["ridge"] + (["unebolt"] if n_rois in args.unebolt_levels else [])
    for job in jobs:
        started = time.time()
        stem = f"{job}_p{n_rois}"
        if job == "ridge":
            model, training = _fit_ridge(train, val, cohort.ch_names)
            label = "Ridge baseline (band powers)"
        else:
            options = dict(args.model_option)
            model = build_model("unebolt", n_outputs=n_rois, preset=args.preset, seed=args.seed,
                                **options)
            run_dir = training_dir(args.work_dir, stem, data["atlas_fingerprint"], options)
            result = train_model(
                model, train, val, out_dir=run_dir, epochs=args.epochs,
                batch_size=args.batch_size, lr=args.lr, seed=args.train_seed, device="cpu",
                select_on="val_r", warmup_epochs=_warmup(args), alpha=args.alpha,
                beta=args.beta, layer_decay=args.layer_decay, progress=True)
            label = "UnEBOLT (compact, embedded)"
            training = {"config": {"epochs": args.epochs, "batch_size": args.batch_size,
                                   "lr": args.lr, "seed": args.train_seed,
                                   "select_on": "val_r", "preset": args.preset,
                                   "model_options": dict(args.model_option),
                                   "init_seed": args.seed, "warmup_epochs": _warmup(args),
                                   "layer_decay": args.layer_decay,
                                   "loss_weights": {"mse": args.alpha, "tcorr": args.beta,
                                                    "scorr": 1 - args.alpha - args.beta}},
                        "best_epoch": result.best_epoch, "best_val_r": result.best_score,
                        "history": result.history.to_dict(orient="records"),
                        "calibration": calibrate(model, train)}
        weights, config = save_model(model, out / stem)
        for path in (weights, config):
            path.chmod(0o644)
        shipped = load_model(out / stem)  # predictions come from the file as shipped
        pred = predict(shipped, test, model_name=label,
                       attrs={**base_attrs, "checkpoint": weights.name})
        pred_path = out / f"predictions_{stem}.nc"
        _save_predictions(pred, pred_path)
        record = {
            "what": f"{label} trained on the embedded simulated cohort ({n_rois} ROIs). "
                    "Simulated data: not the paper's recordings or results.",
            "command": command, "data": data, "training": training,
            "test_metrics_mean": _test_summary(pred),
            # the scores any choice between training recipes was made on (never the test's)
            "val_metrics_mean": _test_summary(predict(shipped, val)),
            "files": {p.name: file_sha256(p) for p in (weights, config, pred_path)},
            "versions": _versions(), "seconds": round(time.time() - started, 1),
        }
        write_json(out / f"{stem}.training.json", record)
        _record_catalog(out, {"n_rois": n_rois, "model": label, "file": pred_path.name,
                              "checkpoint": weights.name})
        print(f"{stem}: test {record['test_metrics_mean']} ({record['seconds']} s)", flush=True)


def add_val_metrics(args: argparse.Namespace) -> None:
    """Add ``val_metrics_mean`` to the simulated-cohort records in ``--out`` that lack it.

    The validation scans are rebuilt from the record's cohort preset and seeds (the cohort's own
    scans do not depend on ``--extra-train-subjects``) and the atlas is checked against the
    record's fingerprint; the shipped file is reloaded and predicts them.
    """
    import unebolt_viz as uv
    from unebolt_viz.models import load_model
    from unebolt_viz.training import predict

    for path in sorted(args.out.glob("*.training.json")):
        record = json.loads(path.read_text())
        data = record["data"]
        if data["data_source"] != "simulated" or "val_metrics_mean" in record:
            continue
        n_rois = int(data["atlas"].removeprefix("embedded"))
        with tempfile.TemporaryDirectory() as atlas_dir:
            atlas = uv.load_atlas("embedded", n_rois, data_dir=atlas_dir)
        if atlas_fingerprint(atlas) != data["atlas_fingerprint"]:
            raise SystemExit(f"{path}: the embedded atlas of this checkout differs from the "
                             "one the model was trained on; retrain it instead.")
        level = argparse.Namespace(**{**vars(args), "cohort": data["preset"],
                                      "cohort_seed": data["cohort_seed"],
                                      "split_seed": data["split"]["seed"],
                                      "extra_train_subjects": 0})
        cohort, split, _ = _cohort_and_split(level, atlas)
        model = load_model(args.out / path.name.removesuffix(".training.json"))
        record["val_metrics_mean"] = _test_summary(predict(model, cohort.pairs(list(split["val"]))))
        write_json(path, record)
        print(f"{path.name}: validation {record['val_metrics_mean']}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.index_only or args.val_metrics_only:
        if args.val_metrics_only:
            add_val_metrics(args)
        write_index(args.out)
        return
    if args.work_dir is None:
        from unebolt_viz._utils.cache import cache_dir

        args.work_dir = cache_dir("embedded_training")
    command = "python scripts/train_embedded_checkpoint.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    for n_rois in args.n_rois:
        run_level(n_rois, args, command)
    write_index(args.out)


if __name__ == "__main__":
    main()
