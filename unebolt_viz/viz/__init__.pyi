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
