"""``scripts/probe_representation.py``: the diagnostic behind the README's account of why the
shipped UnEBOLT's FC similarity trails ridge's (simulated data)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SPAN = r"(-?\d\.\d\d) to (-?\d\.\d\d)"


@pytest.fixture(scope="module")
def probe_script(import_script):
    return import_script("probe_representation")


def test_band_power_splits_into_channel_mean_and_deviation(probe_script):
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 6 * 5))  # 6 channels x 5 bands, channel-major
    mean, deviation = probe_script.split_band_power(features, 5)
    per_channel = features.reshape(40, 6, 5)
    np.testing.assert_allclose(mean, per_channel.mean(axis=1))
    np.testing.assert_allclose(deviation.reshape(40, 6, 5).sum(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(deviation.reshape(40, 6, 5) + mean[:, None], per_channel)
    with pytest.raises(ValueError, match="whole number of channels"):
        probe_script.split_band_power(features[:, :7], 5)


def test_centring_is_per_scan(probe_script):
    values = np.concatenate([np.full((3, 2), 5.0), np.arange(8.0).reshape(4, 2)])
    out = probe_script.centre_per_scan(values, [3, 4])
    np.testing.assert_allclose(out[:3], 0)
    np.testing.assert_allclose(out[3:].mean(axis=0), 0)
    np.testing.assert_allclose(out[3:] - out[3], values[3:] - values[3])
    with pytest.raises(ValueError, match="sum to 6"):
        probe_script.centre_per_scan(values, [3, 3])


def test_readout_tells_a_representation_with_channel_detail_from_one_without(probe_script):
    rng = np.random.default_rng(1)
    n_chans, n_bands, n = 8, 3, 600
    features = rng.normal(size=(n, n_chans * n_bands))
    mean, deviation = probe_script.split_band_power(features, n_bands)
    mixing = rng.normal(size=(features.shape[1], features.shape[1]))
    pooled = mean @ rng.normal(size=(n_bands, 10))  # keeps only the overall band power
    full = features @ mixing  # an invertible mix of every channel's power
    fit, held_out = slice(0, 400), slice(400, None)
    score = {}
    for label, rep in (("pooled", pooled), ("full", full)):
        for part_label, part in (("mean", mean), ("deviation", deviation)):
            readout = probe_script.ridge_readout(rep[fit], part[fit], 1e-6)
            score[label, part_label] = probe_script.mean_r2(readout(rep[held_out]),
                                                            part[held_out])
    assert score["pooled", "mean"] > 0.99 and score["full", "mean"] > 0.99
    assert score["full", "deviation"] > 0.99
    assert score["pooled", "deviation"] < 0.05


def test_scan_scores_are_one_for_a_perfect_prediction_and_fall_with_shuffled_rois(probe_script):
    rng = np.random.default_rng(2)
    networks = rng.normal(size=(200, 3))
    true = np.repeat(networks, 4, axis=1) + 0.5 * rng.normal(size=(200, 12))
    perfect = probe_script.scan_scores(true, true, [100, 100])
    assert perfect == pytest.approx({"Tcorr": 1.0, "Pixcorr": 1.0})
    shuffled = probe_script.scan_scores(true[:, rng.permutation(12)], true, [100, 100])
    assert shuffled["Tcorr"] < 0.7 and shuffled["Pixcorr"] < 0.7


def _quoted_spans() -> list[float]:
    text = " ".join(README.read_text().split())
    match = re.search(
        rf"recovers on the test scans R² {SPAN} of the channel-mean log band powers but {SPAN} "
        rf"of each channel's deviation from them, and R² {SPAN} of the BOLD that ridge predicts "
        rf"from the channel means against {SPAN} of the BOLD it predicts from the deviations\. "
        rf"Yet the deviations are what carry the network structure: ridge on the channel means "
        rf"alone reaches validation Pixcorr {SPAN}, against {SPAN} with every channel", text)
    assert match, "the README no longer states what the probe of the representation found"
    return [float(v) for v in match.groups()]


def _span(values) -> list[float]:
    values = list(values)
    return [min(values), max(values)]


def test_the_shipped_p64_model_keeps_overall_band_power_not_where_it_is(probe_script):
    """The README's account, recomputed on the cohort's own scans (no extra subjects: the
    command the README gives)."""
    import tempfile

    import unebolt_viz as uv
    from unebolt_viz.model_selection import subject_split
    from unebolt_viz.simulation import simulate_cohort

    with tempfile.TemporaryDirectory() as atlas_dir:
        atlas = uv.load_atlas("embedded", 64, data_dir=atlas_dir)
    cohort = simulate_cohort("teaching", seed=0, atlas=atlas)
    split = subject_split(cohort.design, seed=0)
    train, val, test = (cohort.pairs(list(split[k])) for k in ("train", "val", "test"))
    model = uv.load_pretrained("unebolt-embedded-p64").eval()
    ridge = uv.load_pretrained("ridge-embedded-p64")
    result = probe_script.probe(model, ridge, train, val, test)
    readout = result["readout_from_r_test_r2"].values()
    bold = result["readout_from_r_of_ridge_bold_test_r2"].values()
    ridge_val = result["ridge_on_band_power_val"].values()
    measured = [
        *_span(r2["channel_mean"] for r2 in readout),
        *_span(r2["channel_deviation"] for r2 in readout),
        *_span(r2["from_channel_mean"] for r2 in bold),
        *_span(r2["from_channel_deviation"] for r2 in bold),
        *_span(s["channel_mean_only"]["Pixcorr"] for s in ridge_val),
        *_span(s["all_channels"]["Pixcorr"] for s in ridge_val),
    ]
    # 2 decimals, with room for the last digit to round either way on another CPU
    assert _quoted_spans() == pytest.approx(measured, abs=0.006)
    # the claims themselves
    for r2 in readout:
        assert r2["channel_mean"] > 0.2 and r2["channel_deviation"] < 0.05
    for r2 in bold:
        assert r2["from_channel_deviation"] < r2["from_channel_mean"] / 2
    for scores in ridge_val:
        assert scores["all_channels"]["Pixcorr"] > scores["channel_mean_only"]["Pixcorr"]
