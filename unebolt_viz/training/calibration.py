"""Least-squares recalibration of a trained model's per-ROI output scale and offset.

UnEBOLT's loss mixes MSE with two correlation terms that do not depend on the scale of the
predictions, and its heads start near zero (NeuroBOLT's initialisation, 0.001 times a
truncated normal of std 0.02). After a short training the predictions therefore correlate with
the BOLD but are far smaller than the MSE-optimal amplitude: a flat line on a plot next to a
reassuring correlation. :func:`calibrate_roi_heads` fits, for every ROI, the scale ``a`` and
offset ``b`` minimising ``sum (y - (a * pred + b))**2`` over the training windows (ordinary
least squares, closed form) and folds them into the ROI-specific heads, so the saved model
needs no extra parameter. With ``a > 0`` the correlation of every ROI with anything is
unchanged: temporal and spatial correlations, FC and its F1 scores stay as they were; only the
amplitude (and so the MSE) changes. A ROI whose training correlation is not positive keeps its
head as it is (a negative scale would flip its sign).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["calibrate_roi_heads"]


def _roi_heads(model: Any):
    head = getattr(model, "head", None)
    weight, bias = getattr(head, "weight", None), getattr(head, "bias", None)
    n_outputs = getattr(model, "n_outputs", None)
    if weight is None or bias is None or weight.ndim != 2 or weight.shape[0] != n_outputs:
        raise TypeError(
            f"{type(model).__name__} has no ROI-specific linear heads (head.weight of shape "
            "(n_rois, dim) and head.bias): only such models (UnEBOLT with "
            "use_roi_specific_head=True) can be recalibrated per ROI.")
    return weight, bias


def calibrate_roi_heads(model: Any, pairs: Sequence[Any], *, batch_size: int = 64,
                        device: Any = None) -> dict[str, Any]:
    """Refit each ROI's output scale and offset by least squares, in place.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model with ROI-specific linear heads (``model.head.weight`` of shape
        ``(n_rois, dim)`` and ``model.head.bias``), e.g. UnEBOLT.
    pairs : sequence of ScanPair
        The training scans (never the validation or test scans: the fit would leak them).
    batch_size : int
        Windows per forward pass.
    device : str or torch.device, optional
        Default: the model's device.

    Returns
    -------
    dict
        ``scale`` and ``offset`` (lists, one per ROI, as applied), ``train_r`` (each ROI's
        correlation on the training windows), ``n_windows`` and ``n_kept`` (ROIs left as
        they were because their training correlation was not positive).

    Examples
    --------
    >>> report = calibrate_roi_heads(model, train_pairs)  # doctest: +SKIP
    >>> report["scale"][:3]  # doctest: +SKIP
    """
    import torch

    from .inference import predict

    weight, bias = _roi_heads(model)
    pred = predict(model, list(pairs), batch_size=batch_size, device=device, precision="fp32")
    y = pred["true"].values.astype(np.float64)
    f = pred["pred"].values.astype(np.float64)
    fc, yc = f - f.mean(axis=0), y - y.mean(axis=0)
    var_f = np.einsum("tp,tp->p", fc, fc)
    cov = np.einsum("tp,tp->p", fc, yc)
    r = cov / np.sqrt(var_f * np.einsum("tp,tp->p", yc, yc) + 1e-300)
    usable = (cov > 0) & (var_f > 0)
    scale = np.where(usable, cov / np.where(var_f > 0, var_f, 1.0), 1.0)
    offset = np.where(usable, y.mean(axis=0) - scale * f.mean(axis=0), 0.0)
    with torch.no_grad():
        s = torch.as_tensor(scale, dtype=weight.dtype, device=weight.device)
        o = torch.as_tensor(offset, dtype=bias.dtype, device=bias.device)
        weight.mul_(s[:, None])
        bias.mul_(s).add_(o)
    return {"scale": scale.tolist(), "offset": offset.tolist(), "train_r": r.tolist(),
            "n_windows": int(y.shape[0]), "n_kept": int((~usable).sum())}
