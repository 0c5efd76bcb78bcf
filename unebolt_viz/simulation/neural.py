"""Latent neural activity: slow fluctuations per ROI organised by Yeo-7 network.

Each ROI's activity ``z_r(t)`` (unit variance) is a sum of three Gaussian processes::

    z_r = sqrt(g_r) * G + sqrt(w_r) * F_network(r) + sqrt(1 - g_r - w_r) * U_r

``G`` is a whole-brain factor, ``F`` one factor per network, correlated between networks
(Default anticorrelated with Dorsal Attention once the whole-brain factor is set aside, as after
global signal regression: Fox et al. 2005, PNAS 102:9673; Fox et al. 2009, J Neurophysiol
101:3270), and ``U_r`` ROI-specific. ROIs of one network therefore correlate more than ROIs of
different networks, the block structure of resting-state FC (Yeo et al. 2011, J Neurophysiol
106:1125). Subcortical ROIs load weakly on their factor (loosely coupled), and ROIs outside
all networks (DiFuMo's white-matter and CSF components) carry little neural signal.

Infra-slow brain activity has a power-law spectrum ``1/f^beta`` (He et al. 2010, Neuron
66:353), so every process is drawn directly at TR resolution with such a spectrum (FFT-shaped
Gaussian noise): cheap, and the EEG side interpolates it to its own rate. The default exponent
(0.2, nearly flat below the TR's Nyquist frequency) was chosen so that, after the HRF, the
BOLD's lag-1 autocorrelation matches the real NeuroBOLT tables (the HRF already makes BOLD's
own spectrum steep).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..networks import NETWORK_NAMES

__all__ = ["power_law_noise", "network_factor_correlation", "roi_loadings", "latent_activity"]

# Correlations between the network factors (the whole-brain factor excluded), chosen to
# follow the global-signal-regressed network relations reported by Fox et al. (2005) and
# Yeo et al. (2011): task-positive networks together, Default apart.
_FACTOR_CORRELATION: dict[tuple[str, str], float] = {
    ("Visual", "Somatomotor"): 0.2,
    ("Visual", "Dorsal Attention"): 0.3,
    ("Dorsal Attention", "Control"): 0.35,
    ("Dorsal Attention", "Salience/Ventral Attention"): 0.15,
    ("Salience/Ventral Attention", "Somatomotor"): 0.25,
    ("Salience/Ventral Attention", "Control"): 0.2,
    ("Default", "Control"): 0.15,
    ("Default", "Limbic"): 0.3,
    ("Default", "Salience/Ventral Attention"): -0.25,
    ("Default", "Somatomotor"): -0.2,
    ("Default", "Visual"): -0.15,
    ("Control", "Somatomotor"): -0.2,
    ("Control", "Visual"): -0.2,
    ("Subcortical", "Limbic"): 0.1,
}


def power_law_noise(rng: np.random.Generator, n_times: int, n_series: int, dt: float,
                    exponent: float, f_knee: float = 0.005, dtype: type = np.float64) -> np.ndarray:
    """Gaussian noise with power ``1 / (f^2 + f_knee^2)^(exponent / 2)``, unit variance.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_times, n_series : int
        Output shape ``(n_times, n_series)``.
    dt : float
        Sampling interval (s).
    exponent : float
        Power-law exponent (1 = pink, 2 = brown).
    f_knee : float
        Below this frequency (Hz) the spectrum flattens, so the variance stays finite.
    """
    freqs = np.fft.rfftfreq(n_times, dt)
    amplitude = (freqs**2 + f_knee**2) ** (-exponent / 4.0)
    amplitude[0] = 0.0
    spectrum = rng.standard_normal((freqs.size, n_series)) + 1j * rng.standard_normal(
        (freqs.size, n_series))
    x = np.fft.irfft(spectrum * amplitude[:, None], n=n_times, axis=0)
    x -= x.mean(axis=0)
    x /= x.std(axis=0) + 1e-12
    return x.astype(dtype, copy=False)


def network_factor_correlation(networks: Sequence[str], dmn_dan_correlation: float = -0.4
                               ) -> np.ndarray:
    """Correlation matrix of the network factors, nearest valid correlation matrix.

    Parameters
    ----------
    networks : sequence of str
        Canonical network names, one factor each.
    dmn_dan_correlation : float
        Correlation of the Default and Dorsal Attention factors.
    """
    table = dict(_FACTOR_CORRELATION)
    table[("Default", "Dorsal Attention")] = float(dmn_dan_correlation)
    n = len(networks)
    corr = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            value = table.get((networks[i], networks[j]), table.get((networks[j], networks[i]), 0.0))
            corr[i, j] = corr[j, i] = value
    # Clip eigenvalues so that any combination of settings stays a valid correlation matrix.
    vals, vecs = np.linalg.eigh(corr)
    corr = (vecs * np.clip(vals, 0.05, None)) @ vecs.T
    d = np.sqrt(np.diag(corr))
    return corr / np.outer(d, d)


def roi_loadings(networks: Sequence[str], global_weight: float, network_weight: float,
                 subcortical_network_weight: float, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Variance shares of the whole-brain and network factors for each ROI.

    Cortical ROIs get the given shares times a random factor in [0.7, 1.3] (ROIs differ in how
    typical of their network they are); subcortical ROIs get ``subcortical_network_weight``
    and half the global share; ROIs outside every network half of both.
    """
    nets = np.asarray(networks)
    n = nets.size
    g = global_weight * rng.uniform(0.7, 1.3, n)
    w = network_weight * rng.uniform(0.7, 1.3, n)
    sub = nets == "Subcortical"
    g[sub] *= 0.5
    w[sub] = subcortical_network_weight * rng.uniform(0.7, 1.3, sub.sum())
    other = nets == "No network"
    g[other] *= 0.5
    w[other] *= 0.5
    total = g + w
    over = total > 0.95
    g[over] *= 0.95 / total[over]
    w[over] *= 0.95 / total[over]
    return g, w


def latent_activity(networks: Sequence[str], n_times: int, tr: float, rng: np.random.Generator,
                    loadings: tuple[np.ndarray, np.ndarray], dmn_dan_correlation: float = -0.4,
                    exponent: float = 1.0) -> np.ndarray:
    """Latent activity of every ROI at TR resolution, shape ``(n_times, n_rois)``, unit variance.

    Parameters
    ----------
    networks : sequence of str
        Network of each ROI.
    n_times : int
        Number of time points (spaced by ``tr``).
    tr : float
    rng : numpy.random.Generator
    loadings : (global, network) arrays
        From :func:`roi_loadings`.
    dmn_dan_correlation : float
    exponent : float
        Spectral exponent of every process.
    """
    nets = np.asarray(networks)
    present = [n for n in NETWORK_NAMES if n in set(nets)]
    corr = network_factor_correlation(present, dmn_dan_correlation)
    raw = power_law_noise(rng, n_times, 1 + len(present) + nets.size, tr, exponent)
    global_factor = raw[:, 0]
    factors = raw[:, 1:1 + len(present)] @ np.linalg.cholesky(corr).T
    unique = raw[:, 1 + len(present):]
    g, w = loadings
    index = np.array([present.index(n) for n in nets])
    z = (np.sqrt(g) * global_factor[:, None] + np.sqrt(w) * factors[:, index]
         + np.sqrt(1.0 - g - w) * unique)
    return z / z.std(axis=0)
