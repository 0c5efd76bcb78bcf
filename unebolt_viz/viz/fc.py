"""Functional-connectivity matrices, grouped by network, with colour bars (paper Fig. 4).

The ROIs are drawn grouped by network in canonical Yeo order (atlas order kept within each
network). That drawn order is data, not a plotting side effect: :func:`fc_order` returns it as a
DataArray (``roi_index`` of each drawn position, with the ROI name, network and colour), and
every figure here draws exactly that order.

Sparsity is shown by hiding the edges that a binary graph at the given density does not keep;
which edges are kept is decided by :func:`unebolt_viz.metrics.edge_mask`, never here.

:func:`plot_fc` and :func:`plot_fc_comparison` are static matplotlib figures for papers. The
helpers that prepare what they draw (:func:`check_fc`, :func:`density_mask`, :func:`fc_order`,
:func:`fc_blocks`, :func:`ordered_matrix`, :func:`fc_title`) are shared with the interactive
matrix of the app (:class:`unebolt_viz.app.FCMatrixPlot`), so both draw the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data.accessor import network_blocks
from ..data.containers import validate_fc
from ..networks import NETWORK_NAMES
from ._style import FC_CMAP, hex_to_rgb, network_color, network_short, provenance, titled

__all__ = [
    "check_fc",
    "density_mask",
    "fc_order",
    "fc_blocks",
    "fc_title",
    "ordered_matrix",
    "plot_fc",
    "plot_fc_comparison",
    "MASKED_COLOR",
]

#: Colour of the edges that the thresholded graph does not keep.
MASKED_COLOR = "#ececec"


# ----------------------------------------------------------------------------------------------
# the drawn order, as data


def fc_order(fc: xr.DataArray, order: Sequence[str] = NETWORK_NAMES) -> xr.DataArray:
    """The order in which FC figures draw the ROIs.

    Parameters
    ----------
    fc : xarray.DataArray
        An ``fc`` container (or any object with ``roi`` and ``network`` coordinates).
    order : sequence of str
        Network order (default: the canonical Yeo-7 order, then subcortical, no network).

    Returns
    -------
    xarray.DataArray
        Along ``position`` (0 = top row / left column): the index of the ROI in ``fc``
        (``roi_index``), with coordinates ``roi``, ``network`` and ``color`` of that position.
    """
    drawn = fc.unebolt.network_order(order)
    colors = [network_color(str(n)) for n in drawn.network.values]
    return drawn.assign_coords(color=("position", np.array(colors, dtype=object)))


def fc_blocks(drawn_order: xr.DataArray) -> pd.DataFrame:
    """Network blocks of a drawn order: ``network``, ``start``, ``stop``, ``color``, ``short``."""
    blocks = network_blocks([str(n) for n in drawn_order.network.values])
    blocks["short"] = [network_short(n) for n in blocks["network"]]
    return blocks


def _mask_array(mask: Any, fc: xr.DataArray) -> np.ndarray:
    """A boolean (roi, roi2) array in ``fc``'s ROI order."""
    if isinstance(mask, xr.DataArray):
        same = "roi" in mask.coords and np.array_equal(mask.roi.values, fc.roi.values) \
            and np.array_equal(mask.roi2.values, fc.roi2.values)
        if not same and "roi" in mask.coords and "roi2" in mask.coords:
            mask = mask.sel(roi=fc.roi.values, roi2=fc.roi2.values)
        mask = mask.values
    arr = np.asarray(mask)
    if arr.shape != fc.shape:
        raise ValueError(f"The edge mask has shape {arr.shape}; the FC matrix has {fc.shape}.")
    if arr.dtype != bool:
        raise ValueError(
            f"The edge mask must be boolean (got {arr.dtype}); make it with "
            "unebolt_viz.metrics.edge_mask(fc, density)."
        )
    return arr


def density_mask(fc: xr.DataArray, density: float | None, mask: Any) -> np.ndarray | None:
    """The edges to draw: from ``mask``, or those a graph of ``density`` keeps.

    Parameters
    ----------
    fc : xarray.DataArray
        An ``fc`` container.
    density : float or None
        Fraction of edges kept, in (0, 1], as chosen by :func:`unebolt_viz.metrics.edge_mask`.
    mask : array-like of bool or None
        A precomputed ``(roi, roi2)`` edge mask (DataArray masks are aligned on ``fc``'s ROIs).

    Returns
    -------
    ndarray of bool or None
        A ``(roi, roi2)`` mask in ``fc``'s order; None when every edge is drawn.

    Raises
    ------
    ValueError
        When both or an invalid density or mask are given.
    """
    if mask is not None and density is not None:
        raise ValueError("Pass either density= or mask=, not both.")
    if mask is not None:
        return _mask_array(mask, fc)
    if density is not None and not 0.0 < float(density) <= 1.0:
        raise ValueError(f"density={density}: pass the fraction of edges to keep, in (0, 1].")
    if density is None or density >= 1.0:
        return None
    from ..metrics import edge_mask  # which edges a graph keeps is the metrics' decision

    return _mask_array(edge_mask(fc, density), fc)


def ordered_matrix(
    fc: xr.DataArray, drawn_order: xr.DataArray, mask: np.ndarray | None = None,
    dtype: Any = np.float64,
) -> np.ndarray:
    """The matrix as drawn: rows and columns in ``drawn_order``; NaN where ``mask`` is False."""
    values = np.asarray(fc.values, dtype=dtype)
    if mask is not None:
        values = np.where(mask, values, np.nan)
    idx = np.asarray(drawn_order.values)
    return values[np.ix_(idx, idx)]


def check_fc(fc: xr.DataArray) -> xr.DataArray:
    """Validate an FC matrix; a one-scan slice of ``fc_per_scan`` is accepted as one.

    Parameters
    ----------
    fc : xarray.DataArray
        An ``fc`` container, or one scan of :func:`unebolt_viz.metrics.fc_per_scan`.

    Returns
    -------
    xarray.DataArray
        The validated ``fc`` container (a scan slice gets ``kind="fc"`` and a ``scan`` attribute).

    Raises
    ------
    TypeError
        If ``fc`` is not one FC matrix.
    """
    if isinstance(fc, xr.DataArray) and fc.attrs.get("kind") == "fc_stack" \
            and tuple(fc.dims) == ("roi", "roi2"):
        attrs = {**fc.attrs, "kind": "fc"}
        if "scan" in fc.coords and fc.scan.ndim == 0:
            attrs["scan"] = str(fc.scan.values)
        fc = fc.drop_vars([c for c in ("scan", "subject") if c in fc.coords]).assign_attrs(attrs)
    if not isinstance(fc, xr.DataArray) or fc.attrs.get("kind") != "fc":
        raise TypeError(
            "Expected one FC matrix (xarray.DataArray with kind='fc', dims (roi, roi2)); make "
            "one with pred.unebolt.fc(var='true', scan=...) or "
            "unebolt_viz.metrics.fc_per_scan(pred).isel(scan=0)."
        )
    return validate_fc(fc)


def fc_title(fc: xr.DataArray, title: str | None, density: float | None) -> str:
    """The title of an FC figure, always ending with the data's provenance.

    Parameters
    ----------
    fc : xarray.DataArray
        The ``fc`` container drawn.
    title : str or None
        Given title; by default the variable (true / predicted), the scan and the density.
    density : float or None
        The density shown (named in the default title when below 1).

    Returns
    -------
    str
    """
    if title is None:
        variable = {"true": "True FC", "pred": "Predicted FC"}.get(fc.attrs.get("variable"), "FC")
        scan = fc.attrs.get("scan")
        title = f"{variable}" + (f", {scan}" if scan else "")
        if density is not None and density < 1.0:
            title += f", density {density:.2f}"
    return titled(title, fc)


# ----------------------------------------------------------------------------------------------
# matplotlib


def _draw_fc_axes(ax, fc, drawn, blocks, matrix, title, vmax, cmap, labels, fontsize):
    """Draw one ordered matrix with its colour bars on ``ax``; return the image artist."""
    import matplotlib.pyplot as plt

    n = matrix.shape[0]
    colormap = plt.get_cmap(cmap).with_extremes(bad=MASKED_COLOR)
    image = ax.imshow(np.ma.masked_invalid(matrix), cmap=colormap, vmin=-vmax, vmax=vmax,
                      interpolation="nearest", extent=(0, n, n, 0))
    image.set_gid("fc-matrix")
    for stop in blocks["stop"].to_numpy()[:-1]:
        ax.axhline(stop, color="white", lw=0.6)
        ax.axvline(stop, color="white", lw=0.6)
    ax.set_xticks([])
    ax.set_yticks([])

    # Colour bars as inset axes, so that constrained layout makes room for their labels.
    rgb = np.array([hex_to_rgb(c) for c in drawn.color.values])
    left = ax.inset_axes((-0.055, 0.0, 0.04, 1.0))
    top = ax.inset_axes((0.0, 1.015, 1.0, 0.04))
    bar_left = left.imshow(rgb[:, None, :], aspect="auto", interpolation="nearest",
                           extent=(0, 1, n, 0))
    bar_left.set_gid("network-bar-left")
    bar_top = top.imshow(rgb[None, :, :], aspect="auto", interpolation="nearest",
                         extent=(0, n, 1, 0))
    bar_top.set_gid("network-bar-top")
    for bar_ax in (left, top):
        bar_ax.set_axis_off() if bar_ax is top else None
        for spine in bar_ax.spines.values():
            spine.set_visible(False)
    left.set_xticks([])
    top.set_title(title, fontsize=fontsize + 1)

    # Label every block that is tall enough for its text; the legend names the others.
    fig = ax.figure
    height_pt = ax.get_position().height * fig.get_figheight() * 72
    mids, names, hidden = [], [], []
    for row in blocks.itertuples():
        fits = (row.stop - row.start) / n * height_pt >= 1.15 * fontsize
        if labels and fits:
            mids.append((row.start + row.stop) / 2)
            names.append(row.short)
        else:
            hidden.append(row.network)
    left.set_yticks(mids)
    left.set_yticklabels(names, fontsize=fontsize)
    left.tick_params(axis="y", length=0, pad=2)
    return image, hidden


def plot_fc(
    fc: xr.DataArray,
    *,
    density: float | None = None,
    mask: Any = None,
    ax: Any = None,
    title: str | None = None,
    order: Sequence[str] = NETWORK_NAMES,
    vmax: float = 1.0,
    cmap: str = FC_CMAP,
    labels: bool = True,
    legend: bool | str = "auto",
    colorbar: bool = True,
    fontsize: float = 8.0,
):
    """Draw an FC matrix grouped by network, with network colour bars and labels.

    Parameters
    ----------
    fc : xarray.DataArray
        An ``fc`` container, e.g. ``pred.unebolt.fc(var="true", scan="sub01-scan01")``.
    density : float, optional
        Show only the edges a graph of this density keeps (0 < density <= 1), as chosen by
        :func:`unebolt_viz.metrics.edge_mask`. Other edges are drawn in light grey.
    mask : array-like of bool, optional
        A precomputed edge mask ``(roi, roi2)`` in ``fc``'s order (instead of ``density``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure otherwise.
    title : str, optional
        Title; the data's provenance (simulated / semi-synthetic / real) is always appended.
    order : sequence of str
        Network order of the blocks.
    vmax : float
        Colour scale limits ``[-vmax, vmax]``.
    cmap : str
        Matplotlib colour map.
    labels : bool
        Write short network names beside the blocks that are tall enough for them.
    legend : bool or "auto"
        Legend of network colours; ``"auto"`` adds it when some block is too small for a label
        (usual at 256 ROIs).
    colorbar : bool
        Draw the colour scale.
    fontsize : float
        Label size in points.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the matrix image has gid ``"fc-matrix"``, the colour bars
        ``"network-bar-left"`` and ``"network-bar-top"``. The drawn order is
        :func:`fc_order` ``(fc, order)``.
    """
    import matplotlib.pyplot as plt

    fc = check_fc(fc)
    edge_mask = density_mask(fc, density, mask)
    drawn = fc_order(fc, order)
    blocks = fc_blocks(drawn)
    own_figure = ax is None
    if own_figure:
        fig, ax = plt.subplots(figsize=(5.4, 4.8), layout="constrained")
    fig = ax.figure
    matrix = ordered_matrix(fc, drawn, edge_mask)
    image, hidden = _draw_fc_axes(ax, fc, drawn, blocks, matrix,
                                  fc_title(fc, title, density), vmax, cmap, labels, fontsize)
    if colorbar:
        fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="Pearson r")
    if legend is True or (legend == "auto" and hidden):
        _network_legend(fig if own_figure else ax, blocks, fontsize)
    return fig


def _network_legend(target, blocks: pd.DataFrame, fontsize: float) -> None:
    """Legend of the networks drawn, below an axes or (outside the axes) below a figure."""
    from matplotlib.axes import Axes
    from matplotlib.patches import Patch

    seen = dict.fromkeys(blocks["network"])
    handles = [Patch(color=network_color(n), label=network_short(n)) for n in seen]
    style = {"ncol": min(len(handles), 5), "fontsize": fontsize - 1, "frameon": False,
             "handlelength": 1.0, "columnspacing": 0.8}
    if isinstance(target, Axes):
        target.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01), **style)
    else:
        target.legend(handles=handles, loc="outside lower center", **style)


def plot_fc_comparison(
    fc_true: xr.DataArray,
    fc_pred: xr.DataArray,
    densities: Sequence[float | None] = (None, 0.5, 0.25),
    *,
    masks: Sequence[tuple[Any, Any]] | None = None,
    order: Sequence[str] = NETWORK_NAMES,
    vmax: float = 1.0,
    cmap: str = FC_CMAP,
    fontsize: float = 7.0,
    panel_size: float = 2.6,
):
    """True FC (top row) above predicted FC (bottom row) at several densities (paper Fig. 4).

    Parameters
    ----------
    fc_true, fc_pred : xarray.DataArray
        ``fc`` containers over the same ROIs.
    densities : sequence of float or None
        One column per density; ``None`` (or 1.0) draws the full matrix.
    masks : sequence of (mask_true, mask_pred), optional
        Precomputed edge masks, one pair per column, instead of computing them from
        ``densities`` with :func:`unebolt_viz.metrics.edge_mask`.
    order, vmax, cmap, fontsize :
        As in :func:`plot_fc`.
    panel_size : float
        Size of one matrix in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fc_true, fc_pred = check_fc(fc_true), check_fc(fc_pred)
    if list(fc_true.roi.values) != list(fc_pred.roi.values):
        raise ValueError("fc_true and fc_pred must list the same ROIs in the same order.")
    if masks is not None and len(masks) != len(densities):
        raise ValueError(f"Got {len(masks)} mask pairs for {len(densities)} densities.")
    ncol = len(densities)
    fig, axes = plt.subplots(2, ncol, figsize=(panel_size * ncol + 1.0, panel_size * 2 + 0.9),
                             layout="constrained", squeeze=False)
    image = None
    for col, density in enumerate(densities):
        for row, fc in enumerate((fc_true, fc_pred)):
            given = None if masks is None else masks[col][row]
            edge_mask = density_mask(fc, None if given is not None else density, given)
            drawn = fc_order(fc, order)
            blocks = fc_blocks(drawn)
            label = "True" if row == 0 else "Predicted"
            dens = "all edges" if density is None or density >= 1 else f"density {density:.2f}"
            image, _ = _draw_fc_axes(axes[row, col], fc, drawn, blocks,
                                     ordered_matrix(fc, drawn, edge_mask), f"{label}, {dens}",
                                     vmax, cmap, col == 0, fontsize)
    fig.colorbar(image, ax=axes, shrink=0.6, label="Pearson r")
    _network_legend(fig, fc_blocks(fc_order(fc_true, order)), fontsize + 1)
    scan = fc_true.attrs.get("scan")
    fig.suptitle(f"FC, true vs predicted{', ' + scan if scan else ''} "
                 f"({fc_true.sizes['roi']} ROIs; {provenance(fc_true, fc_pred)})",
                 fontsize=fontsize + 2)
    return fig
