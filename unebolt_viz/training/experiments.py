"""Config-driven runner for the paper's experiments, writing results that apps and tutorials read.

An experiment is a dict (or a YAML file) with these keys::

    name: unseen_subject_p64          # folder name under out_dir
    out_dir: results                  # results go to <out_dir>/<name>/
    protocol: cross_subject           # or "intrascan"
    data:                             # where the ScanPairs come from
      source: simulated               # "simulated" (the embedded cohort), "bids" or
                                      #   "neurobolt_public" (the published NeuroBOLT data)
      preset: teaching                # simulated: tiny / teaching / paper; any simulator
      seed: 0                         #   parameter may be added (n_volumes, coupling, ...)
      n_rois: 64                      # simulated: embedded atlas size (P = 64 / 128 / 256)
      condition: rest                 # simulated: rest or task
      # bids: path, task, highpass, atlas_rois (ROI table), bold_entities
      # neurobolt_public: path, allow_pickle (first read only), scans, highpass
    split:                            # cross_subject: which scans train / val / test
      kind: auto                      # "auto" (default: "paper" for the NeuroBOLT scans,
                                      #   else "subject"), "paper" (the 18/5/6 table),
                                      #   "subject" (ratios [3, 1, 1], seed), "scans" (counts
                                      #   [9, 3, 4], seed), "table" (path), "kfold"
                                      #   (n_splits, fold, seed), "loso" (subject)
    # intrascan instead: split: {ratios: [0.8, 0.1, 0.1], gap_seconds: 20, per_scan: true,
    #                            scans: [...]}  (per_scan: one model per scan, as in the paper)
    channels: null                    # null (the data's, in the paper's order when possible),
                                      #   "shared23" or an explicit list
    labram_checkpoint: labram-base.pth    # pretrained LaBraM weights for every model with a
                                      #   LaBraM branch (a model entry's own key wins; null:
                                      #   random initialisation)
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
    references: false                 # true: add reference rows (training-set mean, time-
                                      #   shuffled predictions) and oracle rows (true global
                                      #   signal, noise ceiling) to metrics.nc / summary.csv

For every model the runner trains (or loads, ``init_from``; ``fit: false`` evaluates it as it
is), predicts the test scans and computes the metrics. Each model trains on its own objective
and is selected on the validation scans only: UnEBOLT (and its ablations) on the
multi-objective loss, the baselines on MSE (``default_loss`` of the model class); a ``train:
{loss: ..., select_on: ...}`` in the config or a model entry says otherwise. ``results.json``,
the metrics and predictions files' attributes and ``summary.csv`` record the loss, the
selection score and whether the LaBraM branch was pretrained (with the weights file's sha256).
Under ``<out_dir>/<name>/`` it writes:

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

import json
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._utils import atomic_path
from ..conventions import N_TIMES
from ..data.containers import InvalidDataError
from ..data.netcdf import load, save
from .experiment_config import (  # noqa: F401 (RIDGE_ALPHAS re-exported)
    RIDGE_ALPHAS,
    TABLE1_ABLATIONS,
    ExperimentConfig,
    load_experiment_config,
    paper_experiments,
)
from .experiment_data import (
    SHARED_23_CHANNELS,
    Job,
    experiment_jobs,
    load_pairs,
    resolve_channels,
    resolve_split,
)

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
    "ridge_chunks",
    "RIDGE_ALPHAS",
    "TABLE1_ABLATIONS",
]


def _file_label(label: str) -> str:
    """A file-name-safe form of a model label."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "model"


# ----------------------------------------------------------------------------------------------
# one model


def _torch_model(entry: Mapping[str, Any], n_outputs: int, ch_names: Sequence[str],
                 labram_checkpoint: Any = None) -> Any:
    from ..models import build_model, load_labram_checkpoint, load_model

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
    model = build_model(entry["name"], n_outputs=n_outputs, ch_names=ch_names,
                        preset=entry.get("preset", "compact"), seed=entry.get("seed", 0),
                        **entry.get("overrides", {}))
    checkpoint = entry.get("labram_checkpoint", labram_checkpoint)
    if checkpoint and getattr(model, "labram_init", None) is not None:
        load_labram_checkpoint(model, checkpoint)
    elif model.preset == "paper" and getattr(model, "labram_init", None) is not None:
        warnings.warn(f"Model {entry['label']!r}: a paper-preset model whose LaBraM branch starts "
                      "from random weights; the paper initialises it from pretrained LaBraM-base "
                      "(give labram_checkpoint: labram-base.pth).", stacklevel=2)
    return model


def ridge_chunks(pairs: Iterable[Any], ch_names: Sequence[str], n_times: int = N_TIMES,
                 chunk_size: int = 256) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ``(windows, targets)`` of ScanPairs, scan by scan in chunks, for ridge fits.

    Windows are those the torch models see (:class:`~unebolt_viz.training.WindowDataset`:
    channels in ``ch_names`` order, each window demeaned, float32 microvolts); at most
    ``chunk_size`` of them are materialised per chunk. ``pairs`` may be a generator that
    builds one scan at a time.

    Parameters
    ----------
    pairs : iterable of ScanPair
        All on the same ROIs, in the same order.
    ch_names : sequence of str
        Channels the model reads.
    n_times : int
        Samples per window (the first ``n_times`` of each window).
    chunk_size : int
        Windows per chunk.

    Yields
    ------
    windows : ndarray, (n_k, n_chans, n_times)
    targets : ndarray, (n_k, n_rois)
        The scan's BOLD targets for these windows (float64).

    Examples
    --------
    >>> from unebolt_viz.models import RidgeBaseline
    >>> from unebolt_viz.simulation import simulate_cohort
    >>> cohort = simulate_cohort("tiny", progress=False)
    >>> scans = (cohort.pair(s) for s in cohort.scans[:2])  # simulated one at a time
    >>> ridge = RidgeBaseline(alpha=1e3, ch_names=cohort.ch_names)
    >>> ridge.fit_chunks(ridge_chunks(scans, cohort.ch_names)).n_outputs
    64
    """
    from .datasets import WindowDataset

    rois = None
    for pair in pairs:
        scan_rois = tuple(map(str, pair.bold.roi.values))
        if rois is not None and scan_rois != rois:
            raise InvalidDataError(
                f"Scan {pair.scan!r} has different ROIs from the first scan; all scans must use "
                "the same atlas in the same order.")
        rois = scan_rois
        dataset = WindowDataset([pair], ch_names=ch_names, n_times=n_times)
        targets = np.asarray(pair.bold.values, dtype=float)
        for start in range(0, pair.n_windows, chunk_size):
            stop = min(pair.n_windows, start + chunk_size)
            yield dataset.scan_windows(0, start, stop).numpy(), targets[start:stop]


def _val_score(ridge: Any, val: Sequence[Any], val_features: list[np.ndarray]) -> float:
    """Mean temporal r over the validation scans and ROIs (as ``temporal_r(predict(...))``)."""
    from ..data.containers import predictions
    from ..metrics import temporal_r

    r = [temporal_r(predictions(pair.bold, ridge.predict_features(x), model="ridge")).values
         for pair, x in zip(val, val_features)]
    return float(np.mean(np.concatenate(r, axis=None)))


def fit_ridge(entry: Mapping[str, Any], ch_names: Sequence[str], n_times: int,
              train: Sequence[Any], val: Sequence[Any]) -> tuple[Any, dict[str, Any]]:
    """Fit the ridge baseline; with several ``alphas``, keep the best on validation (mean r).

    The scans are reduced to band-power features one chunk at a time
    (:func:`ridge_chunks`, :meth:`RidgeBaseline.fit_chunks`), once for all penalties: the raw
    windows of the whole training set are never held together.

    Parameters
    ----------
    entry : mapping
        The model entry of the config (``label``, ``alpha`` or ``alphas``, e.g.
        :data:`RIDGE_ALPHAS`).
    ch_names : sequence of str
        Channels it reads.
    n_times : int
        Samples per EEG window.
    train, val : sequence of ScanPair
        Training and validation scans (validation needed to choose among several alphas).

    Returns
    -------
    model : RidgeBaseline
        Recording the training scans' ROIs, atlas and data source.
    info : dict
        The chosen ``alpha``, the validation r of each (``val_r_by_alpha``) and whether the
        chosen one is at an end of the grid (``alpha_at_grid_edge``: widen the grid then).
    """
    from ..models import RidgeBaseline
    from .inference import record_training_rois

    alphas = [float(a) for a in entry.get("alphas", [entry.get("alpha", 100.0)])]
    if len(alphas) > 1 and not val:
        raise ValueError(f"Model {entry['label']!r}: choosing among alphas {alphas} needs validation scans.")
    reducer = RidgeBaseline(ch_names=ch_names, n_times=n_times)
    X, Y = reducer.chunk_features(ridge_chunks(train, ch_names, n_times))
    val_features = [reducer.chunk_features(ridge_chunks([p], ch_names, n_times))[0]
                    for p in (val if len(alphas) > 1 else [])]
    best, best_score, scores = None, -np.inf, {}
    for alpha in alphas:
        ridge = RidgeBaseline(alpha=alpha, ch_names=ch_names, n_times=n_times)
        record_training_rois(ridge, train)
        ridge.fit_features(X, Y)
        score = _val_score(ridge, val, val_features) if len(alphas) > 1 else 0.0
        scores[alpha] = score
        if best is None or score > best_score:
            best, best_score = ridge, score
    at_edge = len(alphas) > 1 and best.alpha in (min(alphas), max(alphas))
    if at_edge and len(alphas) > 2:  # of two penalties, one is always at an end
        warnings.warn(f"Model {entry['label']!r}: the chosen ridge alpha {best.alpha:g} is at an "
                      f"end of the grid {alphas}; extend the grid past it.", stacklevel=2)
    return best, {"alpha": best.alpha, "val_r_by_alpha": scores if len(alphas) > 1 else {},
                  "alpha_at_grid_edge": at_edge}


def _run_model(entry: dict[str, Any], cfg: ExperimentConfig, train: list, val: list, test: list,
               n_outputs: int, ch_names: tuple[str, ...], tag: str = "") -> tuple[Any, dict[str, Any]]:
    """Train (or load) one model; return it and what to record about the run."""
    from ..models import save_model
    from .trainer import TrainConfig, Trainer

    folder = cfg.folder
    label = _file_label(entry["label"]) + tag
    if entry["name"] == "ridge":
        n_times = min(N_TIMES, min(int(p.windows.sizes["time"]) for p in train))
        model, info = fit_ridge(entry, ch_names, n_times, train, val)
        save_model(model, folder / "models" / label)
        return model, info
    model = _torch_model(entry, n_outputs, ch_names, cfg.get("labram_checkpoint"))
    info: dict[str, Any] = {"init_from": entry.get("init_from"),
                            "labram_init": getattr(model, "labram_init", None)}
    if entry.get("fit", True) is not False:
        settings = {**cfg["train"], **entry.get("train", {})}
        trainer = Trainer(model, TrainConfig.from_dict(settings), out_dir=folder / "runs" / label)
        result = trainer.fit(train, val)
        info.update(best_epoch=result.best_epoch, best_score=result.best_score,
                    loss=trainer.config.loss, select_on=result.select_on, steps=result.steps,
                    precision=trainer.config.precision)
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
    from ..metrics import summary_table

    cfg = load_experiment_config(config)
    folder = cfg.folder
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "config.json") as tmp:
        tmp.write_text(json.dumps(cfg, indent=2, default=str))
    pairs, design, cohort = load_pairs(cfg["data"], cfg["protocol"])
    ch_names = resolve_channels(cfg["channels"], pairs)
    n_outputs = int(pairs[0].bold.sizes["roi"])
    jobs, split_table, test_scans = experiment_jobs(cfg, pairs, design)
    split_table.to_csv(folder / "split.csv", index=False)

    data_source = pairs[0].data_source
    all_metrics, summaries, record = [], [], {"name": cfg["name"], "data_source": data_source,
                                              "protocol": cfg["protocol"],
                                              "split": split_table.attrs.get("split", "intrascan"),
                                              "models": {}}
    for entry in cfg["models"]:
        label = entry["label"]
        metrics_path = folder / "metrics" / f"{_file_label(label)}.nc"
        metrics, info = _model_metrics(entry, cfg, jobs, n_outputs, ch_names, metrics_path,
                                       overwrite)
        all_metrics.append(metrics)
        table = summary_table(metrics)
        training = {k: metrics.attrs.get(k, "") for k in _TRAINING_ATTRS}
        summaries.append(table.loc[["Mean(std)"]].rename(index={"Mean(std)": label})
                         .assign(**training))
        record["models"][label] = {
            **{k: json.loads(v) if k == "labram_init" and v else v for k, v in training.items()},
            "metrics": str(metrics_path.relative_to(folder)),
            "mean": {k: float(metrics[k].mean()) for k in ("tcorr", "pixcorr", "conn_mse")},
            "f1_mean": {f"{float(d):g}": float(metrics["f1"].sel(density=d).mean())
                        for d in metrics.density.values},
            "run": info,
        }
        if progress:
            print(f"[{cfg['name']}] {label}: Tcorr {record['models'][label]['mean']['tcorr']:.3f} "
                  f"({data_source} data)", flush=True)

    combined = _write_tables(cfg, all_metrics, summaries, data_source)
    if cfg.get("references"):  # reference / oracle rows (unebolt_viz.metrics.reference)
        from .experiment_references import add_reference_rows

        combined, record["references"] = add_reference_rows(cfg, combined, jobs, cohort, test_scans)
    if cohort is not None:
        record["noise_ceiling_mean"] = _write_noise_ceiling(cohort, test_scans, data_source, folder)
    with atomic_path(folder / "results.json") as tmp:
        tmp.write_text(json.dumps(record, indent=2, default=str))
    return combined


def _model_metrics(entry: dict[str, Any], cfg: ExperimentConfig, jobs: list[Job], n_outputs: int,
                   ch_names: tuple[str, ...], metrics_path: Path,
                   overwrite: bool) -> tuple[xr.Dataset, dict[str, Any]]:
    """Metrics of one model on the test scans (reused when saved), and what its runs did."""
    from ..metrics import evaluate
    from .inference import predict

    if metrics_path.exists() and not overwrite:
        return load(metrics_path), {"reused": True}
    label, folder = entry["label"], cfg.folder
    preds, info = [], {}
    for tag, train, val, test in jobs:
        model, run_info = _run_model(entry, cfg, train, val, test, n_outputs, ch_names, tag)
        info[tag or "run"] = run_info
        preds.append(predict(model, test, model_name=label,
                             attrs={"experiment": cfg["name"], "protocol": cfg["protocol"],
                                    **_training_attrs(entry, run_info)}))
    pred = preds[0] if len(preds) == 1 else xr.concat(preds, dim="time", combine_attrs="override")
    save(pred, folder / "predictions" / f"{_file_label(label)}.nc")
    metrics = evaluate(pred, densities=cfg["densities"])
    metrics.attrs["model"] = label
    metrics.attrs.update(_training_attrs(entry, next(iter(info.values()))))
    save(metrics, metrics_path)
    return metrics, info


#: What the metrics of a model record about its training (attributes; summary.csv columns).
_TRAINING_ATTRS = ("train_loss", "select_on", "labram_init")


def _training_attrs(entry: Mapping[str, Any], run: Mapping[str, Any]) -> dict[str, str]:
    """The objective, selection score and LaBraM initialisation of a run, as text attributes."""
    if entry["name"] == "ridge":
        return {"train_loss": "ridge (least squares)",
                "select_on": "val_r (alpha)" if run.get("val_r_by_alpha") else "none",
                "labram_init": ""}
    init = run.get("labram_init")
    return {"train_loss": str(run.get("loss", "none (not trained)")),
            "select_on": str(run.get("select_on", "none (not trained)")),
            "labram_init": json.dumps(init, sort_keys=True) if init is not None else ""}


def _write_tables(cfg: ExperimentConfig, all_metrics: list[xr.Dataset],
                  summaries: list[pd.DataFrame], data_source: str) -> xr.Dataset:
    """Write ``metrics.nc`` (all models along ``model``) and ``summary.csv``; the metrics."""
    folder = cfg.folder
    combined = xr.concat(all_metrics, dim=pd.Index([m["label"] for m in cfg["models"]], name="model"),
                         combine_attrs="drop_conflicts", coords="minimal", compat="override")
    combined.attrs.update({"kind": "metrics", "data_source": data_source, "experiment": cfg["name"],
                           "protocol": cfg["protocol"], "model": "several"})
    save(combined, folder / "metrics.nc")
    summary = pd.concat(summaries)
    summary.index.name = "model"
    with atomic_path(folder / "summary.csv") as tmp:
        summary.to_csv(tmp)
    return combined


def _write_noise_ceiling(cohort: Any, test_scans: list[str], data_source: str,
                         folder: Path) -> float:
    """Write ``noise_ceiling.nc`` of the simulated test scans; its mean."""
    ceiling = xr.concat([cohort.noise_ceiling(s) for s in test_scans], dim="scan",
                        combine_attrs="drop_conflicts").assign_coords(scan=test_scans)
    ceiling = ceiling.to_dataset(name="noise_ceiling")
    ceiling.attrs = {"data_source": data_source, "kind": "noise_ceiling",
                     "description": "Pearson r between noiseless and measured BOLD targets"}
    save(ceiling, folder / "noise_ceiling.nc")
    return float(ceiling["noise_ceiling"].mean())
