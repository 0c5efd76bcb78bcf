"""The data model: xarray containers, their validation, the ``.unebolt`` accessor, netCDF I/O.

EEG windows ``(window, channel, time)``, ROI time series ``(time, roi)``, predictions (``true``
and ``pred`` side by side) and FC matrices ``(roi, roi2)``, with ROI names and Yeo-7 networks as
coordinates and their data source (simulated, semi-synthetic or real) in ``attrs``.
Whole BOLD volumes ``(time, x, y, z)`` with an affine and a brain mask are the
``bold_volumes`` container of :mod:`unebolt_viz.data.volumes`. Reading
recordings from files is :mod:`unebolt_viz.io`; this package only holds and checks the data.
"""

from __future__ import annotations

from . import accessor as _accessor  # noqa: F401  (registers the .unebolt accessor)
from .containers import (
    DATA_SOURCES,
    KINDS,
    InvalidDataError,
    eeg_windows,
    fc_matrix,
    predictions,
    roi_timeseries,
    validate,
    validate_eeg_windows,
    validate_fc,
    validate_predictions,
    validate_roi_timeseries,
)
from .identity import AtlasMismatchError, atlas_record, check_same_atlas, roi_fingerprint
from .netcdf import DataFileError, DataFileNotFoundError, load, save
from .volumes import (
    bold_volumes,
    load_volumes,
    open_volumes,
    save_volumes,
    validate_volumes,
)

__all__ = [
    "DataFileError",
    "DataFileNotFoundError",
    "AtlasMismatchError",
    "DATA_SOURCES",
    "KINDS",
    "InvalidDataError",
    "atlas_record",
    "bold_volumes",
    "check_same_atlas",
    "eeg_windows",
    "fc_matrix",
    "load",
    "load_volumes",
    "open_volumes",
    "predictions",
    "roi_fingerprint",
    "roi_timeseries",
    "save",
    "save_volumes",
    "validate",
    "validate_eeg_windows",
    "validate_fc",
    "validate_predictions",
    "validate_roi_timeseries",
    "validate_volumes",
]

