"""F1 and Pixcorr against the density of the thresholded FC graphs.

F1 at each density comes from :func:`unebolt_viz.metrics.f1_density_curve` (one scan) or
:func:`unebolt_viz.metrics.fc_metrics` with many densities (several scans). The chance line
``F1 = density`` is the expected F1 of two independent random edge sets of that density
(precision and recall both equal the density).

Pixcorr, as defined in the paper, uses every edge and so does not depend on the density; it is
drawn as a horizontal line unless a density-resolved Pixcorr (a ``density`` dimension) is given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._style import provenance

__all__ = ["curve_arrays", "plot_density_curves"]


def curve_arrays(f1: xr.DataArray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The lines to draw of a score against density.

    Parameters
    ----------
    f1 : xarray.DataArray
        Dims ``(density,)`` or ``(scan, density)`` (F1, or a density-resolved Pixcorr).

    Returns
    -------
    (densities, values, labels) : tuple
        Densities ``(n_density,)``, one row of values per scan ``(n_scans, n_density)`` and the
        scan of each row (``[""]`` without a scan dimension).

    Raises
    ------
    ValueError
        If the dimensions are not those above.
    """
    if "density" not in f1.dims:
        raise ValueError(f"f1 needs a 'density' dimension; got {f1.dims}.")
    other = [d for d in f1.dims if d != "density"]
    if len(other) > 1:
        raise ValueError(f"f1 must be (density,) or (scan, density); got {f1.dims}.")
    values = f1.transpose(*other, "density").values.reshape(-1, f1.sizes["density"])
    labels = [str(s) for s in f1[other[0]].values] if other else [""]
    return f1.density.values.astype(float), values, labels


def plot_density_curves(
    f1: xr.DataArray,
    pixcorr: xr.DataArray | float | None = None,
    *,
    ax: Any = None,
    title: str | None = None,
    data_source: str | None = None,
):
    """F1 (and Pixcorr) against the edge density of the thresholded graphs.

    Parameters
    ----------
    f1 : xarray.DataArray
        Dims ``(density,)`` or ``(scan, density)``: one line per scan, the mean across scans in
        bold when there are several.
    pixcorr : DataArray or float, optional
        Pixcorr of the same scans: with a ``density`` dimension it is drawn as a curve;
        otherwise (the paper's all-edge Pixcorr) as a horizontal line at its mean.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
        Title (the provenance is appended).
    data_source : str, optional
        Provenance when ``f1`` carries no ``data_source`` attribute.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    source = data_source or f1.attrs.get("data_source")
    if source is None and isinstance(pixcorr, xr.DataArray):
        source = pixcorr.attrs.get("data_source")
    words = provenance(source)  # raises when the origin is unknown
    dens, values, labels = curve_arrays(f1)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.4), layout="constrained")
    several = len(values) > 1
    for row in values:
        ax.plot(dens, row, color="#4C72B0", lw=0.8 if several else 1.8,
                alpha=0.45 if several else 1.0, marker=None if several else "o", ms=3)
    if several:
        ax.plot(dens, values.mean(axis=0), color="#1f3f77", lw=2.2, marker="o", ms=3,
                label=f"F1 (mean of {len(values)} scans)")
    else:
        ax.lines[-1].set_label("F1")
    ax.plot([0, 1], [0, 1], color="#999999", ls=":", lw=1, label="chance (F1 = density)")
    if pixcorr is not None:
        if isinstance(pixcorr, xr.DataArray) and "density" in pixcorr.dims:
            p_dens, p_values, _ = curve_arrays(pixcorr)
            ax.plot(p_dens, p_values.mean(axis=0), color="#C44E52", lw=2, marker="s", ms=3,
                    label="Pixcorr")
        else:
            level = float(np.mean(np.asarray(pixcorr, dtype=float)))
            ax.axhline(level, color="#C44E52", lw=1.5, ls="--",
                       label=f"Pixcorr, all edges ({level:.2f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.02)
    ax.set_xlabel("edge density (fraction of edges kept, top |r|)")
    ax.set_ylabel("score")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    ax.set_title(f"{title or 'FC agreement against density'} ({words})", fontsize=9)
    return ax.figure
