"""Ridge on HRF-weighted band powers: features vs scipy, fit vs scikit-learn, persistence,
and the streaming fit (scan by scan) against the concatenated one on a simulated cohort."""

from __future__ import annotations

import warnings
import weakref

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


# ----------------------------------------------------------------------------------------------
# streaming fit on a simulated cohort


@pytest.fixture(scope="module")
def cohort_pairs():
    from unebolt_viz.simulation import simulate_cohort

    cohort = simulate_cohort("tiny", seed=0, progress=False)
    return cohort.pairs(), tuple(cohort.ch_names)


def _scan_windows(pair, ch_names):
    from unebolt_viz.training import WindowDataset

    return WindowDataset([pair], ch_names=ch_names).scan_windows(0).numpy()


def _concatenated_fit(model, windows, targets):
    """The fit as it was before streaming: all windows reduced at once, then solved."""
    X = model.features(windows, chunk_size=len(windows))
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    Z = (X - mean) / scale
    y_mean = targets.mean(axis=0)
    gram = Z.T @ Z + model.alpha * np.eye(Z.shape[1])
    return {"coef_": np.linalg.solve(gram, Z.T @ (targets - y_mean)), "intercept_": y_mean,
            "feature_mean_": mean, "feature_scale_": scale}


@pytest.mark.parametrize("alpha", [1.0, 1e3])
def test_streaming_fit_equals_the_concatenated_fit_on_a_simulated_cohort(cohort_pairs, alpha):
    from unebolt_viz.training.experiments import ridge_chunks

    pairs, ch_names = cohort_pairs
    windows = np.concatenate([_scan_windows(p, ch_names) for p in pairs])
    targets = np.concatenate([p.bold.values for p in pairs])
    reference = _concatenated_fit(RidgeBaseline(alpha=alpha, ch_names=ch_names), windows, targets)
    streamed = RidgeBaseline(alpha=alpha, ch_names=ch_names).fit_chunks(
        ridge_chunks(iter(pairs), ch_names, chunk_size=25))  # chunks cut inside scans
    at_once = RidgeBaseline(alpha=alpha, ch_names=ch_names).fit(windows, targets)
    for key, expected in reference.items():
        np.testing.assert_allclose(getattr(streamed, key), expected, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(getattr(at_once, key), expected, rtol=1e-10, atol=1e-13)
    # standardising each scan on its own statistics would be a different model
    per_scan_means = [streamed.features(_scan_windows(p, ch_names)).mean(0) for p in pairs]
    assert np.abs(per_scan_means[0] - streamed.feature_mean_).max() > 1e-6


def test_streaming_fit_holds_one_scan_of_windows_at_a_time(cohort_pairs):
    pairs, ch_names = cohort_pairs
    live, peak = [0], [0]

    def materialise(pair):
        windows = _scan_windows(pair, ch_names)
        live[0] += 1
        peak[0] = max(peak[0], live[0])
        weakref.finalize(windows, lambda: live.__setitem__(0, live[0] - 1))
        return windows

    def scans():
        for pair in pairs:  # no local name keeps a yielded scan alive
            yield materialise(pair), pair.bold.values

    model = RidgeBaseline(alpha=10.0, ch_names=ch_names).fit_chunks(scans())
    assert peak[0] == 1 and live[0] == 0
    # the counter does see scans held together: the concatenating fit holds all of them
    live[0] = peak[0] = 0
    held = list(scans())
    concatenated = RidgeBaseline(alpha=10.0, ch_names=ch_names).fit(
        np.concatenate([w for w, _ in held]), np.concatenate([y for _, y in held]))
    assert peak[0] == len(pairs) > 1
    np.testing.assert_allclose(model.coef_, concatenated.coef_, rtol=1e-10, atol=1e-13)


def test_fit_ridge_streams_and_scores_alphas_as_predict_does(cohort_pairs):
    from unebolt_viz.metrics import temporal_r
    from unebolt_viz.training import predict
    from unebolt_viz.training.experiments import RIDGE_ALPHAS, fit_ridge

    pairs, ch_names = cohort_pairs
    train, val = pairs[:3], pairs[3:]
    entry = {"label": "ridge", "alphas": RIDGE_ALPHAS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a grid-edge warning is allowed on this tiny cohort
        model, info = fit_ridge(entry, ch_names, 3200, train, val)
    assert RIDGE_ALPHAS[-1] >= 1e5 and set(info["val_r_by_alpha"]) == set(RIDGE_ALPHAS)
    assert info["alpha"] == max(info["val_r_by_alpha"], key=info["val_r_by_alpha"].get)
    assert info["alpha_at_grid_edge"] == (info["alpha"] in (min(RIDGE_ALPHAS), max(RIDGE_ALPHAS)))
    for alpha, score in info["val_r_by_alpha"].items():
        refit = RidgeBaseline(alpha=alpha, ch_names=ch_names, roi_names=model.roi_names).fit(
            np.concatenate([_scan_windows(p, ch_names) for p in train]),
            np.concatenate([p.bold.values for p in train]))
        assert score == pytest.approx(float(temporal_r(predict(refit, val)).mean()), abs=1e-10)
    assert model.roi_names == tuple(map(str, train[0].bold.roi.values))


def test_features_in_chunks_equal_features_at_once():
    model, x = RidgeBaseline(ch_names=CHANNELS), windows(11, seed=6)
    np.testing.assert_allclose(model.features(x, chunk_size=3), model.features(x, chunk_size=11),
                               rtol=1e-13, atol=0)
    np.testing.assert_allclose(model.features(x.astype(np.float32)),
                               model.features(x.astype(np.float32).astype(float)), rtol=1e-13)


def test_streaming_errors_are_explained():
    model = RidgeBaseline(ch_names=CHANNELS)
    with pytest.raises(ValueError, match="chunks iterable was empty"):
        model.fit_chunks(iter([]))
    with pytest.raises(ValueError, match="same n_outputs"):
        model.fit_chunks([(windows(3), np.zeros((3, 2))), (windows(3), np.zeros((3, 4)))])
    with pytest.raises(ValueError, match="features must be"):
        model.fit_features(np.zeros((5, 3)), np.zeros((5, 1)))
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict_features(np.zeros((2, 20)))
