"""Validators of the package's xarray containers, and the vocabulary they check against.

The data model itself (the four kinds, their dims, coordinates and attributes) is described in
:mod:`unebolt_viz.data.containers`, whose constructors build valid objects and check them
here. Every failure raises :class:`InvalidDataError`, with a message that says how to fix it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..networks import NETWORK_NAMES

__all__ = [
    "InvalidDataError",
    "DATA_SOURCES",
    "KINDS",
    "validate",
    "validate_eeg_windows",
    "validate_roi_timeseries",
    "validate_predictions",
    "validate_fc",
    "roi_fingerprint",
]

DATA_SOURCES = ("simulated", "semi-synthetic", "real")
KINDS = ("eeg_windows", "roi_timeseries", "predictions", "fc")
ROI_COORDS = ("network", "hemisphere", "x", "y", "z")
WINDOW_COORDS = ("scan", "subject", "tr_index", "onset")
TIME_COORDS = ("tr_index", "scan", "subject")


class InvalidDataError(ValueError):
    """An xarray object does not follow the package's data model."""


def roi_fingerprint(roi_names: Sequence[str]) -> str:
    """A short identity of an ordered list of ROI names.

    Parameters
    ----------
    roi_names : sequence of str
        ROI names in order.

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of the names joined by newlines; it changes when
        a name, the number of ROIs or their order changes.
    """
    text = "\n".join(str(name) for name in roi_names)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _require_dims(obj: xr.DataArray, dims: tuple[str, ...], kind: str) -> None:
    if tuple(obj.dims) != dims:
        raise InvalidDataError(f"{kind} must have dims {dims}; got {tuple(obj.dims)}.")


def _require_coords(obj: xr.DataArray | xr.Dataset, names: Sequence[str], dim: str, kind: str) -> None:
    missing = [c for c in names if c not in obj.coords]
    if missing:
        raise InvalidDataError(f"{kind} is missing the coordinates {missing} (on '{dim}').")
    wrong = [c for c in names if obj.coords[c].dims != (dim,)]
    if wrong:
        raise InvalidDataError(f"{kind}: coordinates {wrong} must lie along '{dim}'.")


def _require_attrs(obj: xr.DataArray | xr.Dataset, names: Sequence[str], kind: str) -> None:
    missing = [a for a in names if a not in obj.attrs]
    if missing:
        raise InvalidDataError(f"{kind} is missing the attributes {missing}.")
    if obj.attrs["data_source"] not in DATA_SOURCES:
        raise InvalidDataError(
            f"{kind}: data_source={obj.attrs['data_source']!r}, expected one of {DATA_SOURCES}."
        )


def _require_finite(values: np.ndarray, kind: str, what: str = "values") -> None:
    if not np.issubdtype(values.dtype, np.number) or values.size == 0:
        return
    # Check in chunks along the first axis: EEG windows are overlapping strided views, and a
    # single isfinite() over them would allocate a mask many times the recording's size.
    step = max(1, (1 << 22) // max(1, values[0].size))
    n_bad = 0
    for start in range(0, values.shape[0], step):
        chunk = values[start:start + step]
        n_bad += int(chunk.size - np.count_nonzero(np.isfinite(chunk)))
    if n_bad:
        raise InvalidDataError(
            f"{kind} has {n_bad} NaN or infinite {what}; clean or interpolate them first."
        )


def _check_rois(obj: xr.DataArray | xr.Dataset, kind: str, dim: str = "roi", suffix: str = "") -> None:
    _require_coords(obj, [dim] + [c + suffix for c in ROI_COORDS], dim, kind)
    names = [str(r) for r in obj.coords[dim].values]
    if len(set(names)) != len(names):
        dupes = sorted({r for r in names if names.count(r) > 1})
        raise InvalidDataError(f"{kind} has duplicate ROI names: {dupes}.")
    unknown = sorted(set(map(str, obj.coords["network" + suffix].values)) - set(NETWORK_NAMES))
    if unknown:
        raise InvalidDataError(
            f"{kind} has unknown network labels {unknown}; use canonical names "
            f"{list(NETWORK_NAMES)} (unebolt_viz.networks.canonical_network maps aliases)."
        )
    if not suffix:
        _check_fingerprint(obj, names, kind)


def _check_fingerprint(obj: xr.DataArray | xr.Dataset, names: list[str], kind: str) -> None:
    """Refuse a stored ``roi_fingerprint`` that does not describe the ROI coordinate."""
    stored = obj.attrs.get("roi_fingerprint")
    if stored is None:
        return
    actual = roi_fingerprint(names)
    if str(stored) != actual:
        raise InvalidDataError(
            f"{kind}: attrs['roi_fingerprint']={stored!r} does not match its {len(names)} ROI "
            f"names (fingerprint {actual}, first ROIs {names[:3]}); the ROIs were reordered, "
            "subset or renamed after the fingerprint was recorded, or it belongs to another "
            "atlas. Rebuild the object with the unebolt_viz.data constructors (they recompute "
            "it), or delete attrs['roi_fingerprint'] if the ROI names are right."
        )


def validate_eeg_windows(da: xr.DataArray) -> xr.DataArray:
    """Check that ``da`` is a valid EEG-windows container; return it unchanged."""
    kind = "EEG windows"
    if not isinstance(da, xr.DataArray):
        raise InvalidDataError(f"{kind} must be an xarray.DataArray, got {type(da).__name__}.")
    _require_dims(da, ("window", "channel", "time"), kind)
    _require_coords(da, ["channel", "ch_x", "ch_y", "ch_z"], "channel", kind)
    _require_coords(da, ["time"], "time", kind)
    _require_coords(da, list(WINDOW_COORDS), "window", kind)
    _require_attrs(da, ["sfreq", "units", "data_source"], kind)
    names = [str(c) for c in da.channel.values]
    if len(set(names)) != len(names):
        raise InvalidDataError(f"{kind} has duplicate channel names: "
                               f"{sorted({c for c in names if names.count(c) > 1})}.")
    if da.attrs["units"] not in ("uV", "V"):
        raise InvalidDataError(f"{kind}: units={da.attrs['units']!r}, expected 'uV' or 'V'.")
    _require_finite(da.values, kind, "samples")
    return da


def validate_roi_timeseries(da: xr.DataArray) -> xr.DataArray:
    """Check that ``da`` is a valid ROI time-series container; return it unchanged."""
    kind = "ROI time series"
    if not isinstance(da, xr.DataArray):
        raise InvalidDataError(f"{kind} must be an xarray.DataArray, got {type(da).__name__}.")
    _require_dims(da, ("time", "roi"), kind)
    _require_coords(da, ["time", *TIME_COORDS], "time", kind)
    _check_rois(da, kind)
    _require_attrs(da, ["tr", "data_source"], kind)
    _require_finite(da.values, kind)
    return da


def validate_predictions(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` is a valid predictions Dataset; return it unchanged."""
    kind = "Predictions"
    if not isinstance(ds, xr.Dataset):
        raise InvalidDataError(f"{kind} must be an xarray.Dataset, got {type(ds).__name__}.")
    missing = [v for v in ("true", "pred") if v not in ds.data_vars]
    if missing:
        raise InvalidDataError(f"{kind} is missing the variables {missing}.")
    for var in ("true", "pred"):
        _require_dims(ds[var], ("time", "roi"), f"{kind} '{var}'")
        _require_finite(ds[var].values, f"{kind} '{var}'")
    _require_coords(ds, ["time", *TIME_COORDS], "time", kind)
    _check_rois(ds, kind)
    _require_attrs(ds, ["tr", "data_source"], kind)
    return ds


def validate_fc(da: xr.DataArray) -> xr.DataArray:
    """Check that ``da`` is a valid FC matrix container; return it unchanged."""
    kind = "FC matrix"
    if not isinstance(da, xr.DataArray):
        raise InvalidDataError(f"{kind} must be an xarray.DataArray, got {type(da).__name__}.")
    _require_dims(da, ("roi", "roi2"), kind)
    _check_rois(da, kind)
    _check_rois(da, kind, dim="roi2", suffix="2")
    if list(map(str, da.roi.values)) != list(map(str, da.roi2.values)):
        raise InvalidDataError(f"{kind}: 'roi' and 'roi2' must list the same ROIs in the same order.")
    _require_attrs(da, ["data_source"], kind)
    _require_finite(da.values, kind)
    if not np.allclose(da.values, da.values.T, atol=1e-6, equal_nan=False):
        raise InvalidDataError(f"{kind} is not symmetric.")
    return da


_VALIDATORS = {
    "eeg_windows": validate_eeg_windows,
    "roi_timeseries": validate_roi_timeseries,
    "predictions": validate_predictions,
    "fc": validate_fc,
}


def validate(obj: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    """Validate any container according to its ``kind`` attribute; return it unchanged."""
    kind = obj.attrs.get("kind")
    if kind not in _VALIDATORS:
        raise InvalidDataError(
            f"Object has kind={kind!r}; expected one of {KINDS}. Build it with the "
            "constructors in unebolt_viz.data (eeg_windows, roi_timeseries, predictions, fc_matrix)."
        )
    return _VALIDATORS[kind](obj)
