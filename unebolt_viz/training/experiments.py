"""Config-driven runner for the paper's experiments, writing results that apps and tutorials read.

An experiment is a dict (or a YAML file) with these keys::

    name: unseen_subject_p64          # folder name under out_dir
    out_dir: results                  # results go to <out_dir>/<name>/
    protocol: cross_subject           # or "intrascan"
    data:                             # where the ScanPairs come from
      source: simulated               # "simulated" (the embedded cohort) or "bids"
      preset: teaching                # simulated: tiny / teaching / paper; any simulator
      seed: 0                         #   parameter may be added (n_volumes, coupling, ...)
      n_rois: 64                      # simulated: embedded atlas size (P = 64 / 128 / 256)
      condition: rest                 # simulated: rest or task
      # bids: path, task, highpass, atlas_rois (ROI table), bold_entities
    split:                            # cross_subject: which scans train / val / test
      kind: subject                   # "subject" (ratios, seed), "table" (path),
      ratios: [3, 1, 1]               #   "kfold" (n_splits, fold, seed), "loso" (subject)
      seed: 0
    # intrascan instead: split: {ratios: [0.8, 0.1, 0.1], gap_seconds: 20, per_scan: true,
    #                            scans: [...]}  (per_scan: one model per scan, as in the paper)
    channels: null                    # null (the data's, in the paper's order when possible),
                                      #   "shared23" or an explicit list
    train: {epochs: 20, batch_size: 64}   # TrainConfig fields shared by the torch models
    models:
      - {label: UnEBOLT, name: unebolt, preset: compact}
      - {label: NeuroBOLT (unified), name: neurobolt_unified, preset: compact}
      - {label: w/o GAF, name: unebolt, preset: compact, overrides: {use_gaf: false}}
      - {label: only MSE, name: unebolt, preset: compact, train: {loss: mse_only}}
      - {label: Ridge, name: ridge, alphas: [10, 100, 1000]}
      - {label: Zero-shot, name: unebolt, init_from: results/pretrain/models/UnEBOLT,
         fit: false}
    densities: [0.25, 0.5]

For every model the runner trains (or loads, ``init_from``; ``fit: false`` evaluates it as it
is), predicts the test scans and computes the metrics. Under ``<out_dir>/<name>/`` it writes:

``config.json`` (the resolved config), ``split.csv`` (scan, subject, split),
``models/<label>.safetensors`` + ``.json`` (the selected weights), ``runs/<label>/`` (the
trainer's checkpoints and ``log.csv``), ``predictions/<label>.nc`` (predictions Datasets),
``metrics/<label>.nc`` (:func:`unebolt_viz.metrics.evaluate`), ``metrics.nc`` (all models
along a ``model`` dimension), ``summary.csv`` (one Mean(std) row per model, like Table 1),
``noise_ceiling.nc`` (simulated data: the best achievable r of each ROI) and ``results.json``.
Every file says whether the data are simulated, semi-synthetic or real. A model whose
metrics file already exists is not run again, and an interrupted training resumes from its
checkpoint: re-running a config continues where it stopped.

:func:`paper_experiments` returns ready configs for the paper's experiments (intrascan, unseen
subject, P = 64/128/256, Table 1 models and ablations, Table 2 transfer) at any cohort size.
"""

from __future__ import annotations

import copy
import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..conventions import PAPER_CHANNELS, canonical_channel_name
from ..data.containers import InvalidDataError
from .._utils import atomic_path
from ..data.netcdf import load, save

__all__ = [
    "SHARED_23_CHANNELS",
    "ExperimentConfig",
    "load_experiment_config",
    "load_pairs",
    "resolve_split",
    "run_experiment",
    "paper_experiments",
    "resolve_channels",
    "fit_ridge",
    "TABLE1_ABLATIONS",
]

#: The channels the resting cap shares with the task cap of the paper's transfer experiment as
#: simulated (the 26 paper channels without FPZ, FT9, FT10), in the paper's order. With real
#: task data, list the channels both caps have instead.
SHARED_23_CHANNELS: tuple[str, ...] = tuple(c for c in PAPER_CHANNELS if c not in ("FPZ", "FT9", "FT10"))

#: Table 1's ablations of UnEBOLT: label -> model overrides or loss variant.
TABLE1_ABLATIONS: dict[str, dict[str, Any]] = {
    "w/o ROI-specific head": {"overrides": {"use_roi_specific_head": False}},
    "w/o ROI embedder": {"overrides": {"use_roi_embedder": False}},
    "w/o LROI-LUT": {"overrides": {"use_roi_lut": False}},
    "w/o GAF": {"overrides": {"use_gaf": False}},
    "only MSE loss": {"train": {"loss": "mse_only"}},
    "w/o MSE loss": {"train": {"loss": "no_mse"}},
    "w/o scorr loss": {"train": {"loss": "no_scorr"}},
    "w/o tcorr loss": {"train": {"loss": "no_tcorr"}},
}

_TOP_KEYS = {"name", "out_dir", "protocol", "data", "split", "channels", "train", "models",
             "densities", "description"}
_MODEL_KEYS = {"label", "name", "preset", "overrides", "train", "init_from", "fit", "alpha",
               "alphas", "seed"}


class ExperimentConfig(dict):
    """A validated experiment config (a dict; see the module docstring for its keys)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(copy.deepcopy(dict(values)))
        unknown = sorted(set(self) - _TOP_KEYS)
        if unknown:
            raise ValueError(f"Unknown experiment keys {unknown}; valid: {sorted(_TOP_KEYS)}.")
        for key in ("name", "data", "models"):
            if key not in self:
                raise ValueError(f"The experiment config needs {key!r} (see unebolt_viz.training.experiments).")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", str(self["name"])):
            raise ValueError(f"name={self['name']!r}: use letters, digits, '_', '-', '.' (a folder name).")
        self.setdefault("out_dir", "results")
        self.setdefault("protocol", "cross_subject")
        if self["protocol"] not in ("cross_subject", "intrascan"):
            raise ValueError(f"protocol={self['protocol']!r}; use 'cross_subject' or 'intrascan'.")
        self.setdefault("split", {"kind": "subject"} if self["protocol"] == "cross_subject" else {})
        self.setdefault("channels", None)
        self.setdefault("train", {})
        self.setdefault("densities", [0.25, 0.5])
        if not self["models"]:
            raise ValueError("The experiment lists no models.")
        labels = []
        for model in self["models"]:
            bad = sorted(set(model) - _MODEL_KEYS)
            if bad:
                raise ValueError(f"Model entry {model}: unknown keys {bad}; valid: {sorted(_MODEL_KEYS)}.")
            if "name" not in model:
                raise ValueError(f"Model entry {model} needs a 'name' (unebolt, neurobolt_unified, ..., ridge).")
            model.setdefault("label", model["name"])
            labels.append(model["label"])
        dupes = sorted({v for v in labels if labels.count(v) > 1})
        if dupes:
            raise ValueError(f"Model labels must be unique; repeated: {dupes}.")
        from .trainer import TrainConfig

        TrainConfig.from_dict(self["train"])  # fail early on a typo

    @property
    def folder(self) -> Path:
        """``<out_dir>/<name>``."""
        return Path(self["out_dir"]) / self["name"]


def load_experiment_config(source: str | os.PathLike | Mapping[str, Any]) -> ExperimentConfig:
    """An :class:`ExperimentConfig` from a dict, or a YAML / JSON file."""
    if isinstance(source, Mapping):
        return ExperimentConfig(source)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"No experiment config at {path}.")
    text = path.read_text()
    if path.suffix == ".json":
        values = json.loads(text)
    else:
        import yaml

        values = yaml.safe_load(text)
    if not isinstance(values, Mapping):
        raise ValueError(f"{path}: the config must be a mapping of keys (name, data, models, ...).")
    return ExperimentConfig(values)


def _file_label(label: str) -> str:
    """A file-name-safe form of a model label."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "model"


# ----------------------------------------------------------------------------------------------
# data and splits


def load_pairs(data: Mapping[str, Any]) -> tuple[list[Any], pd.DataFrame, Any]:
    """ScanPairs of a data section: ``(pairs, design, cohort or None)``."""
    data = dict(data)
    source = data.pop("source", "simulated")
    if source == "simulated":
        from ..atlases import load_atlas
        from ..simulation import simulate_cohort

        n_rois = int(data.pop("n_rois", 64))
        preset = data.pop("preset", "tiny")
        seed = int(data.pop("seed", 0))
        cohort = simulate_cohort(preset, seed=seed, atlas=load_atlas("embedded", n_rois),
                                 progress=data.pop("progress", False), **data)
        pairs = cohort.pairs()
        return pairs, cohort.design[["scan", "subject"]].copy(), cohort
    if source == "bids":
        from ..io.bids import find_bids_runs
        from ..io.ingest import load_scan_pair

        if "path" not in data:
            raise ValueError("data.source 'bids' needs data.path (the BIDS folder).")
        runs = find_bids_runs(data["path"], task=data.get("task"),
                              bold_entities=data.get("bold_entities"))
        if not runs:
            raise FileNotFoundError(f"No EEG + BOLD runs found under {data['path']}.")
        rois = data.get("atlas_rois")
        if isinstance(rois, str):
            rois = pd.read_csv(rois, sep=None, engine="python")
        pairs = [load_scan_pair(r.eeg, r.bold, highpass=data.get("highpass"), rois=rois,
                                scan=r.scan, subject=r.subject) for r in runs]
        design = pd.DataFrame({"scan": [p.scan for p in pairs], "subject": [p.subject for p in pairs]})
        return pairs, design, None
    raise ValueError(f"data.source={source!r}; use 'simulated' or 'bids'.")


def resolve_split(split: Mapping[str, Any], design: pd.DataFrame) -> Any:
    """The cross-subject :class:`~unebolt_viz.data.splits.ScanSplit` a split section names."""
    from ..data import splits

    split = dict(split)
    kind = split.pop("kind", "subject")
    if kind == "subject":
        return splits.subject_split(design, ratios=split.get("ratios", (3, 1, 1)), seed=split.get("seed", 0))
    if kind == "table":
        if "path" not in split:
            raise ValueError("split kind 'table' needs split.path (a CSV with scan, subject, split).")
        return splits.cross_subject_split(split["path"], design=design)
    if kind == "kfold":
        folds = splits.group_kfold(design, n_splits=split.get("n_splits", 5), seed=split.get("seed", 0))
        return folds[int(split.get("fold", 0))]
    if kind == "loso":
        runs = splits.leave_one_subject_out(design, seed=split.get("seed", 0))
        subject = split.get("subject")
        if subject is None:
            return runs[0]
        for run in runs:
            if run.name == f"loso_{subject}":
                return run
        raise ValueError(f"split.subject={subject!r} is not a subject of the data.")
    if kind == "explicit":
        return splits.check_split(splits.ScanSplit(split["train"], split.get("val", ()), split["test"],
                                                   name="explicit"), design)
    raise ValueError(f"split.kind={kind!r}; use subject, table, kfold, loso or explicit.")


def resolve_channels(spec: Any, pairs: Sequence[Any]) -> tuple[str, ...]:
    """Channels a model reads: ``"shared23"``, a list, or (None) the paper's 26 when present."""
    if spec == "shared23":
        return SHARED_23_CHANNELS
    if spec is not None:
        return tuple(canonical_channel_name(str(c)) for c in spec)
    have = [canonical_channel_name(str(c)) for c in pairs[0].windows.channel.values]
    if set(PAPER_CHANNELS) <= set(have):
        return PAPER_CHANNELS
    return tuple(have)


# ----------------------------------------------------------------------------------------------
# one model


def _torch_model(entry: Mapping[str, Any], n_outputs: int, ch_names: Sequence[str]) -> Any:
    from ..models import build_model, load_model

    if entry.get("init_from"):
        model = load_model(entry["init_from"])
        if model.n_outputs != n_outputs:
            raise InvalidDataError(
                f"{entry['init_from']} predicts {model.n_outputs} ROIs; the data has {n_outputs}.")
        if tuple(model.ch_names) != tuple(ch_names):
            raise InvalidDataError(
                f"{entry['init_from']} reads the channels {list(model.ch_names)}, the experiment "
                f"{list(ch_names)}; set the experiment's channels to the model's.")
        return model.train()
    return build_model(entry["name"], n_outputs=n_outputs, ch_names=ch_names,
                       preset=entry.get("preset", "compact"), seed=entry.get("seed", 0),
                       **entry.get("overrides", {}))


def fit_ridge(entry: Mapping[str, Any], ch_names: Sequence[str], n_times: int,
               train: Sequence[Any], val: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
    """Fit the ridge baseline; with several ``alphas``, keep the best on validation (mean r)."""
    from ..metrics import temporal_r
    from ..models import RidgeBaseline
    from .datasets import WindowDataset
    from .inference import predict

    ds = WindowDataset(train, ch_names=ch_names, n_times=n_times)
    windows = np.concatenate([ds.scan_windows(k).numpy() for k in range(len(train))])
    targets = np.concatenate([np.asarray(p.bold.values) for p in train])
    alphas = [float(a) for a in entry.get("alphas", [entry.get("alpha", 100.0)])]
    if len(alphas) > 1 and not val:
        raise ValueError(f"Model {entry['label']!r}: choosing among alphas {alphas} needs validation scans.")
    best, best_score, scores = None, -np.inf, {}
    for alpha in alphas:
        ridge = RidgeBaseline(alpha=alpha, ch_names=ch_names, n_times=n_times).fit(windows, targets)
        score = float(temporal_r(predict(ridge, val)).mean()) if len(alphas) > 1 else 0.0
        scores[alpha] = score
        if best is None or score > best_score:
            best, best_score = ridge, score
    return best, {"alpha": best.alpha, "val_r_by_alpha": scores if len(alphas) > 1 else {}}


def _run_model(entry: dict[str, Any], cfg: ExperimentConfig, train: list, val: list, test: list,
               n_outputs: int, ch_names: tuple[str, ...], tag: str = "") -> tuple[Any, dict[str, Any]]:
    """Train (or load) one model; return it and what to record about the run."""
    from ..models import save_model
    from .trainer import TrainConfig, Trainer

    folder = cfg.folder
    label = _file_label(entry["label"]) + tag
    if entry["name"] == "ridge":
        n_times = min(3200, min(int(p.windows.sizes["time"]) for p in train))
        model, info = fit_ridge(entry, ch_names, n_times, train, val)
        save_model(model, folder / "models" / label)
        return model, info
    model = _torch_model(entry, n_outputs, ch_names)
    info: dict[str, Any] = {"init_from": entry.get("init_from")}
    if entry.get("fit", True) is not False:
        settings = {**cfg["train"], **entry.get("train", {})}
        trainer = Trainer(model, TrainConfig.from_dict(settings), out_dir=folder / "runs" / label)
        result = trainer.fit(train, val)
        info.update(best_epoch=result.best_epoch, best_score=result.best_score,
                    select_on=result.select_on, steps=result.steps)
    save_model(model, folder / "models" / label)
    return model, info


# ----------------------------------------------------------------------------------------------
# the runner


def run_experiment(config: str | os.PathLike | Mapping[str, Any], overwrite: bool = False,
                   progress: bool = True) -> xr.Dataset:
    """Run one experiment and write its results (see the module docstring).

    Parameters
    ----------
    config : dict, ExperimentConfig or path to a YAML / JSON file
    overwrite : bool
        Run every model again even when its metrics file exists.
    progress : bool
        Print one line per model.

    Returns
    -------
    xarray.Dataset
        The metrics of all models along a ``model`` dimension (also ``metrics.nc``).
    """
    from ..metrics import evaluate, summary_table
    from .inference import predict

    cfg = load_experiment_config(config)
    folder = cfg.folder
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "config.json") as tmp:
        tmp.write_text(json.dumps(cfg, indent=2, default=str))
    pairs, design, cohort = load_pairs(cfg["data"])
    ch_names = resolve_channels(cfg["channels"], pairs)
    n_outputs = int(pairs[0].bold.sizes["roi"])
    by_scan = {p.scan: p for p in pairs}

    if cfg["protocol"] == "cross_subject":
        split = resolve_split(cfg["split"], design)
        jobs = [("", [by_scan[s] for s in split.train], [by_scan[s] for s in split.val],
                 [by_scan[s] for s in split.test])]
        split.as_table(design).to_csv(folder / "split.csv", index=False)
        test_scans = list(split.test)
    else:
        from ..model_selection import intrascan_split

        options = dict(cfg["split"])
        parts = {p.scan: intrascan_split(p, ratios=options.get("ratios", (0.8, 0.1, 0.1)),
                                         gap_seconds=options.get("gap_seconds", 20.0)) for p in pairs}
        scans = options.get("scans") or [p.scan for p in pairs]
        if options.get("per_scan", True):
            jobs = [(f"__{s}", [parts[s]["train"]], [parts[s]["val"]], [parts[s]["test"]]) for s in scans]
        else:
            jobs = [("", [parts[s]["train"] for s in scans], [parts[s]["val"] for s in scans],
                     [parts[s]["test"] for s in scans])]
        rows = [{"scan": s, "subject": by_scan[s].subject, "split": k,
                 "tr_index_first": int(parts[s][k].bold.tr_index.values[0]),
                 "tr_index_last": int(parts[s][k].bold.tr_index.values[-1])}
                for s in scans for k in ("train", "val", "test")]
        pd.DataFrame(rows).to_csv(folder / "split.csv", index=False)
        test_scans = list(scans)

    data_source = pairs[0].data_source
    all_metrics, summaries, record = [], [], {"name": cfg["name"], "data_source": data_source,
                                              "protocol": cfg["protocol"], "models": {}}
    for entry in cfg["models"]:
        label = entry["label"]
        stem = _file_label(label)
        metrics_path = folder / "metrics" / f"{stem}.nc"
        if metrics_path.exists() and not overwrite:
            metrics = load(metrics_path)
            info = {"reused": True}
        else:
            preds, info = [], {}
            for tag, train, val, test in jobs:
                model, run_info = _run_model(entry, cfg, train, val, test, n_outputs, ch_names, tag)
                info[tag or "run"] = run_info
                preds.append(predict(model, test, model_name=label,
                                     attrs={"experiment": cfg["name"], "protocol": cfg["protocol"]}))
            pred = preds[0] if len(preds) == 1 else xr.concat(preds, dim="time", combine_attrs="override")
            save(pred, folder / "predictions" / f"{stem}.nc")
            metrics = evaluate(pred, densities=cfg["densities"])
            metrics.attrs["model"] = label
            save(metrics, metrics_path)
        all_metrics.append(metrics)
        table = summary_table(metrics)
        summaries.append(table.loc[["Mean(std)"]].rename(index={"Mean(std)": label}))
        record["models"][label] = {
            "metrics": str(metrics_path.relative_to(folder)),
            "mean": {k: float(metrics[k].mean()) for k in ("tcorr", "pixcorr", "conn_mse")},
            "f1_mean": {f"{float(d):g}": float(metrics["f1"].sel(density=d).mean())
                        for d in metrics.density.values},
            "run": info,
        }
        if progress:
            print(f"[{cfg['name']}] {label}: Tcorr {record['models'][label]['mean']['tcorr']:.3f} "
                  f"({data_source} data)", flush=True)

    combined = xr.concat(all_metrics, dim=pd.Index([m["label"] for m in cfg["models"]], name="model"),
                         combine_attrs="drop_conflicts", coords="minimal", compat="override")
    combined.attrs.update({"kind": "metrics", "data_source": data_source, "experiment": cfg["name"],
                           "protocol": cfg["protocol"], "model": "several"})
    save(combined, folder / "metrics.nc")
    summary = pd.concat(summaries)
    summary.index.name = "model"
    with atomic_path(folder / "summary.csv") as tmp:
        summary.to_csv(tmp)
    if cohort is not None:
        ceiling = xr.concat([cohort.noise_ceiling(s) for s in test_scans], dim="scan",
                            combine_attrs="drop_conflicts").assign_coords(scan=test_scans)
        ceiling = ceiling.to_dataset(name="noise_ceiling")
        ceiling.attrs = {"data_source": data_source, "kind": "noise_ceiling",
                         "description": "Pearson r between noiseless and measured BOLD targets"}
        save(ceiling, folder / "noise_ceiling.nc")
        record["noise_ceiling_mean"] = float(ceiling["noise_ceiling"].mean())
    with atomic_path(folder / "results.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))
    return combined


# ----------------------------------------------------------------------------------------------
# the paper's experiments


def paper_experiments(data: Mapping[str, Any] | None = None, *, preset: str = "compact",
                      out_dir: str = "results", train: Mapping[str, Any] | None = None
                      ) -> dict[str, dict[str, Any]]:
    """Configs of the paper's experiments, ready for :func:`run_experiment`.

    Parameters
    ----------
    data : mapping, optional
        The data section (default: the simulated ``teaching`` cohort, seed 0, 64 ROIs). The
        ``rois_*`` experiments replace ``n_rois``; ``transfer_task`` uses the same cohort with
        ``condition: task``.
    preset : {"paper", "compact", "tiny"}
        Model size ("paper" needs a GPU).
    out_dir : str
        Results folder.
    train : mapping, optional
        TrainConfig fields for every torch model (default: the paper's epochs and batch sizes).

    Returns
    -------
    dict
        ``{name: config}`` for ``intrascan``, ``unseen_subject`` (UnEBOLT, the unified
        NeuroBOLT, BIOT and LaBraM baselines and ridge), ``table1_ablations``, ``rois_64``,
        ``rois_128``, ``rois_256``, ``transfer_pretrain`` (rest, 23 shared channels) and
        ``transfer_task`` (zero-shot, fine-tune and from scratch; run it after
        ``transfer_pretrain``).
    """
    data = dict(data or {"source": "simulated", "preset": "teaching", "seed": 0, "n_rois": 64})
    base_train = {"epochs": 20, "batch_size": 64, **dict(train or {})}
    intra_train = {"epochs": 20, "batch_size": 16, **dict(train or {})}

    def exp(name: str, **values: Any) -> dict[str, Any]:
        return {"name": name, "out_dir": out_dir, "data": copy.deepcopy(data),
                "train": dict(base_train), **values}

    unebolt = {"label": "UnEBOLT", "name": "unebolt", "preset": preset}
    baselines = [
        {"label": "NeuroBOLT (unified)", "name": "neurobolt_unified", "preset": preset},
        {"label": "BIOT (unified)", "name": "biot_unified", "preset": preset},
        {"label": "LaBraM (unified)", "name": "labram_unified", "preset": preset},
        {"label": "Ridge", "name": "ridge", "alphas": [10.0, 100.0, 1000.0, 10000.0]},
    ]
    ablations = [{**unebolt, "label": label, **copy.deepcopy(change)}
                 for label, change in TABLE1_ABLATIONS.items()]
    configs = {
        "intrascan": exp("intrascan", protocol="intrascan", split={"per_scan": True},
                         train=dict(intra_train), models=[dict(unebolt), *copy.deepcopy(baselines)]),
        "unseen_subject": exp("unseen_subject", models=[dict(unebolt), *copy.deepcopy(baselines)]),
        "table1_ablations": exp("table1_ablations", models=[dict(unebolt), *ablations]),
    }
    for p in (64, 128, 256):
        configs[f"rois_{p}"] = exp(f"rois_{p}", data={**data, "n_rois": p}, models=[dict(unebolt)])
    pretrained = str(Path(out_dir) / "transfer_pretrain" / "models" / "UnEBOLT")
    task_data = {**data, "condition": "task"}
    configs["transfer_pretrain"] = exp("transfer_pretrain", channels="shared23", models=[dict(unebolt)])
    configs["transfer_task"] = exp(
        "transfer_task", data=task_data, channels="shared23",
        models=[{"label": "Zero-shot", "name": "unebolt", "init_from": pretrained, "fit": False},
                {"label": "Fine-tune", "name": "unebolt", "init_from": pretrained},
                {"label": "From scratch", "name": "unebolt", "preset": preset}])
    if data.get("source", "simulated") != "simulated":
        warnings.warn("paper_experiments: transfer_task assumes a simulated cohort (condition=task); "
                      "edit its data section for real task recordings.", stacklevel=2)
    return configs
