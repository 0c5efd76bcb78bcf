"""Shared parts of the peer-dataset readers: dataset facts, the result type, checks.

The readers themselves, and the layouts they expect, are in :mod:`unebolt_viz.datasets.peers`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..data.validation import InvalidDataError

if TYPE_CHECKING:  # pragma: no cover
    import mne

__all__ = ["PEER_DATASETS", "PeerDatasetSpec", "PeerLayoutError", "PeerRun"]

OnsetRule = Literal["auto", "markers", "start"]
#: Plausible range (V) of the median channel standard deviation of EEG in volts. Wide on purpose:
#: the CN-EPFL EEG still carries MR gradient artifacts of several mV; what falls outside is a
#: unit error (uV read as V, or V as uV), not EEG.
EEG_STD_RANGE_VOLTS = (1e-8, 1e-2)
#: Seconds of EEG looked at by the unit check (enough for a robust median, cheap at 5 kHz).
UNIT_CHECK_SECONDS = 10.0


class PeerLayoutError(InvalidDataError):
    """A peer dataset's files are missing or differ from the layout of the public release."""


@dataclass(frozen=True)
class PeerDatasetSpec:
    """What is known of one peer dataset as released.

    Attributes
    ----------
    name : str
        Short name (``"oddball"``, ``"noddi"``, ``"cn_epfl"``).
    manifest : str
        Its entry in the data manifest.
    tr : float
        Repetition time (s).
    sfreq : float
        EEG sampling rate (Hz).
    n_channels : int
        EEG channels the peers read (Oddball: the first 43 of 49; the others: all 64).
    n_volumes : int
        BOLD volumes of a full run.
    max_usable : int
        Volumes the peers keep after dropping ``bold_shift``.
    volume_shape : tuple of int
        Spatial shape of a BOLD volume.
    bold_shift : int
        Leading volumes the peers drop (6 in E2fNet's settings).
    """

    name: str
    manifest: str
    tr: float
    sfreq: float
    n_channels: int
    n_volumes: int
    max_usable: int
    volume_shape: tuple[int, int, int]
    bold_shift: int = 6


PEER_DATASETS: dict[str, PeerDatasetSpec] = {
    "oddball": PeerDatasetSpec("oddball", "oddball_ds000116", 2.0, 1000.0, 43, 170, 164,
                               (64, 64, 32)),
    "noddi": PeerDatasetSpec("noddi", "noddi", 2.16, 250.0, 64, 300, 294, (64, 64, 30)),
    "cn_epfl": PeerDatasetSpec("cn_epfl", "cn_epfl", 1.28, 5000.0, 64, 370, 364, (108, 108, 64)),
}


@dataclass(frozen=True)
class PeerRun:
    """One subject's run of a peer dataset: continuous EEG, volume onsets and the BOLD image.

    Attributes
    ----------
    dataset, subject, run : str
        Which run this is (``run`` is ``"task001_run001"``, ``"rest"`` or ``"task-main_run-001"``).
    raw : mne.io.BaseRaw
        The continuous EEG, in volts (BrainVision runs are not preloaded).
    bold : nibabel.Nifti1Image
        The 4-D BOLD run, loaded lazily (its data stay on disk until asked for).
    volume_onsets : ndarray of float
        Onset (s since the first EEG sample) of every BOLD volume of the run.
    onset_source : str
        How the onsets were found (the marker used, or the rule).
    tr : float
        Repetition time (s).
    n_volumes : int
        Volumes in the BOLD file.
    n_usable : int
        Volumes the peers use: after the first ``bold_shift``, at most the dataset's maximum, and
        only volumes whose TR window lies inside the EEG.
    bold_shift : int
        Leading volumes dropped.
    eeg_path, bold_path : Path
        The files read.
    """

    dataset: str
    subject: str
    run: str
    raw: Any
    bold: Any
    volume_onsets: np.ndarray
    onset_source: str
    tr: float
    n_volumes: int
    n_usable: int
    bold_shift: int
    eeg_path: Path
    bold_path: Path

    @property
    def usable_onsets(self) -> np.ndarray:
        """Onsets of the usable volumes (after ``bold_shift``)."""
        return self.volume_onsets[self.bold_shift:self.bold_shift + self.n_usable]


# --------------------------------------------------------------------------------------------
# shared helpers


def _require_file(path: Path, what: str, fix: str) -> Path:
    if not path.is_file():
        raise PeerLayoutError(f"{path}: {what} not found. {fix}")
    return path


def _subject_root(root: Path, subject: str, wrappers: tuple[str, ...], dataset: str,
                  layout: str) -> Path:
    """``root`` or a known wrapper folder under it (an unpacked archive's top folder)."""
    if not root.is_dir():
        raise PeerLayoutError(f"{root}: no such folder. Pass the folder holding {layout}.")
    for base in (root, *(root / w for w in wrappers)):
        if (base / subject).is_dir():
            return base
    found = sorted(p.name for p in root.iterdir() if p.is_dir())[:12]
    raise PeerLayoutError(
        f"{root}: no subject folder {subject!r} of the {dataset} dataset (folders here: "
        f"{found or 'none'}). Pass the folder holding {layout}."
    )


def _one_match(folder: Path, pattern: str, what: str, fix: str) -> Path:
    if not folder.is_dir():
        raise PeerLayoutError(f"{folder}: folder not found ({what}). {fix}")
    hits = sorted(folder.glob(pattern))
    if len(hits) != 1:
        names = [p.name for p in sorted(folder.iterdir())][:12]
        raise PeerLayoutError(
            f"{folder}: expected exactly one {what} ({pattern}), found {len(hits)} "
            f"(files here: {names or 'none'}). {fix}"
        )
    return hits[0]


def _load_bold(path: Path, spec: PeerDatasetSpec, expected_shape: tuple[int, ...] | None,
               tr: float) -> Any:
    """The BOLD run as a lazy nibabel image, its dimensions checked."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
    except Exception as err:  # nibabel raises several types for unreadable files
        raise PeerLayoutError(f"{path}: not a readable NIfTI image ({err}).") from err
    shape = tuple(int(s) for s in img.shape)
    if len(shape) != 4:
        raise PeerLayoutError(f"{path}: a BOLD run must be 4-D (x, y, z, time), got {shape}.")
    if expected_shape is not None and shape[:3] != tuple(expected_shape):
        raise PeerLayoutError(
            f"{path}: volumes of {shape[:3]}, but the {spec.name} release has "
            f"{tuple(expected_shape)}. Check that this is the run meant, or pass "
            "expected_shape=None to accept it."
        )
    zoom = float(img.header.get_zooms()[3]) if len(img.header.get_zooms()) > 3 else 0.0
    if zoom > 0 and not (np.isclose(zoom, tr, rtol=0.01) or np.isclose(zoom, tr * 1000, rtol=0.01)):
        warnings.warn(f"{path}: the header's TR is {zoom:g}, the {spec.name} release's is {tr:g} s;"
                      f" {tr:g} s is used.", stacklevel=3)
    return img


def _check_volts(raw: mne.io.BaseRaw, path: Path, fix: str) -> None:
    """Refuse EEG whose amplitude shows a unit error (median channel SD outside the range)."""
    import mne

    picks = mne.pick_types(raw.info, eeg=True)
    if picks.size == 0:
        raise PeerLayoutError(f"{path}: no EEG channel in the recording.")
    stop = min(raw.n_times, int(UNIT_CHECK_SECONDS * raw.info["sfreq"]))
    data = raw.get_data(picks=picks, start=0, stop=stop)
    sd = float(np.median(data.std(axis=1)))
    low, high = EEG_STD_RANGE_VOLTS
    if not (low < sd < high):
        raise PeerLayoutError(
            f"{path}: the EEG's median channel standard deviation is {sd:.3g} V, outside "
            f"{low:g}-{high:g} V: the unit is wrong. {fix}"
        )


def _type_aux_channels(raw: mne.io.BaseRaw) -> None:
    """ECG/EOG channels by name get their MNE type (BrainVision files call everything EEG)."""
    types = {}
    for name in raw.ch_names:
        upper = name.upper()
        if upper.startswith(("ECG", "EKG")):
            types[name] = "ecg"
        elif upper.startswith(("EOG", "HEOG", "VEOG")):
            types[name] = "eog"
    if types:
        raw.set_channel_types(types, verbose="error")


def _rule_onsets(n_volumes: int, tr: float, first: float = 0.0) -> np.ndarray:
    return first + tr * np.arange(n_volumes, dtype=float)


def _marker_onsets(raw: mne.io.BaseRaw, n_volumes: int, tr: float, marker: str,
                   onsets: OnsetRule, skip_markers: int, path: Path) -> tuple[np.ndarray, str]:
    """Volume onsets from the scanner's markers, or the rule from the first sample."""
    from ..io.eeg import EEGFileError, trigger_times

    if onsets == "start":
        return _rule_onsets(n_volumes, tr), "rule: k * TR from the first EEG sample"
    try:
        times = trigger_times(raw, marker)[skip_markers:]
    except EEGFileError:
        if onsets == "markers":
            raise PeerLayoutError(
                f"{path}: no {marker!r} volume marker in the .vmrk. Pass volume_marker=<the "
                "scanner's marker> or onsets='start' (volume k at k * TR from the first sample)."
            ) from None
        return _rule_onsets(n_volumes, tr), "rule: k * TR from the first EEG sample"
    if times.size < n_volumes:
        raise PeerLayoutError(
            f"{path}: {times.size} {marker!r} markers (after skipping {skip_markers}) for "
            f"{n_volumes} BOLD volumes. Pass the right volume_marker, or onsets='start'."
        )
    times = times[:n_volumes]
    if n_volumes > 1:
        step = float(np.median(np.diff(times)))
        if not np.isclose(step, tr, rtol=0.02):
            raise PeerLayoutError(
                f"{path}: {marker!r} markers come every {step:.4g} s, not every TR = {tr:g} s: "
                "they are not volume triggers (slice triggers?) or the TR is wrong. Pass the "
                "volume marker as volume_marker, or onsets='start'."
            )
    return times, f"markers: {marker}"


def _n_usable(spec: PeerDatasetSpec, n_volumes: int, onsets: np.ndarray, tr: float,
              duration: float) -> int:
    covered = int(np.sum(onsets + tr <= duration + 1e-9))
    return max(0, min(spec.max_usable, n_volumes - spec.bold_shift, covered - spec.bold_shift))


def _check_coverage(n_volumes: int, onsets: np.ndarray, tr: float, duration: float,
                    path: Path, sfreq: float) -> None:
    """Refuse EEG that covers under 90 % of the BOLD run (a wrong file or sampling rate)."""
    span = onsets[-1] + tr - onsets[0] if n_volumes else 0.0
    covered = duration - onsets[0]
    if n_volumes and covered < 0.9 * span:
        raise PeerLayoutError(
            f"{path}: {duration:.1f} s of EEG at {sfreq:g} Hz for a BOLD run of {n_volumes} "
            f"volumes x {tr:g} s = {span:.1f} s. Check the sampling rate (sfreq=) and that the "
            "EEG and BOLD files belong to the same run."
        )


def _header_entry(vhdr: Path, key: str) -> str | None:
    """The value of ``key=`` in a BrainVision header's [Common Infos] (no other parsing)."""
    for line in vhdr.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip().lower().startswith(key.lower() + "="):
            return line.split("=", 1)[1].strip()
    return None


def _stale_name_overrides(vhdr: Path) -> dict[str, str]:
    """Point MNE at ``<stem>.eeg|.dat|.vmrk`` when the header names files that are not there.

    Renaming BrainVision files (as BIDS conversions do) leaves ``DataFile=``/``MarkerFile=``
    naming the old files; the peers' code rewrites the header in place. Here nothing is
    written: the sibling with the header's own stem is read instead.
    """
    overrides: dict[str, str] = {}
    data = _header_entry(vhdr, "DataFile")
    if data is None or not (vhdr.parent / data).is_file():
        sibling = next((vhdr.with_suffix(s) for s in (".eeg", ".dat")
                        if vhdr.with_suffix(s).is_file()), None)
        if sibling is None:
            raise PeerLayoutError(
                f"{vhdr}: the header names the data file {data!r}, which is not beside it, and "
                f"neither is {vhdr.stem}.eeg or {vhdr.stem}.dat. Put the data file next to the "
                "header (the three BrainVision files travel together)."
            )
        overrides["data_fname"] = sibling.name
    marker = _header_entry(vhdr, "MarkerFile")
    if marker and not (vhdr.parent / marker).is_file() and vhdr.with_suffix(".vmrk").is_file():
        overrides["marker_fname"] = vhdr.with_suffix(".vmrk").name
    return overrides


def _read_brainvision(vhdr: Path, spec: PeerDatasetSpec, n_channels: int | None,
                      sfreq: float | None) -> mne.io.BaseRaw:
    """``mne.io.read_raw_brainvision`` (not preloaded), channel count and rate checked."""
    import inspect

    import mne

    overrides = _stale_name_overrides(vhdr)
    kwargs: dict[str, Any] = {"preload": False, "verbose": "error"}
    if overrides:
        if "overrides" not in inspect.signature(mne.io.read_raw_brainvision).parameters:
            raise PeerLayoutError(
                f"{vhdr}: the header names files that are not there ({sorted(overrides)} of "
                f"{vhdr.name}). Edit its DataFile=/MarkerFile= lines to {vhdr.stem}.eeg/.vmrk, "
                "or update MNE-Python, which can then read it as it is."
            )
        kwargs["overrides"] = overrides
    try:
        raw = mne.io.read_raw_brainvision(str(vhdr), **kwargs)
    except (OSError, ValueError, NotImplementedError) as err:
        raise PeerLayoutError(f"{vhdr}: MNE cannot read this BrainVision file ({err}).") from err
    _type_aux_channels(raw)
    if n_channels is not None and len(raw.ch_names) != n_channels:
        raise PeerLayoutError(
            f"{vhdr}: {len(raw.ch_names)} channels, but the {spec.name} release has "
            f"{n_channels}. Check that this is the dataset's file, or pass "
            "n_channels=None to accept it."
        )
    if sfreq is not None and not np.isclose(raw.info["sfreq"], sfreq):
        raise PeerLayoutError(
            f"{vhdr}: sampled at {raw.info['sfreq']:g} Hz, but the {spec.name} release is at "
            f"{sfreq:g} Hz. Pass sfreq=None to accept it."
        )
    return raw


def _brainvision_run(spec: PeerDatasetSpec, subject: str, run: str, vhdr: Path, bold: Path,
                     opts: dict[str, Any]) -> PeerRun:
    """Assemble a :class:`PeerRun` from a BrainVision recording and its BOLD file."""
    tr = spec.tr if opts["tr"] is None else float(opts["tr"])
    raw = _read_brainvision(vhdr, spec, opts["n_channels"], opts["sfreq"])
    if opts["check_units"]:
        _check_volts(raw, vhdr, "Check the header's channel units (Channel Infos: Ch1=...,uV).")
    img = _load_bold(bold, spec, opts["expected_shape"], tr)
    n_volumes = int(img.shape[3])
    onsets, source = _marker_onsets(raw, n_volumes, tr, opts["volume_marker"], opts["onsets"],
                                    opts["skip_markers"], vhdr)
    duration = raw.n_times / raw.info["sfreq"]
    _check_coverage(n_volumes, onsets, tr, duration, vhdr, raw.info["sfreq"])
    return PeerRun(spec.name, subject, run, raw, img, onsets, source, tr, n_volumes,
                   _n_usable(spec, n_volumes, onsets, tr, duration), spec.bold_shift, vhdr, bold)
