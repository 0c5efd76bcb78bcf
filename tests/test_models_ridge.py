"""Ridge on HRF-weighted band powers: features vs scipy, fit vs scikit-learn, persistence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal
from sklearn.linear_model import Ridge

from unebolt_viz.models import RidgeBaseline, load_model, save_model
from unebolt_viz.models.ridge import DEFAULT_BANDS, canonical_hrf

CHANNELS = ("O1", "O2", "CZ", "FZ")


def windows(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, len(CHANNELS), 3200)) * 10


def test_hrf_peaks_near_five_seconds_and_undershoots():
    t = np.linspace(0, 30, 3001)
    h = canonical_hrf(t)
    assert 4.5 < t[np.argmax(h)] < 5.5
    assert h.max() == pytest.approx(1.0, abs=1e-3)
    assert h[(t > 12) & (t < 20)].min() < 0
    assert canonical_hrf(np.array([0.0, -3.0])).tolist() == [0.0, 0.0]


def test_features_equal_scipy_periodogram_band_powers_weighted_by_the_hrf():
    model = RidgeBaseline(ch_names=CHANNELS)
    x = windows(3)
    feats = model.features(x)
    assert feats.shape == (3, len(CHANNELS) * len(DEFAULT_BANDS))
    centres = -16 + 1 + 2 * np.arange(8)  # 2-s segments, seconds relative to the TR
    weights = canonical_hrf(-centres)
    weights = weights / weights.sum()
    n, c = 1, 2
    freqs, psd = signal.periodogram(
        x[n, c].reshape(8, 400), fs=200.0, window="hann", detrend="constant", axis=-1
    )
    for b, (low, high) in enumerate(DEFAULT_BANDS.values()):
        band = (freqs >= low) & (freqs < high)
        log_power = np.log10(psd[:, band].sum(axis=-1) * (freqs[1] - freqs[0]) + 1e-12)
        expected = np.sum(weights * log_power)
        assert feats[n, c * len(DEFAULT_BANDS) + b] == pytest.approx(expected, rel=1e-9)


def test_fit_equals_sklearn_ridge_on_standardised_features():
    x, rng = windows(60, seed=1), np.random.default_rng(2)
    y = rng.standard_normal((60, 3))
    model = RidgeBaseline(alpha=5.0, ch_names=CHANNELS).fit(x, y)
    feats = model.features(x)
    z = (feats - feats.mean(0)) / feats.std(0)
    reference = Ridge(alpha=5.0).fit(z, y)
    np.testing.assert_allclose(model.coef_, reference.coef_.T, rtol=1e-8, atol=1e-10)
    x_new = windows(7, seed=3)
    z_new = (model.features(x_new) - feats.mean(0)) / feats.std(0)
    np.testing.assert_allclose(model.predict(x_new), reference.predict(z_new), rtol=1e-8)


def test_recovers_a_target_driven_by_lagged_alpha_power():
    rng = np.random.default_rng(4)
    n = 200
    t = np.arange(3200) / 200
    gain = rng.uniform(0.5, 3.0, size=n)  # occipital alpha amplitude per window
    x = rng.standard_normal((n, len(CHANNELS), 3200)) * 2
    x[:, 0] += gain[:, None] * 10 * np.sin(2 * np.pi * 10 * t)
    target = np.log10(gain)[:, None] * np.array([[1.0, -2.0]])
    model = RidgeBaseline(alpha=1.0, ch_names=CHANNELS).fit(x[:150], target[:150])
    pred = model.predict(x[150:])
    for p in range(2):
        assert np.corrcoef(pred[:, p], target[150:, p])[0, 1] > 0.95


def test_save_load_round_trip_without_pickle(tmp_path):
    x, y = windows(30), np.random.default_rng(5).standard_normal((30, 4))
    model = RidgeBaseline(alpha=2.0, ch_names=CHANNELS, segment_s=1.0).fit(x, y)
    save_model(model, tmp_path / "ridge")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ridge.json", "ridge.safetensors"]
    loaded = load_model(tmp_path / "ridge")
    assert isinstance(loaded, RidgeBaseline)
    assert loaded.get_config() == model.get_config()
    assert (loaded.n_chans, loaded.n_outputs, loaded.ch_names) == (4, 4, CHANNELS)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert RidgeBaseline.load(tmp_path / "ridge").alpha == 2.0


def test_errors_are_explained():
    model = RidgeBaseline(ch_names=CHANNELS)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(windows(2))
    with pytest.raises(ValueError, match=r"\(n, 4, 3200\) in microvolts"):
        model.fit(np.zeros((2, 3, 3200)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="targets must be"):
        model.fit(windows(4), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="must divide the window"):
        RidgeBaseline(segment_s=3.0)
    with pytest.raises(ValueError, match="low < high"):
        RidgeBaseline(bands={"bad": (30, 8)})
