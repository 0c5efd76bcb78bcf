"""Interactive (Bokeh) time series: network signals and the pair of ROIs of a clicked FC cell.

The interactive twins of :func:`unebolt_viz.viz.plot_network_timeseries` and
:func:`unebolt_viz.viz.plot_roi_pair`: the same scans, networks and ROIs (chosen by the helpers
of :mod:`unebolt_viz.viz.timeseries`), with every line decimated for the browser by
:func:`unebolt_viz.viz.minmax_decimate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from ...viz._style import network_color, network_short, provenance, titled
from ...viz.timeseries import (
    MAX_POINTS,
    TRUE_COLOR,
    minmax_decimate,
    network_r_of,
    networks_shown,
    roi_index,
    select_scan,
)

__all__ = ["network_timeseries_figure", "ROIPairPlot"]


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
        A column: a title (with the provenance), then one figure per network.
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
    figures: list[Any] = [Div(text=f"<b>{titled(f'Network signals, {scan}', pred)}</b>")]
    x_range = None
    for net in chosen:
        r = network_r_of(network_r, scan, net)
        fig = figure(width=width, height=panel_height,
                     x_range=x_range if x_range is not None else (float(t[0]), float(t[-1])),
                     tools="xpan,xwheel_zoom,reset,save", toolbar_location="right",
                     title=network_short(net) + ("" if r is None else f"  (R = {r:.2f})"))
        x_range = fig.x_range
        labels = ({"legend_label": "true"}, {"legend_label": "predicted"}) \
            if net == chosen[0] else ({}, {})
        fig.line(*minmax_decimate(t, true.sel(network=net).values, max_points),
                 color=TRUE_COLOR, line_width=1.2, **labels[0])
        fig.line(*minmax_decimate(t, est.sel(network=net).values, max_points),
                 color=network_color(net), line_width=1.6, **labels[1])
        if net == chosen[0]:
            fig.legend.location = "top_left"
            fig.legend.orientation = "horizontal"
            fig.legend.label_text_font_size = "8pt"
            fig.legend.background_fill_alpha = 0.6
        fig.title.text_font_size = "9pt"
        fig.xaxis.visible = net == chosen[-1]
        figures.append(fig)
    figures[-1].xaxis.axis_label = "time (s)"
    return column(*figures)


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
        ``"true_a"``, ``"pred_a"``, ``"true_b"``, ``"pred_b"``, each with columns ``t``, ``y``.
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
                     title="Click a cell of an FC matrix to see its two ROIs' time series")
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
            td, yd = minmax_decimate(t, one[var].values[:, k], self.max_points)
            self.sources[key].data = {"t": td, "y": yd}
            item.label = {"value": f"{names[k]} {'true' if var == 'true' else 'predicted'}"}
        self.figure.title.text = (
            f"{names[i]} ({network_short(nets[i])}) and {names[j]} ({network_short(nets[j])}), "
            f"{one.scan.values[0]} ({self._source_words})"
        )
