"""SSIM and PSNR of predicted volumes, as E2fNet and Spec2VolCAMU-Net define them, and their loss.

Definitions (checked against ``torchmetrics`` and ``skimage.metrics`` in the tests)
---------------------------------------------------------------------------------
SSIM (``ssim``)
    2-D SSIM of every slice, the slices of a volume being image channels: an 11 x 11 Gaussian
    window with sigma 1.5 (normalised), ``C1 = (0.01 L)^2``, ``C2 = (0.03 L)^2`` with the data
    range ``L = 1`` (volumes min-max scaled to [0, 1]), population (not sample) covariances
    (clamped at 0). The SSIM of a volume is the mean of its SSIM map over all slices; that of
    a set of volumes the mean over volumes. The border is where the two references differ:

    - ``border="reflect"`` (default): each slice is reflect-padded by 5 pixels and the map
      covers the whole slice, as ``torchmetrics``' ``StructuralSimilarityIndexMeasure``
      computes it: the E2fNet authors' code uses that class (``data_range=1.0``) for its loss
      and its model selection, so these are the papers' numbers;
    - ``border="valid"``: the map covers only where the window fits inside the slice (the
      5-pixel border left out), as ``skimage.metrics.structural_similarity`` crops it.

    The two differ by up to ~0.01 on 64 x 64 slices.
PSNR (``psnr``)
    ``10 log10(L^2 / MSE)`` of each volume (MSE over all its voxels), ``L = 1``; averaged over
    volumes. (``torchmetrics``' ``PeakSignalNoiseRatio`` pools the MSE of a whole batch unless
    given ``dim``; per volume is the definition that does not depend on the batch size.)
Loss (``volumetric_loss``)
    ``0.5 (1 - SSIM) + 0.5 MSE`` with the same SSIM in PyTorch (differentiable).

Layout: volumes are ``(..., D, H, W)``, the slice axis ``D`` third from the end (what the
models output: ``(batch, D, 64, 64)``). The numpy functions need no PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gaussian_window", "ssim", "ssim_map", "psnr", "ssim_torch", "volumetric_loss",
           "WIN_SIZE", "SIGMA", "K1", "K2"]

WIN_SIZE = 11
SIGMA = 1.5
K1 = 0.01
K2 = 0.03


def gaussian_window(win_size: int = WIN_SIZE, sigma: float = SIGMA) -> np.ndarray:
    """The normalised 1-D Gaussian of the SSIM window (the 2-D window is its outer product)."""
    x = np.arange(win_size, dtype=np.float64) - (win_size - 1) / 2
    g = np.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' filtering over the last two axes."""
    from numpy.lib.stride_tricks import sliding_window_view

    rows = sliding_window_view(img, g.size, axis=-1) @ g
    return sliding_window_view(rows, g.size, axis=-2) @ g


def ssim_map(true: np.ndarray, pred: np.ndarray, data_range: float = 1.0,
             win_size: int = WIN_SIZE, sigma: float = SIGMA, border: str = "reflect"
             ) -> np.ndarray:
    """The SSIM map of every slice: ``(..., D, H, W)``, or ``(..., D, H - 10, W - 10)`` when
    ``border="valid"``.

    Parameters
    ----------
    true, pred : ndarray, shape (..., D, H, W)
        Reference and predicted volumes (same shape).
    data_range : float
        ``L`` of the constants (1 for volumes scaled to [0, 1]).
    win_size, sigma : int, float
        Gaussian window.
    border : {"reflect", "valid"}
        See the module's definitions.
    """
    x = np.asarray(true, dtype=np.float64)
    y = np.asarray(pred, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"true has shape {x.shape} but pred {y.shape}.")
    if x.ndim < 2 or min(x.shape[-2:]) < win_size:
        raise ValueError(f"Slices of shape {x.shape[-2:]} are smaller than the {win_size} x "
                         f"{win_size} SSIM window.")
    if border == "reflect":
        pad = [(0, 0)] * (x.ndim - 2) + [((win_size - 1) // 2,) * 2] * 2
        x, y = np.pad(x, pad, mode="reflect"), np.pad(y, pad, mode="reflect")
    elif border != "valid":
        raise ValueError(f"border={border!r}: use 'reflect' (torchmetrics, the papers' code) or "
                         "'valid' (skimage).")
    g = gaussian_window(win_size, sigma)
    mx, my = _filter_valid(x, g), _filter_valid(y, g)
    sxx = np.maximum(_filter_valid(x * x, g) - mx * mx, 0.0)
    syy = np.maximum(_filter_valid(y * y, g) - my * my, 0.0)
    sxy = _filter_valid(x * y, g) - mx * my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def ssim(true: np.ndarray, pred: np.ndarray, data_range: float = 1.0,
         per_volume: bool = False, border: str = "reflect") -> float | np.ndarray:
    """SSIM of volumes ``(..., D, H, W)``, slices as channels (see the module's definitions).

    Parameters
    ----------
    true, pred : ndarray, shape (D, H, W) or (n, D, H, W)
    data_range : float
    per_volume : bool
        Return one value per volume (shape ``true.shape[:-3]``) instead of their mean.
    border : {"reflect", "valid"}
        ``"reflect"``: torchmetrics' and the papers' convention; ``"valid"``: skimage's.

    Returns
    -------
    float or ndarray
    """
    m = ssim_map(true, pred, data_range, border=border)
    values = m.mean(axis=(-3, -2, -1)) if m.ndim >= 3 else m.mean(axis=(-2, -1))
    return np.asarray(values) if per_volume else float(np.mean(values))


def psnr(true: np.ndarray, pred: np.ndarray, data_range: float = 1.0,
         per_volume: bool = False) -> float | np.ndarray:
    """PSNR ``10 log10(L^2 / MSE)`` of each volume ``(..., D, H, W)``, averaged over volumes.

    A volume predicted exactly has infinite PSNR.
    """
    x = np.asarray(true, dtype=np.float64)
    y = np.asarray(pred, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"true has shape {x.shape} but pred {y.shape}.")
    axes = tuple(range(max(0, x.ndim - 3), x.ndim))
    mse = ((x - y) ** 2).mean(axis=axes)
    with np.errstate(divide="ignore"):
        values = 10 * np.log10(data_range**2 / mse)
    return np.asarray(values) if per_volume else float(np.mean(values))


def _torch_window(n_channels: int, like: Any) -> Any:
    import torch

    g = torch.as_tensor(gaussian_window(), dtype=like.dtype, device=like.device)
    return torch.outer(g, g).expand(n_channels, 1, WIN_SIZE, WIN_SIZE).contiguous()


def ssim_torch(pred: Any, true: Any, data_range: float = 1.0, reduction: str = "mean",
               border: str = "reflect") -> Any:
    """Differentiable SSIM of ``(batch, D, H, W)`` tensors (slices as channels).

    The same definition as :func:`ssim` (11 x 11 Gaussian window, sigma 1.5).

    Parameters
    ----------
    pred, true : torch.Tensor, shape (batch, D, H, W)
    data_range : float
    reduction : {"mean", "none"}
        Mean over the batch, or one value per volume ``(batch,)``.
    border : {"reflect", "valid"}
        See :func:`ssim`.

    Returns
    -------
    torch.Tensor
    """
    import torch.nn.functional as F

    if pred.shape != true.shape or pred.dim() != 4:
        raise ValueError(f"pred {tuple(pred.shape)} and true {tuple(true.shape)} must both be "
                         "(batch, D, H, W).")
    d = pred.shape[1]
    w = _torch_window(d, pred)
    if border == "reflect":
        pad = ((WIN_SIZE - 1) // 2,) * 4
        pred, true = F.pad(pred, pad, mode="reflect"), F.pad(true, pad, mode="reflect")
    elif border != "valid":
        raise ValueError(f"border={border!r}: use 'reflect' or 'valid'.")

    def blur(t):
        return F.conv2d(t, w, groups=d)

    mx, my = blur(true), blur(pred)
    sxx = (blur(true * true) - mx * mx).clamp(min=0.0)
    syy = (blur(pred * pred) - my * my).clamp(min=0.0)
    sxy = blur(true * pred) - mx * my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    m = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    per_volume = m.flatten(1).mean(dim=1)
    if reduction == "none":
        return per_volume
    if reduction != "mean":
        raise ValueError(f"reduction={reduction!r}: use 'mean' or 'none'.")
    return per_volume.mean()


def volumetric_loss(pred: Any, true: Any, ssim_weight: float = 0.5, mse_weight: float = 0.5,
                    data_range: float = 1.0, border: str = "reflect") -> Any:
    """The papers' loss ``ssim_weight (1 - SSIM) + mse_weight MSE``, differentiable.

    Parameters
    ----------
    pred, true : torch.Tensor, shape (batch, D, H, W)
        Predicted and target volumes, targets min-max scaled to [0, 1].
    ssim_weight, mse_weight : float
        0.5 and 0.5 in both papers.
    data_range : float
    border : {"reflect", "valid"}
        SSIM border convention (see :func:`ssim`); ``"reflect"`` is the papers' training loss.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    import torch.nn.functional as F

    return (ssim_weight * (1 - ssim_torch(pred, true, data_range, border=border))
            + mse_weight * F.mse_loss(pred, true))
