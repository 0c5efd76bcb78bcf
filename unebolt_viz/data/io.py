"""Saving and loading containers as netCDF files (h5netcdf engine), atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr

from .containers import KINDS, InvalidDataError, validate

__all__ = ["save", "load", "atomic_path"]

_ENGINE = "h5netcdf"


class atomic_path:  # noqa: N801 - used like a function in a with statement
    """Context manager giving a temporary path that replaces ``path`` only on success.

    The temporary file lives in the destination folder so that the final ``os.replace`` is
    atomic; on any error it is removed and ``path`` is left untouched.

    Examples
    --------
    >>> with atomic_path("results.nc") as tmp:  # doctest: +SKIP
    ...     write_something(tmp)
    """

    def __init__(self, path: str | os.PathLike, suffix: str | None = None) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix if suffix is None else suffix

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=f".tmp{self.suffix}",
                                   dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


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
