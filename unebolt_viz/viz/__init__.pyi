__all__ = [
    "PROVENANCE_LABELS",
    "decimate_mesh",
    "fc_blocks",
    "fc_order",
    "minmax_decimate",
    "network_groups",
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
]

from ._style import PROVENANCE_LABELS, provenance
from .curves import plot_density_curves
from .distributions import network_groups, plot_network_r, plot_scan_bars
from .fc import fc_blocks, fc_order, ordered_matrix, plot_fc, plot_fc_comparison
from .surface import decimate_mesh, plot_surface_r
from .timeseries import minmax_decimate, plot_network_timeseries, plot_roi_pair, select_scan
