"""Predicted volumes of the volumetric peers, their SSIM/PSNR, and their ROI metrics.

- :func:`predict_volumes`: a trained E2fNet or Spec2VolCAMU-Net on
  :class:`~unebolt_viz.preprocessing_spectra.VolumeSamples` -> a ``bold_volumes`` container of
  the predicted volumes (and of the targets, as the model saw them).
- :func:`volume_scores`: SSIM and PSNR of every predicted volume, as the papers define them
  (:mod:`unebolt_viz.metrics.volumetric`: 2-D SSIM with slices as channels, data range 1).
- :func:`roi_scores`: the bridge (:mod:`unebolt_viz.metrics.bridge`) from predicted volumes
  to ROI time series, scored by :func:`unebolt_viz.metrics.evaluate` against ROI targets.

Scaling: the targets are min-max scaled per volume to [0, 1] (the papers' convention), so the
SSIM and PSNR here compare *scaled* volumes; every container says so in its ``scaling``
attribute (:data:`SCALING_NOTE`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

__all__ = ["SCALING_NOTE", "predict_volumes", "volume_scores", "roi_scores"]

#: Recorded on every predicted volume container: what the values are.
SCALING_NOTE = ("each volume min-max scaled to [0, 1] over its grid (the papers' targets); "
                "SSIM and PSNR compare scaled volumes, per volume, data range 1")


def _sample_frame(samples: Any) -> tuple[dict[str, np.ndarray], xr.DataArray]:
    """Time coordinates of every sample's target volume, and the first scan's volumes."""
    volumes = samples._volumes
    rows = {"scan": [], "subject": [], "tr_index": [], "time": []}
    for scan, _, position in samples._index:
        coords = volumes[int(scan)].isel(time=int(position)).coords
        for key in rows:
            rows[key].append(coords[key].values.item())
    first = volumes[0]
    for other in volumes[1:]:
        if not (np.allclose(other.attrs["affine"], first.attrs["affine"])
                and np.array_equal(other.coords["mask"].values, first.coords["mask"].values)):
            raise ValueError("The scans' volumes are on different grids (affine or mask differ): "
                             "predict each grid's scans separately.")
    return {k: np.asarray(v) for k, v in rows.items()}, first


@torch.no_grad()
def predict_volumes(model: torch.nn.Module, samples: Any, batch_size: int = 16,
                    device: torch.device | str | None = None, return_true: bool = False
                    ) -> xr.DataArray | tuple[xr.DataArray, xr.DataArray]:
    """Predict the target volume of every sample, as a ``bold_volumes`` container.

    Parameters
    ----------
    model : torch.nn.Module
        A trained volumetric model.
    samples : VolumeSamples
        Typically the test scans' samples; read ``batch_size`` volumes at a time.
    batch_size : int
    device : optional
        Default: the model's.
    return_true : bool
        Also return the (scaled) target volumes, labelled the same way.

    Returns
    -------
    pred : xarray.DataArray
        ``bold_volumes`` ``(time, x, y, z)`` of the samples' target volumes (scan, subject,
        tr_index, time), attributes ``model``, ``data_source`` (of the scans),
        ``training_data_source`` (of the model), ``scaling`` (:data:`SCALING_NOTE`) and
        ``cpu_seconds_per_volume`` (process CPU time of the forward passes per volume).
    true : xarray.DataArray, if ``return_true``
        The targets as the model saw them (min-max scaled per volume).
    """
    from ..data.volumes import bold_volumes, volume_affine
    from ..metrics.bridge import model_output_to_volumes

    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    outputs, targets, cpu = [], [], 0.0
    for x, y in samples.batches(batch_size):
        tic = time.process_time()
        out = model(torch.from_numpy(x).to(device)).float().cpu().numpy()
        cpu += time.process_time() - tic
        outputs.append(out)
        targets.append(y)
    model.train(was_training)
    coords, first = _sample_frame(samples)
    true_slices = np.concatenate(targets)
    name = str(getattr(model, "name", type(model).__name__))
    labels = {"scaling": SCALING_NOTE, "cpu_seconds_per_volume": cpu / max(len(true_slices), 1),
              "training_data_source": str(getattr(model, "training_data_source", None)),
              "atlas": str(first.attrs.get("atlas", ""))}
    true = bold_volumes(np.moveaxis(true_slices, 1, -1), volume_affine(first),
                        first.coords["mask"].values, first.attrs["tr"], scan=coords["scan"],
                        subject=coords["subject"], tr_index=coords["tr_index"],
                        time=coords["time"], data_source=first.attrs["data_source"],
                        units="min-max scaled per volume", name="true",
                        attrs={"scaling": SCALING_NOTE})
    pred = model_output_to_volumes(np.concatenate(outputs), true, model=name)
    pred.attrs.update({**labels, "units": "min-max scaled per volume"})
    return (pred, true) if return_true else pred


def _slices(volumes: xr.DataArray) -> np.ndarray:
    """``(time, x, y, z)`` volumes as ``(time, z, x, y)`` (slices first, the metrics' layout)."""
    return np.moveaxis(np.asarray(volumes.values, dtype=np.float64), -1, 1)


def volume_scores(true: xr.DataArray, pred: xr.DataArray) -> pd.DataFrame:
    """SSIM and PSNR of every predicted volume (the papers' definitions, data range 1).

    Parameters
    ----------
    true, pred : xarray.DataArray
        ``bold_volumes`` of the same volumes (from :func:`predict_volumes`), scaled to [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per volume: ``model``, ``scan``, ``tr_index``, ``ssim``, ``psnr``.
    """
    from ..metrics.volumetric import psnr, ssim

    if true.shape != pred.shape or not np.array_equal(true.tr_index.values, pred.tr_index.values):
        raise ValueError(f"true {true.shape} and pred {pred.shape} must hold the same volumes.")
    t, p = _slices(true), _slices(pred)
    return pd.DataFrame({
        "model": str(pred.attrs.get("model", "unknown")),
        "scan": true.scan.values.astype(str), "tr_index": true.tr_index.values.astype(int),
        "ssim": ssim(t, p, per_volume=True), "psnr": psnr(t, p, per_volume=True)})


def roi_scores(pred: xr.DataArray, true_rois: xr.DataArray, labels: np.ndarray,
               names: Any) -> tuple[xr.Dataset, xr.Dataset]:
    """Predicted volumes -> ROI time series -> the package's ROI metrics.

    Parameters
    ----------
    pred : xarray.DataArray
        Predicted ``bold_volumes``.
    true_rois : xarray.DataArray
        The true ROI time series of the same scans (e.g. the simulator's targets, what the ROI
        models are scored against), matched by ``(scan, tr_index)`` and ROI name.
    labels, names
        Region index of every voxel and the ROI name of each index (the simulator's
        ``region`` and ``roi``).

    Returns
    -------
    predictions : xarray.Dataset
        ``true`` and ``pred`` ``(time, roi)`` (:func:`~unebolt_viz.metrics.bridge.volume_predictions`).
    metrics : xarray.Dataset
        :func:`unebolt_viz.metrics.evaluate` of it.
    """
    from ..metrics import evaluate
    from ..metrics.bridge import volume_predictions

    model = str(pred.attrs.get("model", "unknown"))
    bridged = volume_predictions(pred, true_rois, np.asarray(labels), [str(n) for n in names],
                                 None, model=model)
    bridged.attrs["scaling"] = SCALING_NOTE
    return bridged, evaluate(bridged)
