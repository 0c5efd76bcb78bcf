"""Data: xarray containers, their validation and I/O, real-data readers and fetching.

Heavy parts (MNE, nilearn, pooch) are imported only when their functions are called.
"""

from __future__ import annotations

import importlib
from typing import Any

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
from .io import atomic_path, load, save

# name -> module (relative to this package) for functions loaded on first use
_LAZY = {
    "fetch": ".fetch",
    "load_manifest": ".fetch",
    "list_datasets": ".fetch",
    "FetchError": ".fetch",
    "HashMismatchError": ".fetch",
    "UnverifiedDataError": ".fetch",
    "DownloadError": ".fetch",
    "ManualDownloadError": ".fetch",
    "UnknownDatasetError": ".fetch",
    "ManifestError": ".fetch",
    "read_neurobolt_scan": ".real",
    "read_neurobolt_split": ".real",
    "load_neurobolt_rest": ".real",
    "shared_data_dir": ".real",
    "read_eeg": ".eeg",
    "prepare_eeg": ".eeg",
    "eeg_windows_from_raw": ".eeg",
    "eeg_windows_from_array": ".eeg",
    "EEGReport": ".eeg",
    "EEGFileError": ".eeg",
    "read_roi_table": ".fmri",
    "extract_roi_timeseries": ".fmri",
    "read_confounds": ".fmri",
    "pair_scan": ".ingest",
    "load_scan_pair": ".ingest",
    "TriggerMismatchError": ".ingest",
    "find_bids_runs": ".bids",
    "BIDSRun": ".bids",
    "runs_table": ".bids",
    "subject_groups": ".bids",
}

__all__ = [
    "DATA_SOURCES",
    "KINDS",
    "InvalidDataError",
    "atomic_path",
    "eeg_windows",
    "fc_matrix",
    "load",
    "predictions",
    "roi_timeseries",
    "save",
    "validate",
    "validate_eeg_windows",
    "validate_fc",
    "validate_predictions",
    "validate_roi_timeseries",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
