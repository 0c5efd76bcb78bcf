"""Reading and preparing real EEG recordings with MNE-Python, down to TR-locked windows.

The paper's EEG preprocessing, one step per function:

1. :func:`read_eeg` reads any format MNE reads (BrainVision, EDF/BDF, EEGLAB, FIF, ...).
2. :func:`prepare_eeg` types the channels (EEG versus ECG/EOG/EMG/carbon-wire loops), maps
   legacy 10-20 names (T3 -> T7, ...), selects and orders the model's channels (the paper's 26
   by default), interpolates missing or flat ones when asked, resamples to 200 Hz and optionally
   high-passes at 0.5 Hz (cross-subject setting). It refuses, with a message naming the file and
   the fix, NaN/Inf stretches, flat channels, implausible amplitudes (microvolts declared as
   volts) and sampling rates below 200 Hz.
3. :func:`eeg_windows_from_raw` cuts the 16 s before each fMRI volume (scanner trigger
   annotation, ``"R149"`` by default, or a TR grid from the first volume) as strided *views* on
   one continuous microvolt buffer and wraps them in an ``eeg_windows`` container.

The whole-window mean of each channel is removed when a batch is made
(:func:`unebolt_viz.data.preprocessing.demean_windows`), so the windows stay views.
MNE is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ..conventions import NON_EEG_PATTERNS, PAPER_CHANNELS, SFREQ, WINDOW_SECONDS, canonical_channel_name
from ..data.containers import InvalidDataError, eeg_windows
from ..preprocessing import regular_starts, window_starts, window_views

if TYPE_CHECKING:  # pragma: no cover
    import mne

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

#: File endings MNE reads, and the reader it uses (``mne.io.read_raw`` picks by ending).
EEG_EXTENSIONS: dict[str, str] = {
    ".vhdr": "BrainVision (BrainAmp MR)",
    ".ahdr": "BrainVision (compressed)",
    ".edf": "EDF/EDF+",
    ".bdf": "BDF (BioSemi)",
    ".gdf": "GDF",
    ".set": "EEGLAB",
    ".fif": "FIF (MNE)",
    ".fif.gz": "FIF (MNE, gzip)",
    ".cnt": "Neuroscan CNT",
    ".mff": "EGI MFF",
    ".vhdr.gz": "BrainVision (gzip header)",
    ".cdt": "Curry",
    ".dat": "Curry (legacy)",
    ".nxe": "Nexstim",
    ".eeg": "Nihon Kohden",
    ".mat": "FieldTrip",
    ".snirf": "SNIRF",
    ".lay": "Persyst",
    ".bin": "Artemis123",
}

#: Sampling rate the models were trained at (Hz).
#: Per-channel standard deviation (V) above which amplitudes are implausible for cleaned EEG.
MAX_STD_VOLTS = 1e-3
#: Per-channel standard deviation (V) below which amplitudes are implausible (or the channel flat).
MIN_STD_VOLTS = 1e-8


class EEGFileError(InvalidDataError):
    """A recording cannot be turned into model input as it is; the message says how to fix it."""


@dataclass
class EEGReport:
    """What :func:`prepare_eeg` did to a recording.

    Attributes
    ----------
    source : str
        The file (or ``"<in-memory Raw>"``).
    sfreq_original, sfreq : float
        Sampling rate before and after resampling (Hz).
    channels : tuple of str
        Output channels, in order.
    found, missing : tuple of str
        Requested channels present in the file / absent from it.
    interpolated : tuple of str
        Channels rebuilt by spherical-spline interpolation (missing, flat or marked bad).
    flat : tuple of str
        Requested channels found flat (standard deviation below the flat threshold).
    renamed : dict
        Original name -> canonical name, for the channels whose name changed.
    retyped : dict
        Channel -> new type (``"ecg"``, ``"eog"``, ``"emg"``, ``"misc"``) for non-EEG channels
        the file declared as EEG.
    dropped : tuple of str
        Channels of the file not in the output.
    highpass : float or None
        High-pass cut-off applied (Hz).
    rescale : float
        Factor applied to the file's values before anything else (header unit fixes).
    """

    source: str
    sfreq_original: float
    sfreq: float = SFREQ
    channels: tuple[str, ...] = ()
    found: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    interpolated: tuple[str, ...] = ()
    flat: tuple[str, ...] = ()
    renamed: dict[str, str] = field(default_factory=dict)
    retyped: dict[str, str] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()
    highpass: float | None = None
    rescale: float = 1.0

    def as_attrs(self) -> dict[str, str | float | int]:
        """netCDF-compatible attributes (strings and numbers; lists comma-separated)."""
        return {
            "source_file": self.source,
            "sfreq_original": float(self.sfreq_original),
            "channels_missing": ",".join(self.missing),
            "channels_interpolated": ",".join(self.interpolated),
            "channels_flat": ",".join(self.flat),
            "channels_renamed": ",".join(f"{k}->{v}" for k, v in self.renamed.items()),
            "channels_dropped": ",".join(self.dropped),
            "highpass_hz": float(self.highpass) if self.highpass else 0.0,
            "units_conversion": "V -> uV (x1e6)"
            + ("" if self.rescale == 1.0 else f" after rescale x{self.rescale:g}"),
        }


# ----------------------------------------------------------------------------------------------
# reading


def _extension(path: Path) -> str:
    name = path.name.lower()
    for ext in sorted(EEG_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return path.suffix.lower()


def read_eeg(path: str | os.PathLike, *, preload: bool = True, verbose: str | bool = "error",
             **kwargs: Any) -> mne.io.BaseRaw:
    """Read a continuous EEG recording in any format MNE-Python supports.

    Parameters
    ----------
    path : path-like
        The recording: ``.vhdr`` (BrainVision), ``.edf``, ``.bdf``, ``.set`` (EEGLAB), ``.fif``
        and the other endings of :data:`EEG_EXTENSIONS`. For BrainVision pass the ``.vhdr``.
    preload : bool
        Load the samples into memory (needed by :func:`prepare_eeg`).
    verbose : str or bool
        MNE's verbosity.
    **kwargs
        Passed to the MNE reader (e.g. ``eog=...``, ``misc=...``).

    Returns
    -------
    mne.io.BaseRaw
        Markers (e.g. BrainVision's ``Response/R149``) are in ``raw.annotations``.
    """
    import mne

    path = Path(path)
    ext = _extension(path)
    if ext == ".eeg" and path.with_suffix(".vhdr").exists():
        raise EEGFileError(
            f"{path}: this is the binary part of a BrainVision recording; read "
            f"{path.with_suffix('.vhdr').name} (the header) instead."
        )
    if not path.exists():
        raise FileNotFoundError(f"EEG file not found: {path}")
    if ext not in EEG_EXTENSIONS:
        supported = ", ".join(f"{e} ({k})" for e, k in EEG_EXTENSIONS.items())
        raise EEGFileError(
            f"{path}: unknown EEG file type {ext!r}. Supported endings: {supported}. Convert the "
            "recording to one of them (e.g. with MNE: raw.export('x.edf') or raw.save('x_raw.fif'))."
        )
    try:
        return mne.io.read_raw(path, preload=preload, verbose=verbose, **kwargs)
    except ValueError as err:
        raise EEGFileError(f"{path}: MNE could not read it as {EEG_EXTENSIONS[ext]}: {err}") from err


def _source(raw: mne.io.BaseRaw) -> str:
    """The file a user opened for ``raw`` (the header, not MNE's binary data file)."""
    names = [Path(f) for f in (getattr(raw, "filenames", None) or ()) if f is not None]
    if not names:
        return "<in-memory Raw>"
    path = names[0]
    for data_suffix, header_suffix in ((".eeg", ".vhdr"), (".fdt", ".set")):
        if path.suffix.lower() == data_suffix and path.with_suffix(header_suffix).exists():
            return str(path.with_suffix(header_suffix))
    return str(path)


# ----------------------------------------------------------------------------------------------
# preparation


def _non_eeg_type(name: str) -> str | None:
    upper = name.upper()
    for kind, patterns in NON_EEG_PATTERNS.items():
        if any(p in upper for p in patterns):
            return kind
    return None


def _type_channels(raw: mne.io.BaseRaw) -> dict[str, str]:
    """Give non-EEG channels declared as EEG (e.g. ``"ECG ECG"`` in EDF) their real type."""
    types = dict(zip(raw.ch_names, raw.get_channel_types()))
    retyped = {}
    for name, kind in types.items():
        if kind == "eeg":
            new = _non_eeg_type(name)
            if new is not None:
                retyped[name] = new
    if retyped:
        raw.set_channel_types(retyped, on_unit_change="ignore", verbose="error")
    return retyped


def _rename_eeg(raw: mne.io.BaseRaw, source: str) -> dict[str, str]:
    """Rename EEG channels to canonical upper-case 10-10 names (legacy names mapped)."""
    eeg = [raw.ch_names[i] for i in _eeg_picks(raw)]
    mapping = {name: canonical_channel_name(name) for name in eeg}
    inverse: dict[str, list[str]] = {}
    for old, new in mapping.items():
        inverse.setdefault(new, []).append(old)
    clashes = {new: olds for new, olds in inverse.items() if len(olds) > 1}
    others = set(raw.ch_names) - set(eeg)
    clashes.update({new: [old, new] for old, new in mapping.items() if new in others})
    if clashes:
        detail = "; ".join(f"{' and '.join(v)} -> {k}" for k, v in clashes.items())
        raise EEGFileError(
            f"{source}: several channels map to the same 10-10 name ({detail}); legacy T3/T4/T5/T6 "
            "are T7/T8/P7/P8. Drop the duplicate first (raw.drop_channels([...]))."
        )
    changed = {old: new for old, new in mapping.items() if old != new}
    if changed:
        raw.rename_channels(changed, verbose="error")
    return changed


def _eeg_picks(raw: mne.io.BaseRaw) -> np.ndarray:
    import mne

    return mne.pick_types(raw.info, eeg=True, exclude=[])


def _stim_to_annotations(raw: mne.io.BaseRaw) -> None:
    """Turn trigger codes of stim channels (BDF ``Status``, FIF ``STI 014``) into annotations."""
    import mne

    stim = [raw.ch_names[i] for i in mne.pick_types(raw.info, stim=True, exclude=[])]
    if not stim:
        return
    events = mne.find_events(raw, stim_channel=stim, shortest_event=1, initial_event=True,
                             consecutive=True, verbose="error")
    if len(events):
        desc = {int(code): str(int(code)) for code in np.unique(events[:, 2])}
        annot = mne.annotations_from_events(events, raw.info["sfreq"], event_desc=desc,
                                            first_samp=raw.first_samp,
                                            orig_time=raw.annotations.orig_time)
        raw.set_annotations(raw.annotations + annot)


@functools.lru_cache(maxsize=1)
def _standard_montage_positions() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Template 10-05 positions keyed by canonical names, and the template's fiducials."""
    import mne

    builtin = mne.channels.get_builtin_montages()
    # MNE 1.12 renamed standard_1005 (Colin27 template) to colin27_1005.
    name = "colin27_1005" if "colin27_1005" in builtin else "standard_1005"
    pos = mne.channels.make_standard_montage(name).get_positions()
    ch_pos = {canonical_channel_name(k): np.asarray(v) for k, v in pos["ch_pos"].items()}
    fid = {k: np.asarray(pos[k]) for k in ("nasion", "lpa", "rpa")}
    return ch_pos, fid


def _set_standard_montage(raw: mne.io.BaseRaw) -> list[str]:
    """Attach standard 10-05 positions to the EEG channels; return those without a position."""
    import mne

    ch_pos, fid = _standard_montage_positions()
    eeg = [raw.ch_names[i] for i in _eeg_picks(raw)]
    known = {c: ch_pos[c] for c in eeg if c in ch_pos}
    montage = mne.channels.make_dig_montage(ch_pos=known, coord_frame="head", **fid)
    raw.set_montage(montage, on_missing="ignore", verbose="error")
    return [c for c in eeg if c not in ch_pos]


def _nonfinite_message(data: np.ndarray, names: Sequence[str], sfreq: float, source: str) -> str:
    bad_rows = [i for i in range(data.shape[0]) if not np.all(np.isfinite(data[i]))]
    first = bad_rows[0]
    bad = ~np.isfinite(data[first])
    start = int(np.argmax(bad))
    end = start + int(np.argmax(~bad[start:])) if not bad[start:].all() else bad.size
    total = int((~np.isfinite(data[bad_rows])).sum())
    chans = ", ".join(names[i] for i in bad_rows)
    return (
        f"{source}: {total} NaN or infinite samples in channel(s) {chans}; the first stretch "
        f"is {start / sfreq:.2f}-{end / sfreq:.2f} s in {names[first]}. Windows touching them "
        "would be garbage. Crop them out (raw.crop(tmin=..., tmax=...)), or, for a dead channel, "
        "mark it bad (raw.info['bads'] = [...]) and pass missing='interpolate'."
    )


def prepare_eeg(
    raw: mne.io.BaseRaw,
    channels: Sequence[str] | None = PAPER_CHANNELS,
    *,
    sfreq: float = SFREQ,
    highpass: float | None = None,
    missing: str = "raise",
    rescale: float = 1.0,
    allow_upsampling: bool = False,
    max_std: float = MAX_STD_VOLTS,
    flat_std: float = MIN_STD_VOLTS,
    copy: bool = True,
) -> tuple[mne.io.BaseRaw, EEGReport]:
    """The paper's EEG preprocessing of one continuous recording (before windowing).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        A recording from :func:`read_eeg` (or any MNE Raw). Non-EEG channels (ECG, EOG, EMG,
        carbon-wire loops ``CWL*``, ...) are recognised by type and by name and dropped.
    channels : sequence of str or None
        The channels the model expects, in its order (default: the paper's 26,
        :data:`unebolt_viz.channels.PAPER_CHANNELS`). Matched case-insensitively after mapping
        legacy names (T3/T4/T5/T6 -> T7/T8/P7/P8) and stripping ``"EEG "`` / ``"-REF"`` affixes.
        ``None`` keeps every EEG channel in file order.
    sfreq : float
        Output sampling rate (Hz); the models need 200.
    highpass : float or None
        High-pass cut-off (Hz), zero-phase FIR; the paper uses 0.5 in the cross-subject setting
        only.
    missing : {"raise", "interpolate"}
        What to do with requested channels that are absent, flat or marked bad
        (``raw.info["bads"]``): raise an error listing them, or rebuild them by spherical-spline
        interpolation from the standard 10-05 positions (recorded in the report). Positions
        always come from MNE's template (``colin27_1005``), not from digitised ones in the file.
    rescale : float
        Multiply the file's values by this first, for headers that declare the wrong unit
        (``1e-6`` for a file that stores microvolts but declares volts).
    allow_upsampling : bool
        Accept recordings sampled below ``sfreq`` (their band above half their rate stays
        empty, unlike the training data). Otherwise they raise.
    max_std, flat_std : float
        Plausibility bounds (V) on each channel's standard deviation: a median channel above
        ``max_std`` means wrong units or uncleaned MR artifacts; a channel below ``flat_std`` is
        flat.
    copy : bool
        Work on a copy (``raw`` is left untouched).

    Returns
    -------
    raw : mne.io.BaseRaw
        EEG channels only, in the requested order and canonical names, at ``sfreq``, in volts
        (MNE's unit), with standard positions and the trigger annotations of the input.
    report : EEGReport
        What was found, renamed, interpolated and dropped.

    Raises
    ------
    EEGFileError
        For missing or flat channels (with ``missing="raise"``), NaN/Inf samples, implausible
        amplitudes, or a sampling rate below ``sfreq``; the message names the file and the fix.
    """
    if missing not in ("raise", "interpolate"):
        raise ValueError(f"missing={missing!r}; use 'raise' or 'interpolate'.")
    source = _source(raw)
    raw = raw.copy() if copy else raw
    raw.load_data(verbose="error")
    report = EEGReport(source=source, sfreq_original=float(raw.info["sfreq"]), sfreq=float(sfreq),
                       highpass=highpass, rescale=float(rescale))
    original_names = list(raw.ch_names)

    if raw.info["sfreq"] < sfreq and not allow_upsampling:
        raise EEGFileError(
            f"{source}: sampled at {raw.info['sfreq']:g} Hz, below the {sfreq:g} Hz the models "
            f"were trained at; upsampling cannot recreate the band above "
            f"{raw.info['sfreq'] / 2:g} Hz. Use a recording sampled at >= {sfreq:g} Hz, or pass "
            "allow_upsampling=True to accept the missing band."
        )

    report.retyped = _type_channels(raw)
    _stim_to_annotations(raw)
    bads_before = [canonical_channel_name(b) for b in raw.info["bads"]]
    report.renamed = _rename_eeg(raw, source)
    raw.info["bads"] = [b for b in raw.ch_names if canonical_channel_name(b) in bads_before]
    eeg_names = [raw.ch_names[i] for i in _eeg_picks(raw)]
    if not eeg_names:
        raise EEGFileError(f"{source}: no EEG channel found (channel types: "
                           f"{sorted(set(raw.get_channel_types()))}).")

    targets = list(eeg_names) if channels is None else [canonical_channel_name(c) for c in channels]
    if len(set(targets)) != len(targets):
        raise ValueError(f"channels lists a channel twice: {targets}")
    report.found = tuple(c for c in targets if c in eeg_names)
    report.missing = tuple(c for c in targets if c not in eeg_names)

    if rescale != 1.0:
        raw.apply_function(lambda x: x * rescale, picks="eeg", channel_wise=False)

    data = raw.get_data(picks=eeg_names)
    finite = np.all(np.isfinite(data), axis=1)
    used = np.array([c in report.found for c in eeg_names])
    if not np.all(finite[used]):
        picked = [i for i, c in enumerate(eeg_names) if used[i]]
        raise EEGFileError(_nonfinite_message(data[picked], [eeg_names[i] for i in picked],
                                              raw.info["sfreq"], source))
    # Other EEG channels with NaN/Inf only serve interpolation: they are left out of it.
    broken = [c for c, ok in zip(eeg_names, finite) if not ok]

    std = np.where(finite, np.nan_to_num(data, posinf=0.0, neginf=0.0).std(axis=1), np.inf)
    flat = [c for c, s in zip(eeg_names, std) if s < flat_std]
    report.flat = tuple(c for c in report.found if c in flat)
    live = std[(std >= flat_std) & finite]
    typical = float(np.median(live)) if live.size else 0.0
    if typical > max_std:
        raise EEGFileError(
            f"{source}: the median EEG channel has a standard deviation of {typical:.3g} V "
            f"({typical * 1e6:.3g} uV); scalp EEG is about 1e-5 V. Either the file stores "
            "microvolts but declares volts (pass rescale=1e-6, or fix the unit in the header), "
            "or MR gradient/pulse artifacts are still in (clean them first: the models expect "
            "artifact-corrected EEG)."
        )

    bad_found = [c for c in report.found if c in flat or c in raw.info["bads"]]
    to_rebuild = list(report.missing) + bad_found
    if to_rebuild and missing == "raise":
        parts = []
        if report.missing:
            parts.append(f"missing {len(report.missing)} of the {len(targets)} requested channels: "
                         f"{', '.join(report.missing)}")
        if report.flat:
            parts.append(f"flat (std < {flat_std:g} V): {', '.join(report.flat)}")
        marked = [c for c in bad_found if c not in flat]
        if marked:
            parts.append(f"marked bad: {', '.join(marked)}")
        raise EEGFileError(
            f"{source}: {'; '.join(parts)} (found: {', '.join(report.found) or 'none'}). "
            "Pass missing='interpolate' to rebuild them by spherical-spline interpolation from "
            "the standard 10-05 positions, or pass channels=[...] with only the channels you "
            "have (and a model built for them)."
        )

    _set_standard_montage(raw)
    if to_rebuild:
        unusable = [c for c in eeg_names if (c in flat or c in raw.info["bads"] or c in broken)
                    and c not in bad_found]
        _interpolate(raw, report.missing, bad_found, unusable, source)
        report.interpolated = tuple(to_rebuild)

    report.dropped = tuple(
        name for name in original_names
        if report.renamed.get(name, name) not in targets
    )
    raw.pick(targets, verbose="error")
    raw.reorder_channels(targets)
    raw.info["bads"] = []
    if raw.info["sfreq"] != sfreq:
        raw.resample(sfreq, npad=_aligned_npad(raw.info["sfreq"], sfreq), verbose="error")
    if highpass:
        raw.filter(l_freq=highpass, h_freq=None, picks="eeg", phase="zero", verbose="error")
    report.channels = tuple(raw.ch_names)
    return raw, report


def _aligned_npad(sfreq_in: float, sfreq_out: float, minimum: int = 100) -> int:
    """FFT padding that keeps the resampled grid on the original one.

    MNE's ``npad="auto"`` pads to a power of two; when the padding is not a whole number of
    output samples the result is shifted (by 2.5 ms for 500 -> 200 Hz with MNE 1.13), which
    would misplace every window against its trigger. A multiple of the ratio's denominator
    maps to whole output samples. Rates without a small rational ratio (e.g. 499.98 Hz) get no
    padding: no padding keeps the grid too, at the cost of wrap-around at the very edges.
    """
    q = Fraction(sfreq_out / sfreq_in).limit_denominator(100_000).denominator
    return 0 if q > 1000 else int(q * math.ceil(minimum / q))


def _interpolate(raw: mne.io.BaseRaw, missing: Sequence[str], bad: Sequence[str],
                 unusable: Sequence[str], source: str) -> None:
    """Spherical-spline interpolation of missing (added as zeros) and bad channels, in place."""
    import mne

    ch_pos, _ = _standard_montage_positions()
    unplaceable = [c for c in (*missing, *bad) if c not in ch_pos]
    if unplaceable:
        raise EEGFileError(
            f"{source}: cannot interpolate {', '.join(unplaceable)}: no standard 10-05 position "
            "for that name. Rename the channel to its 10-10 name, or leave it out of channels=."
        )
    if missing:
        info = mne.create_info(list(missing), raw.info["sfreq"], "eeg")
        filler = mne.io.RawArray(np.zeros((len(missing), raw.n_times)), info, verbose="error")
        filler.set_meas_date(raw.info["meas_date"])
        raw.add_channels([filler], force_update_info=True)
        _set_standard_montage(raw)
    eeg = [raw.ch_names[i] for i in _eeg_picks(raw)]
    placed = [c for c in eeg if c in ch_pos and c not in unusable]
    sources = [c for c in placed if c not in missing and c not in bad]
    if len(sources) < 4:
        raise EEGFileError(
            f"{source}: only {len(sources)} usable channels with known positions; spherical-spline "
            "interpolation needs more. Record more channels or pass channels= with fewer."
        )
    # Channels without a standard position cannot take part: interpolate on the placed ones.
    sub = raw.copy().pick(placed, verbose="error")
    sub.info["bads"] = [*missing, *bad]
    sub.interpolate_bads(reset_bads=True, mode="accurate", origin="auto", verbose="error")
    rows = [raw.ch_names.index(c) for c in (*missing, *bad)]
    raw._data[rows] = sub.get_data(picks=[*missing, *bad])


# ----------------------------------------------------------------------------------------------
# triggers and windows


def _norm_marker(text: str) -> str:
    return re.sub(r"\s+", "", str(text).split("/")[-1]).upper()


def _matches(description: str, trigger: str) -> bool:
    d, t = _norm_marker(description), _norm_marker(trigger)
    if d == t:
        return True
    # A bare code ("149", or a stim-channel value) matches a typed BrainVision marker ("R149").
    if d.isdigit() or t.isdigit():
        return re.sub(r"^[A-Z]+", "", d) == re.sub(r"^[A-Z]+", "", t)
    return False


def trigger_times(raw: mne.io.BaseRaw, trigger: str = "R149") -> np.ndarray:
    """Times (s since the first sample) of the scanner's volume triggers.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The recording; triggers are its annotations (stim-channel codes are turned into
        annotations by :func:`prepare_eeg`).
    trigger : str
        The marker of a volume. Matching ignores BrainVision's type prefix and spaces, so
        ``"R149"`` matches ``"Response/R149"`` and ``"R 149"``; a bare code matches a typed
        marker either way (``"149"`` matches ``"R149"``, and ``"R149"`` matches the stim-channel
        code ``"149"``).

    Returns
    -------
    ndarray of float
        Sorted trigger times.
    """
    annot = raw.annotations
    hit = np.array([_matches(d, trigger) for d in annot.description], dtype=bool)
    if not hit.any():
        present = sorted({str(d) for d in annot.description})
        shown = ", ".join(present[:15]) + (" ..." if len(present) > 15 else "")
        raise EEGFileError(
            f"{_source(raw)}: no {trigger!r} volume trigger among the annotations "
            f"({shown or 'none at all'}). Pass trigger=<the scanner's volume marker>, or place "
            "volumes by time with trigger=None, tr=<s> and first_volume=<s>."
        )
    # Annotations with an orig_time count from the measurement start; data start at first_time.
    offset = raw.first_time if annot.orig_time is not None else 0.0
    return np.sort(np.asarray(annot.onset[hit], dtype=float) - offset)


def volume_times(
    raw: mne.io.BaseRaw,
    *,
    trigger: str | None = "R149",
    tr: float | None = None,
    first_volume: float | None = None,
    n_volumes: int | None = None,
) -> np.ndarray:
    """Times (s since the first sample) of the fMRI volumes: triggers, or a TR grid.

    With ``trigger`` the annotation times are used. With ``trigger=None``, volumes are
    ``first_volume + k * tr`` for ``k < n_volumes`` (default: all that fall in the recording).
    """
    if trigger is not None:
        return trigger_times(raw, trigger)
    if tr is None or first_volume is None:
        raise ValueError("Without a trigger, pass tr=<s> and first_volume=<s> to place the volumes.")
    if tr <= 0:
        raise ValueError(f"tr={tr} must be positive (seconds).")
    duration = raw.n_times / raw.info["sfreq"]
    if n_volumes is None:
        n_volumes = int(np.floor((duration - first_volume) / tr + 1e-9)) + 1
    return first_volume + tr * np.arange(max(n_volumes, 0))


def raw_to_microvolts(raw: mne.io.BaseRaw, dtype: Any = np.float32) -> np.ndarray:
    """The continuous EEG of a prepared recording in microvolts, ``(n_channels, n_samples)``.

    This is the buffer the windows of :func:`eeg_windows_from_array` are views on.
    """
    types = set(raw.get_channel_types())
    if types != {"eeg"}:
        raise EEGFileError(
            f"{_source(raw)}: channel types {sorted(types)}; run prepare_eeg first so that only the "
            "model's EEG channels remain."
        )
    data = raw.get_data() * 1e6
    return np.ascontiguousarray(data, dtype=dtype)


def _channel_positions(raw: mne.io.BaseRaw) -> np.ndarray:
    pos = np.array([ch["loc"][:3] for ch in raw.info["chs"]], dtype=float)
    unknown = ~np.any(pos != 0, axis=1) | ~np.all(np.isfinite(pos), axis=1)
    pos[unknown] = np.nan
    return pos


def eeg_windows_from_array(
    signal: np.ndarray,
    ch_names: Sequence[str],
    sfreq: float,
    volume_onsets: Sequence[float],
    *,
    window: float = WINDOW_SECONDS,
    scan: str,
    subject: str,
    tr_index: Sequence[int] | None = None,
    ch_pos: np.ndarray | None = None,
    data_source: str = "real",
    attrs: dict[str, Any] | None = None,
) -> xr.DataArray:
    """TR-locked windows, as views on a continuous microvolt signal.

    Parameters
    ----------
    signal : ndarray, shape (n_channels, n_samples)
        Continuous EEG in microvolts. Kept alive by the windows, which are strided views on it
        when the volumes are evenly spaced (``numpy.shares_memory(windows.values, signal)``).
    ch_names : sequence of str
    sfreq : float
        Sampling rate of ``signal`` (Hz).
    volume_onsets : sequence of float
        Time of each fMRI volume (s since the first sample).
    window : float
        Seconds of EEG before each volume (16 in the paper).
    scan, subject : str
    tr_index : sequence of int, optional
        Volume index of each onset (default ``0 .. n-1``).
    ch_pos : ndarray (n_channels, 3), optional
        Positions (m, head frame).
    data_source : {"real", "simulated", "semi-synthetic"}
    attrs : dict, optional
        Extra netCDF-compatible attributes.

    Returns
    -------
    xarray.DataArray
        ``eeg_windows`` container in ``uV``. Volumes without a full window before them are
        dropped; ``attrs`` records ``n_volumes``, ``n_dropped_volumes``, ``dropped_tr_index``
        and the median ``volume_interval`` (s).
    """
    onsets = np.asarray(volume_onsets, dtype=float)
    index = np.arange(onsets.size) if tr_index is None else np.asarray(tr_index, dtype=np.int64)
    n_window = int(round(window * sfreq))
    if abs(n_window - window * sfreq) > 1e-6:
        raise ValueError(f"window={window} s is not a whole number of samples at {sfreq} Hz.")
    samples = np.round(onsets * sfreq).astype(np.int64)
    starts, kept = window_starts(samples, n_window, signal.shape[1])
    starts = regular_starts(starts, max_jitter=1)
    views = window_views(signal, starts, n_window)
    dropped = np.setdiff1d(np.arange(onsets.size), kept)
    info = {
        "n_volumes": int(onsets.size),
        "n_dropped_volumes": int(dropped.size),
        "dropped_tr_index": ",".join(str(int(index[i])) for i in dropped),
        "volume_interval": float(np.median(np.diff(onsets))) if onsets.size > 1 else 0.0,
        "window_seconds": float(window),
        "demean": "per window and channel when batched (preprocessing.demean_windows)",
    }
    return eeg_windows(
        views, list(ch_names), sfreq, scan=scan, subject=subject, tr_index=index[kept],
        onset=onsets[kept], ch_pos=ch_pos, tmin=-float(window), units="uV",
        data_source=data_source, attrs={**info, **dict(attrs or {})},
    )


def eeg_windows_from_raw(
    raw: mne.io.BaseRaw,
    *,
    trigger: str | None = "R149",
    tr: float | None = None,
    first_volume: float | None = None,
    n_volumes: int | None = None,
    window: float = WINDOW_SECONDS,
    scan: str,
    subject: str,
    data_source: str = "real",
    report: EEGReport | None = None,
    dtype: Any = np.float32,
) -> xr.DataArray:
    """TR-locked EEG windows of a prepared recording (see :func:`prepare_eeg`).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Output of :func:`prepare_eeg` (EEG channels only, in model order, at 200 Hz).
    trigger : str or None
        Annotation marking each volume (``"R149"`` in the paper's BrainAmp recordings). With
        ``None``, volumes are placed every ``tr`` seconds from ``first_volume``.
    tr, first_volume : float, optional
        TR grid (s) used when ``trigger`` is None.
    n_volumes : int, optional
        Number of volumes of the TR grid (default: as many as fall in the recording).
    window : float
        Seconds of EEG before each volume.
    scan, subject : str
        Identifiers recorded on every window.
    data_source : {"real", "simulated", "semi-synthetic"}
    report : EEGReport, optional
        From :func:`prepare_eeg`; recorded in the attributes (interpolated channels, units, ...).
    dtype : numpy dtype
        Of the continuous microvolt buffer.

    Returns
    -------
    xarray.DataArray
        ``eeg_windows`` container ``(window, channel, time)``, views on one continuous buffer.
    """
    onsets = volume_times(raw, trigger=trigger, tr=tr, first_volume=first_volume,
                          n_volumes=n_volumes)
    attrs = {"trigger": trigger or "", **(report.as_attrs() if report else
                                          {"source_file": _source(raw)})}
    return eeg_windows_from_array(
        raw_to_microvolts(raw, dtype), raw.ch_names, raw.info["sfreq"], onsets, window=window,
        scan=scan, subject=subject, ch_pos=_channel_positions(raw), data_source=data_source,
        attrs=attrs,
    )
