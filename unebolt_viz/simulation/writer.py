"""Writing simulated scans as files, laid out like a BIDS dataset, for the ingestion path.

Layout written under ``root`` (``XX`` the subject number, ``YY`` the session, ``TASK``
``rest`` or ``auditory``, ``ATLAS`` e.g. ``embedded64``)::

    dataset_description.json        name, data_source "simulated", generator, seed, preset
    participants.tsv                participant_id, site
    atlas-ATLAS_rois.tsv            the atlas ROI table: roi, network, hemisphere, x, y, z (MNI mm)
    sub-XX/ses-YY/eeg/
        sub-XX_ses-YY_task-TASK_eeg.vhdr / .vmrk / .eeg
            BrainVision (pybv), float32, microvolts, channels referenced to FCz. Markers:
            "Response/R149" at every fMRI volume trigger (one per volume, the sample where the
            volume's acquisition starts), and for the task "Stimulus/S  1" (tone),
            "Stimulus/S  2" (target tone), "Response/R  1" (button press).
            MNE reads them with ``mne.io.read_raw_brainvision``; the markers become
            annotations with those descriptions.
        sub-XX_ses-YY_task-TASK_eeg.json
            SamplingFrequency, EEGReference, PowerLineFrequency, VolumeTriggerMarker,
            data_source.
    sub-XX/ses-YY/func/
        sub-XX_ses-YY_task-TASK_atlas-ATLAS_bold.tsv
            One row per volume, one column per ROI (atlas order, the ROI names as headers): the
            detrended, standardized ROI time series, like the real NeuroBOLT tables. Not yet
            low-passed or scaled: apply ``preprocessing.bold_targets`` after reading.
        sub-XX_ses-YY_task-TASK_atlas-ATLAS_bold.json
            RepetitionTime, Units, Atlas, data_source, NumberOfVolumes.
        sub-XX_ses-YY_task-TASK_events.tsv   (task only) onset, duration, trial_type.

Every file is written to a temporary name in its folder and then renamed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from .._utils import atomic_path

__all__ = ["write_recordings", "bids_names", "VOLUME_MARKER"]

#: BrainVision marker of every fMRI volume, as MNE reads it back.
VOLUME_MARKER = "Response/R149"
_EVENT_CODES = {"tone": ("Stimulus", 1), "target": ("Stimulus", 2), "press": ("Response", 1)}


def bids_names(scan: str, condition: str) -> dict[str, str]:
    """BIDS entities of a scan name like ``"sub01-scan02"``: sub, ses, task and the prefix."""
    match = re.match(r"^sub(\d+)-scan(\d+)$", scan)
    if match is None:
        raise ValueError(f"Scan name {scan!r} must look like 'sub01-scan01'.")
    sub, ses = match.group(1), match.group(2)
    task = "rest" if condition == "rest" else "auditory"
    return {"sub": sub, "ses": ses, "task": task, "prefix": f"sub-{sub}_ses-{ses}_task-{task}"}


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _write_tsv(path: Path, table: pd.DataFrame, float_format: str = "%.7g") -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format=float_format)


def _write_brainvision(folder: Path, base: str, eeg_uv: np.ndarray, sfreq: float,
                       ch_names: list[str], reference: str, events: list[dict]) -> list[Path]:
    from pybv import write_brainvision

    folder.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".bv-", dir=folder))
    try:
        write_brainvision(data=eeg_uv * 1e-6, sfreq=sfreq, ch_names=ch_names,
                          ref_ch_names=reference, fname_base=base, folder_out=tmp_dir,
                          events=events, unit="µV", fmt="binary_float32", overwrite=True)
        out = []
        for ext in (".eeg", ".vmrk", ".vhdr"):  # header last: it names the other two
            final = folder / f"{base}{ext}"
            os.replace(tmp_dir / f"{base}{ext}", final)
            out.append(final)
        return out
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _write_dataset_files(cohort, root: Path, names: list[str], atlas_label: str) -> list[Path]:
    """The dataset-level files: description, participants and the atlas ROI table."""
    description = {
        "Name": f"unebolt_viz {cohort.data_source} EEG-fMRI cohort ({cohort.preset}, "
                f"{cohort.condition})",
        "BIDSVersion": "1.9.0",
        "DatasetType": "raw",
        "data_source": cohort.data_source,
        "GeneratedBy": [{"Name": "unebolt_viz.simulation", "Description":
                         "Simulated data: not a recording of any person."}],
        "seed": cohort.seed,
        "preset": cohort.preset,
    }
    written = [root / "dataset_description.json"]
    _write_text(written[-1], json.dumps(description, indent=2))
    design = cohort.design[cohort.design["scan"].isin(names)]
    participants = pd.DataFrame({
        "participant_id": [f"sub-{bids_names(s, cohort.condition)['sub']}" for s in design["scan"]],
        "site": design["site"].to_numpy(),
    }).drop_duplicates("participant_id")
    written.append(root / "participants.tsv")
    _write_tsv(written[-1], participants)
    written.append(root / f"atlas-{atlas_label}_rois.tsv")
    _write_tsv(written[-1], cohort.atlas.roi_table())
    return written


def _brainvision_events(ds: xr.Dataset) -> list[dict]:
    """pybv events of a scan: a trigger at every volume, then its task events, by onset."""
    sfreq = float(ds.attrs["sfreq"])
    lead = -float(ds.attrs["eeg_t_start"])
    events = [{"onset": int(s), "description": 149, "type": "Response"}
              for s in ds["volume_sample"].values]
    for t, kind in zip(ds["event_time"].values, ds["event_type"].values):
        kind_type, code = _EVENT_CODES[str(kind)]
        events.append({"onset": int(round((t + lead) * sfreq)), "description": code,
                       "type": kind_type})
    events.sort(key=lambda e: e["onset"])
    return events


def _write_eeg_files(ds: xr.Dataset, folder: Path, ent: dict[str, str]) -> list[Path]:
    """A scan's BrainVision EEG and its JSON sidecar."""
    prefix = ent["prefix"]
    sfreq = float(ds.attrs["sfreq"])
    written = _write_brainvision(folder, f"{prefix}_eeg", ds["eeg"].values, sfreq,
                                 [str(c) for c in ds["channel"].values],
                                 str(ds.attrs["reference"]), _brainvision_events(ds))
    sidecar = {
        "TaskName": ent["task"],
        "SamplingFrequency": sfreq,
        "EEGReference": str(ds.attrs["reference"]),
        "PowerLineFrequency": 50,
        "EEGChannelCount": int(ds.sizes["channel"]),
        "RecordingDuration": ds.sizes["sample"] / sfreq,
        "VolumeTriggerMarker": VOLUME_MARKER,
        "data_source": ds.attrs["data_source"],
    }
    written.append(folder / f"{prefix}_eeg.json")
    _write_text(written[-1], json.dumps(sidecar, indent=2))
    return written


def _write_func_files(ds: xr.Dataset, folder: Path, ent: dict[str, str], roi_names: list[str],
                      atlas_label: str) -> list[Path]:
    """A scan's ROI-table BOLD with its JSON sidecar, and its events table (task only)."""
    prefix = ent["prefix"]
    table = pd.DataFrame(ds["bold_clean"].values, columns=roi_names)
    written = [folder / f"{prefix}_atlas-{atlas_label}_bold.tsv"]
    _write_tsv(written[-1], table)
    bold_sidecar = {
        "TaskName": ent["task"],
        "RepetitionTime": float(ds.attrs["tr"]),
        "NumberOfVolumes": int(ds.sizes["volume"]),
        "Units": "z-score (detrended, standardized ROI means)",
        "Atlas": atlas_label,
        "AtlasTable": f"atlas-{atlas_label}_rois.tsv",
        "data_source": ds.attrs["data_source"],
    }
    written.append(folder / f"{prefix}_atlas-{atlas_label}_bold.json")
    _write_text(written[-1], json.dumps(bold_sidecar, indent=2))
    if ds.sizes["event"]:
        ev = pd.DataFrame({"onset": ds["event_time"].values,
                           "duration": np.where(ds["event_type"].values == "press", 0.0, 0.1),
                           "trial_type": [str(k) for k in ds["event_type"].values]})
        written.append(folder / f"{prefix}_events.tsv")
        _write_tsv(written[-1], ev, float_format="%.6f")
    return written


def write_recordings(cohort, root: str | os.PathLike, scans: Sequence[str] | None = None
                     ) -> list[Path]:
    """Write a cohort's scans as BrainVision EEG and ROI-table BOLD files (layout above).

    Parameters
    ----------
    cohort : SimulatedCohort
        From :func:`simulate_cohort` or :func:`semi_synthetic_cohort`.
    root : path
        Dataset folder (created if needed).
    scans : sequence of str, optional
        Only these scans (default: all).

    Returns
    -------
    list of pathlib.Path
        Every file written.
    """
    root = Path(root)
    names = cohort.scans if scans is None else list(scans)
    atlas = cohort.atlas
    atlas_label = f"{atlas.name}{atlas.n_rois}"
    written = _write_dataset_files(cohort, root, names, atlas_label)
    for scan in names:
        ds = cohort.scan_data(scan)
        ent = bids_names(scan, cohort.condition)
        session = root / f"sub-{ent['sub']}" / f"ses-{ent['ses']}"
        written += _write_eeg_files(ds, session / "eeg", ent)
        written += _write_func_files(ds, session / "func", ent, list(atlas.roi), atlas_label)
    return written
