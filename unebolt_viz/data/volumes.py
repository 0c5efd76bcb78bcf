"""Volumetric BOLD: the container of whole fMRI volumes, its validation and netCDF I/O.

``bold_volumes``  DataArray ``("time", "x", "y", "z")``
    One or several scans of BOLD volumes concatenated along ``time``. Coordinates on ``time``
    as in ``roi_timeseries``: ``time`` (s since the start of its scan), ``tr_index`` (volume
    index within its scan), ``scan`` and ``subject``; ``x``, ``y``, ``z`` are voxel indices;
    ``mask`` ``(x, y, z)`` is the brain mask (bool). Attributes: ``kind="bold_volumes"``,
    ``tr`` (s), ``affine`` (the voxel-to-world matrix, 16 floats in row-major order, world
    coordinates in mm, MNI space for the simulated volumes), ``units`` and ``data_source``
    (``"simulated"``, ``"semi-synthetic"`` or ``"real"``).

A container holds whatever values its producer puts in; outside the mask they are not used by
the package (the bridge to ROI time series averages in-mask voxels only). A volume of 64 x 64 x
30 float32 voxels is 0.5 MB, so a 20-minute scan is a few hundred MB: :func:`open_volumes`
reads a file lazily (a ``.isel(time=...)`` reads only those volumes), :func:`load_volumes`
reads it whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .containers import _container_attrs, _time_coords
from .netcdf import DataFileError, DataFileNotFoundError, load, save
from .validation import (
    TIME_COORDS,
    InvalidDataError,
    _require_attrs,
    _require_coords,
    _require_finite,
)

__all__ = [
    "VOLUME_KIND",
    "bold_volumes",
    "validate_volumes",
    "volume_affine",
    "save_volumes",
    "load_volumes",
    "open_volumes",
    "to_nifti",
]

VOLUME_KIND = "bold_volumes"
_DIMS = ("time", "x", "y", "z")


def _affine_array(affine: Any) -> np.ndarray:
    aff = np.asarray(affine, dtype=float)
    if aff.shape == (16,):
        aff = aff.reshape(4, 4)
    if aff.shape != (4, 4):
        raise InvalidDataError(f"affine has shape {aff.shape}; give the 4 x 4 voxel-to-world "
                               "matrix (e.g. a Nifti image's .affine).")
    if not np.all(np.isfinite(aff)) or not np.allclose(aff[3], [0, 0, 0, 1]):
        raise InvalidDataError("affine must be finite with last row [0, 0, 0, 1].")
    if abs(np.linalg.det(aff[:3, :3])) < 1e-9:
        raise InvalidDataError("affine is singular (zero voxel size?); give the scan's matrix.")
    return aff


def bold_volumes(
    data: np.ndarray,
    affine: np.ndarray,
    mask: np.ndarray | None,
    tr: float,
    *,
    scan: str | Sequence[str],
    subject: str | Sequence[str],
    tr_index: Sequence[int] | None = None,
    time: Sequence[float] | None = None,
    data_source: str = "real",
    units: str = "a.u.",
    name: str = "bold",
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Wrap BOLD volumes as a validated ``bold_volumes`` DataArray.

    Parameters
    ----------
    data : ndarray, shape (n_times, nx, ny, nz)
        The volumes (not copied when already an array).
    affine : ndarray, shape (4, 4)
        Voxel-to-world matrix (mm), as a Nifti image's ``.affine``.
    mask : ndarray of bool, shape (nx, ny, nz), optional
        Brain mask; None: every voxel.
    tr : float
        Repetition time (s).
    scan, subject : str or sequence of str
        Scan and subject of each volume (a single value applies to all).
    tr_index : sequence of int, optional
        Volume index within its scan (default ``0 .. n_times-1``).
    time : sequence of float, optional
        Time since the start of the scan (default ``tr_index * tr``).
    data_source : {"simulated", "semi-synthetic", "real"}
        Where the data comes from.
    units : str
        What the values are (e.g. ``"a.u."``, ``"percent signal change"``).
    name : str
        Name of the DataArray.
    attrs : mapping, optional
        Extra attributes (netCDF-compatible values).

    Returns
    -------
    xarray.DataArray
    """
    data = np.asarray(data)
    if data.ndim != 4:
        raise InvalidDataError(f"BOLD volumes must be 4-D (time, x, y, z); got shape {data.shape}. "
                               "A Nifti array is (x, y, z, time): pass np.moveaxis(arr, -1, 0).")
    n_t, nx, ny, nz = data.shape
    mask_arr = np.ones((nx, ny, nz), dtype=bool) if mask is None else np.asarray(mask)
    if mask_arr.shape != (nx, ny, nz):
        raise InvalidDataError(f"mask has shape {mask_arr.shape}, the volumes {(nx, ny, nz)}.")
    coords = {
        **_time_coords(n_t, tr, scan, subject, tr_index, time),
        "x": ("x", np.arange(nx)), "y": ("y", np.arange(ny)), "z": ("z", np.arange(nz)),
        "mask": (("x", "y", "z"), mask_arr.astype(bool)),
    }
    out = xr.DataArray(
        data, dims=_DIMS, coords=coords, name=name,
        attrs={**_container_attrs(VOLUME_KIND, data_source, attrs, tr=float(tr),
                                  units=str(units)),
               "affine": _affine_array(affine).ravel()},
    )
    validate_volumes(out)
    return out


def validate_volumes(da: xr.DataArray, check_values: bool = True) -> xr.DataArray:
    """Check that ``da`` is a valid ``bold_volumes`` container; return it unchanged.

    Parameters
    ----------
    da : xarray.DataArray
    check_values : bool
        Also check that every value is finite (reads all the data; False for a lazily opened
        file).
    """
    kind = "BOLD volumes"
    if not isinstance(da, xr.DataArray):
        raise InvalidDataError(f"{kind} must be an xarray.DataArray, got {type(da).__name__}.")
    if tuple(da.dims) != _DIMS:
        raise InvalidDataError(f"{kind} must have dims {_DIMS}; got {tuple(da.dims)}.")
    if da.attrs.get("kind") != VOLUME_KIND:
        raise InvalidDataError(f"{kind}: attrs['kind'] must be {VOLUME_KIND!r}; build it with "
                               "unebolt_viz.data.bold_volumes.")
    _require_coords(da, ["time", *TIME_COORDS], "time", kind)
    _require_attrs(da, ["tr", "data_source", "affine"], kind)
    _affine_array(da.attrs["affine"])
    if "mask" not in da.coords or da.coords["mask"].dims != ("x", "y", "z"):
        raise InvalidDataError(f"{kind} needs a 'mask' coordinate on ('x', 'y', 'z') "
                               "(all True when there is no brain mask).")
    if da.coords["mask"].dtype != bool:
        raise InvalidDataError(f"{kind}: 'mask' must be boolean, got {da.coords['mask'].dtype}.")
    if not da.coords["mask"].values.any():
        raise InvalidDataError(f"{kind}: the brain mask is empty.")
    if check_values:
        _require_finite(np.asarray(da.values), kind)
    return da


def volume_affine(da: xr.DataArray) -> np.ndarray:
    """The ``(4, 4)`` voxel-to-world matrix of a ``bold_volumes`` container."""
    return _affine_array(da.attrs["affine"])


def save_volumes(da: xr.DataArray, path: str | os.PathLike) -> Path:
    """Validate and write a ``bold_volumes`` container to netCDF (atomic, with checksums).

    Parameters
    ----------
    da : xarray.DataArray
    path : path-like
        Destination ``.nc`` file.

    Returns
    -------
    pathlib.Path
    """
    validate_volumes(da)
    return save(da, path)


def _as_volumes(obj: xr.DataArray | xr.Dataset, path: Path,
                variable: str | None = None) -> xr.DataArray:
    if isinstance(obj, xr.Dataset):
        names = [v for v in obj.data_vars if obj[v].attrs.get("kind") == VOLUME_KIND]
        if variable is not None:
            if variable not in names:
                raise DataFileError(f"{path} has no BOLD-volumes variable {variable!r}; it has "
                                    f"{names}.")
            names = [variable]
        if len(names) != 1:
            raise DataFileError(f"{path} holds {len(names)} BOLD-volumes variables ({names}); "
                                "name one with variable=..., or write the file with "
                                "unebolt_viz.data.save_volumes.")
        obj = obj[names[0]]
    if "mask" in obj.coords and obj.coords["mask"].dtype != bool:
        obj = obj.assign_coords(mask=obj.coords["mask"].astype(bool))
    return obj


def load_volumes(path: str | os.PathLike, validate_data: bool = True,
                 variable: str | None = None) -> xr.DataArray:
    """Read a ``bold_volumes`` file written by :func:`save_volumes`, fully into memory.

    Parameters
    ----------
    path : path-like
    validate_data : bool
        Check the container (default True).
    variable : str, optional
        Which variable of a file holding several (e.g. ``"bold"`` of a simulated-volumes
        file); default the only one.

    Returns
    -------
    xarray.DataArray
    """
    path = Path(path)
    da = _as_volumes(load(path, validate_data=False), path, variable)
    if validate_data:
        try:
            validate_volumes(da)
        except InvalidDataError as err:
            raise InvalidDataError(f"{path}: {err}") from None
    return da


def open_volumes(path: str | os.PathLike, variable: str | None = None) -> xr.DataArray:
    """Open a ``bold_volumes`` file lazily: only the volumes indexed are read.

    The file stays open while the DataArray lives (``.close()`` it when done). Values are
    not checked (that would read them all); the structure is.

    Parameters
    ----------
    path : path-like
    variable : str, optional
        See :func:`load_volumes`.

    Returns
    -------
    xarray.DataArray
        Backed by the file; ``da.isel(time=slice(i, j)).values`` reads volumes ``i..j-1``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"No such file: {path}. Write it first with "
                                    "unebolt_viz.data.save_volumes(volumes, path).")
    try:
        ds = xr.open_dataset(path, engine="h5netcdf")
    except (OSError, ValueError) as err:
        raise DataFileError(f"Cannot open {path} ({type(err).__name__}: {err}); write it again "
                            "with unebolt_viz.data.save_volumes.") from err
    da = _as_volumes(ds, path, variable)
    da = da.assign_coords(mask=da.coords["mask"].load())
    try:
        validate_volumes(da, check_values=False)
    except InvalidDataError as err:
        raise InvalidDataError(f"{path}: {err}") from None
    return da


def to_nifti(da: xr.DataArray):
    """A ``nibabel.Nifti1Image`` ``(x, y, z, time)`` of the volumes, with their affine.

    Parameters
    ----------
    da : xarray.DataArray
        A ``bold_volumes`` container (read whole).

    Returns
    -------
    nibabel.Nifti1Image
    """
    import nibabel as nib

    data = np.moveaxis(np.asarray(da.values, dtype=np.float32), 0, -1)
    img = nib.Nifti1Image(data, volume_affine(da))
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = float(da.attrs["tr"])
    return img
