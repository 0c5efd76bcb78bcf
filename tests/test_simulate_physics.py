"""The simulator's physics against independent computations: HRF, head model, spectra, coupling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import eval_legendre
from scipy.stats import gamma

from unebolt_viz.simulation import simulate_cohort
from unebolt_viz.simulation.eeg_forward import _mix_chunk, band_filters, sphere_potential
from unebolt_viz.simulation.hrf import convolve_hrf, double_gamma_hrf, hrf_kernels
from unebolt_viz.simulation.neural import network_factor_correlation, power_law_noise
from unebolt_viz.simulation.realism import (
    alpha_bold_coupling,
    lag1_autocorrelation,
    spectral_features,
    within_between_fc,
)


def test_hrf_is_spms_double_gamma_and_peaks_near_five_seconds():
    t = np.linspace(0, 32, 3201)
    expected = gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6
    np.testing.assert_allclose(double_gamma_hrf(t), expected, atol=1e-12)
    assert 4.5 < t[np.argmax(expected)] < 5.5
    shifted = double_gamma_hrf(t, delay=1.0)
    assert t[np.argmax(shifted)] == pytest.approx(t[np.argmax(expected)] + 1.0, abs=0.02)
    kernels = hrf_kernels(2.1, np.array([0.0, 1.0]))
    np.testing.assert_allclose(kernels.sum(axis=0), 1.0)
    impulse = np.zeros(40)
    impulse[3] = 1.0
    np.testing.assert_allclose(convolve_hrf(impulse, kernels[:, 0])[3:3 + kernels.shape[0], 0],
                               kernels[:, 0], atol=1e-12)


def test_sphere_potential_matches_the_legendre_series():
    # radial dipole at depth b in a unit homogeneous sphere:
    # V(theta) = q / (4 pi sigma R^2) sum_n (2n + 1) (b/R)^(n-1) P_n(cos theta)
    b, sigma = 0.6, 0.33
    thetas = np.array([0.05, 0.6, 1.4, 2.2, 3.0])
    electrodes = np.column_stack([np.sin(thetas), np.zeros_like(thetas), np.cos(thetas)])
    v = sphere_potential(electrodes, np.array([[0, 0, b]]), np.array([[0, 0, 1.0]]), sigma)[:, 0]
    n = np.arange(1, 300)
    series = np.array([((2 * n + 1) * b ** (n - 1) * eval_legendre(n, np.cos(th))).sum()
                       for th in thetas]) / (4 * np.pi * sigma)
    np.testing.assert_allclose(v, series, rtol=1e-8)


def test_deeper_sources_give_weaker_scalp_potentials():
    electrodes = np.array([[0.0, 0.0, 1.0]])
    depths = np.array([0.3, 0.5, 0.7, 0.85])
    v = sphere_potential(electrodes, np.column_stack([0 * depths, 0 * depths, depths]),
                         np.tile([0.0, 0.0, 1.0], (4, 1)))[0]
    assert np.all(np.diff(v) > 0)


def test_time_varying_mixing_interpolates_the_factors_between_nodes():
    rng = np.random.default_rng(0)
    n_ch = 4
    for lengths in (np.array([3, 7, 7, 5]), np.array([6, 6, 6])):  # looped, batched
        n = int(lengths.sum())
        q = rng.standard_normal((lengths.size + 1, n_ch, n_ch)).astype(np.float32)
        carrier = rng.standard_normal((n_ch, n)).astype(np.float32)
        lam = rng.uniform(0, 1, n).astype(np.float32)
        block = np.zeros((n_ch, n), np.float32)
        _mix_chunk(block, carrier, q[:-1], q[1:], lengths, lam)
        node = np.repeat(np.arange(lengths.size), lengths)
        for j in range(n):
            k = node[j]
            mix = q[k] + lam[j] * (q[k + 1] - q[k])
            np.testing.assert_allclose(block[:, j], mix @ carrier[:, j], atol=1e-5)


def test_carrier_filters_have_unit_variance_gain():
    from scipy.signal import sosfilt

    white = np.random.default_rng(1).standard_normal(200 * 600)
    for sos, gain in band_filters(200.0, 10.0):
        y = sosfilt(sos.astype(float), white) * gain
        assert y[2000:].std() == pytest.approx(1.0, rel=0.05)


def test_power_law_noise_has_the_requested_slope():
    x = power_law_noise(np.random.default_rng(2), 4096, 64, 1.0, exponent=1.5, f_knee=1e-4)
    spec = (np.abs(np.fft.rfft(x, axis=0)) ** 2).mean(axis=1)
    f = np.fft.rfftfreq(4096, 1.0)
    sel = (f > 0.01) & (f < 0.4)
    slope = np.polyfit(np.log10(f[sel]), np.log10(spec[sel]), 1)[0]
    assert slope == pytest.approx(-1.5, abs=0.1)
    np.testing.assert_allclose(x.std(axis=0), 1.0)


def test_network_factors_put_default_against_dorsal_attention():
    nets = ["Visual", "Dorsal Attention", "Default", "Control"]
    corr = network_factor_correlation(nets, -0.4)
    assert np.all(np.linalg.eigvalsh(corr) > 0)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    assert corr[1, 2] < -0.2


def test_realism_statistics_against_direct_computations():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 4)).cumsum(axis=0)
    direct = np.mean([np.corrcoef(x[1:, i] - x[:, i].mean(), x[:-1, i] - x[:, i].mean())[0, 1]
                      for i in range(4)])
    assert lag1_autocorrelation(x) == pytest.approx(direct, abs=0.02)
    nets = ["Visual", "Visual", "Default", "No network"]
    r = np.corrcoef(x.T)
    within, between = within_between_fc(x, nets)
    assert within == pytest.approx(r[0, 1])
    assert between == pytest.approx((r[0, 2] + r[1, 2]) / 2)
    # a 1/f^2 signal with a 10 Hz sine: slope near -2, a large alpha ratio at 10 Hz
    fs, n = 200.0, 200 * 120
    f = np.fft.rfftfreq(n, 1 / fs)
    amp = np.where(f > 0, 1 / np.maximum(f, 1e-9), 0)
    noise = np.fft.irfft(amp * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)), n)
    noise /= noise.std()
    feats = spectral_features(noise + 0.5 * np.sin(2 * np.pi * 10 * np.arange(n) / fs), fs)
    assert feats["slope"] == pytest.approx(-2.0, abs=0.15)
    assert feats["alpha_peak_hz"] == pytest.approx(10.0, abs=0.3)
    assert feats["alpha_ratio"] > 10
    assert spectral_features(noise, fs)["alpha_ratio"] < 5


@pytest.fixture(scope="module")
def long_scans():
    return {s: simulate_cohort("tiny", seed=11, progress=False, n_volumes=320, coupling={"strength": s})
            for s in (1.0, 0.0)}


def _visual_alpha_r(cohort, scan):
    ds = cohort.scan_data(scan)
    chans = list(ds["channel"].values)
    pick = [chans.index(c) for c in ("O1", "O2", "PZ")]
    visual = ds["targets"].values[:, ds["network"].values == "Visual"].mean(axis=1)
    return alpha_bold_coupling(ds["eeg"].values[pick], ds.attrs["sfreq"], ds["volume_sample"].values,
                               visual, ds.attrs["tr"])


def test_posterior_alpha_power_anticorrelates_with_visual_bold(long_scans):
    coupled = [_visual_alpha_r(long_scans[1.0], s) for s in long_scans[1.0].scans[:2]]
    uncoupled = _visual_alpha_r(long_scans[0.0], long_scans[0.0].scans[0])
    assert np.mean(coupled) < -0.15, coupled
    assert abs(uncoupled) < 0.15, uncoupled
    # the BOLD does not depend on the coupling: only the EEG does
    a = long_scans[1.0].scan_data(long_scans[1.0].scans[0])
    b = long_scans[0.0].scan_data(long_scans[0.0].scans[0])
    np.testing.assert_array_equal(a["targets"].values, b["targets"].values)


def test_posterior_eeg_spectrum_has_a_subject_alpha_peak_over_a_1_over_f_background(long_scans):
    cohort = long_scans[1.0]
    ds = cohort.scan_data(cohort.scans[0])
    chans = list(ds["channel"].values)
    o1 = ds["eeg"].values[chans.index("O1")]
    feats = spectral_features(o1, ds.attrs["sfreq"])
    assert -2.2 < feats["slope"] < -1.2
    assert feats["alpha_ratio"] > 5
    assert abs(feats["alpha_peak_hz"] - ds.attrs["alpha_peak_hz"]) < 1.0
    assert 8.0 <= ds.attrs["alpha_peak_hz"] <= 12.0
    # alpha is posterior: larger at O1 than at FZ
    fz = spectral_features(ds["eeg"].values[chans.index("FZ")], ds.attrs["sfreq"])
    assert feats["alpha_ratio"] > 2 * fz["alpha_ratio"]


def test_simulated_fc_has_network_blocks(long_scans):
    cohort = long_scans[1.0]
    ds = cohort.scan_data(cohort.scans[0])
    within, between = within_between_fc(ds["bold_clean"].values, ds["network"].values)
    assert within - between > 0.1
    latent = ds["latent"].values
    nets = ds["network"].values
    dmn = latent[:, nets == "Default"].mean(axis=1)
    dan = latent[:, nets == "Dorsal Attention"].mean(axis=1)
    glob = latent.mean(axis=1)
    # once the whole-brain part is regressed out, Default and Dorsal Attention anticorrelate
    resid = [v - glob * (v @ glob) / (glob @ glob) for v in (dmn, dan)]
    assert np.corrcoef(*resid)[0, 1] < -0.2
