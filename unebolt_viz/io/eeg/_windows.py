"""Cutting a prepared recording into TR-locked windows: the 16 s before each fMRI volume.

Volumes are placed by the scanner's trigger annotations (``"R149"`` by default) or on a TR
grid from the first volume; the windows are strided *views* on one continuous microvolt
buffer, wrapped in an ``eeg_windows`` container. The whole-window mean of each channel is
removed when a batch is made (:func:`unebolt_viz.preprocessing.demean_windows`), so the
windows stay views.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ...conventions import WINDOW_SECONDS
from ...data.containers import eeg_windows
from ...preprocessing import regular_starts, window_starts, window_views
from ._prepare import EEGReport, raw_to_microvolts
from ._read import EEGFileError, _source

if TYPE_CHECKING:  # pragma: no cover
    import mne

__all__ = ["trigger_times", "volume_times", "eeg_windows_from_raw", "eeg_windows_from_array"]


def _norm_marker(text: str) -> str:
    """A marker without its type prefix (``"Response/"``) and spaces, upper-case."""
    return re.sub(r"\s+", "", str(text).split("/")[-1]).upper()


def _matches(description: str, trigger: str) -> bool:
    """Whether an annotation's description is the volume trigger."""
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
        raise EEGFileError(
            f"{_source(raw)}: no {trigger!r} volume trigger among the annotations "
            f"({_annotation_summary(raw) or 'none at all'}). Pass trigger=<the scanner's volume "
            "marker>, or place volumes by time with trigger=None, tr=<s> (and first_volume=<s>)."
        )
    return np.sort(_onsets(raw)[hit])


def _onsets(raw: mne.io.BaseRaw) -> np.ndarray:
    """Annotation onsets in seconds since the first sample."""
    annot = raw.annotations
    # Annotations with an orig_time count from the measurement start; data start at first_time.
    offset = raw.first_time if annot.orig_time is not None else 0.0
    return np.asarray(annot.onset, dtype=float) - offset


def _annotation_summary(raw: mne.io.BaseRaw, window: float | None = None,
                        limit: int = 15) -> str:
    """The annotations' descriptions with counts (and how many have a full window before them)."""
    descriptions = [str(d) for d in raw.annotations.description]
    counts = Counter(descriptions)
    full = Counter()
    if window is not None:
        duration = raw.n_times / raw.info["sfreq"]
        for d, t in zip(descriptions, _onsets(raw)):
            full[d] += int(window <= t <= duration)
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{d!r} x{n}" + ("" if window is None else f" ({full[d]} with a full window)")
             for d, n in items[:limit]]
    return ", ".join(shown) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def volume_times(
    raw: mne.io.BaseRaw,
    *,
    trigger: str | None = "R149",
    tr: float | None = None,
    first_volume: float | None = None,
    n_volumes: int | None = None,
    window: float = WINDOW_SECONDS,
) -> np.ndarray:
    """Times (s since the first sample) of the fMRI volumes: triggers, or a TR grid.

    With ``trigger`` the annotation times are used. With ``trigger=None``, volumes are
    ``first_volume + k * tr`` for ``k < n_volumes`` (default: all that fall in the recording);
    ``first_volume`` defaults to ``window``, the first time a full window of EEG exists.
    """
    if trigger is not None:
        return trigger_times(raw, trigger)
    if tr is None:
        raise ValueError("Without a trigger, pass tr=<s> (and optionally first_volume=<s>) to "
                         "place the volumes.")
    if tr <= 0:
        raise ValueError(f"tr={tr} must be positive (seconds).")
    if first_volume is None:
        first_volume = float(window)
    duration = raw.n_times / raw.info["sfreq"]
    if n_volumes is None:
        n_volumes = int(np.floor((duration - first_volume) / tr + 1e-9)) + 1
    return first_volume + tr * np.arange(max(n_volumes, 0))


def _channel_positions(raw: mne.io.BaseRaw) -> np.ndarray:
    """Channel positions (m, head frame), NaN where unknown (all zero or not finite)."""
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
        TR grid (s) used when ``trigger`` is None; ``first_volume`` defaults to ``window`` (the
        first time a full window exists), so ``trigger=None, tr=2.0`` windows the whole
        recording every 2 s without any trigger.
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

    Raises
    ------
    EEGFileError
        No trigger found, or no volume with a full window before it (the message lists the
        file's annotations with counts, and the fix).
    """
    onsets = volume_times(raw, trigger=trigger, tr=tr, first_volume=first_volume,
                          n_volumes=n_volumes, window=window)
    _require_a_window(raw, onsets, trigger, window)
    attrs = {"trigger": trigger or "", **(report.as_attrs() if report else
                                          {"source_file": _source(raw)})}
    return eeg_windows_from_array(
        raw_to_microvolts(raw, dtype), raw.ch_names, raw.info["sfreq"], onsets, window=window,
        scan=scan, subject=subject, ch_pos=_channel_positions(raw), data_source=data_source,
        attrs=attrs,
    )


def _require_a_window(raw: mne.io.BaseRaw, onsets: np.ndarray, trigger: str | None,
                      window: float) -> None:
    """Refuse volume times none of which has a full window of EEG before it."""
    sfreq = raw.info["sfreq"]
    samples = np.round(np.asarray(onsets) * sfreq)
    if np.any((samples >= round(window * sfreq)) & (samples <= raw.n_times)):
        return
    duration = raw.n_times / sfreq
    if trigger is None:
        raise EEGFileError(
            f"{_source(raw)}: the recording lasts {duration:.1f} s, so no volume of the TR grid "
            f"has the {window:g} s of EEG before it; use a longer recording (or a shorter "
            "window=)."
        )
    shown = ", ".join(f"{t:.2f}" for t in onsets[:5]) + (" ..." if len(onsets) > 5 else "")
    raise EEGFileError(
        f"{_source(raw)}: none of the {len(onsets)} {trigger!r} triggers (at {shown} s) has "
        f"the {window:g} s of EEG before it inside the recording (0-{duration:.1f} s), so there "
        f"would be no window. Triggers in the file: {_annotation_summary(raw, window)}. Pass "
        "trigger=<the annotation that marks each fMRI volume>, or window the recording every TR "
        f"without triggers: trigger=None, tr=<TR in s> (windows end every TR from {window:g} s, "
        "the first time a full window exists; first_volume=<s> moves the grid)."
    )
