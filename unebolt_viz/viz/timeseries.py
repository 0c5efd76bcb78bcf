"""True and predicted time series: network signals (paper Fig. 3b) and pairs of ROIs.

Network signals are the mean of a network's ROIs at each time point, as given by the accessor
(``pred.unebolt.network_means(var)``); their accuracy (R per network) comes from
:func:`unebolt_viz.metrics.network_r` and is only written in the titles here.

Fig. 3b of the UnEBOLT paper shows, for each network, the unseen scan where that network is
best predicted: ``plot_network_timeseries(pred, "best", network_r=...)`` draws each panel from
its own scan, the argmax over scans of the network's R (:func:`best_scan_per_network`).

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
    "best_scan_per_network",
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


def best_scan_per_network(network_r: xr.DataArray,
                          networks: Sequence[str] | None = None) -> dict[str, str]:
    """For each network, the scan where it is best predicted (the argmax of its R over scans).

    Parameters
    ----------
    network_r : xarray.DataArray
        From :func:`unebolt_viz.metrics.network_r`, dims ``(scan, network)``.
    networks : sequence of str, optional
        Networks to report (default: all of ``network_r``, in its order).

    Returns
    -------
    dict
        ``{network: scan}``. NaN values are skipped; ties go to the first scan.

    Raises
    ------
    ValueError
        If ``network_r`` has no ``scan`` dimension, a network is missing or all its values
        are NaN.
    """
    if "scan" not in network_r.dims or "network" not in network_r.dims:
        raise ValueError("best_scan_per_network needs network_r with dims (scan, network), as "
                         f"unebolt_viz.metrics.network_r returns; got {network_r.dims}.")
    have = list(map(str, network_r.network.values))
    chosen = have if networks is None else list(networks)
    missing = [n for n in chosen if n not in have]
    if missing:
        raise ValueError(f"network_r has no values for {missing}; it has {have}.")
    scans = network_r.scan.values.astype(str)
    out = {}
    for net in chosen:
        values = np.asarray(network_r.sel(network=net).transpose("scan").values, dtype=float)
        if np.all(np.isnan(values)):
            raise ValueError(f"Network {net!r} has no finite R in any scan.")
        out[net] = str(scans[int(np.nanargmax(values))])
    return out


def _panel_scans(pred: xr.Dataset, scan: str | None, chosen: list[str] | None,
                 network_r: xr.DataArray | None) -> tuple[list[str], dict[str, str]]:
    """The networks drawn and the scan of each panel (one scan, or the best one per network)."""
    if scan != "best":
        one = select_scan(pred, scan)
        name = str(one.scan.values[0])
        nets = networks_shown(one, chosen)
        return nets, {net: name for net in nets}
    if network_r is None or "scan" not in network_r.dims:
        raise ValueError('scan="best" draws each network from the scan where its R is highest: '
                         "pass network_r=unebolt_viz.metrics.network_r(pred) (with its scan "
                         "dimension).")
    nets = networks_shown(pred, chosen)
    present = set(map(str, pred.scan.values))
    r = network_r.sel(scan=[s for s in map(str, network_r.scan.values) if s in present])
    if r.sizes["scan"] == 0:
        raise ValueError("network_r shares no scan with the predictions; compute it from them.")
    return nets, best_scan_per_network(r, nets)


def plot_network_timeseries(
    pred: xr.Dataset,
    scan: str | None = None,
    *,
    networks: Sequence[str] | None = None,
    network_r: xr.DataArray | None = None,
    ncols: int = 2,
    title: str | None = None,
):
    """True vs predicted network signals, one panel per network (Fig. 3b).

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset.
    scan : str, optional
        Which scan (required when ``pred`` holds several), or ``"best"``: each network drawn
        from the scan where it is best predicted, as the paper's Fig. 3b does (needs
        ``network_r``; the scan is named in each panel title).
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
        ``fig.panel_scans`` holds the ``{network: scan}`` drawn.
    """
    import matplotlib.pyplot as plt

    chosen, panel_scans = _panel_scans(pred, scan, networks, network_r)
    nrows = int(np.ceil(len(chosen) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 1.7 * nrows + 0.6),
                             sharex=scan != "best", layout="constrained", squeeze=False)
    for ax, net in zip(axes.flat, chosen):
        one = select_scan(pred, panel_scans[net])
        t = one.time.values
        ax.plot(t, one.unebolt.network_means("true", [net]).sel(network=net).values,
                color=TRUE_COLOR, lw=1.0, label="true")
        ax.plot(t, one.unebolt.network_means("pred", [net]).sel(network=net).values,
                color=network_color(net), lw=1.2, label="predicted")
        r = network_r_of(network_r, panel_scans[net], net)
        where = f", {panel_scans[net]}" if scan == "best" else ""
        ax.set_title(network_short(net) + where + ("" if r is None else f"  (R = {r:.2f})"),
                     fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(chosen):]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("time (s)", fontsize=8)
    axes.flat[0].legend(fontsize=7, frameon=False, loc="upper right")
    default = ("Network signals, true vs predicted, best-predicted scan per network"
               if scan == "best" else
               f"Network signals, true vs predicted, {next(iter(panel_scans.values()))}")
    fig.suptitle(titled(title or default, pred), fontsize=10)
    fig.panel_scans = dict(panel_scans)
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
