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

Reproduce the shipped files with (about an hour on two busy CPU cores)::

    python scripts/train_embedded_checkpoint.py --n-rois 64 128 256 --unebolt-levels 64

A run interrupted during UnEBOLT training resumes from ``--work-dir``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "unebolt_viz" / "resources" / "embedded"
RIDGE_ALPHAS = (1.0, 10.0, 100.0, 1000.0)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-rois", type=int, nargs="+", default=[64, 128, 256],
                        help="parcellation levels of the embedded atlas (ridge for all)")
    parser.add_argument("--unebolt-levels", type=int, nargs="*", default=[64],
                        help="levels at which a compact UnEBOLT is also trained")
    parser.add_argument("--cohort", default="teaching", help="simulate_cohort preset")
    parser.add_argument("--cohort-seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--preset", default="compact", help="model size preset")
    parser.add_argument("--seed", type=int, default=0, help="model initialisation seed")
    parser.add_argument("--train-seed", type=int, default=12345, help="batch order / dropout")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--index-only", action="store_true",
                        help="only rebuild the model cards and pretrained.json from the "
                             "training records already in --out")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="training checkpoints, for resuming (default: the unebolt_viz "
                             "cache); not shipped")
    return parser.parse_args(argv)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    from unebolt_viz._utils import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    path.chmod(0o644)


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
    """Ridge on the training scans; the penalty picked by mean temporal r on validation."""
    from unebolt_viz.metrics import temporal_r
    from unebolt_viz.models.ridge import RidgeBaseline
    from unebolt_viz.training import predict, record_training_rois

    windows = np.concatenate([p.windows.sel(channel=list(ch_names)).values for p in train])
    targets = np.concatenate([p.bold.values for p in train])
    scores = {}
    for alpha in RIDGE_ALPHAS:
        model = RidgeBaseline(alpha=alpha, ch_names=ch_names).fit(windows, targets)
        scores[alpha] = float(temporal_r(predict(model, val)).mean())
    best = max(scores, key=scores.get)
    model = RidgeBaseline(alpha=best, ch_names=ch_names).fit(windows, targets)
    record_training_rois(model, train)
    return model, scores


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
    _write_json(index, catalog)


def run_level(n_rois: int, args: argparse.Namespace, command: str) -> None:
    import torch

    import unebolt_viz as uv
    from unebolt_viz.model_selection import subject_split
    from unebolt_viz.models import build_model, load_model, save_model
    from unebolt_viz.simulation import simulate_cohort
    from unebolt_viz.training import predict, train_model

    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    # Build the atlas afresh from the code of this checkout: a cached copy may come from an
    # older version of the parcellation.
    with tempfile.TemporaryDirectory() as atlas_dir:
        atlas = uv.load_atlas("embedded", n_rois, data_dir=atlas_dir)
    cohort = simulate_cohort(args.cohort, seed=args.cohort_seed, atlas=atlas)
    split = subject_split(cohort.design, seed=args.split_seed)
    train, val, test = (cohort.pairs(list(split[k])) for k in ("train", "val", "test"))
    data = {"cohort": repr(cohort), "preset": args.cohort, "cohort_seed": args.cohort_seed,
            "atlas": f"embedded{n_rois}", "atlas_fingerprint": atlas_fingerprint(atlas),
            "data_source": "simulated",
            "split": {"method": "subject_split 3:1:1", "seed": args.split_seed,
                      **split.as_dict()},
            "windows": {k: int(sum(p.n_windows for p in v))
                        for k, v in (("train", train), ("val", val), ("test", test))}}
    base_attrs = {"atlas": f"embedded{n_rois}", "experiment": "embedded simulated cohort",
                  "split": "test"}

    jobs = ["ridge"] + (["unebolt"] if n_rois in args.unebolt_levels else [])
    for job in jobs:
        started = time.time()
        stem = f"{job}_p{n_rois}"
        if job == "ridge":
            model, scores = _fit_ridge(train, val, cohort.ch_names)
            label = "Ridge baseline (band powers)"
            training = {"ridge_alpha_val_r": scores, "alpha": model.alpha}
        else:
            model = build_model("unebolt", n_outputs=n_rois, preset=args.preset, seed=args.seed)
            # Resume only a run on the same atlas (the folder name carries its fingerprint).
            run_dir = args.work_dir / f"{stem}-{data['atlas_fingerprint'][:12]}"
            result = train_model(
                model, train, val, out_dir=run_dir, epochs=args.epochs,
                batch_size=args.batch_size, lr=args.lr, seed=args.train_seed, device="cpu",
                select_on="val_r", warmup_epochs=min(1.0, args.epochs / 4), progress=True)
            label = "UnEBOLT (compact, embedded)"
            training = {"config": {"epochs": args.epochs, "batch_size": args.batch_size,
                                   "lr": args.lr, "seed": args.train_seed,
                                   "select_on": "val_r", "preset": args.preset,
                                   "init_seed": args.seed},
                        "best_epoch": result.best_epoch, "best_val_r": result.best_score,
                        "history": result.history.to_dict(orient="records")}
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
            "files": {p.name: _sha256(p) for p in (weights, config, pred_path)},
            "versions": _versions(), "seconds": round(time.time() - started, 1),
        }
        _write_json(out / f"{stem}.training.json", record)
        _record_catalog(out, {"n_rois": n_rois, "model": label, "file": pred_path.name,
                              "checkpoint": weights.name})
        print(f"{stem}: test {record['test_metrics_mean']} ({record['seconds']} s)", flush=True)


METRICS = ("Tcorr", "Pixcorr", "ConnMSE", "F1-0.25", "F1-0.50")


def _card(name: str, stem: str, record: dict[str, Any], config: dict[str, Any],
          ridge_metrics: dict[str, float] | None) -> str:
    """A short markdown model card from a training record."""
    data, metrics = record["data"], record["test_metrics_mean"]
    split = data["split"]
    training = record["training"]
    if "config" in training:
        c = training["config"]
        how = (f"{c['epochs']} epochs, batch {c['batch_size']}, lr {c['lr']:g}, training seed "
               f"{c['seed']}, selected on {c['select_on']} (best epoch {training['best_epoch']})")
    else:
        how = f"closed form, penalty alpha={training['alpha']:g} chosen on validation r"
    lines = [
        f"# {name}", "",
        f"{record['what']}", "",
        f"**Data source: {data['data_source']}.** These numbers come from {data['data_source']} "
        "data and are not the results of the UnEBOLT paper (Li et al., MIDL 2026).", "",
        "| | |", "| --- | --- |",
        f"| model | {config.get('name', 'ridge')} (preset {config.get('preset', '-')}) |",
        f"| atlas | {data['atlas']} ({config.get('n_outputs', config.get('n_rois', '?'))} ROIs) |",
        f"| training data | {data['cohort'].strip('<>')} |",
        f"| split | {split['method']}, seed {split['seed']}: train {', '.join(split['train'])}; "
        f"validation {', '.join(split['val'])}; test {', '.join(split['test'])} |",
        f"| training | {how} |",
        f"| command | `{record['command']}` |", "",
        f"## Test metrics (mean over the {len(split['test'])} unseen test scans, "
        f"{data['data_source']} data)", "",
        "| " + " | ".join(METRICS) + " |", "|" + " --- |" * len(METRICS),
        "| " + " | ".join(f"{metrics[m]:.3f}" for m in METRICS) + " |",
    ]
    if ridge_metrics is not None and name.startswith("unebolt"):
        gap = metrics["Tcorr"] - ridge_metrics["Tcorr"]
        verdict = ("matches or beats" if gap >= -0.02 else "falls short of")
        lines += ["", f"On these test scans it {verdict} the ridge baseline of the same atlas "
                      f"(ridge Tcorr {ridge_metrics['Tcorr']:.3f}, Pixcorr "
                      f"{ridge_metrics['Pixcorr']:.3f})."]
    return "\n".join(lines) + "\n"


def write_index(out: Path) -> list[dict[str, Any]]:
    """Model cards and ``pretrained.json`` for every training record in ``out``."""
    records = {p.name.removesuffix(".training.json"): json.loads(p.read_text())
               for p in sorted(out.glob("*.training.json"))}
    entries = []
    for stem, record in records.items():
        architecture, level = stem.rsplit("_p", 1)
        name = f"{architecture}-embedded-p{level}"
        config = json.loads((out / f"{stem}.json").read_text())["config"]
        ridge = records.get(f"ridge_p{level}")
        card = out / f"{stem}.card.md"
        card.write_text(_card(name, stem, record, config,
                              ridge["test_metrics_mean"] if ridge else None))
        card.chmod(0o644)
        data = record["data"]
        files = [f"{stem}.safetensors", f"{stem}.json"]
        entries.append({
            "name": name, "model": record["what"].split(" trained on")[0],
            "architecture": architecture, "preset": config.get("preset"),
            "atlas": "embedded", "n_rois": int(level), "data_source": data["data_source"],
            "training_data": data["cohort"], "split": data["split"],
            "seeds": {k: v for k, v in (("cohort", data.get("cohort_seed")),
                                        ("split", data["split"].get("seed")),
                                        ("init", config.get("seed")),
                                        ("training", record["training"].get("config", {})
                                         .get("seed"))) if v is not None},
            "command": record["command"], "test_metrics": record["test_metrics_mean"],
            "weights": f"{stem}.safetensors", "card": card.name,
            "files": {f: _sha256(out / f) for f in files},
        })
    entries.sort(key=lambda e: (e["n_rois"], e["architecture"] != "unebolt"))
    _write_json(out / "pretrained.json", {
        "note": "Models shipped with unebolt_viz, made by scripts/train_embedded_checkpoint.py "
                "(simulated data unless a model says otherwise).",
        "models": entries})
    return entries


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.index_only:
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
