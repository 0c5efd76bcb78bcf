"""The interactive FC matrix (Bokeh): network bars, hover names, click on a cell, in-place updates.

It draws what :func:`unebolt_viz.viz.plot_fc` draws (same ROI order from
:func:`~unebolt_viz.viz.fc_order`, same edge masks, same colour map), for the FC explorer app.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr

from ...networks import NETWORK_NAMES
from ...viz._style import FC_CMAP
from ...viz.fc import (
    MASKED_COLOR,
    check_fc,
    density_mask,
    fc_blocks,
    fc_order,
    fc_title,
    ordered_matrix,
)
from .labels import FC_COLORBAR_TITLE, network_label

__all__ = ["FCMatrixPlot"]

_NAME_AT = """
const i = Math.floor(value);
return (i >= 0 && i < names.length) ? names[i] : "";
"""


@lru_cache(maxsize=8)
def _palette(cmap: str, n: int = 256) -> tuple[str, ...]:
    """A matplotlib colour map as a Bokeh palette (the static and interactive figures agree).

    Only ``matplotlib.colormaps`` is needed (not pyplot, slow to import in a server).
    """
    import matplotlib
    from matplotlib.colors import to_hex

    colormap = matplotlib.colormaps[cmap]
    return tuple(to_hex(colormap(k / (n - 1))) for k in range(n))


class FCMatrixPlot:
    """An interactive FC matrix (Bokeh): network bars, hover names, click, in-place updates.

    Parameters
    ----------
    fc : xarray.DataArray
        The ``fc`` container to draw first.
    title : str, optional
        Title; the provenance is appended.
    density : float, optional
        Initial density (see :func:`unebolt_viz.viz.plot_fc`); or give ``mask``.
    mask : array-like of bool, optional
        Initial edge mask.
    order : sequence of str
        Network order.
    size : int
        Width and height in pixels.
    vmax : float
        Colour scale limits ``[-vmax, vmax]``.
    share_ranges_with : FCMatrixPlot, optional
        Pan and zoom together with this plot (true beside predicted).
    colorbar_title : str
        Title of the colour bar (default ``"Pearson r"``).

    Attributes
    ----------
    figure : bokeh.plotting.figure
        The figure to show (e.g. in ``panel.pane.Bokeh``).
    order : xarray.DataArray
        The drawn order (see :func:`unebolt_viz.viz.fc_order`).
    blocks : pandas.DataFrame
        The network blocks drawn as colour bars.
    image_source, bar_source : bokeh.models.ColumnDataSource
        The drawn matrix and the colour bars, readable for tests.
    """

    def __init__(
        self,
        fc: xr.DataArray,
        *,
        title: str | None = None,
        density: float | None = None,
        mask: Any = None,
        order: Sequence[str] = NETWORK_NAMES,
        size: int = 430,
        vmax: float = 1.0,
        share_ranges_with: FCMatrixPlot | None = None,
        colorbar_title: str = FC_COLORBAR_TITLE,
    ) -> None:
        from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper, Range1d
        from bokeh.plotting import figure

        fc = check_fc(fc)
        self.order = fc_order(fc, order)
        self.blocks = fc_blocks(self.order)
        self._fc = fc
        n = fc.sizes["roi"]
        self.n_rois = n
        bar = max(1.0, 0.035 * n)
        if share_ranges_with is not None:
            x_range, y_range = share_ranges_with.figure.x_range, share_ranges_with.figure.y_range
        else:
            x_range, y_range = Range1d(-1.6 * bar, n, bounds=(-1.6 * bar, n)), \
                Range1d(n, -1.6 * bar, bounds=(-1.6 * bar, n))
        fig = figure(
            width=size + 70, height=size + 30, x_range=x_range, y_range=y_range,
            tools="tap,pan,wheel_zoom,box_zoom,reset,save", toolbar_location="above",
            title=fc_title(fc, title, density),
        )
        fig.grid.visible = False
        fig.outline_line_color = None
        mapper = LinearColorMapper(palette=_palette(FC_CMAP), low=-vmax, high=vmax,
                                   nan_color=MASKED_COLOR)
        self.image_source = ColumnDataSource({"image": [self._display(density_mask(fc, density, mask))]})
        image = fig.image(image="image", x=0, y=0, dw=n, dh=n, color_mapper=mapper,
                          source=self.image_source, name="fc-matrix")
        self._draw_network_bars(fig, bar, size)
        self._add_hover(fig, image)
        # A readable colour-bar title above the bar (Bokeh's default is small and rotated).
        self.colorbar = ColorBar(color_mapper=mapper, width=12, title=colorbar_title,
                                 title_text_font_size="11pt", title_text_font_style="normal",
                                 title_standoff=8, major_label_text_font_size="9pt")
        fig.add_layout(self.colorbar, "right")
        self.selection_source = ColumnDataSource({"x": [], "y": []})
        fig.rect(x="x", y="y", width=1, height=1, fill_color=None, line_color="black",
                 line_width=2, source=self.selection_source)
        self.figure = fig

    def _draw_network_bars(self, fig: Any, bar: float, size: int) -> None:
        """Colour bars of the networks on the left and top, white block borders, block names."""
        from bokeh.models import ColumnDataSource, FixedTicker

        n = self.n_rois
        starts = self.blocks["start"].to_numpy(float)
        stops = self.blocks["stop"].to_numpy(float)
        shorts = [network_label(n) for n in self.blocks["network"]]
        self.bar_source = ColumnDataSource({
            "network": list(self.blocks["network"]), "short": shorts,
            "color": list(self.blocks["color"]), "start": starts, "stop": stops,
        })
        fig.quad(left=-1.5 * bar, right=-0.5 * bar, top="start", bottom="stop", color="color",
                 source=self.bar_source, name="network-bar-left")
        fig.quad(left="start", right="stop", top=-1.5 * bar, bottom=-0.5 * bar, color="color",
                 source=self.bar_source, name="network-bar-top")
        inner = stops[:-1]
        zeros, ends = np.zeros_like(inner), np.full_like(inner, n)
        fig.segment(x0=np.concatenate([zeros, inner]), x1=np.concatenate([ends, inner]),
                    y0=np.concatenate([inner, zeros]), y1=np.concatenate([inner, ends]),
                    line_color="white", line_width=0.7)

        # Network names at the middle of blocks large enough to be read; hover names the rest.
        min_rows = n * 11.0 / size
        mids = [(a + b) / 2 for a, b in zip(starts, stops) if b - a >= min_rows]
        overrides = {m: s for m, s, a, b in zip((starts + stops) / 2, shorts,
                                                starts, stops) if b - a >= min_rows}
        for axis in (fig.xaxis, fig.yaxis):
            axis.ticker = FixedTicker(ticks=mids)
            axis.major_label_overrides = overrides
            axis.major_tick_line_color = None
            axis.minor_tick_line_color = None
            axis.axis_line_color = None
        fig.xaxis.major_label_orientation = np.pi / 3
        fig.xaxis.axis_label_text_font_size = "8pt"

    def _add_hover(self, fig: Any, image: Any) -> None:
        """Hover names the row and column ROIs (with their network) and the value."""
        from bokeh.models import CustomJSHover, HoverTool

        names = [str(r) for r in self.order.roi.values]
        nets = [network_label(str(x)) for x in self.order.network.values]
        labelled = [f"{a} ({b})" for a, b in zip(names, nets)]
        fig.add_tools(HoverTool(
            renderers=[image],
            tooltips=[("row", "$y{row}"), ("column", "$x{col}"), ("r", "@image{0.00}")],
            formatters={"$y": CustomJSHover(args={"names": labelled}, code=_NAME_AT),
                        "$x": CustomJSHover(args={"names": labelled}, code=_NAME_AT)},
        ))

    def _display(self, mask: np.ndarray | None, fc: xr.DataArray | None = None) -> np.ndarray:
        return ordered_matrix(self._fc if fc is None else fc, self.order, mask, np.float32)

    def update(self, fc: xr.DataArray | None = None, *, mask: Any = None,
               density: float | None = None, title: str | None = None) -> None:
        """Redraw in place with a new matrix and/or edge mask (same ROIs).

        Parameters
        ----------
        fc : xarray.DataArray, optional
            A new ``fc`` container over the same ROIs (the current one otherwise).
        mask : array-like of bool, optional
            Edge mask to apply; or give ``density``.
        density : float, optional
            Show the edges a graph of this density keeps.
        title : str, optional
            New title (the provenance is appended).
        """
        if fc is not None:
            fc = check_fc(fc)
            if list(fc.roi.values) != list(self._fc.roi.values):
                raise ValueError("update() needs the same ROIs; build a new FCMatrixPlot.")
            self._fc = fc
        matrix = self._display(density_mask(self._fc, density, mask))
        self.image_source.data = {"image": [matrix]}
        if title is not None or fc is not None:
            self.figure.title.text = fc_title(self._fc, title, density)

    @property
    def drawn_matrix(self) -> np.ndarray:
        """The matrix currently drawn (NaN = edge not kept)."""
        return np.asarray(self.image_source.data["image"][0])

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """ROI indices (in ``fc`` order) of the cell at data coordinates ``(x, y)``."""
        col, row = int(np.floor(x)), int(np.floor(y))
        if not (0 <= row < self.n_rois and 0 <= col < self.n_rois):
            return None
        idx = self.order.values
        return int(idx[row]), int(idx[col])

    def select(self, roi_a: int, roi_b: int) -> None:
        """Outline the cell of two ROIs (indices in ``fc`` order)."""
        position = np.empty(self.n_rois, dtype=int)
        position[self.order.values] = np.arange(self.n_rois)
        self.selection_source.data = {"x": [position[roi_b] + 0.5], "y": [position[roi_a] + 0.5]}

    def on_cell_click(self, callback: Callable[[int, int], None]) -> None:
        """Call ``callback(roi_a, roi_b)`` (indices in ``fc`` order) when a cell is clicked.

        Works when the figure is served (Bokeh or Panel server).
        """
        from bokeh.events import Tap

        def _on_tap(event: Any) -> None:
            cell = self.cell_at(event.x, event.y)
            if cell is not None:
                callback(*cell)

        self.figure.on_event(Tap, _on_tap)
