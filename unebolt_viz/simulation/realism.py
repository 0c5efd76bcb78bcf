"""Statistics that compare simulated and real recordings, computed the same way for both.

Definitions (the realism benchmark of the repository and the tests use these):

lag-1 autocorrelation
    Per ROI, ``sum(x[t] x[t+1]) / sum(x[t]^2)`` of the demeaned series; the mean over ROIs.
within / between network FC
    Pearson FC over the whole scan; over the strict upper triangle, the mean r of ROI pairs
    in the same Yeo-7 network (within) and in two different Yeo-7 networks (between); ROIs
    outside the seven networks are left out.
aperiodic slope
    Welch PSD (4 s Hann windows, 50 % overlap); least-squares line of log10 power against
    log10 frequency over 2-40 Hz leaving out 7-14 Hz (the alpha band); its slope.
alpha peak ratio
    The largest PSD value within 7-14 Hz divided by that line's value at the same frequency
    (how far alpha rises above the aperiodic background; 1 = no peak).
alpha-BOLD coupling
    Alpha (8-12 Hz, 4th-order zero-phase Butterworth) power of posterior channels averaged
    over channels and over each TR, convolved with the canonical HRF; Pearson r with the mean
    processed BOLD target of the visual-network ROIs, the first 32 s left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..networks import YEO7_NAMES
from .hrf import HRF_LENGTH_S, convolve_hrf, hrf_kernels

__all__ = [
    "lag1_autocorrelation",
    "within_between_fc",
    "spectral_features",
    "segment_spectral_features",
    "alpha_bold_coupling",
]

FIT_RANGE = (2.0, 40.0)
ALPHA_RANGE = (7.0, 14.0)


def lag1_autocorrelation(x: np.ndarray) -> float:
    """Mean over columns of the lag-1 autocorrelation of (n_times, n_series) data."""
    x = np.asarray(x, dtype=float)
    x = x - x.mean(axis=0)
    return float(np.mean((x[1:] * x[:-1]).sum(axis=0) / (x * x).sum(axis=0)))


def within_between_fc(x: np.ndarray, networks: Sequence[str]) -> tuple[float, float]:
    """Mean FC within and between the seven Yeo networks (see the module docstring)."""
    nets = np.asarray(networks, dtype=str)
    r = np.corrcoef(np.asarray(x, dtype=float).T)
    upper = np.triu(np.ones_like(r, dtype=bool), 1)
    yeo = np.isin(nets, YEO7_NAMES)
    both = upper & yeo[:, None] & yeo[None, :]
    same = nets[:, None] == nets[None, :]
    return float(r[both & same].mean()), float(r[both & ~same].mean())


def spectral_features(x: np.ndarray, sfreq: float) -> dict[str, float]:
    """Aperiodic slope, alpha peak ratio and alpha peak frequency of one channel."""
    from scipy.signal import welch

    nper = int(4 * sfreq)
    f, p = welch(np.asarray(x, dtype=float), fs=sfreq, nperseg=nper, noverlap=nper // 2)
    in_alpha = (f >= ALPHA_RANGE[0]) & (f <= ALPHA_RANGE[1])
    fit = (f >= FIT_RANGE[0]) & (f <= FIT_RANGE[1]) & ~in_alpha
    slope, intercept = np.polyfit(np.log10(f[fit]), np.log10(p[fit]), 1)
    i = np.argmax(p[in_alpha])
    peak_f = f[in_alpha][i]
    ratio = p[in_alpha][i] / 10 ** (intercept + slope * np.log10(peak_f))
    return {"slope": float(slope), "alpha_ratio": float(ratio), "alpha_peak_hz": float(peak_f)}


def segment_spectral_features(x: np.ndarray, sfreq: float, segment_s: float = 30.0
                              ) -> dict[str, np.ndarray]:
    """:func:`spectral_features` of consecutive non-overlapping segments of one channel."""
    n = int(segment_s * sfreq)
    feats = [spectral_features(x[i:i + n], sfreq) for i in range(0, len(x) - n + 1, n)]
    return {k: np.array([f[k] for f in feats]) for k in ("slope", "alpha_ratio", "alpha_peak_hz")}


def alpha_bold_coupling(eeg: np.ndarray, sfreq: float, volume_sample: np.ndarray,
                        bold: np.ndarray, tr: float) -> float:
    """Pearson r of HRF-convolved posterior alpha power with a BOLD series.

    Parameters
    ----------
    eeg : ndarray, shape (n_channels, n_samples)
        The posterior channels (µV).
    sfreq : float
    volume_sample : ndarray of int
        Sample of each volume's trigger.
    bold : ndarray, shape (n_volumes,)
        E.g. the mean visual-network target.
    tr : float
    """
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [8.0, 12.0], btype="bandpass", fs=sfreq, output="sos")
    power = (sosfiltfilt(sos, np.asarray(eeg, dtype=float), axis=-1) ** 2).mean(axis=0)
    step = int(round(tr * sfreq))
    per_tr = np.array([power[max(v - step, 0):v].mean() if v > 0 else np.nan
                       for v in volume_sample])
    per_tr[~np.isfinite(per_tr)] = np.nanmean(per_tr)
    predicted = convolve_hrf(per_tr - per_tr.mean(), hrf_kernels(tr, np.zeros(1)))[:, 0]
    keep = slice(int(np.ceil(HRF_LENGTH_S / tr)), None)
    return float(np.corrcoef(predicted[keep], np.asarray(bold, dtype=float)[keep])[0, 1])
