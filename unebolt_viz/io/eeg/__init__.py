"""Reading and preparing real EEG recordings with MNE-Python, down to TR-locked windows.

The paper's EEG preprocessing, one step per module, as MNE separates reading from processing:

1. :func:`read_eeg` (``_read``) reads any format MNE reads (BrainVision, EDF/BDF, EEGLAB,
   FIF, ...).
2. :func:`prepare_eeg` (``_prepare``) types the channels (EEG versus ECG/EOG/EMG/carbon-wire
   loops), normalises names (T3 -> T7, ``"Fc5."`` -> FC5, ``"EEG Fp1-REF"`` -> FP1), selects
   and orders the model's channels (the paper's 26 by default), interpolates missing or flat
   ones when asked (``_channels``), resamples to 200 Hz and optionally high-passes at 0.5 Hz
   (cross-subject setting). It refuses, with a message naming the file and the fix, NaN/Inf
   stretches, flat channels, channels whose amplitude is implausible for their unit
   (``_amplitude``: e.g. microvolts declared as volts, in some or all channels) and sampling
   rates below 200 Hz.
3. :func:`eeg_windows_from_raw` (``_windows``) cuts the 16 s before each fMRI volume (scanner
   trigger annotation, ``"R149"`` by default, or a TR grid with ``trigger=None, tr=...``) as
   strided *views* on one continuous microvolt buffer and wraps them in an ``eeg_windows``
   container.

The whole-window mean of each channel is removed when a batch is made
(:func:`unebolt_viz.preprocessing.demean_windows`), so the windows stay views.
MNE is imported inside the functions: importing this package is cheap.
"""

from __future__ import annotations

# Names aliased to themselves were attributes of the former single module that io.ingest and
# the tests import from here; the underscored ones are not public API.
from ._amplitude import MAX_STD_VOLTS as MAX_STD_VOLTS
from ._amplitude import MIN_STD_VOLTS as MIN_STD_VOLTS
from ._channels import _standard_montage_positions as _standard_montage_positions
from ._prepare import EEGReport, prepare_eeg, raw_to_microvolts
from ._read import EEG_EXTENSIONS, EEGFileError, read_eeg
from ._read import _source as _source
from ._windows import _channel_positions as _channel_positions
from ._windows import eeg_windows_from_array, eeg_windows_from_raw, trigger_times, volume_times

__all__ = [
    "EEG_EXTENSIONS",
    "EEGFileError",
    "EEGReport",
    "read_eeg",
    "prepare_eeg",
    "trigger_times",
    "volume_times",
    "eeg_windows_from_raw",
    "eeg_windows_from_array",
    "raw_to_microvolts",
]
