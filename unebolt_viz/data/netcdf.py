"""Saving and loading containers as netCDF files, atomically and with content checksums.

:func:`save` writes netCDF-4 (HDF5, h5netcdf engine) with HDF5's Fletcher-32 checksum filter
on every numeric array, so that a byte changed on disk or in transfer is detected when the
file is read, instead of loading silently. :func:`load` reads these files, and netCDF-3 files
(scipy engine), and says which file is wrong, why, and what to do about it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xarray as xr

from .._utils import atomic_path
from .containers import KINDS, InvalidDataError, validate

__all__ = ["save", "load", "DataFileError", "DataFileNotFoundError"]

_ENGINE = "h5netcdf"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_DATAARRAY_VARIABLE = "__xarray_dataarray_variable__"  # xarray's name for an unnamed DataArray
# encodings worth keeping from a loaded variable; the rest (chunk sizes, source, ...) describe
# the file it came from and may not fit the new one
_KEPT_ENCODING = ("dtype", "_FillValue", "units", "calendar", "scale_factor", "add_offset")
_REWRITE = "Write it again with unebolt_viz.data.save(obj, path), or copy or download it again"


class DataFileError(InvalidDataError):
    """A data file cannot be read or written; the message names it, the problem and a fix."""


class DataFileNotFoundError(DataFileError, FileNotFoundError):
    """The data file does not exist."""


def _checksum_encoding(obj: xr.DataArray | xr.Dataset) -> dict[str, dict[str, Any]]:
    """Fletcher-32 for every numeric array of at least one dimension (HDF5 cannot filter
    scalars or variable-length strings)."""
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None and obj.name not in obj.coords else None
        variables = {name if name is not None else _DATAARRAY_VARIABLE: obj.variable,
                     **{k: v.variable for k, v in obj.coords.items()}}
    else:
        variables = dict(obj.variables)
    return {
        str(k): {**{e: v.encoding[e] for e in _KEPT_ENCODING if e in v.encoding},
                 "fletcher32": True}
        for k, v in variables.items()
        if v.ndim > 0 and v.size > 0 and v.dtype.kind in "biufcMm"
    }


def save(obj: xr.DataArray | xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate a container and write it to a netCDF file, atomically.

    Every numeric array is written with HDF5's Fletcher-32 checksum, which :func:`load`
    verifies.

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Any container of :mod:`unebolt_viz.data` (EEG windows, ROI time series, predictions,
        FC) or a metrics Dataset.
    path : path-like
        Destination (``.nc``). Written to a temporary file first, then renamed; on any error
        the temporary file is removed and ``path`` is left as it was.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataFileError
        If ``path`` is an existing folder (checked before anything is written).
    """
    path = Path(path)
    if path.is_dir():
        raise DataFileError(
            f"{path} is a folder; save() writes one netCDF file. Give a file path such as "
            f"{path / 'data.nc'}."
        )
    if obj.attrs.get("kind") in KINDS:
        validate(obj)
    encoding = _checksum_encoding(obj)
    with atomic_path(path) as tmp:
        obj.to_netcdf(tmp, engine=_ENGINE, encoding=encoding)
    return path


def _engine_for(path: Path) -> str:
    """The xarray engine that reads ``path``, from its first bytes."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise DataFileError(f"{path} is empty (0 bytes): an interrupted copy or download? "
                            f"{_REWRITE}.")
    if head[:4] in (b"CDF\x01", b"CDF\x02"):
        return "scipy"
    if head[:4] == b"CDF\x05":
        raise DataFileError(
            f"{path} is a netCDF-3 64-bit-data (CDF-5) file, which the installed readers do not "
            f"support; convert it to netCDF-4 with `nccopy -k nc4 {path} out.nc`."
        )
    if head != _HDF5_SIGNATURE:
        raise DataFileError(
            f"{path} is not a netCDF file (its first bytes are {head!r}, neither netCDF-4/HDF5 "
            "nor netCDF-3). Check that the path points at a .nc file written by "
            "unebolt_viz.data.save or xarray.Dataset.to_netcdf; if it does, the file is "
            f"damaged. {_REWRITE}."
        )
    return _ENGINE


def _read(path: Path) -> xr.DataArray | xr.Dataset:
    engine = _engine_for(path)
    # scipy memory-maps by default, and warns when the map outlives the file
    options = {"mmap": False} if engine == "scipy" else {}
    try:
        ds = xr.load_dataset(path, engine=engine, **options)
        if len(ds.data_vars) == 1:
            (var,) = ds.data_vars
            if ds[var].attrs.get("kind") in ("eeg_windows", "roi_timeseries", "fc"):
                return xr.load_dataarray(path, engine=engine, **options)
        return ds
    except (OSError, ValueError, RuntimeError, KeyError, IndexError, TypeError, EOFError) as err:
        if "filter returned failure" in str(err):
            problem = ("the Fletcher-32 checksum of its data does not match: the file was "
                       "changed or damaged after it was written (disk or transfer error)")
        elif "truncated file" in str(err):
            problem = "it is truncated (an interrupted copy, download or write)"
        else:
            problem = f"it is damaged or truncated ({type(err).__name__}: {err})"
        raise DataFileError(f"Cannot read {path}: {problem}. {_REWRITE}.") from err


def load(path: str | os.PathLike, validate_data: bool = True) -> xr.DataArray | xr.Dataset:
    """Load a container written by :func:`save` (fully into memory).

    netCDF-4 files are read with h5netcdf (verifying their checksums), netCDF-3 files with
    scipy. A file holding one data variable whose ``kind`` is a DataArray kind comes back as
    a DataArray; anything else as a Dataset.

    Parameters
    ----------
    path : path-like
        The ``.nc`` file.
    validate_data : bool
        Check the container against the data model (default True).

    Returns
    -------
    xarray.DataArray or xarray.Dataset

    Raises
    ------
    DataFileNotFoundError
        If the file does not exist.
    DataFileError
        If it is not a netCDF file, is truncated or damaged (checksum mismatch), or is not a
        unebolt_viz container (no ``kind`` attribute). Subclasses :class:`InvalidDataError`.
    InvalidDataError
        If the container does not follow the data model (the message starts with the path).
    """
    path = Path(path)
    if not path.exists():
        raise DataFileNotFoundError(
            f"No such file: {path}. Check the path (relative paths start at {Path.cwd()}), "
            "or write the file first with unebolt_viz.data.save(obj, path)."
        )
    if path.is_dir():
        raise DataFileError(f"{path} is a folder, not a netCDF file; pass the path of a .nc file "
                            "inside it.")
    obj = _read(path)
    kinds = [obj.attrs.get("kind")]
    if isinstance(obj, xr.Dataset):
        kinds += [v.attrs.get("kind") for v in obj.data_vars.values()]
    if not any(kinds):
        raise DataFileError(
            f"{path} is a netCDF file but not a unebolt_viz container (no 'kind' attribute). "
            "Open it with xarray.open_dataset, then build a container with "
            "unebolt_viz.data.roi_timeseries, eeg_windows, predictions or fc and save that."
        )
    if validate_data and obj.attrs.get("kind") in KINDS:
        try:
            validate(obj)
        except InvalidDataError as err:
            raise InvalidDataError(f"{path}: {err}") from None
    return obj
