"""SSIM and PSNR as E2fNet / Spec2VolCAMU-Net define them, against skimage, and the loss."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from unebolt_viz.metrics.volumetric import psnr, ssim

skmetrics = pytest.importorskip("skimage.metrics")


def _reference_ssim(true, pred):
    """skimage's SSIM of one volume (slices as channels), per volume."""
    return skmetrics.structural_similarity(
        true, pred, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=1.0, channel_axis=0)


def _pairs(rng):
    shape = (30, 64, 64)
    random = rng.random(shape)
    yield random, rng.random(shape)  # unrelated noise: SSIM near 0
    yield random, np.clip(random + 0.1 * rng.standard_normal(shape), 0, 1)
    smooth = gaussian_filter(rng.standard_normal(shape), (0, 4, 4))
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    yy, xx = np.mgrid[:64, :64]
    blob = np.exp(-((xx - 30) ** 2 + (yy - 34) ** 2) / 200.0)[None] * np.linspace(0.2, 1, 30)[:, None, None]
    yield smooth, np.clip(0.8 * smooth + 0.1 + 0.05 * rng.standard_normal(shape), 0, 1)
    yield blob, np.roll(blob, 3, axis=2)  # structured, shifted
    yield blob, blob  # identical: SSIM 1


def _torchmetrics_ssim(true, pred):
    """torchmetrics' SSIM (the E2fNet authors' metric class) of one volume."""
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.functional.image")
    return float(tm.structural_similarity_index_measure(
        torch.from_numpy(pred[None]), torch.from_numpy(true[None]), data_range=1.0,
        gaussian_kernel=True, sigma=1.5, kernel_size=11, k1=0.01, k2=0.03))


def test_ssim_psnr_match_skimage(rng):
    n = 0
    for true, pred in _pairs(rng):
        assert abs(ssim(true, pred, border="valid") - _reference_ssim(true, pred)) < 1e-4
        if not np.array_equal(true, pred):
            ref = skmetrics.peak_signal_noise_ratio(true, pred, data_range=1.0)
            assert abs(psnr(true, pred) - ref) < 1e-4
        n += 1
    assert n == 5
    blob = next(p for i, p in enumerate(_pairs(rng)) if i == 4)[0]
    assert ssim(blob, blob) == pytest.approx(1.0, abs=1e-12)
    assert psnr(blob, blob) == np.inf


def test_batch_is_mean_of_volumes(rng):
    pairs = list(_pairs(rng))[:4]
    true = np.stack([p[0] for p in pairs])
    pred = np.stack([p[1] for p in pairs])
    per = ssim(true, pred, per_volume=True, border="valid")
    assert per.shape == (4,)
    np.testing.assert_allclose(per, [_reference_ssim(t, p) for t, p in pairs], atol=1e-4)
    assert ssim(true, pred, border="valid") == pytest.approx(per.mean())
    per_reflect = ssim(true, pred, per_volume=True)
    np.testing.assert_allclose(per_reflect, [_torchmetrics_ssim(t, p) for t, p in pairs],
                               atol=1e-4)
    assert psnr(true, pred) == pytest.approx(psnr(true, pred, per_volume=True).mean())
    assert per[0] < 0.1 < per[1]  # unrelated noise scores lower than a noisy copy


def test_torch_ssim_and_loss(rng):
    torch = pytest.importorskip("torch")
    from unebolt_viz.metrics.volumetric import ssim_torch, volumetric_loss

    pairs = list(_pairs(rng))[1:4]
    true = np.stack([p[0] for p in pairs]).astype(np.float32)
    pred = np.stack([p[1] for p in pairs]).astype(np.float32)
    t_true = torch.from_numpy(true)
    t_pred = torch.from_numpy(pred).requires_grad_(True)
    per = ssim_torch(t_pred, t_true, reduction="none")
    np.testing.assert_allclose(per.detach().numpy(), ssim(true, pred, per_volume=True), atol=1e-4)
    valid = ssim_torch(t_pred, t_true, reduction="none", border="valid")
    np.testing.assert_allclose(valid.detach().numpy(), ssim(true, pred, per_volume=True,
                                                            border="valid"), atol=1e-4)
    loss = volumetric_loss(t_pred, t_true)
    expected = 0.5 * (1 - ssim(true, pred)) + 0.5 * float(np.mean((true - pred) ** 2))
    assert float(loss.detach()) == pytest.approx(expected, abs=1e-4)
    loss.backward()
    assert t_pred.grad is not None and float(t_pred.grad.abs().sum()) > 0
    perfect = volumetric_loss(t_true, t_true)
    assert float(perfect) == pytest.approx(0.0, abs=1e-5)


def test_ssim_psnr_match_torchmetrics(rng):
    """The default border is torchmetrics' (the E2fNet authors' metric): equal within 1e-4."""
    torch = pytest.importorskip("torch")
    tm = pytest.importorskip("torchmetrics.functional.image")
    borders_differ = 0.0
    for true, pred in _pairs(rng):
        assert abs(ssim(true, pred) - _torchmetrics_ssim(true, pred)) < 1e-4
        borders_differ = max(borders_differ, abs(ssim(true, pred) - ssim(true, pred, border="valid")))
        if not np.array_equal(true, pred):
            ref = tm.peak_signal_noise_ratio(torch.from_numpy(pred[None]),
                                             torch.from_numpy(true[None]), data_range=1.0,
                                             dim=(1, 2, 3), reduction="none")
            assert abs(psnr(true, pred) - float(ref[0])) < 1e-4
    assert borders_differ > 1e-3  # the two conventions are really different


def test_shape_errors():
    with pytest.raises(ValueError, match="shape"):
        ssim(np.zeros((2, 20, 20)), np.zeros((2, 20, 21)))
    with pytest.raises(ValueError, match="smaller"):
        ssim(np.zeros((2, 8, 8)), np.zeros((2, 8, 8)))
