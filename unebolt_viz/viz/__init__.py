"""Figures: they draw the package's data and metrics, and compute no science.

One module per kind of figure; static figures use matplotlib (for papers), interactive ones
Bokeh or Plotly (for browsers and the FC explorer app). Every figure states where its data
comes from (simulated, semi-synthetic or real) in its title or caption. Plotting libraries are
imported only when a figure is drawn.

``fc``             FC matrices grouped by network with colour bars (Fig. 4); the drawn order as data
``surface``        per-ROI values on the cortex, both hemispheres, lateral and medial (Fig. 2b)
``timeseries``     network signals (Fig. 3b) and pairs of ROIs, true vs predicted
``distributions``  R per network (Fig. 2c, 3a) and per-scan bars (Fig. 5)
``curves``         F1 and Pixcorr against density
"""

from __future__ import annotations

from ._style import PROVENANCE_LABELS, provenance
from .curves import density_curve_figure, plot_density_curves
from .distributions import network_groups, plot_network_r, plot_scan_bars
from .fc import FCMatrixPlot, fc_blocks, fc_order, ordered_matrix, plot_fc, plot_fc_comparison
from .surface import decimate_mesh, plot_surface_r, surface_r_figure
from .timeseries import (
    ROIPairPlot,
    minmax_decimate,
    network_timeseries_figure,
    plot_network_timeseries,
    plot_roi_pair,
    select_scan,
)

__all__ = [
    "FCMatrixPlot",
    "PROVENANCE_LABELS",
    "ROIPairPlot",
    "decimate_mesh",
    "density_curve_figure",
    "fc_blocks",
    "fc_order",
    "minmax_decimate",
    "network_groups",
    "network_timeseries_figure",
    "ordered_matrix",
    "plot_density_curves",
    "plot_fc",
    "plot_fc_comparison",
    "plot_network_r",
    "plot_network_timeseries",
    "plot_roi_pair",
    "plot_scan_bars",
    "plot_surface_r",
    "provenance",
    "select_scan",
    "surface_r_figure",
]
