"""Slices of BOLD volumes, true beside predicted: the pure pieces and a notebook slice slider.

The FC explorer's volumes tab (:mod:`unebolt_viz.app.components.volumes`) draws the same slices
with the same functions: an axial slice ``z`` of a volume ``(x, y, z)`` as an image whose rows are
``y`` and columns ``x``; volumes in [0, 1] (min-max scaled per volume, as E2fNet and
Spec2VolCAMU-Net scale their targets, unless they already are); SSIM and PSNR of the whole volume
as those papers define them (:mod:`unebolt_viz.metrics.volumetric`, slices as channels).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ...metrics.volumetric import psnr, ssim

__all__ = ["scaled_volume", "slice_image", "volume_scores", "volume_slice",
           "volume_slice_explorer"]


def scaled_volume(volume: np.ndarray) -> tuple[np.ndarray, bool]:
    """A volume in [0, 1]: as stored when it already is, else min-max scaled.

    Parameters
    ----------
    volume : ndarray

    Returns
    -------
    (ndarray, bool)
        The volume (float64) and whether it was rescaled here.
    """
    vol = np.asarray(volume, dtype=np.float64)
    lo, hi = float(vol.min()), float(vol.max())
    if lo >= 0.0 and hi <= 1.0:
        return vol, False
    return ((vol - lo) / (hi - lo) if hi > lo else np.zeros_like(vol)), True


def slice_image(volume: np.ndarray, z: int) -> np.ndarray:
    """The axial slice ``z`` of a volume ``(x, y, z)`` as an image: rows ``y``, columns ``x``."""
    return np.ascontiguousarray(np.asarray(volume)[:, :, int(z)].T)


def volume_scores(true: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """SSIM and PSNR of one pair of volumes ``(x, y, z)`` in [0, 1] (slices along ``z``).

    The papers' definitions (:func:`unebolt_viz.metrics.volumetric.ssim` and ``psnr``, data
    range 1) with the slices as image channels: the volumes are laid out ``(z, x, y)``.
    """
    a = np.moveaxis(np.asarray(true, dtype=np.float64), -1, 0)
    b = np.moveaxis(np.asarray(pred, dtype=np.float64), -1, 0)
    return {"ssim": float(ssim(a, b)), "psnr": float(psnr(a, b))}


def volume_slice(true: xr.DataArray, pred: xr.DataArray | None, volume: int,
                 z: int) -> dict[str, Any]:
    """Slice ``z`` of volume ``volume`` (time index) of true and predicted volumes, with scores.

    Parameters
    ----------
    true : xarray.DataArray
        A ``bold_volumes`` container (lazily opened files are read one volume at a time).
    pred : xarray.DataArray, optional
        Predicted volumes of the same time points (None: the true volumes alone).
    volume, z : int
        Time index and axial slice.

    Returns
    -------
    dict
        ``volume``, ``z``, ``scan``, ``tr_index``, ``data_source``; ``true`` (and ``pred``,
        ``diff`` = pred - true) slice images in [0, 1]; ``ssim``, ``psnr`` of the whole volume
        when ``pred`` is given (NaN otherwise); ``rescaled``: whether a volume was min-max
        scaled here.
    """
    t, z = int(volume), int(z)
    a, rescaled = scaled_volume(true.isel(time=t).values)
    out = {"volume": t, "z": z, "scan": str(true.scan.values[t]),
           "tr_index": int(true.tr_index.values[t]),
           "data_source": str(true.attrs.get("data_source", "real")),
           "true": slice_image(a, z), "pred": None, "diff": None,
           "ssim": float("nan"), "psnr": float("nan"), "rescaled": rescaled}
    if pred is not None:
        b, rescaled_pred = scaled_volume(pred.isel(time=t).values)
        out.update(pred=slice_image(b, z), diff=slice_image(b - a, z),
                   rescaled=rescaled or rescaled_pred, **volume_scores(a, b))
    return out


def _slice_figure(r: dict[str, Any], model: str):
    import matplotlib.pyplot as plt

    from .._style import FC_CMAP, PROVENANCE_LABELS

    panels = [("true", "True", "gray", (0, 1))]
    if r["pred"] is not None:
        panels += [("pred", f"Predicted ({model})", "gray", (0, 1)),
                   ("diff", "Pred - true", FC_CMAP, (-0.5, 0.5))]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    for ax, (key, title, cmap, (lo, hi)) in zip(axes[0], panels):
        image = ax.imshow(r[key], origin="lower", cmap=cmap, vmin=lo, vmax=hi)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.046)
    label = PROVENANCE_LABELS.get(r["data_source"], r["data_source"])
    fig.suptitle(f"{r['scan']}, volume {r['tr_index']}, slice z = {r['z']} ({label})",
                 fontsize=9)
    fig.tight_layout()
    return fig


def volume_slice_explorer(true: xr.DataArray, pred: xr.DataArray | None = None,
                          z: int | None = None, volume: int = 0, model: str = "model"):
    """A slice slider and a volume slider over true (and predicted) volumes.

    Parameters
    ----------
    true : xarray.DataArray
        ``bold_volumes`` container.
    pred : xarray.DataArray, optional
        Predicted volumes of the same time points.
    z : int, optional
        Initial axial slice (default the middle one).
    volume : int
        Initial time index.
    model : str
        Name of the predicting model in the figure.

    Returns
    -------
    ipywidgets.VBox
        Controls ``z`` (``children[0]``) and ``volume`` (``children[1]``); ``box.result`` is
        :func:`volume_slice`.
    """
    import ipywidgets as widgets

    from .widgets import explorer

    nz = true.sizes["z"]
    controls = {
        "z": widgets.IntSlider(value=nz // 2 if z is None else int(z), min=0, max=nz - 1,
                               description="slice z", continuous_update=False),
        "volume": widgets.IntSlider(value=int(volume), min=0, max=true.sizes["time"] - 1,
                                    description="volume", continuous_update=False),
    }

    def summary(r: dict[str, Any]) -> str:
        text = f"{r['scan']}, volume {r['tr_index']}, slice z = {r['z']} of {nz}"
        if r["pred"] is not None:
            text += (f": this volume's SSIM <b>{r['ssim']:.3f}</b>, PSNR "
                     f"<b>{r['psnr']:.2f} dB</b>")
        return text + f" ({r['data_source']} data)"

    return explorer(controls, lambda z, volume: volume_slice(true, pred, volume, z), summary,
                    lambda r: _slice_figure(r, model))
