"""Interactive (Bokeh) time series: network signals and the pair of ROIs of a clicked FC cell.

The interactive twins of :func:`unebolt_viz.viz.plot_network_timeseries` and
:func:`unebolt_viz.viz.plot_roi_pair`: the same scans, networks and ROIs (chosen by the helpers
of :mod:`unebolt_viz.viz.timeseries`), with every line decimated for the browser by
:func:`unebolt_viz.viz.minmax_decimate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...viz._style import network_color, provenance, titled
from ...viz.timeseries import (
    MAX_POINTS,
    TRUE_COLOR,
    minmax_decimate,
    network_r_of,
    networks_shown,
    roi_index,
    select_scan,
)
from .labels import ZSCORE_NOTE, network_label

__all__ = ["network_timeseries_figure", "ROIPairPlot", "zscore_for_display"]


def zscore_for_display(values: Any) -> np.ndarray:
    """``values`` minus their mean, over their SD (a constant trace becomes zeros).

    Predictions are often much smaller than the truth (a model hedging towards the mean), and on
    a shared axis they look flat beside a good r; z-scoring each trace shows their shape.
    """
    arr = np.asarray(values, dtype=float)
    centred = arr - arr.mean()
    sd = centred.std()
    return centred / sd if sd > 0 else centred


def _legend_html(pred_color: str | None) -> str:
    """A legend drawn above the panels (never over the data)."""
    pred = ("<span style='color:{c}'>&#9644;&#9644;</span> predicted (network colour)"
            .format(c=pred_color or "#1f77b4"))
    return ("<span style='font-size:12px'><span style='color:#222'>&#9644;&#9644;</span> true "
            f"&nbsp;&nbsp;{pred}</span>")


def network_timeseries_figure(
    pred: xr.Dataset,
    scan: str | None = None,
    *,
    networks: Sequence[str] | None = None,
    network_r: xr.DataArray | None = None,
    max_points: int = MAX_POINTS,
    width: int = 900,
    panel_height: int = 120,
) -> Any:
    """Interactive (Bokeh) network signals, true vs predicted, panels sharing the time axis.

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
    max_points : int
        Each line is decimated to at most this many points
        (:func:`unebolt_viz.viz.minmax_decimate`).
    width, panel_height : int
        Width and height of one panel in pixels.

    Returns
    -------
    bokeh.models.LayoutDOM
        A column: a title (with the provenance, the legend and a note that each trace is
        z-scored for display), then one figure per network.
    """
    from bokeh.layouts import column
    from bokeh.models import Div
    from bokeh.plotting import figure

    one = select_scan(pred, scan)
    scan = str(one.scan.values[0])
    chosen = networks_shown(one, networks)
    true = one.unebolt.network_means("true", chosen)
    est = one.unebolt.network_means("pred", chosen)
    t = one.time.values
    figures: list[Any] = [
        Div(text=f"<b>{titled(f'Network signals, {scan}', pred)}</b><br>"
                 f"{_legend_html(None)}<br><span style='font-size:11px;color:#555'>"
                 f"{ZSCORE_NOTE}</span>", css_classes=["network-legend"], width=width)]
    x_range = None
    for net in chosen:
        r = network_r_of(network_r, scan, net)
        fig = figure(width=width, height=panel_height,
                     x_range=x_range if x_range is not None else (float(t[0]), float(t[-1])),
                     tools="xpan,xwheel_zoom,reset,save", toolbar_location="right",
                     sizing_mode="stretch_width",
                     title=network_label(net) + ("" if r is None else f"  (R = {r:.2f})"))
        x_range = fig.x_range
        fig.line(*minmax_decimate(t, zscore_for_display(true.sel(network=net).values),
                                  max_points), color=TRUE_COLOR, line_width=1.2, name="true")
        fig.line(*minmax_decimate(t, zscore_for_display(est.sel(network=net).values),
                                  max_points), color=network_color(net), line_width=1.6,
                 name="pred")
        fig.yaxis.axis_label = "z"
        fig.title.text_font_size = "9pt"
        fig.xaxis.visible = net == chosen[-1]
        figures.append(fig)
    figures[-1].xaxis.axis_label = "time (s)"
    return column(*figures, sizing_mode="stretch_width")


class ROIPairPlot:
    """Interactive (Bokeh) true and predicted series of two ROIs, updated in place.

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset.
    scan : str, optional
        The scan shown.
    max_points : int
        Points per line sent to the browser (:func:`unebolt_viz.viz.minmax_decimate`).
    width, height : int
        Size in pixels.

    Attributes
    ----------
    figure : bokeh.plotting.figure
    sources : dict of bokeh.models.ColumnDataSource
        ``"true_a"``, ``"pred_a"``, ``"true_b"``, ``"pred_b"``, each with columns ``t``, ``y``;
        ``y`` is the trace z-scored for display (:func:`zscore_for_display`).
    """

    _LINES = (("true_a", TRUE_COLOR, "solid"), ("pred_a", "#1f77b4", "solid"),
              ("true_b", "#777777", "dashed"), ("pred_b", "#d62728", "dashed"))

    def __init__(self, pred: xr.Dataset, scan: str | None = None, *,
                 max_points: int = MAX_POINTS, width: int = 900, height: int = 230) -> None:
        from bokeh.models import ColumnDataSource, Legend, LegendItem
        from bokeh.plotting import figure

        self._pred = select_scan(pred, scan)
        self._source_words = provenance(pred)
        self.max_points = max_points
        fig = figure(width=width, height=height, tools="xpan,xwheel_zoom,reset,save",
                     title="Click a cell of an FC matrix to see its two ROIs' time series",
                     sizing_mode="stretch_width")
        self.sources, items = {}, []
        for key, color, dash in self._LINES:
            self.sources[key] = ColumnDataSource({"t": [], "y": []})
            line = fig.line("t", "y", source=self.sources[key], color=color, line_dash=dash,
                            line_width=1.4)
            items.append(LegendItem(label=key, renderers=[line]))
        self.legend = Legend(items=items, orientation="horizontal", location="top_left",
                             label_text_font_size="8pt", background_fill_alpha=0.6)
        fig.add_layout(self.legend, "above")
        fig.xaxis.axis_label = "time (s)"
        fig.yaxis.axis_label = "z (each trace)"
        fig.title.text_font_size = "10pt"
        self.figure = fig

    def update(self, roi_a: int | str, roi_b: int | str) -> None:
        """Show ROIs ``roi_a`` and ``roi_b`` (indices or names).

        Parameters
        ----------
        roi_a, roi_b : int or str
            The two ROIs, by index or name.

        Raises
        ------
        ValueError
            If there is no such ROI.
        """
        one = self._pred
        i, j = roi_index(one, roi_a), roi_index(one, roi_b)
        t = one.time.values
        names = one.roi.values.astype(str)
        nets = one.network.values.astype(str)
        for item, (key, _, _) in zip(self.legend.items, self._LINES):
            var, which = key.split("_")
            k = i if which == "a" else j
            td, yd = minmax_decimate(t, zscore_for_display(one[var].values[:, k]),
                                     self.max_points)
            self.sources[key].data = {"t": td, "y": yd}
            item.label = {"value": f"{names[k]} {'true' if var == 'true' else 'predicted'}"}
        self.figure.title.text = (
            f"{names[i]} ({network_label(nets[i])}) and {names[j]} ({network_label(nets[j])}), "
            f"{one.scan.values[0]} ({self._source_words}); each trace z-scored for display"
        )
