"""Preparing a recording for the models: channels by name, units checked, resampled to 200 Hz.

:func:`prepare_eeg` types the channels (EEG versus ECG/EOG/EMG/carbon-wire loops), maps legacy
10-20 names (T3 -> T7, ...), selects and orders the model's channels (the paper's 26 by
default), interpolates missing or flat ones when asked, resamples to 200 Hz and optionally
high-passes at 0.5 Hz (cross-subject setting). It refuses, with a message naming the file and
the fix, NaN/Inf stretches, flat channels, implausible amplitudes (microvolts declared as
volts) and sampling rates below 200 Hz. :func:`raw_to_microvolts` then gives the continuous
buffer the windows are cut from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from ...conventions import PAPER_CHANNELS, SFREQ, canonical_channel_name
from ._amplitude import (
    MAX_STD_VOLTS,
    MIN_STD_VOLTS,
    AmplitudeCheck,
    check_amplitudes,
    typical_amplitude,
)
from ._channels import (
    _eeg_picks,
    _interpolate,
    _interpolation_problem,
    _rename_eeg,
    _set_standard_montage,
    _stim_to_annotations,
    _type_channels,
)
from ._read import EEGFileError, _source

if TYPE_CHECKING:  # pragma: no cover
    import mne

__all__ = ["MAX_STD_VOLTS", "MIN_STD_VOLTS", "EEGReport", "prepare_eeg", "raw_to_microvolts"]



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
        Requested channels found flat (constant over the whole recording).
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
    rescaled : dict
        Channel (canonical name) -> factor, for per-channel unit fixes.
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
    rescaled: dict[str, float] = field(default_factory=dict)

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
            + ("" if self.rescale == 1.0 else f" after rescale x{self.rescale:g}")
            + "".join(f", {c} x{f:g}" for c, f in self.rescaled.items()),
        }


def prepare_eeg(
    raw: mne.io.BaseRaw,
    channels: Sequence[str] | None = PAPER_CHANNELS,
    *,
    sfreq: float = SFREQ,
    highpass: float | None = None,
    missing: str = "raise",
    rescale: float | Mapping[str, float] = 1.0,
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
        :data:`unebolt_viz.conventions.PAPER_CHANNELS`). Matched by
        :func:`unebolt_viz.conventions.canonical_channel_name`: case-insensitively, after mapping
        legacy names (T3/T4/T5/T6 -> T7/T8/P7/P8) and stripping ``"EEG "`` / ``"-REF"`` affixes
        and the padding dots of EDF labels (``"Fc5."``). ``None`` keeps every EEG channel in
        file order.
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
    rescale : float or mapping of str to float
        Multiply the file's values by this first, for headers that declare the wrong unit
        (``1e-6`` for a file that stores microvolts but declares volts). A mapping scales only
        the channels it names (file or canonical names), e.g. ``{"Fp1": 1e-6}``.
    allow_upsampling : bool
        Accept recordings sampled below ``sfreq`` (their band above half their rate stays
        empty, unlike the training data). Otherwise they raise.
    max_std, flat_std : float
        Plausibility bounds (V) on each channel's typical standard deviation (the median over
        10-s segments, each demeaned): above ``max_std`` means a wrong unit or uncorrected MR
        artifacts, below ``flat_std`` a wrong unit. A requested channel
        outside them, or 1000 times off the median of the others, is an error that names it
        and the factor that fixes it. Only constant channels count as flat.
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
        amplitudes, or a sampling rate below ``sfreq``; the message names the file, the channels
        (as stored in the file) and the fix.
    """
    if missing not in ("raise", "interpolate"):
        raise ValueError(f"missing={missing!r}; use 'raise' or 'interpolate'.")
    source = _source(raw)
    raw = raw.copy() if copy else raw
    raw.load_data(verbose="error")
    report = EEGReport(source=source, sfreq_original=float(raw.info["sfreq"]), sfreq=float(sfreq),
                       highpass=highpass,
                       rescale=1.0 if isinstance(rescale, Mapping) else float(rescale))
    original_names = list(raw.ch_names)
    _check_sampling_rate(raw.info["sfreq"], sfreq, allow_upsampling, source)
    report.retyped, report.renamed, eeg_names = _canonical_eeg_channels(raw, source)
    targets = _target_channels(channels, eeg_names)
    report.found = tuple(c for c in targets if c in eeg_names)
    report.missing = tuple(c for c in targets if c not in eeg_names)
    report.rescaled = _apply_rescale(raw, rescale, eeg_names, source)
    unusable, flat = _check_signals(raw, eeg_names, report, source, max_std, flat_std)
    report.flat = tuple(c for c in report.found if c in flat)
    bad_found = [c for c in report.found if c in flat or c in raw.info["bads"]]
    if (report.missing or bad_found) and missing == "raise":
        problem = _interpolation_problem(eeg_names, [*report.missing, *bad_found],
                                         [*unusable, *flat, *raw.info["bads"]])
        raise EEGFileError(_unusable_message(report, len(targets), bad_found, eeg_names,
                                             problem))
    _set_standard_montage(raw)
    if report.missing or bad_found:
        _rebuild_channels(raw, report, bad_found, eeg_names, unusable=(*flat, *unusable))
    report.dropped = tuple(name for name in original_names
                           if report.renamed.get(name, name) not in targets)
    _to_model_grid(raw, targets, sfreq, highpass)
    report.channels = tuple(raw.ch_names)
    return raw, report


def _check_sampling_rate(sfreq_in: float, sfreq: float, allow_upsampling: bool,
                         source: str) -> None:
    """Refuse a recording sampled below ``sfreq``, unless upsampling is allowed."""
    if sfreq_in < sfreq and not allow_upsampling:
        raise EEGFileError(
            f"{source}: sampled at {sfreq_in:g} Hz, below the {sfreq:g} Hz the models "
            f"were trained at; upsampling cannot recreate the band above "
            f"{sfreq_in / 2:g} Hz. Use a recording sampled at >= {sfreq:g} Hz, or pass "
            "allow_upsampling=True to accept the missing band."
        )


def _canonical_eeg_channels(raw: mne.io.BaseRaw,
                            source: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Type, annotate and rename the channels in place; return retyped, renamed, EEG names."""
    retyped = _type_channels(raw)
    _stim_to_annotations(raw)
    bads_before = [canonical_channel_name(b) for b in raw.info["bads"]]
    renamed = _rename_eeg(raw, source)
    raw.info["bads"] = [b for b in raw.ch_names if canonical_channel_name(b) in bads_before]
    eeg_names = [raw.ch_names[i] for i in _eeg_picks(raw)]
    if not eeg_names:
        raise EEGFileError(f"{source}: no EEG channel found (channel types: "
                           f"{sorted(set(raw.get_channel_types()))}).")
    return retyped, renamed, eeg_names


def _target_channels(channels: Sequence[str] | None, eeg_names: Sequence[str]) -> list[str]:
    """The output channels by canonical name (every EEG channel, in file order, for None)."""
    targets = list(eeg_names) if channels is None else [canonical_channel_name(c) for c in channels]
    if len(set(targets)) != len(targets):
        raise ValueError(f"channels lists a channel twice: {targets}")
    return targets


def _apply_rescale(raw: mne.io.BaseRaw, rescale: float | Mapping[str, float],
                   eeg_names: Sequence[str], source: str) -> dict[str, float]:
    """Scale all EEG channels, or those a mapping names, in place; return per-channel factors."""
    if not isinstance(rescale, Mapping):
        if rescale != 1.0:
            raw.apply_function(lambda x: x * rescale, picks="eeg", channel_wise=False)
        return {}
    factors = {canonical_channel_name(str(k)): float(v) for k, v in rescale.items()}
    unknown = [str(k) for k in rescale if canonical_channel_name(str(k)) not in eeg_names]
    if unknown:
        raise EEGFileError(
            f"{source}: rescale names {', '.join(unknown)}, not among the file's EEG channels "
            f"({', '.join(eeg_names)}); use those names."
        )
    for name, factor in factors.items():
        raw.apply_function(lambda x, f=factor: x * f, picks=[name], channel_wise=False)
    return factors


def _check_signals(raw: mne.io.BaseRaw, eeg_names: Sequence[str], report: EEGReport,
                   source: str, max_std: float, min_std: float) -> tuple[list[str], list[str]]:
    """Refuse NaN/Inf and implausible amplitudes in the requested channels.

    Returns the other EEG channels unfit as interpolation sources (NaN/Inf or implausible
    amplitude) and the flat (constant) EEG channels. Channels marked bad are not judged.
    """
    data = raw.get_data(picks=eeg_names)
    finite = np.all(np.isfinite(data), axis=1)
    used = np.array([c in report.found for c in eeg_names])
    if not np.all(finite[used]):
        picked = [i for i, c in enumerate(eeg_names) if used[i]]
        raise EEGFileError(_nonfinite_message(data[picked], [eeg_names[i] for i in picked],
                                              raw.info["sfreq"], source))
    broken = [c for c, ok in zip(eeg_names, finite) if not ok]
    flat = [c for c, row, ok in zip(eeg_names, data, finite) if ok and np.ptp(row) == 0]
    skip = {*broken, *flat, *raw.info["bads"]}
    amplitudes = {c: typical_amplitude(row, raw.info["sfreq"])
                  for c, row in zip(eeg_names, data) if c not in skip}
    check = AmplitudeCheck(amplitudes, max_std, min_std)
    file_names = {new: old for old, new in report.renamed.items()}
    check_amplitudes(check, report.found, file_names, source)
    return [*broken, *check.implausible], flat


def _nonfinite_message(data: np.ndarray, names: Sequence[str], sfreq: float, source: str) -> str:
    """Where the NaN/Inf samples of ``data`` (requested channels only) are, and the fix."""
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


def _unusable_message(report: EEGReport, n_targets: int, bad_found: Sequence[str],
                      eeg_names: Sequence[str], problem: str | None) -> str:
    """Why requested channels cannot be used as they are, the file's names, and the fix."""
    parts = []
    if report.missing:
        parts.append(f"missing {len(report.missing)} of the {n_targets} requested channels: "
                     f"{', '.join(report.missing)}")
    if report.flat:
        parts.append(f"flat (constant): {', '.join(report.flat)}")
    marked = [c for c in bad_found if c not in report.flat]
    if marked:
        parts.append(f"marked bad: {', '.join(marked)}")
    stored = {new: old for old, new in report.renamed.items()}
    listed = [f"{stored[c]} -> {c}" if c in stored else c for c in eeg_names]
    names = (f"The file's {len(eeg_names)} EEG channels (as stored -> normalised): "
             f"{', '.join(listed)}.")
    keep = "pass channels=[...] with only the channels you have (and a model built for them)"
    if problem is None:
        fix = ("Pass missing='interpolate' to rebuild them by spherical-spline interpolation "
               f"from the standard 10-05 positions, or {keep}.")
    elif report.found:
        fix = f"Interpolation cannot rebuild them ({problem}). Otherwise {keep}."
    else:
        fix = (f"None of them matches a requested channel, and interpolation cannot help "
               f"({problem}). Rename the channels to 10-10 names "
               "(raw.rename_channels({old: new})), or pass channels=None to keep the file's.")
    return (f"{report.source}: {'; '.join(parts)} (found: {', '.join(report.found) or 'none'}). "
            f"{names} {fix}")


def _rebuild_channels(raw: mne.io.BaseRaw, report: EEGReport, bad_found: Sequence[str],
                      eeg_names: Sequence[str], unusable: Sequence[str]) -> None:
    """Interpolate the missing and bad requested channels in place, from the usable others.

    ``unusable`` (flat or NaN/Inf channels) and channels marked bad take no part as sources.
    """
    sources_excluded = [c for c in eeg_names if (c in unusable or c in raw.info["bads"])
                        and c not in bad_found]
    _interpolate(raw, report.missing, bad_found, sources_excluded, report.source)
    report.interpolated = (*report.missing, *bad_found)


def _to_model_grid(raw: mne.io.BaseRaw, targets: list[str], sfreq: float,
                   highpass: float | None) -> None:
    """Keep the target channels in order, resample to ``sfreq`` and high-pass, in place."""
    raw.pick(targets, verbose="error")
    raw.reorder_channels(targets)
    raw.info["bads"] = []
    if raw.info["sfreq"] != sfreq:
        raw.resample(sfreq, npad=_aligned_npad(raw.info["sfreq"], sfreq), verbose="error")
    if highpass:
        raw.filter(l_freq=highpass, h_freq=None, picks="eeg", phase="zero", verbose="error")


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
