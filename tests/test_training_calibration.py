"""Per-ROI least-squares recalibration of UnEBOLT's heads (training/calibration.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.data import eeg_windows, roi_timeseries
from unebolt_viz.io.pairing import ScanPair
from unebolt_viz.models import build_model
from unebolt_viz.training import calibrate_roi_heads, predict, record_training_rois

N_TIMES = 400
ROIS = {"roi": [f"r{i}" for i in range(5)],
        "network": ["Visual", "Somatomotor", "Default", "Control", "Visual"]}
SLOPES = np.array([3.0, 0.5, 12.0, 1.0, -2.0])  # the last ROI anti-correlates


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model():
    return build_model("unebolt", n_outputs=len(ROIS["roi"]), preset="tiny", seed=0,
                       n_times=N_TIMES, sp_levels=1).eval()


def _pairs(model, n_scans=2, n_windows=40, noise=0.2):
    """Scans whose BOLD is a known affine map of the model's own output plus noise."""
    rng = np.random.default_rng(1)
    pairs = []
    for k in range(n_scans):
        windows = rng.normal(0.0, 20.0, size=(n_windows, len(PAPER_CHANNELS), N_TIMES))
        with torch.no_grad():
            f = model(torch.as_tensor(windows, dtype=torch.float32)).numpy().astype(float)
        f = (f - f.mean(0)) / f.std(0)
        bold = f * SLOPES + 0.7 + noise * rng.standard_normal(f.shape)
        kw = dict(scan=f"sub0{k + 1}-scan01", subject=f"sub0{k + 1}", data_source="simulated")
        pairs.append(ScanPair(eeg_windows(windows.astype(np.float32), list(PAPER_CHANNELS), 200.0,
                                          units="uV", **kw),
                              roi_timeseries(bold, ROIS, 2.1, **kw)))
    return pairs


def _corr(a, b):
    a, b = a - a.mean(0), b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def test_calibration_finds_the_least_squares_amplitude_and_keeps_correlations():
    model = _model()
    pairs = _pairs(model)
    record_training_rois(model, pairs)
    before = predict(model, pairs, precision="fp32")
    report = calibrate_roi_heads(model, pairs)
    after = predict(model, pairs, precision="fp32")
    y, f0, f1 = before["true"].values, before["pred"].values, after["pred"].values
    # correlations with the truth are unchanged; amplitude now matches the OLS fit
    np.testing.assert_allclose(_corr(y, f1), _corr(y, f0), atol=1e-5)
    positive = SLOPES > 0
    fc, yc = f1 - f1.mean(0), y - y.mean(0)
    slope = (fc * yc).sum(0) / (fc * fc).sum(0)
    np.testing.assert_allclose(slope[positive], 1.0, atol=1e-4)
    np.testing.assert_allclose((y - f1).mean(0)[positive], 0.0, atol=1e-4)
    # training MSE can only fall for a calibrated ROI
    mse0, mse1 = ((y - f0) ** 2).mean(0), ((y - f1) ** 2).mean(0)
    assert np.all(mse1[positive] < mse0[positive])
    # the anti-correlated ROI keeps its head (a negative scale would flip its sign)
    np.testing.assert_allclose(f1[:, ~positive], f0[:, ~positive], atol=1e-6)
    assert report["n_kept"] == 1 and report["scale"][-1] == 1.0
    assert report["n_windows"] == sum(p.n_windows for p in pairs)
    # predicted std / true std: tiny before (heads start near zero), about |r| after
    ratio = f1.std(0) / y.std(0)
    np.testing.assert_allclose(ratio[positive], np.abs(_corr(y, f1))[positive], rtol=1e-3)
    assert np.all(f0.std(0)[positive] / y.std(0)[positive] < 0.1)


def test_calibration_refuses_a_model_without_roi_specific_heads():
    model = build_model("unebolt", n_outputs=len(ROIS["roi"]), preset="tiny", seed=0,
                        n_times=N_TIMES, sp_levels=1, use_roi_specific_head=False)
    with pytest.raises(TypeError, match="ROI-specific linear heads"):
        calibrate_roi_heads(model, [])
