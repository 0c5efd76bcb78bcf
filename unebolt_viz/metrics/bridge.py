"""The bridge from predicted volumes to ROI time series, so volumetric models get ROI metrics.

E2fNet and Spec2VolCAMU-Net predict whole volumes and their papers judge SSIM and PSNR only.
Here their volumes are averaged within the regions of an atlas, giving ROI time series in the
package's ``predictions`` format, so that Tcorr, Pixcorr, ConnMSE and F1 come from
:func:`unebolt_viz.metrics.evaluate` unchanged and sit beside UnEBOLT's and NeuroBOLT's.

Regions are either an integer label volume on the volumes' grid (the simulator's ``region``,
ROI index ``i`` for the ``i``-th name, -1 outside) averaged directly (:func:`roi_series`), or a
labels image in any space read through nilearn's ``NiftiLabelsMasker`` on an in-memory
Nifti image built from the container's affine (:func:`roi_series_nilearn`). ROIs are matched
*by name* to the ROI description (an Atlas, or the true ROI time series), never by position.

Model layout: the models output ``(batch, D, nx, ny)`` (slices as channels);
:func:`model_output_to_volumes` turns that back into a ``bold_volumes`` container.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError, predictions, roi_timeseries
from ..data.volumes import VOLUME_KIND, bold_volumes, to_nifti, validate_volumes, volume_affine

__all__ = ["model_output_to_volumes", "roi_series", "roi_series_nilearn", "volume_predictions"]

_CHUNK = 64  # volumes averaged at a time (lazily opened files are read chunk by chunk)


def model_output_to_volumes(output: np.ndarray, like: xr.DataArray,
                            model: str = "unknown") -> xr.DataArray:
    """Predicted volumes ``(n, D, nx, ny)`` as a ``bold_volumes`` container shaped like ``like``.

    Parameters
    ----------
    output : ndarray, shape (n_times, nz, nx, ny)
        Model outputs in the order of ``like``'s time points.
    like : xarray.DataArray
        The true ``bold_volumes`` of the same volumes (its coordinates, mask and affine are
        reused; its data are not read).
    model : str
        Recorded in the attributes.

    Returns
    -------
    xarray.DataArray
    """
    out = np.moveaxis(np.asarray(output, dtype=np.float32), 1, -1)
    if out.shape != tuple(like.shape):
        raise InvalidDataError(f"The model output is {np.shape(output)} (n, D, nx, ny), i.e. "
                               f"volumes {out.shape}, but the true volumes are {like.shape}.")
    return bold_volumes(
        out, volume_affine(like), like.coords["mask"].values, like.attrs["tr"],
        scan=like.scan.values, subject=like.subject.values, tr_index=like.tr_index.values,
        time=like.time.values, data_source=like.attrs["data_source"], name="pred",
        attrs={"model": model})


def _roi_table(rois: Any, names: Sequence[str]) -> tuple[Any, list[int]]:
    """The ROI description to label the output with, and the label index of each of its ROIs."""
    if hasattr(rois, "roi_coords") and hasattr(rois, "n_rois"):
        wanted = list(rois.roi)
    elif isinstance(rois, (xr.DataArray, xr.Dataset)):
        wanted = [str(r) for r in rois["roi"].values]
    else:
        wanted = [str(r) for r in rois["roi"]]
    position = {str(n): i for i, n in enumerate(names)}
    missing = [r for r in wanted if r not in position]
    if missing:
        raise InvalidDataError(f"{len(missing)} ROIs of the ROI description have no region in "
                               f"the labels (e.g. {missing[:3]}); use the labels of the same "
                               "atlas, or subset the description to the labelled ROIs.")
    return rois, [position[r] for r in wanted]


def _wrap(values: np.ndarray, volumes: xr.DataArray, rois: Any, name: str) -> xr.DataArray:
    attrs = {"roi_source": "mean of in-mask voxels of each region of the volumes"}
    if volumes.attrs.get("model"):
        attrs["model"] = volumes.attrs["model"]
    if not (hasattr(rois, "roi_coords") and hasattr(rois, "n_rois")):
        if isinstance(rois, xr.Dataset) and "roi_x" in rois.coords:  # simulated volumes
            rois = {"roi": rois["roi"].values, "network": rois["network"].values,
                    "hemisphere": rois["hemisphere"].values, "x": rois["roi_x"].values,
                    "y": rois["roi_y"].values, "z": rois["roi_z"].values}
            attrs["atlas"] = volumes.attrs.get("atlas", "unknown")
    return roi_timeseries(values, rois, volumes.attrs["tr"], scan=volumes.scan.values,
                          subject=volumes.subject.values, tr_index=volumes.tr_index.values,
                          time=volumes.time.values, data_source=volumes.attrs["data_source"],
                          name=name, attrs=attrs)


def roi_series(volumes: xr.DataArray, labels: np.ndarray, names: Sequence[str], rois: Any,
               name: str = "bold") -> xr.DataArray:
    """ROI time series of volumes: the mean of each region's in-mask voxels.

    Parameters
    ----------
    volumes : xarray.DataArray
        A ``bold_volumes`` container (in memory or lazily opened; read ``_CHUNK`` volumes at a
        time).
    labels : ndarray of int, shape (nx, ny, nz)
        Region index of every voxel (``i`` is ``names[i]``), negative outside any region (the
        simulator's ``region``).
    names : sequence of str
        ROI name of each region index.
    rois : Atlas, mapping, ROI time series or simulated-volumes Dataset
        The ROI description of the output; its ROIs are looked up in ``names`` by name and
        come out in its order.
    name : str
        Name of the output DataArray.

    Returns
    -------
    xarray.DataArray
        A ``roi_timeseries`` container ``(time, roi)`` with the volumes' time coordinates and
        data source.
    """
    validate_volumes(volumes, check_values=False)
    labels = np.asarray(labels)
    if labels.shape != tuple(volumes.shape[1:]):
        raise InvalidDataError(f"labels have shape {labels.shape}, the volumes "
                               f"{tuple(volumes.shape[1:])}: use the labels of their grid.")
    rois, order = _roi_table(rois, names)
    inside = (labels >= 0) & volumes.coords["mask"].values
    flat = np.flatnonzero(inside)
    region = labels.ravel()[flat]
    counts = np.bincount(region, minlength=len(names)).astype(float)
    empty = [str(names[i]) for i in order if counts[i] == 0]
    if empty:
        raise InvalidDataError(f"Regions {empty[:3]} have no voxel inside the brain mask.")
    from scipy.sparse import csr_matrix

    average = csr_matrix((1.0 / counts[region], (np.arange(flat.size), region)),
                         shape=(flat.size, len(names)))
    out = np.empty((volumes.sizes["time"], len(order)))
    for start in range(0, volumes.sizes["time"], _CHUNK):
        block = np.asarray(volumes.isel(time=slice(start, start + _CHUNK)).values)
        means = average.T @ block.reshape(block.shape[0], -1)[:, flat].T
        out[start:start + block.shape[0]] = means.T[:, order]
    return _wrap(out, volumes, rois, name)


def roi_series_nilearn(volumes: xr.DataArray, labels_img: Any, names: dict[int, str] | Sequence[str],
                       rois: Any, name: str = "bold") -> xr.DataArray:
    """ROI time series through nilearn's ``NiftiLabelsMasker`` (mean within each label).

    The volumes become an in-memory ``Nifti1Image`` with their affine; the labels image may be
    in another space or resolution (nilearn resamples it to the volumes, nearest neighbour).

    Parameters
    ----------
    volumes : xarray.DataArray
        A ``bold_volumes`` container (read whole).
    labels_img : Nifti image or path
        Integer labels, 0 the background.
    names : mapping or sequence
        ROI name of each label value: ``{value: name}``, or a sequence whose ``i``-th name is
        label ``i + 1``.
    rois : Atlas, mapping or ROI time series
        The output's ROI description (matched by name, see :func:`roi_series`).
    name : str

    Returns
    -------
    xarray.DataArray
        A ``roi_timeseries`` container.
    """
    from nilearn.maskers import NiftiLabelsMasker

    validate_volumes(volumes, check_values=False)
    value_names = (dict(names) if isinstance(names, dict)
                   else {i + 1: str(n) for i, n in enumerate(names)})
    masker = NiftiLabelsMasker(labels_img, strategy="mean", standardize=None,
                               resampling_target="data")
    series = masker.fit_transform(to_nifti(volumes))
    columns = {int(v): c for c, v in masker.region_ids_.items() if c != "background"}
    present = [v for v in value_names if v in columns]
    values = series[:, [columns[v] for v in present]]
    rois, order = _roi_table(rois, [value_names[v] for v in present])
    return _wrap(values[:, order], volumes, rois, name)


def volume_predictions(pred: xr.DataArray, true: xr.DataArray, labels: np.ndarray,
                       names: Sequence[str], rois: Any, model: str = "unknown") -> xr.Dataset:
    """A ``predictions`` Dataset of ROI time series from predicted volumes.

    Parameters
    ----------
    pred : xarray.DataArray
        Predicted ``bold_volumes`` (see :func:`model_output_to_volumes`).
    true : xarray.DataArray
        Either the true ``bold_volumes`` of the same volumes (their ROI series are extracted
        the same way), or true ROI time series (a ``roi_timeseries`` container, e.g. the
        simulator's targets): then the predicted volumes are matched to its time points by
        ``(scan, tr_index)`` and to its ROIs by name.
    labels, names : see :func:`roi_series`
    rois : ROI description of the output (ignored when ``true`` is ROI time series: its ROIs
        are used).
    model : str

    Returns
    -------
    xarray.Dataset
        ``true`` and ``pred`` ``(time, roi)``: :func:`unebolt_viz.metrics.evaluate` scores it.
    """
    if true.attrs.get("kind") == VOLUME_KIND:
        true_roi = roi_series(true, labels, names, rois)
        pred_roi = roi_series(pred, labels, names, rois, name="pred")
        if list(true_roi.tr_index.values) != list(pred_roi.tr_index.values):
            raise InvalidDataError("pred and true hold different volumes (tr_index differs).")
    else:
        pred_roi = roi_series(pred, labels, names, true, name="pred")
        key = {(str(s), int(t)): i for i, (s, t)
               in enumerate(zip(pred_roi.scan.values, pred_roi.tr_index.values))}
        wanted = [(str(s), int(t)) for s, t in zip(true.scan.values, true.tr_index.values)]
        keep = [i for i, k in enumerate(wanted) if k in key]
        if not keep:
            raise InvalidDataError("No (scan, tr_index) of the true ROI series is among the "
                                   "predicted volumes.")
        true_roi = true.isel(time=keep)
        pred_roi = pred_roi.isel(time=[key[wanted[i]] for i in keep])
    return predictions(true_roi, pred_roi.values, model=model,
                       attrs={"bridge": "predicted volumes -> mean of each region's in-mask "
                                        "voxels -> ROI time series"})
