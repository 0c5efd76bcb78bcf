"""A volumetric run on simulated data: E2fNet and Spec2VolCAMU-Net, judged on volumes and ROIs.

:func:`run_volumetric` goes from a simulated cohort to a table of metrics:

1. the cohort (:func:`unebolt_viz.simulation.simulate_cohort`) and its BOLD volumes on a
   64 x 64 x D grid (:func:`unebolt_viz.simulation.volumes.volumes_file`, cached on disk and
   read lazily);
2. EEG spectra per TR (:func:`~unebolt_viz.preprocessing_spectra.scan_spectra`), scaled with
   the training scans' statistics only; a train/validation/test split *by subject*
   (:func:`unebolt_viz.model_selection.subject_split`);
3. each model trained with :func:`~unebolt_viz.training.volumetric.train_volumetric`, the epoch
   kept on the validation scans' loss;
4. the test scans' volumes predicted; SSIM and PSNR per volume; the predicted volumes averaged
   within the simulator's regions (the bridge) and scored against the simulator's ROI targets
   with :func:`unebolt_viz.metrics.evaluate` (Tcorr, Pixcorr, ConnMSE, F1);
5. everything written atomically under ``out_dir`` (see :func:`run_volumetric`).

All numbers come from simulated data and say so (``data_source="simulated"``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._utils import atomic_path

__all__ = ["VolumetricRun", "VolumetricData", "prepare_volumetric", "run_volumetric",
           "load_volumetric_run", "summary_row"]

RESULTS_FILE = "results.json"
METRICS_COLUMNS = ("tcorr", "pixcorr", "conn_mse", "f1_0.25", "f1_0.50", "ssim", "psnr",
                   "n_params", "cpu_s_per_volume", "best_epoch", "steps", "epochs")


@dataclass
class VolumetricData:
    """The samples of one split of a simulated cohort, ready for the volumetric models.

    Attributes
    ----------
    cohort : SimulatedCohort
    split : ScanSplit
        Scans of the training, validation and test subjects.
    train, val, test : VolumeSamples
        Lazily read samples (the spectra scaled with the training scans' statistics); train
        and val may be evenly spaced subsets (``torch.utils.data.Subset``, ``max_samples``).
    test_rois : xarray.DataArray
        The simulator's ROI targets of the test scans (``roi_timeseries``).
    labels : ndarray of int, shape (x, y, z)
        ROI index of every voxel (-1 outside).
    names : list of str
        ROI name of every index.
    shape : tuple of int
        The volume grid (x, y, z).
    """

    cohort: Any
    split: Any
    train: Any
    val: Any
    test: Any
    test_rois: xr.DataArray
    labels: np.ndarray
    names: list[str]
    shape: tuple[int, int, int]


@dataclass
class VolumetricRun:
    """The outcome of :func:`run_volumetric` (or :func:`load_volumetric_run`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per model (index ``model``): the columns of :data:`METRICS_COLUMNS` and
        ``data_source`` (``"simulated"``).
    out_dir : pathlib.Path
    results : dict
        The content of ``results.json``.
    paths : dict
        Per model, the files written (``volumes``, ``roi_predictions``, ``roi_metrics``,
        ``train``).
    """

    table: pd.DataFrame
    out_dir: Path
    results: dict[str, Any]
    paths: dict[str, dict[str, Path]] = field(default_factory=dict)


def _cohort(cohort: Any, cohort_seed: int, cache_dir: Path) -> Any:
    from ..simulation import simulate_cohort

    if isinstance(cohort, str):
        return simulate_cohort(cohort, seed=cohort_seed, cache_dir=cache_dir, progress=False)
    if getattr(cohort, "cache_dir", None) is None:
        raise ValueError("run_volumetric reads the simulated volumes lazily from the cohort's "
                         "cache: build it with simulate_cohort(..., cache_dir='some/folder') "
                         "or pass the preset's name.")
    return cohort


def _subset(samples: Any, max_samples: int | None) -> Any:
    """At most ``max_samples`` evenly spaced samples (all when None)."""
    import torch

    if max_samples is None or max_samples >= len(samples):
        return samples
    keep = np.unique(np.linspace(0, len(samples) - 1, int(max_samples)).round().astype(int))
    return torch.utils.data.Subset(samples, keep.tolist())


def prepare_volumetric(cohort: Any = "tiny", *, shape: Sequence[int] = (64, 64, 30),
                       noise_sd: float = 1.0, cohort_seed: int = 0, split_seed: int = 0,
                       cache_dir: str | os.PathLike = "volumetric-cache",
                       max_samples: int | None = None) -> VolumetricData:
    """Simulated cohort -> volumes -> spectra -> lazily read samples of a subject split.

    Parameters
    ----------
    cohort : str or SimulatedCohort
        A preset name of :func:`~unebolt_viz.simulation.simulate_cohort` (``"tiny"``,
        ``"teaching"``, ``"paper"``), or a cohort built with a ``cache_dir``.
    shape : (int, int, int)
        Volume grid; x and y must be 64 (the models' output), z is D.
    noise_sd : float
        Voxel noise of the simulated volumes (relative to the ROI target's).
    cohort_seed, split_seed : int
        Seeds of the cohort (when a preset is named) and of the subject split (3:1:1).
    cache_dir : path
        Where the simulated scans and volumes are cached.
    max_samples : int, optional
        Keep at most this many evenly spaced training samples, and as many validation samples
        (quick runs); the test samples are all kept.

    Returns
    -------
    VolumetricData
    """
    from ..data.volumes import open_volumes
    from ..model_selection import subject_split
    from ..preprocessing_spectra import VolumeSamples, fit_spectrum_scaler, scan_spectra
    from ..simulation.volumes import volumes_file

    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or shape[:2] != (64, 64):
        raise ValueError(f"shape={shape}: the volumetric models predict 64 x 64 slices; use "
                         "(64, 64, D).")
    cohort = _cohort(cohort, cohort_seed, Path(cache_dir))
    split = subject_split(cohort.design, seed=split_seed)
    files = {s: volumes_file(cohort, s, shape=shape, noise_sd=noise_sd) for s in cohort.scans}
    spectra = {s: scan_spectra(cohort.scan_data(s)) for s in cohort.scans}
    scaler = fit_spectrum_scaler([spectra[s] for s in split.train])

    def samples(scans: Sequence[str]) -> Any:
        return VolumeSamples([spectra[s] for s in scans],
                             [open_volumes(files[s], variable="bold") for s in scans], scaler)

    with xr.open_dataset(files[split.test[0]], engine="h5netcdf") as ds:
        labels, names = ds["region"].values.astype(np.int64), [str(r) for r in ds["roi"].values]
    rois = [cohort.pair(s).bold for s in split.test]
    test_rois = rois[0] if len(rois) == 1 else xr.concat(rois, dim="time",
                                                         combine_attrs="override")
    return VolumetricData(cohort, split, _subset(samples(split.train), max_samples),
                          _subset(samples(split.val), max_samples), samples(split.test),
                          test_rois, labels, names, shape)


def summary_row(volume_table: pd.DataFrame, metrics: xr.Dataset) -> dict[str, float]:
    """Mean SSIM/PSNR over test volumes and mean ROI metrics over test scans."""
    f1 = metrics["f1"].mean("scan")
    return {"tcorr": float(metrics["tcorr"].mean()), "pixcorr": float(metrics["pixcorr"].mean()),
            "conn_mse": float(metrics["conn_mse"].mean()),
            **{f"f1_{float(d):.2f}": float(f1.sel(density=d)) for d in f1["density"].values},
            "ssim": float(volume_table["ssim"].mean()),
            "psnr": float(volume_table["psnr"].mean())}


def _run_model(name: str, data: VolumetricData, model_dir: Path, preset: str, cfg: Any,
               model_seed: int, resume: bool) -> tuple[dict[str, Any], pd.DataFrame]:
    """Train, predict, score and write one model's files; its summary and volume scores."""
    from ..data import save
    from ..models import build_model
    from .volumetric import train_volumetric
    from .volumetric_predict import predict_volumes, roi_scores, volume_scores

    model = build_model(name, n_outputs=data.shape[2], ch_names=data.cohort.ch_names,
                        preset=preset, seed=model_seed,
                        training_data_source=data.cohort.data_source)
    trained = train_volumetric(model, data.train, data.val, cfg, model_dir / "train", resume)
    pred, true = predict_volumes(model, data.test, batch_size=cfg.eval_batch_size,
                                 return_true=True)
    scores = volume_scores(true, pred)
    bridged, metrics = roi_scores(pred, data.test_rois, data.labels, data.names)
    save(xr.Dataset({"true": true, "pred": pred}, attrs={
        "kind": "volume_predictions", "model": name, "data_source": pred.attrs["data_source"],
        "scaling": pred.attrs["scaling"]}), model_dir / "volumes.nc")
    save(bridged, model_dir / "roi_predictions.nc")
    save(metrics, model_dir / "roi_metrics.nc")
    row = {**summary_row(scores, metrics), "n_params": int(model.count_parameters()),
           "cpu_s_per_volume": float(pred.attrs["cpu_seconds_per_volume"]),
           "best_epoch": int(trained.best_epoch), "steps": int(trained.steps),
           "epochs": int(len(trained.history))}
    return row, scores


def _write_table(out_dir: Path, table: pd.DataFrame, scores: pd.DataFrame,
                 data_source: str) -> None:
    from ..data import save

    with atomic_path(out_dir / "metrics.csv") as tmp:
        table.to_csv(tmp)
    with atomic_path(out_dir / "volume_metrics.csv") as tmp:
        scores.to_csv(tmp, index=False)
    ds = xr.Dataset.from_dataframe(table)
    ds.attrs.update({"kind": "volumetric_metrics", "data_source": data_source,
                     "description": "test-scan means; SSIM/PSNR on min-max scaled volumes"})
    save(ds, out_dir / "metrics.nc")


def run_volumetric(cohort: Any = "tiny", out_dir: str | os.PathLike = "volumetric-run", *,
                   models: Sequence[str] = ("e2fnet", "spec2volcamunet"), preset: str = "tiny",
                   config: Any = None, shape: Sequence[int] = (64, 64, 30),
                   cohort_seed: int = 0, split_seed: int = 0, model_seed: int = 0,
                   noise_sd: float = 1.0, cache_dir: str | os.PathLike | None = None,
                   max_samples: int | None = None, resume: bool = True,
                   progress: bool = True) -> VolumetricRun:
    """Train the volumetric peers on a simulated cohort and score them on volumes and ROIs.

    Parameters
    ----------
    cohort : str or SimulatedCohort
        A preset name (``"tiny"`` for tests) or a cohort with a ``cache_dir``.
    out_dir : path
        Output folder (see Notes).
    models : sequence of str
        ``"e2fnet"`` and/or ``"spec2volcamunet"``.
    preset : str
        Model size: ``"tiny"``, ``"compact"`` or ``"paper"``.
    config : VolumetricConfig or dict, optional
        Training recipe (default: the papers'; e.g. ``{"epochs": 2, "max_steps": 5}``).
    shape : (int, int, int)
        Volume grid (64, 64, D).
    cohort_seed, split_seed, model_seed : int
    noise_sd : float
        Voxel noise of the simulated volumes.
    cache_dir : path, optional
        Cache of the simulated scans and volumes (default ``out_dir / "cache"``).
    max_samples : int, optional
        At most this many (evenly spaced) training and validation samples; the test scans are
        predicted whole.
    resume : bool
        Continue each model's training from its last checkpoint.
    progress : bool
        Progress bars while training.

    Returns
    -------
    VolumetricRun

    Notes
    -----
    ``out_dir`` holds ``results.json`` (``data_source="simulated"``, the parameters, the
    split, per-model results), ``metrics.csv`` / ``metrics.nc`` (one row per model),
    ``volume_metrics.csv`` (SSIM/PSNR per test volume), ``regions.nc`` (the region labels) and,
    per model, ``<model>/volumes.nc`` (``true`` and ``pred`` ``bold_volumes``, min-max scaled
    per volume), ``<model>/roi_predictions.nc`` (a predictions Dataset: the simulator's ROI
    targets and the bridged predictions), ``<model>/roi_metrics.nc`` and ``<model>/train/``.
    """
    from .volumetric import VolumetricConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = config if isinstance(config, VolumetricConfig) else VolumetricConfig.from_dict(
        {"progress": progress, **dict(config or {})})
    data = prepare_volumetric(cohort, shape=shape, noise_sd=noise_sd, cohort_seed=cohort_seed,
                              split_seed=split_seed, cache_dir=cache_dir or out / "cache",
                              max_samples=max_samples)
    regions = xr.Dataset({"region": (("x", "y", "z"), data.labels.astype(np.int32))},
                         coords={"roi": data.names},
                         attrs={"data_source": data.cohort.data_source})
    with atomic_path(out / "regions.nc") as tmp:
        regions.to_netcdf(tmp, engine="h5netcdf")
    rows, scores, paths = {}, [], {}
    for name in models:
        rows[name], table = _run_model(name, data, out / name, preset, cfg, model_seed, resume)
        scores.append(table)
        paths[name] = {k: out / name / f for k, f in (
            ("volumes", "volumes.nc"), ("roi_predictions", "roi_predictions.nc"),
            ("roi_metrics", "roi_metrics.nc"), ("train", "train"))}
    table = pd.DataFrame.from_dict(rows, orient="index")[list(METRICS_COLUMNS)]
    table.index.name = "model"
    table["data_source"] = data.cohort.data_source
    _write_table(out, table, pd.concat(scores, ignore_index=True), data.cohort.data_source)
    results = {
        "data_source": data.cohort.data_source, "kind": "volumetric_run",
        "parameters": {"cohort": getattr(data.cohort, "preset", str(cohort)),
                       "cohort_seed": int(data.cohort.seed), "split_seed": split_seed,
                       "model_seed": model_seed, "model_preset": preset, "shape": list(data.shape),
                       "noise_sd": noise_sd, "max_samples": max_samples,
                       "config": cfg.to_dict(), "models": list(models)},
        "split": data.split.as_dict(),
        "n_samples": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
        "notes": f"{data.cohort.data_source} data; SSIM/PSNR compare volumes min-max scaled per volume (data "
                 "range 1); ROI metrics: predicted volumes averaged within the simulator's "
                 "regions vs the simulator's ROI targets; epoch selected on validation loss",
        "models": {n: {**rows[n], "files": {k: str(p.relative_to(out)) for k, p in paths[n].items()}}
                   for n in models}}
    with atomic_path(out / RESULTS_FILE) as tmp:
        tmp.write_text(json.dumps(results, indent=2))
    return VolumetricRun(table, out, results, paths)


def load_volumetric_run(out_dir: str | os.PathLike) -> VolumetricRun:
    """Read back what :func:`run_volumetric` wrote (``results.json`` and ``metrics.csv``)."""
    out = Path(out_dir)
    path = out / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"No {RESULTS_FILE} in {out}: run unebolt_viz.training."
                                "run_volumetric(..., out_dir=...) first.")
    results = json.loads(path.read_text())
    table = pd.read_csv(out / "metrics.csv", index_col="model")
    paths = {n: {k: out / f for k, f in r["files"].items()}
             for n, r in results.get("models", {}).items()}
    return VolumetricRun(table, out, results, paths)
