"""The paper's signal processing, shared by ingestion, the simulator and training.

- BOLD targets: 5th-order Butterworth low-pass at 0.15 Hz applied forward and backward
  (zero phase), then per ROI over the whole scan: subtract the mean and divide by the 95th
  percentile of ``|x|`` (+1e-8). This is not a z-score.
- EEG windows: for each fMRI volume, the 16 s of EEG before it (3200 samples at 200 Hz), in
  microvolts. Windows are strided *views* on the continuous signal (no copy); the whole-window
  mean of each channel is removed when a batch is made (:func:`demean_windows`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .conventions import WINDOW_SECONDS
from .data.containers import InvalidDataError

__all__ = [
    "BOLD_LOWPASS_HZ",
    "WINDOW_SECONDS",
    "lowpass_bold",
    "scale_bold",
    "bold_targets",
    "window_starts",
    "regular_starts",
    "window_views",
    "demean_windows",
]

BOLD_LOWPASS_HZ = 0.15
BOLD_FILTER_ORDER = 5
SCALE_PERCENTILE = 95.0
SCALE_EPS = 1e-8


def lowpass_bold(values: np.ndarray, tr: float, cutoff: float = BOLD_LOWPASS_HZ,
                 order: int = BOLD_FILTER_ORDER) -> np.ndarray:
    """Zero-phase Butterworth low-pass along axis 0 (time).

    Parameters
    ----------
    values : ndarray, shape (n_times, ...)
    tr : float
        Repetition time (s); the sampling rate is ``1 / tr``.
    cutoff : float
        Cut-off frequency (Hz).
    order : int
        Filter order (applied forward and backward, so the effective order doubles).
    """
    from scipy.signal import butter, sosfiltfilt

    fs = 1.0 / float(tr)
    if not 0 < cutoff < fs / 2:
        raise InvalidDataError(
            f"Low-pass cut-off {cutoff} Hz must lie below the Nyquist frequency {fs / 2:.3f} Hz "
            f"of TR={tr} s."
        )
    x = np.asarray(values, dtype=np.float64)
    min_len = 3 * (2 * order + 1)
    if x.shape[0] <= min_len:
        raise InvalidDataError(
            f"{x.shape[0]} time points are too few for the zero-phase filter (need > {min_len})."
        )
    sos = butter(order, cutoff, btype="low", fs=fs, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def scale_bold(values: np.ndarray, percentile: float = SCALE_PERCENTILE) -> np.ndarray:
    """Subtract each column's mean and divide by its ``percentile`` of ``|x|`` (+1e-8)."""
    x = np.asarray(values, dtype=np.float64)
    x = x - x.mean(axis=0)
    return x / (np.percentile(np.abs(x), percentile, axis=0) + SCALE_EPS)


def bold_targets(bold: xr.DataArray | np.ndarray, tr: float | None = None,
                 cutoff: float = BOLD_LOWPASS_HZ) -> xr.DataArray | np.ndarray:
    """The paper's target processing of a whole scan: low-pass, demean, 95th-percentile scale.

    Parameters
    ----------
    bold : DataArray (time, roi) or ndarray (n_times, n_rois)
        One scan. A DataArray keeps its coordinates and gets ``target_processing`` recorded.
    tr : float, optional
        Repetition time; read from ``bold.attrs["tr"]`` for a DataArray.
    cutoff : float
        Low-pass cut-off (Hz).
    """
    if isinstance(bold, xr.DataArray):
        if len(np.unique(bold.scan.values)) > 1:
            raise InvalidDataError("bold_targets works on one scan at a time (filtering must not "
                                   "run across scan boundaries).")
        tr = bold.attrs["tr"] if tr is None else tr
        out = bold.copy(data=scale_bold(lowpass_bold(bold.values, tr, cutoff)))
        out.attrs["target_processing"] = (
            f"butterworth{BOLD_FILTER_ORDER} lowpass {cutoff} Hz zero-phase; demean; "
            f"/ p{SCALE_PERCENTILE:g}(|x|)"
        )
        return out
    if tr is None:
        raise InvalidDataError("Pass tr=... (seconds) for a plain array.")
    return scale_bold(lowpass_bold(bold, tr, cutoff))


def window_starts(volume_samples: Sequence[int], n_window: int, n_samples: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Start samples of the windows that end at each volume, and which volumes have one.

    A window covers ``[v - n_window, v)`` for a volume at sample ``v``; volumes without a full
    window inside ``[0, n_samples]`` are dropped.

    Returns
    -------
    starts : ndarray of int
    kept : ndarray of int
        Indices (into ``volume_samples``) of the volumes that have a window.
    """
    v = np.asarray(volume_samples, dtype=np.int64)
    ok = (v - n_window >= 0) & (v <= n_samples)
    kept = np.flatnonzero(ok)
    return v[kept] - n_window, kept


def regular_starts(starts: Sequence[int], max_jitter: int = 1) -> np.ndarray:
    """Snap window starts onto an evenly spaced grid when they deviate by at most ``max_jitter``.

    Scanner triggers come every TR, but resampling a trigger time to 200 Hz can move it by a
    sample. Snapping lets :func:`window_views` return one strided view; starts that deviate more
    are returned unchanged.
    """
    s = np.asarray(starts, dtype=np.int64)
    if s.size < 3:
        return s
    step = int(round((s[-1] - s[0]) / (s.size - 1)))
    grid = s[0] + step * np.arange(s.size)
    offset = int(np.round(np.median(s - grid)))
    grid = grid + offset
    return grid if np.max(np.abs(grid - s)) <= max_jitter else s


def window_views(signal: np.ndarray, starts: Sequence[int], n_window: int) -> np.ndarray:
    """Windows of a continuous ``(n_channels, n_samples)`` signal, shape (n, n_channels, n_window).

    With evenly spaced ``starts`` (see :func:`regular_starts`) the result is a read-only strided
    view that shares memory with ``signal`` (``numpy.shares_memory`` is true): a 20-minute scan
    then costs one copy of the recording, not one per overlapping window. Irregular starts give a
    copy.
    """
    sig = np.asarray(signal)
    if sig.ndim != 2:
        raise InvalidDataError(f"signal must be (n_channels, n_samples); got {sig.shape}.")
    s = np.asarray(starts, dtype=np.int64)
    if s.size and (s.min() < 0 or s.max() + n_window > sig.shape[1]):
        raise InvalidDataError("A window falls outside the recording.")
    steps = np.diff(s)
    evenly_spaced = s.size > 0 and (steps.size == 0 or (steps[0] > 0 and np.all(steps == steps[0])))
    if evenly_spaced:
        step = int(steps[0]) if steps.size else 0
        first = sig[:, s[0]:]
        return np.lib.stride_tricks.as_strided(
            first,
            shape=(s.size, sig.shape[0], n_window),
            strides=(step * sig.strides[1], sig.strides[0], sig.strides[1]),
            writeable=False,
        )
    sliding = np.lib.stride_tricks.sliding_window_view(sig, n_window, axis=1)
    return np.ascontiguousarray(sliding[:, s, :].transpose(1, 0, 2))


def demean_windows(windows: np.ndarray) -> np.ndarray:
    """Copy of the windows with each channel's whole-window mean removed (float32)."""
    w = np.asarray(windows, dtype=np.float32)
    return w - w.mean(axis=-1, keepdims=True)
