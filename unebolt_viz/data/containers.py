"""Constructors of the package's xarray containers (validators: :mod:`.validation`).

Four kinds of object flow through the package, each an xarray object with a ``kind``
attribute that names it:

``eeg_windows``  DataArray ``("window", "channel", "time")``
    TR-locked EEG windows (16 s before each fMRI volume). Coordinates: ``channel`` names and
    their positions ``ch_x``, ``ch_y``, ``ch_z`` (m, MNE head frame); ``time`` in seconds
    relative to the volume (-16 .. 0); per window ``scan``, ``subject``, ``tr_index`` and
    ``onset`` (s since the start of the recording). Attributes ``sfreq`` and ``units``.
``roi_timeseries``  DataArray ``("time", "roi")``
    ROI time series (one or several scans concatenated along ``time``). Coordinates: ``roi``
    name, ``network`` (Yeo-7), ``hemisphere``, centroid ``x``, ``y``, ``z`` (MNI mm) on ``roi``;
    ``time`` (s since the start of its scan), ``tr_index``, ``scan``, ``subject`` on ``time``.
    Attribute ``tr`` (s).
``predictions``  Dataset with ``true`` and ``pred``, both ``("time", "roi")`` as above.
``fc``  DataArray ``("roi", "roi2")``
    A functional-connectivity matrix, the ROI coordinates repeated on both axes with the
    suffix ``2`` on the second (``network2``, ``hemisphere2``, ...).

Every container carries ``data_source`` (``"simulated"``, ``"semi-synthetic"`` or ``"real"``)
so that no number or figure can forget where it comes from. ROI containers (time series,
predictions, FC) also carry ``atlas`` (its name, ``"unknown"`` when nobody said) and
``roi_fingerprint`` (:func:`unebolt_viz.data.identity.roi_fingerprint` of the ROI names, always
recomputed by the constructors), so that two ROI sets of the same size are never mistaken for
each other. All of them round-trip through
netCDF exactly (see :func:`unebolt_viz.data.save`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .identity import atlas_name
from .validation import (
    DATA_SOURCES,
    KINDS,
    ROI_COORDS,
    InvalidDataError,
    roi_fingerprint,
    validate,
    validate_eeg_windows,
    validate_fc,
    validate_predictions,
    validate_roi_timeseries,
)

__all__ = [
    "InvalidDataError",
    "DATA_SOURCES",
    "KINDS",
    "eeg_windows",
    "roi_timeseries",
    "predictions",
    "fc_matrix",
    "validate",
    "validate_eeg_windows",
    "validate_roi_timeseries",
    "validate_predictions",
    "validate_fc",
]


# ----------------------------------------------------------------------------------------------
# helpers


def _per_item(value: Any, n: int, name: str, dtype: Any = None) -> np.ndarray:
    """Broadcast a scalar to ``n`` items, or check that a sequence has ``n`` items."""
    if value is None:
        raise InvalidDataError(f"{name} is required.")
    if np.ndim(value) == 0:
        arr = np.full(n, value)
    else:
        arr = np.asarray(value)
        if arr.shape != (n,):
            raise InvalidDataError(
                f"{name} has {arr.shape[0] if arr.ndim else 0} values but the data has {n} along "
                "that axis: give one value per item (or a single value for all)."
            )
    if dtype is object:
        return np.array([str(v) for v in arr], dtype=object)
    return arr.astype(dtype) if dtype is not None else arr


def _check_source(data_source: str) -> str:
    if data_source not in DATA_SOURCES:
        raise InvalidDataError(
            f"data_source={data_source!r}; say where the data comes from with one of {DATA_SOURCES}."
        )
    return data_source


def _container_attrs(kind: str, data_source: str, attrs: Mapping[str, Any] | None,
                     **fixed: Any) -> dict[str, Any]:
    """A container's attributes: ``kind``, ``fixed``, the checked ``data_source``, then the
    caller's ``attrs`` (which win on a clash)."""
    return {"kind": kind, **fixed, "data_source": _check_source(data_source), **dict(attrs or {})}


def _roi_coords_from(
    rois: Any, n_rois: int, suffix: str = "", dim: str = "roi"
) -> dict[str, tuple[str, np.ndarray]]:
    """ROI coordinates from an :class:`~unebolt_viz.atlases.Atlas`, a mapping or ROI names.

    ``rois`` may be an Atlas, a mapping with keys ``roi`` (names), ``network`` and optional
    ``hemisphere``, ``x``, ``y``, ``z`` / ``centroid``, or a DataArray carrying those coords.
    """
    if hasattr(rois, "roi_coords") and hasattr(rois, "n_rois"):
        coords = rois.roi_coords(dim=dim, suffix=suffix)
    else:
        if isinstance(rois, (xr.DataArray, xr.Dataset)):
            source = {k: rois.coords[k].values for k in ("roi", *ROI_COORDS) if k in rois.coords}
        elif isinstance(rois, Mapping):
            source = dict(rois)
        else:
            raise InvalidDataError(
                "rois must be an Atlas (unebolt_viz.load_atlas), a mapping with 'roi' and "
                "'network' entries, or an xarray object with those coordinates."
            )
        if "roi" not in source or "network" not in source:
            raise InvalidDataError("ROI description needs 'roi' (names) and 'network' entries.")
        centroid = source.get("centroid")
        if centroid is not None:
            centroid = np.asarray(centroid, dtype=float)
            source.setdefault("x", centroid[:, 0])
            source.setdefault("y", centroid[:, 1])
            source.setdefault("z", centroid[:, 2])
        coords = {dim: (dim, _per_item(source["roi"], n_rois, "roi", object))}
        from ..networks import canonical_network

        coords[f"network{suffix}"] = (
            dim,
            np.array([canonical_network(v) for v in _per_item(source["network"], n_rois, "network")],
                     dtype=object),
        )
        coords[f"hemisphere{suffix}"] = (
            dim, _per_item(source.get("hemisphere", "B"), n_rois, "hemisphere", object))
        for axis in ("x", "y", "z"):
            coords[f"{axis}{suffix}"] = (
                dim, _per_item(source.get(axis, np.nan), n_rois, axis, float))
    n_given = len(coords[dim][1])
    if n_given != n_rois:
        raise InvalidDataError(f"The ROI description has {n_given} ROIs but the data has {n_rois}.")
    return coords


def _identity_attrs(rois: Any, roi_names: Any, attrs: Mapping[str, Any] | None,
                    inherited: Mapping[str, Any] | None = None) -> dict[str, str]:
    """``atlas`` and ``roi_fingerprint`` attributes of a new container.

    The atlas name is the one given in ``attrs``, else the name of an Atlas passed as the ROI
    description, else that of an xarray object passed as it (or ``inherited``), else
    ``"unknown"``. The fingerprint is always recomputed from the ROI names.
    """
    name = (attrs or {}).get("atlas")
    if name is None and hasattr(rois, "roi_coords") and hasattr(rois, "n_rois"):
        name = getattr(rois, "name", None)
    if name is None and isinstance(rois, (xr.DataArray, xr.Dataset)):
        name = rois.attrs.get("atlas")
    if name is None and inherited is not None:
        name = inherited.get("atlas")
    return {"atlas": atlas_name(name), "roi_fingerprint": roi_fingerprint(map(str, roi_names))}


def _time_coords(
    n_times: int, tr: float, scan: Any, subject: Any, tr_index: Any, time: Any
) -> dict[str, tuple[str, np.ndarray]]:
    tr_idx = np.arange(n_times) if tr_index is None else _per_item(tr_index, n_times, "tr_index", int)
    t = tr_idx * float(tr) if time is None else _per_item(time, n_times, "time", float)
    return {
        "time": ("time", t.astype(float)),
        "tr_index": ("time", tr_idx.astype(np.int64)),
        "scan": ("time", _per_item(scan, n_times, "scan", object)),
        "subject": ("time", _per_item(subject, n_times, "subject", object)),
    }


# ----------------------------------------------------------------------------------------------
# constructors


def eeg_windows(
    data: np.ndarray,
    ch_names: Sequence[str],
    sfreq: float,
    *,
    scan: str | Sequence[str],
    subject: str | Sequence[str],
    tr_index: Sequence[int] | None = None,
    onset: Sequence[float] | None = None,
    ch_pos: np.ndarray | None = None,
    tmin: float = -16.0,
    units: str = "uV",
    data_source: str = "real",
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap TR-locked EEG windows as a validated DataArray.

    Parameters
    ----------
    data : ndarray, shape (n_windows, n_channels, n_times)
        The windows. Not copied: pass a strided view on the continuous recording to keep
        memory at one copy of the signal.
    ch_names : sequence of str
        Channel names, unique.
    sfreq : float
        Sampling frequency (Hz).
    scan, subject : str or sequence of str
        Scan and subject of each window (a single value applies to all).
    tr_index : sequence of int, optional
        Index of the fMRI volume each window precedes (default ``0 .. n_windows-1``).
    onset : sequence of float, optional
        Time of that volume in seconds since the start of the recording
        (default: unknown, NaN).
    ch_pos : ndarray, shape (n_channels, 3), optional
        Channel positions in metres (MNE head frame); NaN when unknown.
    tmin : float
        Time of the first sample relative to the volume (s); -16 in the paper.
    units : str
        ``"uV"`` (the models expect microvolts) or ``"V"``.
    data_source : {"simulated", "semi-synthetic", "real"}
        Where the data comes from.
    attrs : mapping, optional
        Extra attributes (netCDF-compatible values: str, int, float).

    Returns
    -------
    xarray.DataArray
    """
    data = np.asarray(data)
    if data.ndim != 3:
        raise InvalidDataError(
            f"EEG windows must be 3-D (window, channel, time); got shape {data.shape}."
        )
    n_win, n_ch, n_t = data.shape
    names = _per_item(list(ch_names), n_ch, "ch_names", object)
    pos = np.full((n_ch, 3), np.nan) if ch_pos is None else np.asarray(ch_pos, dtype=float)
    if pos.shape != (n_ch, 3):
        raise InvalidDataError(f"ch_pos has shape {pos.shape}, expected ({n_ch}, 3).")
    coords = {
        "window": ("window", np.arange(n_win)),
        "channel": ("channel", names),
        "ch_x": ("channel", pos[:, 0]),
        "ch_y": ("channel", pos[:, 1]),
        "ch_z": ("channel", pos[:, 2]),
        "time": ("time", tmin + np.arange(n_t) / float(sfreq)),
        "scan": ("window", _per_item(scan, n_win, "scan", object)),
        "subject": ("window", _per_item(subject, n_win, "subject", object)),
        "tr_index": ("window", np.arange(n_win) if tr_index is None
                     else _per_item(tr_index, n_win, "tr_index", np.int64)),
        "onset": ("window", np.full(n_win, np.nan) if onset is None
                  else _per_item(onset, n_win, "onset", float)),
    }
    out = xr.DataArray(
        data,
        dims=("window", "channel", "time"),
        coords=coords,
        name="eeg",
        attrs=_container_attrs("eeg_windows", data_source, attrs, sfreq=float(sfreq),
                               units=units),
    )
    validate_eeg_windows(out)
    return out


def roi_timeseries(
    data: np.ndarray,
    rois: Any,
    tr: float,
    *,
    scan: str | Sequence[str],
    subject: str | Sequence[str],
    tr_index: Sequence[int] | None = None,
    time: Sequence[float] | None = None,
    data_source: str = "real",
    name: str = "bold",
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap ROI time series as a validated DataArray with ROI and network coordinates.

    Parameters
    ----------
    data : ndarray, shape (n_times, n_rois)
        One column per ROI.
    rois : Atlas or mapping
        The ROI description: an :class:`~unebolt_viz.atlases.Atlas` (its name becomes the
        ``atlas`` attribute), or a mapping with ``roi``, ``network`` and optional
        ``hemisphere`` and ``x``, ``y``, ``z`` (or ``centroid``).
    tr : float
        Repetition time (s).
    scan, subject : str or sequence of str
        Scan and subject of each time point.
    tr_index : sequence of int, optional
        Volume index within its scan (default ``0 .. n_times-1``).
    time : sequence of float, optional
        Time since the start of the scan (default ``tr_index * tr``).
    data_source : {"simulated", "semi-synthetic", "real"}
    name : str
        Name of the DataArray.
    attrs : mapping, optional
        Extra attributes; ``atlas`` names the atlas when ``rois`` is not an Atlas.

    Returns
    -------
    xarray.DataArray
        With attributes ``atlas`` and ``roi_fingerprint`` besides ``tr`` and ``data_source``.
    """
    data = np.asarray(data)
    if data.ndim != 2:
        raise InvalidDataError(f"ROI time series must be 2-D (time, roi); got shape {data.shape}.")
    n_t, n_roi = data.shape
    coords = {**_time_coords(n_t, tr, scan, subject, tr_index, time), **_roi_coords_from(rois, n_roi)}
    out = xr.DataArray(
        data,
        dims=("time", "roi"),
        coords=coords,
        name=name,
        attrs={**_container_attrs("roi_timeseries", data_source, attrs, tr=float(tr)),
               **_identity_attrs(rois, coords["roi"][1], attrs)},
    )
    validate_roi_timeseries(out)
    return out


def predictions(
    true: xr.DataArray, pred: np.ndarray | xr.DataArray, *, model: str = "unknown",
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Pair true and predicted ROI time series in one Dataset.

    Parameters
    ----------
    true : xarray.DataArray
        A ``roi_timeseries`` container (its coordinates are reused).
    pred : ndarray or DataArray, shape like ``true``
        The model's predictions, in the same time and ROI order.
    model : str
        Name of the model that predicted (kept as an attribute).
    attrs : mapping, optional
        Extra attributes (e.g. the experiment, checkpoint path).

    Returns
    -------
    xarray.Dataset
        Variables ``true`` and ``pred``; ``data_source`` and ``atlas`` are the true data's
        (unless ``attrs`` names the atlas) and ``roi_fingerprint`` is recomputed.
    """
    validate_roi_timeseries(true)
    values = pred.values if isinstance(pred, xr.DataArray) else np.asarray(pred)
    if values.shape != true.shape:
        raise InvalidDataError(
            f"pred has shape {values.shape} but true has {true.shape}: predict the same "
            "time points and ROIs."
        )
    if isinstance(pred, xr.DataArray) and "roi" in pred.coords:
        if list(pred.roi.values) != list(true.roi.values):
            raise InvalidDataError("pred and true list their ROIs in different orders.")
    true_clean = true.copy()
    true_clean.attrs = {}
    ds = xr.Dataset(
        {"true": true_clean, "pred": (("time", "roi"), values.astype(true.dtype, copy=False))},
        attrs={"kind": "predictions", "tr": true.attrs["tr"],
               "data_source": true.attrs["data_source"], "model": model, **dict(attrs or {}),
               **_identity_attrs(None, true.roi.values, attrs, inherited=true.attrs)},
    )
    validate_predictions(ds)
    return ds


def fc_matrix(
    matrix: np.ndarray, rois: Any, *, data_source: str = "real", name: str = "fc",
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap a functional-connectivity matrix with ROI coordinates on both axes.

    Parameters
    ----------
    matrix : ndarray, shape (n_rois, n_rois)
        Symmetric connectivity (e.g. Pearson r).
    rois : Atlas, mapping or xarray object
        The ROI description (see :func:`roi_timeseries`).
    data_source : {"simulated", "semi-synthetic", "real"}
    name : str
    attrs : mapping, optional

    Returns
    -------
    xarray.DataArray
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InvalidDataError(f"An FC matrix must be square; got shape {matrix.shape}.")
    n = matrix.shape[0]
    coords = {**_roi_coords_from(rois, n), **_roi_coords_from(rois, n, suffix="2", dim="roi2")}
    out = xr.DataArray(
        matrix, dims=("roi", "roi2"), coords=coords, name=name,
        attrs={**_container_attrs("fc", data_source, attrs),
               **_identity_attrs(rois, coords["roi"][1], attrs)},
    )
    validate_fc(out)
    return out
