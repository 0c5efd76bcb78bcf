__all__ = [
    "BIDSRun",
    "BOLDFileError",
    "EEGFileError",
    "EEGReport",
    "ScanPair",
    "TriggerMismatchError",
    "eeg_windows_from_array",
    "eeg_windows_from_raw",
    "extract_roi_timeseries",
    "find_bids_runs",
    "load_scan_pair",
    "pair_scan",
    "prepare_eeg",
    "read_confounds",
    "read_eeg",
    "read_roi_table",
    "runs_table",
    "subject_groups",
]

from .bids import BIDSRun, find_bids_runs, runs_table, subject_groups
from .eeg import (
    EEGFileError,
    EEGReport,
    eeg_windows_from_array,
    eeg_windows_from_raw,
    prepare_eeg,
    read_eeg,
)
from .fmri import BOLDFileError, extract_roi_timeseries, read_confounds, read_roi_table
from .ingest import TriggerMismatchError, load_scan_pair, pair_scan
from .pairing import ScanPair
