"""BOLD from latent activity: HRF convolution, physiological and thermal noise, drift, cleaning.

The neural BOLD is the latent activity convolved with each ROI's HRF, in percent signal change.
Three kinds of noise are added, as a scanner and a body add them:

- physiological fluctuations: slow changes of breathing depth and heart rate reach BOLD through
  the respiration and cardiac response functions (Birn et al. 2006, NeuroImage 31:1536; Chang
  et al. 2009, NeuroImage 44:857) and are spatially widespread, so most of this noise is shared
  by all ROIs (with ROI-specific weights, strongest in white matter and CSF components); it is
  why real ROI signals correlate more than their neural parts do;
- thermal noise: white, independent per ROI;
- drift: slow scanner drift, a low-order polynomial.

The "clean" BOLD is what the real tables hold (detrended and standardized, like the NeuroBOLT
preprocessing); the targets are the paper's processing of it
(:func:`unebolt_viz.preprocessing.bold_targets`). The noiseless BOLD goes through the same
steps, and the correlation of the two processed series is each ROI's noise ceiling: no model that
sees the neural activity perfectly could correlate better with the measured target.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..preprocessing import bold_targets
from .hrf import convolve_hrf, hrf_kernels
from .neural import power_law_noise

__all__ = ["BoldSignals", "simulate_bold", "detrend_standardize", "noise_ceiling"]

DETREND_ORDER = 3


@dataclass
class BoldSignals:
    """The BOLD of one scan in its stages, each ``(n_volumes, n_rois)``."""

    noiseless: np.ndarray
    raw: np.ndarray
    clean: np.ndarray
    clean_noiseless: np.ndarray
    targets: np.ndarray
    targets_noiseless: np.ndarray
    hrf_delay: np.ndarray


def respiration_response(t: np.ndarray) -> np.ndarray:
    """The respiration response function of Birn et al. (2008, NeuroImage 40:644) at ``t`` (s)."""
    t = np.asarray(t, dtype=float)
    return 0.6 * t**2.1 * np.exp(-t / 1.6) - 0.0023 * t**3.54 * np.exp(-t / 4.25)


def _standardize(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    return x / (x.std(axis=0) + 1e-12)


def detrend_standardize(x: np.ndarray, order: int = DETREND_ORDER) -> np.ndarray:
    """Remove a polynomial (Legendre, up to ``order``) from each column, then z-score it."""
    n = x.shape[0]
    basis = np.polynomial.legendre.legvander(np.linspace(-1, 1, n), order)
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    resid = x - basis @ coef
    return resid / (resid.std(axis=0) + 1e-12)


def noise_ceiling(targets_noiseless: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Pearson r per column between the noiseless and the measured processed BOLD."""
    a = targets_noiseless - targets_noiseless.mean(axis=0)
    b = targets - targets.mean(axis=0)
    return (a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))


def simulate_bold(latent: np.ndarray, n_pad: int, n_volumes: int, tr: float, networks: np.ndarray,
                  params, rng: np.random.Generator, hrf_delay: np.ndarray,
                  hrf_shape: Mapping[str, float] | None = None) -> BoldSignals:
    """BOLD of one scan from its latent activity.

    Parameters
    ----------
    latent : ndarray, shape (n_nodes, n_rois)
        Latent activity on the TR grid; node ``n_pad + k`` is volume ``k``.
    n_pad : int
        Nodes before the first volume (HRF history).
    n_volumes : int
    tr : float
    networks : ndarray of str
        Network of each ROI.
    params : SimulationParams
    rng : numpy.random.Generator
    hrf_delay : ndarray, shape (n_rois,)
        HRF shift of each ROI (s), subject and ROI jitter together.
    hrf_shape : mapping, optional
        ``peak_shape``, ``undershoot_shape`` and/or ``ratio`` of the HRF
        (:func:`~unebolt_viz.simulation.hrf.hrf_kernels`); default the canonical HRF.
    """
    n_rois = latent.shape[1]
    kernels = hrf_kernels(tr, hrf_delay, **(hrf_shape or {}))
    neural = params.bold_percent * convolve_hrf(latent, kernels)
    noiseless = neural[n_pad:n_pad + n_volumes]
    scale = float(np.median(noiseless.std(axis=0)))

    weights = rng.uniform(0.7, 1.3, n_rois)
    weights[networks == "No network"] *= 1.6
    rrf = respiration_response(np.arange(0.0, 40.0, tr))
    shared = _standardize(convolve_hrf(power_law_noise(rng, n_volumes, 1, tr, 0.5), rrf))[:, 0]
    local = _standardize(convolve_hrf(power_law_noise(rng, n_volumes, n_rois, tr, 0.5), rrf))
    physio = params.physio_noise * scale * weights * (0.9 * shared[:, None] + 0.45 * local)
    thermal = params.thermal_noise * scale * rng.standard_normal((n_volumes, n_rois))
    basis = np.polynomial.legendre.legvander(np.linspace(-1, 1, n_volumes), 2)[:, 1:]
    drift = params.drift_percent * basis @ rng.normal(0.0, 1.0, (2, n_rois))
    baseline = rng.uniform(800.0, 1200.0, n_rois)
    raw = baseline * (1.0 + (noiseless + physio + thermal + drift) / 100.0)

    clean = detrend_standardize(raw)
    clean_noiseless = detrend_standardize(noiseless)
    return BoldSignals(
        noiseless=noiseless,
        raw=raw,
        clean=clean,
        clean_noiseless=clean_noiseless,
        targets=bold_targets(clean, tr),
        targets_noiseless=bold_targets(clean_noiseless, tr),
        hrf_delay=hrf_delay,
    )
