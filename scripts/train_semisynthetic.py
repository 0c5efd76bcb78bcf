"""Train the semi-synthetic DiFuMo-64 models shipped with unebolt_viz.

Semi-synthetic data: the BOLD is the real resting-state DiFuMo-64 ROI time series of the
NeuroBOLT / UnEBOLT dataset (CC-BY-4.0; Li et al., "NeuroBOLT: Resting-state EEG-to-fMRI
Synthesis with Multi-dimensional Feature Mapping", NeurIPS 2024); the EEG is simulated from it
(:func:`unebolt_viz.simulation.semi_synthetic_cohort`). The split is the paper's cross-subject
table: the models train on its 18 training scans and are selected on its 5 validation scans.
The paper's 6 test scans are not in the shared data folder and nothing here looks at them.

What it writes into ``unebolt_viz/resources/embedded/`` (or ``--out``):

* ``{unebolt,ridge}_difumo64_semisynthetic.safetensors`` + ``.json``: the models;
* ``predictions_{stem}.nc``: their predictions of the 5 validation scans, **without** the true
  BOLD (that is the real recording, which is not redistributed with the package: the app and
  the tests read it from the data folder and pair it with these predictions by scan and ROI);
* ``{stem}.training.json``: command, seeds, data, split, training history, validation metrics,
  versions and the sha256 of every file; the model cards and ``pretrained.json`` are rebuilt
  by ``scripts/train_embedded_checkpoint.py --index-only``.

Usage (the data folder holds ``neurobolt_rest_difumo64/`` and ``difumo_labels/``)::

    python scripts/train_semisynthetic.py --data-dir ../shared/data --epochs 4

A run interrupted during UnEBOLT training resumes from ``--work-dir``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_embedded_checkpoint as shipping  # noqa: E402
from pretrained_index import file_sha256, write_index, write_json  # noqa: E402

ATLAS = "difumo64"


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="folder with neurobolt_rest_difumo64/ and difumo_labels/")
    parser.add_argument("--seed", type=int, default=0, help="EEG synthesis seed")
    parser.add_argument("--init-seed", type=int, default=0, help="model initialisation seed")
    parser.add_argument("--train-seed", type=int, default=12345, help="batch order / dropout")
    parser.add_argument("--preset", default="compact")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-unebolt", action="store_true", help="fit ridge only")
    parser.add_argument("--out", type=Path, default=shipping.DEFAULT_OUT)
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="cohort cache and training checkpoints (for resuming); not shipped")
    return parser.parse_args(argv)


def _cohort(args: argparse.Namespace):
    """The semi-synthetic cohort of the paper's training and validation scans, and its split."""
    from unebolt_viz.datasets.neurobolt import (
        load_neurobolt_rest,
        read_neurobolt_split,
        shared_data_dir,
    )
    from unebolt_viz.simulation import semi_synthetic_cohort

    root = args.data_dir if args.data_dir is not None else shared_data_dir()
    if root is None:
        raise SystemExit("No data folder: pass --data-dir (it holds neurobolt_rest_difumo64/).")
    table = read_neurobolt_split(root / "neurobolt_rest_difumo64" / "split_cross_subject.csv")
    split = {k: sorted(table.loc[table["split"] == k, "scan"]) for k in ("train", "val", "test")}
    # Only the training and validation scans are read, even where the test scans are present.
    bold = load_neurobolt_rest(root, scans=split["train"] + split["val"])
    cohort = semi_synthetic_cohort({s: bold[s] for s in split["train"] + split["val"]},
                                   seed=args.seed, cache_dir=args.work_dir / "cohort")
    return cohort, split


def _train_unebolt(train, val, args: argparse.Namespace):
    from unebolt_viz.models import build_model
    from unebolt_viz.training import train_model

    model = build_model("unebolt", n_outputs=len(train[0].bold.roi), preset=args.preset,
                        seed=args.init_seed)
    result = train_model(
        model, train, val, out_dir=args.work_dir / "unebolt_difumo64_semisynthetic",
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.train_seed,
        device="cpu", select_on="val_r", warmup_epochs=min(1.0, args.epochs / 4), progress=True)
    training = {"config": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                           "seed": args.train_seed, "select_on": "val_r",
                           "preset": args.preset, "init_seed": args.init_seed},
                "best_epoch": result.best_epoch, "best_val_r": result.best_score,
                "history": result.history.to_dict(orient="records"),
                "calibration": shipping.calibrate(model, train)}
    return model, training


def save_pred_only(pred, path: Path) -> None:
    """The predictions alone (float32, compressed): the true BOLD is the real recording."""
    from unebolt_viz._utils import atomic_path

    out = pred.drop_vars("true").assign(pred=pred["pred"].astype(np.float32))
    out.attrs["true_bold"] = ("not included: the real DiFuMo-64 BOLD of the NeuroBOLT dataset, "
                              "paired with these predictions by scan and ROI when present")
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine="h5netcdf", encoding={"pred": {"zlib": True, "complevel": 6}})
    path.chmod(0o644)


def run(args: argparse.Namespace, command: str) -> None:
    import torch

    from unebolt_viz.models import load_model, save_model
    from unebolt_viz.training import predict

    torch.set_num_threads(args.threads)
    cohort, split = _cohort(args)
    train, val = cohort.pairs(split["train"]), cohort.pairs(split["val"])
    data = {"cohort": repr(cohort), "preset": "semi-synthetic", "cohort_seed": args.seed,
            "atlas": ATLAS, "data_source": "semi-synthetic",
            "bold": "real DiFuMo-64 resting-state BOLD of the NeuroBOLT dataset (CC-BY-4.0)",
            "split": {"method": "the paper's cross-subject table (18/5/6)", "seed": None,
                      "train": split["train"], "val": split["val"], "test": split["test"]},
            "windows": {k: int(sum(p.n_windows for p in v))
                        for k, v in (("train", train), ("val", val))}}
    jobs = ["ridge"] + ([] if args.skip_unebolt else ["unebolt"])
    for job in jobs:
        started = time.time()
        stem = f"{job}_difumo64_semisynthetic"
        if job == "ridge":
            model, training = shipping._fit_ridge(train, val, cohort.ch_names)
            label = "Ridge baseline (band powers, semi-synthetic)"
        else:
            model, training = _train_unebolt(train, val, args)
            label = "UnEBOLT (compact, semi-synthetic DiFuMo-64)"
        weights, config = save_model(model, args.out / stem)
        for path in (weights, config):
            path.chmod(0o644)
        pred = predict(load_model(args.out / stem), val, model_name=label,
                       attrs={"atlas": ATLAS, "experiment": "semi-synthetic DiFuMo-64",
                              "split": "val", "checkpoint": weights.name})
        pred_path = args.out / f"predictions_{stem}.nc"
        save_pred_only(pred, pred_path)
        record = _record(stem, label, command, data, training, pred, started,
                         [weights, config, pred_path])
        write_json(args.out / f"{stem}.training.json", record)
        print(f"{stem}: validation {record['val_metrics_mean']} ({record['seconds']} s)",
              flush=True)


def _record(stem: str, label: str, command: str, data: dict[str, Any], training: dict[str, Any],
            pred, started: float, files: list[Path]) -> dict[str, Any]:
    return {
        "name": stem.replace("_", "-"),
        "what": f"{label} trained on semi-synthetic data (real DiFuMo-64 BOLD, simulated EEG). "
                "Not the paper's recordings or results.",
        "command": command, "data": data, "training": training,
        "evaluated_on": "val",
        "val_metrics_mean": shipping._test_summary(pred),
        "files": {p.name: file_sha256(p) for p in files},
        "versions": shipping._versions(), "seconds": round(time.time() - started, 1),
    }


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.work_dir is None:
        from unebolt_viz._utils.cache import cache_dir

        args.work_dir = cache_dir("semisynthetic_training")
    given = list(sys.argv[1:] if argv is None else argv)
    # The data folder is machine-specific: record where it must point, not this machine's path.
    for i, arg in enumerate(given[:-1]):
        if arg == "--data-dir":
            given[i + 1] = "DATA_DIR"
    command = "python scripts/train_semisynthetic.py " + " ".join(given)
    args.out.mkdir(parents=True, exist_ok=True)
    run(args, command)
    write_index(args.out)
    print(json.dumps({"index": str(args.out / "pretrained.json")}))


if __name__ == "__main__":
    main()
