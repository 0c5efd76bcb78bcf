"""Model cards and the ``pretrained.json`` index of the models shipped with unebolt_viz.

Shared by ``scripts/train_embedded_checkpoint.py`` and ``scripts/train_semisynthetic.py``: each
writes one ``{model}_p{P}.training.json`` record per model (command, data, split, training,
metrics, sha256 of every file), and :func:`write_index` turns every record of a folder into a
model card and one index entry (what :func:`unebolt_viz.pretrained` lists).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The package's own checksum, the one load_pretrained verifies against (re-exported here).
from unebolt_viz.models._files import file_sha256

__all__ = ["file_sha256", "write_json", "write_index"]


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` as indented JSON, atomically, readable by all."""
    from unebolt_viz._utils import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    path.chmod(0o644)


METRICS = ("Tcorr", "Pixcorr", "ConnMSE", "F1-0.25", "F1-0.50")


def _evaluation(record: dict[str, Any]) -> tuple[str, dict[str, float]]:
    """Which split a record's metrics are on (``test`` or ``val``), and the metrics."""
    split = record.get("evaluated_on", "test")
    return split, record[f"{split}_metrics_mean"]


def _record_name(stem: str, record: dict[str, Any]) -> tuple[str, str, int]:
    """Registry name, atlas family and ROI count of a training record."""
    if "name" in record:
        atlas = record["data"]["atlas"]
        family = atlas.rstrip("0123456789")
        return record["name"], family, int(atlas[len(family):])
    architecture, level = stem.rsplit("_p", 1)
    return f"{architecture}-embedded-p{level}", "embedded", int(level)


_DATASET_CREDIT = (
    "The real BOLD is from the NeuroBOLT / UnEBOLT resting-state dataset (CC-BY-4.0) of Li et "
    "al., \"NeuroBOLT: Resting-state EEG-to-fMRI Synthesis with Multi-dimensional Feature "
    "Mapping\" (NeurIPS 2024).")


def _versus_ridge(metrics: dict[str, float], ridge: dict[str, float]) -> str:
    """One sentence comparing UnEBOLT with the ridge baseline of the same data, metric by metric
    (Tcorr within 0.02 of ridge's counts as matching; Pixcorr must reach ridge's)."""
    gap = metrics["Tcorr"] - ridge["Tcorr"]
    tcorr = ("beats" if gap > 0 else "is within 0.02 of" if gap >= -0.02 else "falls short of")
    pix = "reaches" if metrics["Pixcorr"] >= ridge["Pixcorr"] else "falls short of"
    return (f"On these scans its temporal correlation {tcorr} that of the ridge baseline of the "
            f"same atlas and data (ridge Tcorr {ridge['Tcorr']:.3f}), and its FC similarity {pix} "
            f"ridge's (ridge Pixcorr {ridge['Pixcorr']:.3f}).")


def _card(name: str, record: dict[str, Any], config: dict[str, Any],
          ridge_metrics: dict[str, float] | None) -> str:
    """A short markdown model card from a training record."""
    data = record["data"]
    evaluated_on, metrics = _evaluation(record)
    split = data["split"]
    training = record["training"]
    if "config" in training:
        c = training["config"]
        how = (f"{c['epochs']} epochs, batch {c['batch_size']}, lr {c['lr']:g}, training seed "
               f"{c['seed']}, selected on {c['select_on']} (best epoch {training['best_epoch']})")
        if "loss_weights" in c:
            w = c["loss_weights"]
            how += (f"; loss weights MSE {w['mse']:g}, temporal correlation {w['tcorr']:g}, "
                    f"spatial correlation {w['scorr']:g} (the paper's: 0.8, 0.1, 0.1)")
        if "calibration" in training:
            how += ("; then each ROI's output scale and offset refitted by least squares on the "
                    "training windows (median scale "
                    f"{training['calibration']['median_scale']:.1f}; correlations unchanged)")
    else:
        how = f"closed form, penalty alpha={training['alpha']:g} chosen on validation r"
    extra = data.get("extra_train_scans") or []
    train_scans = ", ".join(split["train"]) + (
        f" and {len(extra)} extra simulated subjects ({extra[0]} to {extra[-1]})" if extra else "")
    source = data["data_source"]
    where = {"test": "unseen test scans", "val": "validation scans (used to select the model)"}
    n_eval = len(split[evaluated_on])
    lines = [
        f"# {name}", "",
        f"{record['what']}", "",
        f"**Data source: {source}.** These numbers come from {source} data and are not the "
        "results of the UnEBOLT paper (Li et al., MIDL 2026).", "",
    ]
    if source == "semi-synthetic":
        lines += [_DATASET_CREDIT, ""]
    lines += [
        "| | |", "| --- | --- |",
        f"| model | {config.get('name', 'ridge')} (preset {config.get('preset', '-')}) |",
        f"| atlas | {data['atlas']} ({config.get('n_outputs', config.get('n_rois', '?'))} ROIs) |",
        f"| training data | {data['cohort'].strip('<>')} |",
        f"| split | {split['method']}: train {train_scans}; validation "
        f"{', '.join(split['val'])}; test {', '.join(split['test'])} |",
        f"| training | {how} |",
        f"| command | `{record['command']}` |", "",
        f"## {'Test' if evaluated_on == 'test' else 'Validation'} metrics (mean over the "
        f"{n_eval} {where[evaluated_on]}, {source} data)", "",
        "| " + " | ".join(METRICS) + " |", "|" + " --- |" * len(METRICS),
        "| " + " | ".join(f"{metrics[m]:.3f}" for m in METRICS) + " |",
    ]
    if ridge_metrics is not None and name.startswith("unebolt"):
        lines += ["", _versus_ridge(metrics, ridge_metrics)]
    if evaluated_on == "test" and "val_metrics_mean" in record:
        val = record["val_metrics_mean"]
        lines += ["", "On the validation scans (the only scores any choice was made on): "
                  + ", ".join(f"{m} {val[m]:.3f}" for m in METRICS) + "."]
    return "\n".join(lines) + "\n"


def _index_entry(stem: str, record: dict[str, Any], out: Path,
                 records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    name, family, n_rois = _record_name(stem, record)
    architecture = stem.split("_", 1)[0]
    config = json.loads((out / f"{stem}.json").read_text())["config"]
    ridge_stem = "ridge" + stem[len(architecture):]
    ridge = records.get(ridge_stem) if architecture != "ridge" else None
    card = out / f"{stem}.card.md"
    card.write_text(_card(name, record, config, _evaluation(ridge)[1] if ridge else None))
    card.chmod(0o644)
    data = record["data"]
    evaluated_on, metrics = _evaluation(record)
    predictions = next((f for f in record["files"] if f.startswith("predictions_")), None)
    files = [f"{stem}.safetensors", f"{stem}.json"] + ([predictions] if predictions else [])
    # ``train`` lists every scan trained on; ``extra_train``, those added outside the split.
    extra = data.get("extra_train_scans") or []
    split = {**data["split"], "train": [*data["split"]["train"], *extra], "extra_train": extra}
    seeds = (("cohort", data.get("cohort_seed")), ("split", data["split"].get("seed")),
             ("init", config.get("seed")),
             ("training", record["training"].get("config", {}).get("seed")))
    return {
        "name": name, "model": record["what"].split(" trained on")[0],
        "architecture": architecture, "preset": config.get("preset"),
        "atlas": family, "n_rois": n_rois, "data_source": data["data_source"],
        "training_data": data["cohort"], "split": split,
        "seeds": {k: v for k, v in seeds if v is not None},
        "command": record["command"], "evaluated_on": evaluated_on,
        f"{evaluated_on}_metrics": metrics,
        "predictions": predictions,
        "weights": f"{stem}.safetensors", "card": card.name,
        "files": {f: file_sha256(out / f) for f in files},
    }


def write_index(out: Path) -> list[dict[str, Any]]:
    """Model cards and ``pretrained.json`` for every training record in ``out``."""
    records = {p.name.removesuffix(".training.json"): json.loads(p.read_text())
               for p in sorted(out.glob("*.training.json"))}
    entries = [_index_entry(stem, record, out, records) for stem, record in records.items()]
    entries.sort(key=lambda e: (e["data_source"] != "simulated", e["n_rois"],
                                e["architecture"] != "unebolt"))
    write_json(out / "pretrained.json", {
        "note": "Models shipped with unebolt_viz, made by scripts/train_embedded_checkpoint.py "
                "and scripts/train_semisynthetic.py (each entry says its data source).",
        "models": entries})
    return entries
