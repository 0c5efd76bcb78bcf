"""The haemodynamic response: SPM's canonical double-gamma HRF with a delay shift.

The canonical HRF (Friston et al. 1998, Magn Reson Med 39:41; Glover 1999, NeuroImage 9:416) is
the difference of two gamma densities, a response peaking near 5 s (shape 6, scale 1 s) and an
undershoot near 15 s (shape 16) at one sixth of its size. Its timing varies by one to two seconds
between subjects and regions (Aguirre et al. 1998, NeuroImage 8:360; Handwerker et al. 2004,
NeuroImage 21:1639); the simulator shifts it per subject and per ROI.
"""

from __future__ import annotations

import numpy as np

__all__ = ["double_gamma_hrf", "hrf_kernels", "convolve_hrf"]

HRF_LENGTH_S = 32.0


def double_gamma_hrf(t: np.ndarray, delay: float = 0.0, peak_shape: float = 6.0,
                     undershoot_shape: float = 16.0, ratio: float = 1.0 / 6.0) -> np.ndarray:
    """The canonical double-gamma HRF at times ``t`` (s), shifted later by ``delay`` seconds.

    Not normalised (the integral is ``1 - ratio``); values before the (shifted) onset are 0.
    """
    shifted = np.asarray(t, dtype=float) - delay
    return _gamma_pdf(shifted, peak_shape) - ratio * _gamma_pdf(shifted, undershoot_shape)


def _gamma_pdf(t: np.ndarray, shape: float) -> np.ndarray:
    """Gamma density with unit scale (scipy.stats is slow to import)."""
    from math import lgamma

    positive = np.clip(t, 1e-12, None)
    pdf = np.exp((shape - 1.0) * np.log(positive) - positive - lgamma(shape))
    return np.where(t > 0, pdf, 0.0)


def hrf_kernels(tr: float, delays: np.ndarray, length: float = HRF_LENGTH_S,
                oversampling: int = 16, peak_shape: float = 6.0, undershoot_shape: float = 16.0,
                ratio: float = 1.0 / 6.0) -> np.ndarray:
    """HRFs sampled at TR resolution, one column per delay, each summing to 1.

    Each tap is the mean of the HRF over its TR bin (the latent activity is a TR-bin average),
    so sub-TR delays shift the kernel smoothly. ``peak_shape``, ``undershoot_shape`` and
    ``ratio`` shape the HRF as in :func:`double_gamma_hrf` (default: the canonical HRF).

    Returns
    -------
    ndarray, shape (n_taps, n_delays)
    """
    delays = np.atleast_1d(np.asarray(delays, dtype=float))
    n_taps = int(np.ceil((length + max(0.0, delays.max())) / tr))
    fine = (np.arange(n_taps * oversampling) + 0.5) * tr / oversampling
    h = double_gamma_hrf(fine[:, None], delays[None, :], peak_shape, undershoot_shape, ratio)
    taps = h.reshape(n_taps, oversampling, -1).mean(axis=1)
    return taps / taps.sum(axis=0)


def convolve_hrf(neural: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Causal convolution of each column of ``neural`` (n_times, n) with its kernel column.

    ``kernels`` may have one column (shared) or one per column of ``neural``. The output has
    ``n_times`` rows; the first rows lack the history before the series started.
    """
    from scipy.signal import fftconvolve

    x = np.asarray(neural, dtype=float)
    k = np.asarray(kernels, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if k.ndim == 1:
        k = k[:, None]
    return fftconvolve(x, k, axes=0)[: x.shape[0]]
