"""Interactive (Bokeh) F1 against density, with a marker at the density shown in the app.

The interactive twin of :func:`unebolt_viz.viz.plot_density_curves` (same lines, from
:func:`unebolt_viz.viz.curves.curve_arrays`); F1 itself comes from :mod:`unebolt_viz.metrics`.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from ...viz._style import provenance
from ...viz.curves import curve_arrays

__all__ = ["density_curve_figure"]


def density_curve_figure(f1: xr.DataArray, *, current: tuple[float, float] | None = None,
                         data_source: str | None = None, width: int = 330,
                         height: int = 250) -> tuple[Any, Any]:
    """Interactive (Bokeh) F1-density curve of one scan, with a marker at the current density.

    Parameters
    ----------
    f1 : xarray.DataArray
        Dims ``(density,)`` (or ``(scan, density)``: the mean line is drawn).
    current : (density, f1), optional
        Where the marker starts (the F1 computed by :mod:`unebolt_viz.metrics` at the density
        shown).
    data_source : str, optional
        Provenance when ``f1`` has no ``data_source`` attribute.
    width, height : int
        Size in pixels.

    Returns
    -------
    (figure, marker_source) : tuple
        Move the marker with ``marker_source.data = {"x": [density], "y": [f1]}``.
    """
    from bokeh.models import ColumnDataSource
    from bokeh.plotting import figure

    words = provenance(data_source or f1.attrs.get("data_source"))
    dens, values, _ = curve_arrays(f1)
    fig = figure(width=width, height=height, x_range=(0, 1), y_range=(0, 1.02),
                 tools="save", toolbar_location=None, title=f"F1 against density ({words})")
    fig.line(dens, values.mean(axis=0), color="#4C72B0", line_width=2, legend_label="F1")
    fig.scatter(dens, values.mean(axis=0), color="#4C72B0", size=4)
    fig.line([0, 1], [0, 1], color="#999999", line_dash="dotted", legend_label="chance")
    marker = ColumnDataSource({"x": [], "y": []})
    fig.scatter("x", "y", source=marker, size=11, color="#d62728", marker="diamond")
    if current is not None:
        marker.data = {"x": [float(current[0])], "y": [float(current[1])]}
    fig.legend.location = "top_left"
    fig.legend.label_text_font_size = "8pt"
    fig.legend.background_fill_alpha = 0.5
    fig.xaxis.axis_label = "density"
    fig.title.text_font_size = "9pt"
    return fig, marker
