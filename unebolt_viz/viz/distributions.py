"""Distributions of prediction accuracy: R per network (Fig. 2c, 3a) and per-scan bars (Fig. 5).

The numbers come from :mod:`unebolt_viz.metrics` (``temporal_r``, ``network_r``, ``evaluate``,
``summary_table``); these functions only draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..networks import NETWORK_NAMES, canonical_network
from ._style import network_color, network_short, titled

__all__ = ["network_groups", "plot_network_r", "plot_scan_bars", "METRIC_LABELS"]

#: Axis labels of the metrics of :func:`unebolt_viz.metrics.evaluate`.
METRIC_LABELS = {"Tcorr": "Tcorr", "Pixcorr": "Pixcorr", "ConnMSE": "ConnMSE"}


def network_groups(r: xr.DataArray) -> dict[str, np.ndarray]:
    """The values of ``r`` grouped by network, networks in canonical order.

    Parameters
    ----------
    r : xarray.DataArray
        Either one value per ROI, dims ``(roi,)`` with a ``network`` (or ``roi_network``)
        coordinate, e.g. ``temporal_r(pred).mean("scan")`` (Fig. 2c: one point per ROI); or
        values per network, dims ``(scan, network)`` or ``(network,)``, e.g. ``network_r(pred)``
        (Fig. 3a: one point per scan).

    Returns
    -------
    dict
        ``{network: 1-D array of values}``.
    """
    if "network" in r.dims:
        other = [d for d in r.dims if d != "network"]
        if len(other) > 1:
            raise ValueError(f"Expected dims (scan, network); got {r.dims}.")
        values = r.transpose("network", *other)
        return {canonical_network(str(n)): np.atleast_1d(values.sel(network=n).values)
                for n in _ordered(r.network.values)}
    if tuple(r.dims) == ("roi",):
        coord = "network" if "network" in r.coords else "roi_network"
        if coord not in r.coords:
            raise ValueError("Per-ROI values need a 'network' coordinate on 'roi'.")
        nets = np.array([canonical_network(str(n)) for n in r.coords[coord].values])
        return {n: r.values[nets == n] for n in _ordered(nets)}
    raise ValueError(
        f"Got dims {r.dims}. Pass one value per ROI (e.g. temporal_r(pred).mean('scan')) or "
        "values per network (e.g. network_r(pred), dims (scan, network))."
    )


def _ordered(names) -> list[str]:
    present = {canonical_network(str(n)) for n in names}
    return [n for n in NETWORK_NAMES if n in present]


def plot_network_r(
    r: xr.DataArray,
    *,
    ax: Any = None,
    title: str | None = None,
    ylabel: str = "temporal R",
    sort: str = "canonical",
    seed: int = 0,
    data_source: str | None = None,
):
    """R per network as box plots with every point shown (Fig. 2c and 3a).

    Parameters
    ----------
    r : xarray.DataArray
        See :func:`network_groups`; must carry a ``data_source`` attribute.
    ax : matplotlib.axes.Axes, optional
    title : str, optional
        Title (the provenance is appended).
    ylabel : str
    sort : {"canonical", "median"}
        Network order: Yeo order, or by decreasing median.
    seed : int
        Seed of the horizontal jitter of the points (drawing only).
    data_source : str, optional
        Provenance, when ``r`` lost its ``data_source`` attribute (xarray reductions such as
        ``.mean("scan")`` drop attributes; so do the variables of ``evaluate``'s Dataset).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    groups = network_groups(r)
    names = list(groups)
    if sort == "median":
        names.sort(key=lambda n: -np.median(groups[n]))
    elif sort != "canonical":
        raise ValueError(f"sort={sort!r}; use 'canonical' or 'median'.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.75 * len(names) + 1.6, 3.4), layout="constrained")
    rng = np.random.default_rng(seed)
    data = [groups[n] for n in names]
    boxes = ax.boxplot(data, positions=np.arange(len(names)), widths=0.55, showfliers=False,
                       patch_artist=True, medianprops={"color": "black"})
    for patch, name in zip(boxes["boxes"], names):
        patch.set_facecolor(network_color(name))
        patch.set_alpha(0.35)
    for k, (name, values) in enumerate(zip(names, data)):
        ax.scatter(k + rng.uniform(-0.18, 0.18, len(values)), values, s=12,
                   color=network_color(name), edgecolor="white", linewidth=0.4, zorder=3)
    ax.axhline(0, color="#999999", lw=0.6, zorder=0)
    ax.set_xticks(np.arange(len(names)), [network_short(n) for n in names], rotation=35,
                  ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    per = "ROI" if "roi" in r.dims else ("scan" if "scan" in r.dims else "value")
    ax.set_title(titled(title or f"{ylabel} per network (one point per {per})",
                        data_source or r), fontsize=9)
    return ax.figure


def plot_scan_bars(
    metrics: xr.Dataset,
    *,
    columns: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
    color: str = "#4C72B0",
    seed: int = 0,
):
    """Per-scan metrics as bars (mean), error bars (S.D.) and one point per scan (Fig. 5).

    Parameters
    ----------
    metrics : xarray.Dataset
        From :func:`unebolt_viz.metrics.evaluate`; the means and sample standard deviations
        are those of :func:`unebolt_viz.metrics.summary_table`.
    columns : sequence of str, optional
        Columns of the summary table to draw (default: Tcorr, Pixcorr, ConnMSE and the F1 at
        the paper's densities 0.25 and 0.50 when present, else every F1 column).
    ax, title, color, seed :
        Axes, title (provenance appended), bar colour, jitter seed.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ..metrics import summary_table

    table = summary_table(metrics, formatted=False)
    per_scan = table.drop(index=["mean", "std"])
    if columns is None:
        from ..metrics import DEFAULT_DENSITIES

        paper_f1 = [f"F1-{d:.2f}" for d in DEFAULT_DENSITIES if f"F1-{d:.2f}" in per_scan]
        f1_columns = paper_f1 or [c for c in per_scan.columns if c.startswith("F1-")]
        columns = ["Tcorr", "Pixcorr", "ConnMSE", *f1_columns]
    columns = list(columns)
    unknown = [c for c in columns if c not in per_scan.columns]
    if unknown:
        raise ValueError(f"Unknown columns {unknown}; available: {list(per_scan.columns)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.9 * len(columns) + 1.5, 3.2), layout="constrained")
    x = np.arange(len(columns))
    ax.bar(x, table.loc["mean", columns].to_numpy(float), yerr=table.loc["std", columns].to_numpy(float),
           color=color, alpha=0.55, capsize=4, width=0.6, error_kw={"lw": 1})
    rng = np.random.default_rng(seed)
    for k, col in enumerate(columns):
        values = per_scan[col].to_numpy(float)
        ax.scatter(k + rng.uniform(-0.15, 0.15, len(values)), values, s=14, color="black",
                   zorder=3)
    ax.set_xticks(x, columns, fontsize=8)
    model = metrics.attrs.get("model", "")
    ax.set_title(titled(title or f"Per-scan metrics{', ' + model if model else ''} "
                        f"(n = {len(per_scan)} scans; bars mean, error bars S.D.)", metrics),
                 fontsize=9)
    return ax.figure
