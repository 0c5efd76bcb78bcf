"""True and predicted time series: network signals (paper Fig. 3b) and pairs of ROIs.

Network signals are the mean of a network's ROIs at each time point, as given by the accessor
(``pred.unebolt.network_means(var)``); their accuracy (R per network) comes from
:func:`unebolt_viz.metrics.network_r` and is only written in the titles here.

Static figures draw every sample. The helpers that choose what is drawn (:func:`select_scan`,
:func:`networks_shown`, :func:`roi_index`, :func:`network_r_of`) are shared with the
interactive twins of :mod:`unebolt_viz.app`, which decimate long series for the browser with
:func:`minmax_decimate` (the minimum and maximum of each bucket are kept, so peaks stay
visible).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..data.containers import validate_predictions
from ._style import network_color, network_short, titled

__all__ = [
    "minmax_decimate",
    "select_scan",
    "networks_shown",
    "network_r_of",
    "roi_index",
    "plot_network_timeseries",
    "plot_roi_pair",
    "TRUE_COLOR",
    "MAX_POINTS",
]

TRUE_COLOR = "#222222"
#: Default number of points per line sent to the browser.
MAX_POINTS = 1500


def minmax_decimate(t: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Decimate a line for display, keeping each bucket's minimum and maximum.

    Parameters
    ----------
    t, y : ndarray, shape (n,)
        Sample times (increasing) and values.
    max_points : int
        At most this many points are returned (the input itself when it is short enough).

    Returns
    -------
    (t, y) : tuple of ndarray
        A subset of the samples, in time order, always including the first and last.
    """
    t = np.asarray(t)
    y = np.asarray(y)
    if t.shape != y.shape or t.ndim != 1:
        raise ValueError(f"t and y must be 1-D of the same length; got {t.shape} and {y.shape}.")
    n = t.size
    if max_points < 4:
        raise ValueError(f"max_points={max_points}: keep at least 4 points.")
    if n <= max_points:
        return t, y
    n_buckets = (max_points - 2) // 2
    edges = np.linspace(1, n - 1, n_buckets + 1).astype(int)
    keep = [0, n - 1]
    for a, b in zip(edges[:-1], edges[1:]):
        if b > a:
            seg = y[a:b]
            keep.extend((a + int(np.argmin(seg)), a + int(np.argmax(seg))))
    idx = np.unique(np.array(keep))
    return t[idx], y[idx]


def select_scan(pred: xr.Dataset, scan: str | None = None) -> xr.Dataset:
    """The time points of one scan of a predictions Dataset (the only one when ``scan=None``)."""
    validate_predictions(pred)
    scans = list(dict.fromkeys(pred.scan.values.astype(str)))
    if scan is None:
        if len(scans) > 1:
            raise ValueError(f"The predictions hold {len(scans)} scans; choose one with scan= "
                             f"(e.g. {scans[0]!r}).")
        scan = scans[0]
    if scan not in scans:
        raise ValueError(f"No scan {scan!r} in the predictions; available: {scans[:6]}.")
    return pred.isel(time=np.flatnonzero(pred.scan.values.astype(str) == scan))


def network_r_of(network_r: xr.DataArray | None, scan: str, network: str) -> float | None:
    """The R of one network in one scan, for a title (None when no ``network_r`` is given).

    Parameters
    ----------
    network_r : xarray.DataArray or None
        From :func:`unebolt_viz.metrics.network_r`, with or without a ``scan`` dimension.
    scan, network : str
        Which value.

    Returns
    -------
    float or None
    """
    if network_r is None:
        return None
    r = network_r
    if "scan" in r.dims:
        r = r.sel(scan=scan)
    return float(r.sel(network=network))


def networks_shown(pred: xr.Dataset, networks: Sequence[str] | None) -> list[str]:
    """The networks to draw: those asked for, or every network present in canonical order.

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset.
    networks : sequence of str or None
        Networks asked for (None: all present).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If a network asked for has no ROI in ``pred``.
    """
    from ..networks import NETWORK_NAMES

    present = set(pred.network.values.astype(str))
    chosen = [n for n in NETWORK_NAMES if n in present] if networks is None else list(networks)
    unknown = [n for n in chosen if n not in present]
    if unknown:
        raise ValueError(f"Networks {unknown} have no ROI in these predictions; present: "
                         f"{sorted(present)}.")
    return chosen


def plot_network_timeseries(
    pred: xr.Dataset,
    scan: str | None = None,
    *,
    networks: Sequence[str] | None = None,
    network_r: xr.DataArray | None = None,
    ncols: int = 2,
    title: str | None = None,
):
    """True vs predicted network signals of one scan, one panel per network (Fig. 3b).

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset.
    scan : str, optional
        Which scan (required when ``pred`` holds several).
    networks : sequence of str, optional
        Networks to draw (default: all present, canonical order).
    network_r : xarray.DataArray, optional
        From :func:`unebolt_viz.metrics.network_r`; its value is written in each panel title.
    ncols : int
        Panels per row.
    title : str, optional
        Figure title (the provenance is appended).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    one = select_scan(pred, scan)
    scan = str(one.scan.values[0])
    chosen = networks_shown(one, networks)
    true = one.unebolt.network_means("true", chosen)
    est = one.unebolt.network_means("pred", chosen)
    t = one.time.values
    nrows = int(np.ceil(len(chosen) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 1.7 * nrows + 0.6),
                             sharex=True, layout="constrained", squeeze=False)
    for ax, net in zip(axes.flat, chosen):
        ax.plot(t, true.sel(network=net).values, color=TRUE_COLOR, lw=1.0, label="true")
        ax.plot(t, est.sel(network=net).values, color=network_color(net), lw=1.2,
                label="predicted")
        r = network_r_of(network_r, scan, net)
        ax.set_title(network_short(net) + ("" if r is None else f"  (R = {r:.2f})"), fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(chosen):]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    axes.flat[0].legend(fontsize=7, frameon=False, loc="upper right")
    fig.suptitle(titled(title or f"Network signals, true vs predicted, {scan}", pred),
                 fontsize=10)
    return fig


def roi_index(pred: xr.Dataset, roi: int | str) -> int:
    """The index of an ROI given by name or index, checked against ``pred``'s ROIs.

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset.
    roi : int or str
        ROI index or name.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If there is no such ROI.
    """
    names = list(pred.roi.values.astype(str))
    if isinstance(roi, str):
        if roi not in names:
            raise ValueError(f"No ROI {roi!r}; e.g. {names[:3]}.")
        return names.index(roi)
    if not 0 <= int(roi) < len(names):
        raise ValueError(f"ROI index {roi} out of range (0..{len(names) - 1}).")
    return int(roi)


def plot_roi_pair(pred: xr.Dataset, roi_a: int | str, roi_b: int | str,
                  scan: str | None = None, ax: Any = None):
    """True and predicted series of two ROIs of one scan (what a click on an FC cell shows).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    one = select_scan(pred, scan)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 2.6), layout="constrained")
    t = one.time.values
    for roi, style in ((roi_a, "-"), (roi_b, "--")):
        i = roi_index(one, roi)
        name = str(one.roi.values[i])
        color = network_color(str(one.network.values[i]))
        ax.plot(t, one["true"].values[:, i], color=TRUE_COLOR, ls=style, lw=1,
                label=f"{name} true")
        ax.plot(t, one["pred"].values[:, i], color=color, ls=style, lw=1.3,
                label=f"{name} predicted")
    ax.set_xlabel("time (s)")
    ax.legend(fontsize=7, ncol=2, frameon=False)
    ax.set_title(titled(f"ROI signals, {one.scan.values[0]}", pred), fontsize=9)
    return ax.figure
