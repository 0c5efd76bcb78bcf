"""From real files to a model-ready :class:`~unebolt_viz.io.pairing.ScanPair`.

:func:`pair_scan` aligns the EEG windows of one scan with its BOLD volumes: it checks the
trigger count against the volume count and the trigger interval against the BOLD TR, computes
the paper's targets over the whole scan, and drops the volumes that have no full 16 s of EEG
before them (reporting how many). :func:`load_scan_pair` does the whole paper preprocessing of
one EEG file and one BOLD file in a single call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..conventions import PAPER_CHANNELS, SFREQ, WINDOW_SECONDS
from ..data.containers import InvalidDataError, validate_eeg_windows, validate_roi_timeseries
from ..preprocessing import bold_targets
from .bids import IMAGE_ENDINGS, dataset_metadata, read_sidecar, scan_and_subject
from .eeg import (
    EEGFileError,
    EEGReport,
    _source,
    eeg_windows_from_array,
    prepare_eeg,
    raw_to_microvolts,
    read_eeg,
    trigger_times,
)
from .eeg import _channel_positions as channel_positions
from .pairing import ScanPair

if TYPE_CHECKING:  # pragma: no cover
    import mne

__all__ = ["TriggerMismatchError", "pair_scan", "load_scan_pair"]

logger = logging.getLogger(__name__)


class TriggerMismatchError(EEGFileError):
    """The EEG's volume triggers do not fit the BOLD run (count, spacing or TR)."""


def _bold_source(bold: xr.DataArray) -> str:
    return str(bold.attrs.get("source_file", f"BOLD of scan {bold.scan.values[0]}"))


def _check_triggers(onsets: np.ndarray, n_volumes: int, bold_tr: float, *, eeg_source: str,
                    bold_source: str, trigger: str, trigger_offset: int | None,
                    tr_tolerance: float) -> np.ndarray:
    """The onsets of the BOLD run's volumes among the triggers, after every consistency check."""
    n_trig = onsets.size
    if n_trig >= 2:
        interval = float(np.median(np.diff(onsets)))
        if abs(interval - bold_tr) > tr_tolerance * bold_tr:
            raise TriggerMismatchError(
                f"TR mismatch: the {trigger!r} triggers of {eeg_source} come every {interval:.4g} s "
                f"but {bold_source} has TR = {bold_tr:g} s. Check the BOLD TR (RepetitionTime in "
                "the header or JSON sidecar, or pass bold_tr=...), and that the trigger is the "
                "volume marker (not a slice marker); or place volumes with trigger=None, tr=..., "
                "first_volume=...."
            )
        gaps = np.flatnonzero(np.diff(onsets) > 1.5 * bold_tr)
        if gaps.size:
            raise TriggerMismatchError(
                f"{eeg_source}: {gaps.size} gap(s) in the {trigger!r} triggers, the first after "
                f"trigger {gaps[0]} at {onsets[gaps[0]]:.2f} s (next at {onsets[gaps[0] + 1]:.2f} "
                "s): triggers were lost or the recording paused, so windows and volumes cannot be "
                "matched by count. Repair the markers, or pass trigger=None, tr=..., "
                "first_volume=... to place volumes by time."
            )
    if n_trig < n_volumes:
        raise TriggerMismatchError(
            f"{eeg_source} has {n_trig} {trigger!r} triggers but {bold_source} has {n_volumes} "
            "volumes: fewer triggers than volumes. Check the trigger name (trigger=...), whether "
            f"the EEG stopped early (then keep the first {n_trig} volumes: "
            f"bold.isel(time=slice(0, {n_trig}))), or place volumes with trigger=None, tr=..., "
            "first_volume=...."
        )
    if trigger_offset is None:
        if n_trig > n_volumes:
            raise TriggerMismatchError(
                f"{eeg_source} has {n_trig} {trigger!r} triggers but {bold_source} has "
                f"{n_volumes} volumes. If the first triggers belong to discarded dummy scans pass "
                f"trigger_offset={n_trig - n_volumes} (index of the trigger of the first kept "
                "volume); if the EEG ran on after the scan, pass trigger_offset=0."
            )
        trigger_offset = 0
    if trigger_offset < 0 or trigger_offset + n_volumes > n_trig:
        raise TriggerMismatchError(
            f"trigger_offset={trigger_offset} leaves fewer than {n_volumes} of the {n_trig} "
            f"triggers of {eeg_source} for the volumes of {bold_source}."
        )
    return onsets[trigger_offset:trigger_offset + n_volumes]


def pair_scan(
    eeg: mne.io.BaseRaw | xr.DataArray,
    bold: xr.DataArray,
    *,
    trigger: str | None = "R149",
    tr: float | None = None,
    first_volume: float | None = None,
    trigger_offset: int | None = None,
    window: float = WINDOW_SECONDS,
    targets: bool = True,
    tr_tolerance: float = 0.01,
    data_source: str | None = None,
    report: EEGReport | None = None,
) -> ScanPair:
    """Align one scan's EEG windows with its BOLD volumes.

    Parameters
    ----------
    eeg : mne.io.BaseRaw or xarray.DataArray
        A recording prepared by :func:`unebolt_viz.io.eeg.prepare_eeg`, or windows from
        :func:`unebolt_viz.io.eeg.eeg_windows_from_raw` cut at every trigger of the scan.
    bold : xarray.DataArray
        ``roi_timeseries`` of the whole scan, one row per volume (from
        :mod:`unebolt_viz.io.fmri`).
    trigger : str or None
        Volume marker in the EEG (ignored for windows). ``None``: volumes every ``tr`` s from
        ``first_volume``.
    tr, first_volume : float, optional
        The TR grid when ``trigger`` is None (``tr`` defaults to the BOLD TR).
    trigger_offset : int, optional
        Index of the trigger of the first BOLD volume, when the EEG has more triggers than the
        BOLD has volumes (e.g. dummy scans). Without it, extra triggers raise.
    window : float
        Seconds of EEG before each volume.
    targets : bool
        Apply the paper's target processing to the whole scan before dropping volumes
        (skipped when ``bold`` already records ``target_processing``).
    tr_tolerance : float
        Relative tolerance between the trigger interval and the BOLD TR.
    data_source : str, optional
        Of the EEG windows made from a Raw (default ``"real"``); must match the BOLD's.
    report : EEGReport, optional
        Recorded in the windows' attributes.

    Returns
    -------
    ScanPair
        Windows and targets of the volumes that have a full window; both record
        ``n_dropped_volumes`` and ``dropped_tr_index``.

    Raises
    ------
    TriggerMismatchError
        Fewer triggers than volumes, unexplained extra triggers, gaps, or a TR mismatch.
    """
    validate_roi_timeseries(bold)
    scans = set(map(str, bold.scan.values))
    if len(scans) != 1:
        raise InvalidDataError(f"pair_scan takes one scan; the BOLD holds {sorted(scans)}.")
    n_volumes, bold_tr = bold.sizes["time"], float(bold.attrs["tr"])
    bold_src = _bold_source(bold)
    scan, subject = str(bold.scan.values[0]), str(bold.subject.values[0])
    if targets and "target_processing" not in bold.attrs:
        try:
            bold = bold_targets(bold)
        except InvalidDataError as err:
            raise InvalidDataError(f"{bold_src}: {err}") from err

    if isinstance(eeg, xr.DataArray):
        windows = _windows_for_volumes(eeg, n_volumes, bold_tr, trigger_offset, tr_tolerance,
                                       bold_src)
    else:
        onsets = _raw_volume_onsets(eeg, n_volumes, bold_tr, bold_src, trigger=trigger, tr=tr,
                                    first_volume=first_volume, trigger_offset=trigger_offset,
                                    tr_tolerance=tr_tolerance)
        attrs = {"trigger": trigger or "",
                 **(report.as_attrs() if report else {"source_file": _source(eeg)})}
        windows = eeg_windows_from_array(
            raw_to_microvolts(eeg), eeg.ch_names, eeg.info["sfreq"], onsets, window=window,
            scan=scan, subject=subject, ch_pos=channel_positions(eeg),
            data_source=data_source or "real", attrs=attrs,
        )
    return _drop_unpaired_volumes(windows, bold, n_volumes, scan=scan, window=window)


def _raw_volume_onsets(eeg: mne.io.BaseRaw, n_volumes: int, bold_tr: float, bold_src: str, *,
                       trigger: str | None, tr: float | None, first_volume: float | None,
                       trigger_offset: int | None, tr_tolerance: float) -> np.ndarray:
    """Onsets (s) of the BOLD run's volumes in a prepared recording: triggers or a TR grid."""
    eeg_src = _source(eeg)
    if trigger is not None:
        return _check_triggers(trigger_times(eeg, trigger), n_volumes, bold_tr,
                               eeg_source=eeg_src, bold_source=bold_src, trigger=trigger,
                               trigger_offset=trigger_offset, tr_tolerance=tr_tolerance)
    if first_volume is None:
        raise ValueError("With trigger=None pass first_volume=<s> (and optionally tr=).")
    grid_tr = bold_tr if tr is None else float(tr)
    if abs(grid_tr - bold_tr) > tr_tolerance * bold_tr:
        raise TriggerMismatchError(
            f"TR mismatch: tr={grid_tr:g} s was given for {eeg_src} but {bold_src} has "
            f"TR = {bold_tr:g} s; pass the BOLD's TR (or fix its header/sidecar)."
        )
    return first_volume + grid_tr * np.arange(n_volumes)


def _drop_unpaired_volumes(windows: xr.DataArray, bold: xr.DataArray, n_volumes: int, *,
                           scan: str, window: float) -> ScanPair:
    """Keep the volumes that have a window, labelling the windows with the BOLD's volume ids."""
    kept = windows.tr_index.values
    dropped = np.setdiff1d(np.arange(n_volumes), kept)
    volume_ids = bold.tr_index.values
    windows = windows.assign_coords(tr_index=("window", volume_ids[kept]))
    info = {"n_volumes": int(n_volumes), "n_dropped_volumes": int(dropped.size),
            "dropped_tr_index": ",".join(str(int(volume_ids[i])) for i in dropped)}
    windows.attrs.update(info)
    bold = bold.isel(time=kept)
    bold.attrs.update(info)
    if dropped.size:
        logger.info("%s: dropped %d of %d volumes without a full %g s EEG window before them.",
                    scan, dropped.size, n_volumes, window)
    return ScanPair(windows, bold)


def _windows_for_volumes(windows: xr.DataArray, n_volumes: int, bold_tr: float,
                         trigger_offset: int | None, tr_tolerance: float,
                         bold_src: str) -> xr.DataArray:
    """Select (and re-index to BOLD volumes) windows cut at every trigger of a recording."""
    validate_eeg_windows(windows)
    eeg_src = str(windows.attrs.get("source_file", "the EEG windows"))
    if "n_volumes" not in windows.attrs:
        raise InvalidDataError(
            f"{eeg_src}: windows without 'n_volumes' (the trigger count); make them with "
            "eeg_windows_from_raw, or pass the prepared Raw to pair_scan."
        )
    n_trig = int(windows.attrs["n_volumes"])
    # Rebuild the trigger grid from the recorded interval to reuse the count and TR checks.
    interval = float(windows.attrs.get("volume_interval", bold_tr))
    fake = np.arange(n_trig) * interval
    onsets_used = _check_triggers(fake, n_volumes, bold_tr, eeg_source=eeg_src,
                                  bold_source=bold_src, trigger=str(windows.attrs.get("trigger")),
                                  trigger_offset=trigger_offset, tr_tolerance=tr_tolerance)
    offset = int(round(onsets_used[0] / interval)) if interval > 0 else 0
    index = windows.tr_index.values - offset
    inside = (index >= 0) & (index < n_volumes)
    positions = np.flatnonzero(inside)
    # A slice keeps the windows as views on the continuous buffer (fancy indexing would copy).
    contiguous = positions.size and np.all(np.diff(positions) == 1)
    out = windows.isel(window=slice(positions[0], positions[-1] + 1) if contiguous else positions)
    return out.assign_coords(tr_index=("window", index[inside]))


def load_scan_pair(
    eeg_path: str | os.PathLike,
    bold_path: str | os.PathLike,
    *,
    channels: Sequence[str] | None = PAPER_CHANNELS,
    sfreq: float = SFREQ,
    highpass: float | None = None,
    missing: str = "raise",
    rescale: float | Mapping[str, float] = 1.0,
    trigger: str | None = "R149",
    tr: float | None = None,
    first_volume: float | None = None,
    trigger_offset: int | None = None,
    bold_tr: float | None = None,
    rois: Any = None,
    atlas: Any = None,
    confounds: Any = None,
    scan: str | None = None,
    subject: str | None = None,
    data_source: str | None = None,
    window: float = WINDOW_SECONDS,
) -> ScanPair:
    """The paper's whole preprocessing of one simultaneous run, from files to a ScanPair.

    Parameters
    ----------
    eeg_path : path-like
        EEG recording in any MNE format (:func:`unebolt_viz.io.eeg.read_eeg`).
    bold_path : path-like
        An ROI table (``.tsv``/``.csv``, optionally gzip) or a BOLD image (``.nii``/``.nii.gz``,
        which needs ``atlas``).
    channels, sfreq, highpass, missing, rescale
        EEG preparation, see :func:`unebolt_viz.io.eeg.prepare_eeg` (``highpass=0.5`` for the
        cross-subject setting).
    trigger, tr, first_volume, trigger_offset
        Volume placement, see :func:`pair_scan`.
    bold_tr : float, optional
        BOLD repetition time (default: NIfTI header or JSON sidecar).
    rois : Atlas, DataFrame or mapping, optional
        ROI names (selecting and ordering table columns), networks and centroids. Default: the
        table named by ``AtlasTable`` in the BOLD JSON sidecar, if any (found in the dataset).
    atlas : path or image, optional
        Maps or labels image for a BOLD image (see
        :func:`unebolt_viz.io.fmri.extract_roi_timeseries`).
    confounds : path, DataFrame or ndarray, optional
        Motion confounds regressed out of a BOLD image.
    scan, subject : str, optional
        Default: parsed from the BOLD file name.
    data_source : {"real", "simulated", "semi-synthetic"}, optional
        Of both EEG and BOLD. Default: what the BIDS sidecars or ``dataset_description.json``
        declare (the simulator's files declare ``"simulated"``), else ``"real"``. A value that
        contradicts a declaration is an error.
    window : float
        Seconds of EEG before each volume.

    Returns
    -------
    ScanPair
    """
    from .fmri import extract_roi_timeseries, read_roi_table

    bold_path = Path(bold_path)
    data_source = _declared_source(Path(eeg_path), bold_path, data_source)
    if rois is None:
        rois = _sidecar_atlas_table(bold_path)
    default_scan, default_subject = scan_and_subject(bold_path)
    scan, subject = scan or default_scan, subject or default_subject
    if bold_path.name.lower().endswith(IMAGE_ENDINGS):
        if atlas is None:
            raise ValueError(f"{bold_path} is an image: pass atlas=<maps or labels image> (e.g. "
                             "DiFuMo's maps.nii.gz), or give an ROI table instead.")
        bold = extract_roi_timeseries(bold_path, atlas, rois=rois, confounds=confounds, tr=bold_tr,
                                      scan=scan, subject=subject, data_source=data_source)
    else:
        bold = read_roi_table(bold_path, rois=rois, tr=bold_tr, scan=scan, subject=subject,
                              data_source=data_source)
    raw, report = prepare_eeg(read_eeg(eeg_path), channels, sfreq=sfreq, highpass=highpass,
                              missing=missing, rescale=rescale)
    return pair_scan(raw, bold, trigger=trigger, tr=tr, first_volume=first_volume,
                     trigger_offset=trigger_offset, window=window, data_source=data_source,
                     report=report)


def _declared_source(eeg_path: Path, bold_path: Path, given: str | None) -> str:
    """The data source the files declare (BIDS sidecars, dataset description), checked."""
    declared = {}
    for path in (eeg_path, bold_path):
        value = read_sidecar(path).get("data_source")
        if value is None:
            value = dataset_metadata(path)[1].get("data_source")
        if value is not None:
            declared[str(path)] = str(value)
    kinds = set(declared.values())
    if len(kinds) > 1:
        # e.g. real EEG with simulated BOLD: semi-synthetic by definition.
        if given in (None, "semi-synthetic"):
            return "semi-synthetic"
        raise InvalidDataError(
            f"The files declare different data sources {declared}: their pair is "
            f"semi-synthetic, not {given!r}; leave data_source unset or pass 'semi-synthetic'."
        )
    if not kinds:
        return "real" if given is None else given
    (kind,) = kinds
    if given is not None and given != kind:
        raise InvalidDataError(
            f"data_source={given!r} contradicts the files, which declare {declared}; leave "
            "data_source unset to use their declaration (simulated data must stay labelled so)."
        )
    return kind


def _sidecar_atlas_table(bold_path: Path) -> Any:
    """The ROI table named by ``AtlasTable`` in the BOLD sidecar, or None."""
    import pandas as pd

    name = read_sidecar(bold_path).get("AtlasTable")
    if not name:
        return None
    root, _ = dataset_metadata(bold_path)
    for folder in [bold_path.parent, *bold_path.resolve().parents]:
        candidate = folder / name
        if candidate.is_file():
            return pd.read_csv(candidate, sep="\t")
        if root is not None and folder == root:
            break
    raise FileNotFoundError(
        f"{bold_path}: its sidecar names the ROI table {name!r}, which was not found in the "
        "dataset; put it at the dataset root or pass rois=..."
    )
