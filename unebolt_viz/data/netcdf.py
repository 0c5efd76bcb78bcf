"""Saving and loading containers as netCDF files (h5netcdf engine), atomically."""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from .._utils import atomic_path
from .containers import KINDS, InvalidDataError, validate

__all__ = ["save", "load"]

_ENGINE = "h5netcdf"


def save(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate a container and write it to a netCDF file, atomically.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Any container of :mod:`unebolt_viz.data` (EEG windows, ROI time series, predictions,
        FC) or a metrics Dataset.
    path : path-like
        Destination (``.nc``). Written to a temporary file first, then renamed.

    Returns
    -------
    pathlib.Path
    """
    if obj.attrs.get("kind") in KINDS:
        validate(obj)
    path = Path(path)
    with atomic_path(path) as tmp:
        obj.to_netcdf(tmp, engine=_ENGINE)
    return path


def load(path: str | os.PathLike, validate_data: bool = True) -> xr.DataArray | xr.Dataset:
    """Load a container written by :func:`save` (fully into memory).

    A file holding one data variable whose ``kind`` is a DataArray kind comes back as a
    DataArray; anything else as a Dataset.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}")
    ds = xr.load_dataset(path, engine=_ENGINE)
    obj: xr.DataArray | xr.Dataset = ds
    if len(ds.data_vars) == 1:
        (var,) = ds.data_vars
        if ds[var].attrs.get("kind") in ("eeg_windows", "roi_timeseries", "fc"):
            obj = xr.load_dataarray(path, engine=_ENGINE)
    if validate_data and obj.attrs.get("kind") in KINDS:
        try:
            validate(obj)
        except InvalidDataError as err:
            raise InvalidDataError(f"{path}: {err}") from None
    return obj
