"""Two models on one scan: per-ROI temporal R of one against the other (Bokeh scatter)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ...viz._style import network_color, provenance
from .labels import network_label

__all__ = ["model_scatter_figure"]


def model_scatter_figure(r_a: xr.DataArray, r_b: xr.DataArray, label_a: str, label_b: str, *,
                         scan: str = "", data_source: str | None = None,
                         size: int = 460) -> tuple[Any, dict[str, float]]:
    """Per-ROI R of model A (y) against model B (x) on the same scan, one dot per ROI.

    Parameters
    ----------
    r_a, r_b : xarray.DataArray
        Temporal R per ROI (dim ``roi``, same ROIs) of the two models, e.g.
        ``evaluate(pred)["temporal_r"].sel(scan=...)``.
    label_a, label_b : str
        Model names (axis labels).
    scan : str
        Named in the title.
    data_source : str, optional
        Provenance when ``r_a`` carries none.
    size : int
        Width and height in pixels.

    Returns
    -------
    (figure, summary)
        The Bokeh figure (hover names the ROI) and ``{"mean_a", "mean_b", "a_better"}`` (the
        fraction of ROIs where A's R is higher).
    """
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure

    if list(map(str, r_a.roi.values)) != list(map(str, r_b.roi.values)):
        r_b = r_b.sel(roi=r_a.roi.values)
    a, b = np.asarray(r_a.values, float), np.asarray(r_b.values, float)
    nets = [str(n) for n in r_a.network.values] if "network" in r_a.coords else \
        ["No network"] * a.size
    source = ColumnDataSource({"a": a, "b": b, "roi": [str(r) for r in r_a.roi.values],
                               "network": [network_label(n) for n in nets],
                               "color": [network_color(n) for n in nets]})
    lo = float(min(np.nanmin(a), np.nanmin(b), 0.0)) - 0.05
    hi = float(max(np.nanmax(a), np.nanmax(b), 0.0)) + 0.05
    words = provenance(data_source or r_a.attrs.get("data_source"))
    fig = figure(width=size, height=size, x_range=(lo, hi), y_range=(lo, hi),
                 tools="pan,wheel_zoom,box_zoom,reset,save",
                 title=f"Per-ROI temporal R, {scan} ({words})")
    fig.line([lo, hi], [lo, hi], color="#888888", line_dash="dashed")
    dots = fig.scatter("b", "a", source=source, color="color", size=7, alpha=0.85,
                       line_color="#333333", line_width=0.3)
    fig.add_tools(HoverTool(renderers=[dots], tooltips=[("ROI", "@roi (@network)"),
                                                         (label_a, "@a{0.00}"),
                                                         (label_b, "@b{0.00}")]))
    fig.xaxis.axis_label = f"{label_b}: R"
    fig.yaxis.axis_label = f"{label_a}: R"
    summary = {"mean_a": float(np.nanmean(a)), "mean_b": float(np.nanmean(b)),
               "a_better": float(np.nanmean(a > b))}
    return fig, summary
