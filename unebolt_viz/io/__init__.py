"""Reading recordings: EEG (read, prepare, window), fMRI ROI tables and images, BIDS, pairing.

The steps of ingestion, each usable on its own, as ``mne.io`` and ``nilearn.maskers`` are:
:func:`read_eeg` (any format MNE reads) -> :func:`prepare_eeg` (channels matched by name,
units checked, resampled to 200 Hz) -> :func:`eeg_windows_from_raw` (16 s before each volume);
:func:`read_roi_table` or :func:`extract_roi_timeseries` for BOLD; :func:`load_scan_pair`
and :func:`pair_scan` match EEG and BOLD of one scan into a :class:`ScanPair`;
:func:`find_bids_runs` lists them in a BIDS dataset. MNE and nilearn are imported on first use.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
