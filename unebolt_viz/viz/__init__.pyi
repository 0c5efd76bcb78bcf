__all__ = [
    "PROVENANCE_LABELS",
    "atlas_3d",
    "atlas_explorer",
    "best_scan_per_network",
    "connectome_3d",
    "coupling_explorer",
    "decimate_mesh",
    "density_explorer",
    "fc_blocks",
    "fc_order",
    "fc_tap_explorer",
    "hrf_delay_explorer",
    "interactive",
    "loss_explorer",
    "minmax_decimate",
    "model_comparison_explorer",
    "network_groups",
    "network_trace_explorer",
    "ordered_matrix",
    "plot_density_curves",
    "plot_fc",
    "plot_fc_comparison",
    "plot_network_r",
    "plot_network_timeseries",
    "plot_roi_specific_comparison",
    "plot_roi_pair",
    "plot_scan_bars",
    "plot_surface_r",
    "provenance",
    "select_scan",
    "surface_r_3d",
]

from . import interactive
from ._style import PROVENANCE_LABELS, provenance
from .curves import plot_density_curves
from .distributions import network_groups, plot_network_r, plot_scan_bars
from .fc import fc_blocks, fc_order, ordered_matrix, plot_fc, plot_fc_comparison
from .fig2a import plot_roi_specific_comparison
from .interactive import (
    atlas_3d,
    atlas_explorer,
    connectome_3d,
    coupling_explorer,
    density_explorer,
    fc_tap_explorer,
    hrf_delay_explorer,
    loss_explorer,
    model_comparison_explorer,
    network_trace_explorer,
    surface_r_3d,
)
from .surface import decimate_mesh, plot_surface_r
from .timeseries import (
    best_scan_per_network,
    minmax_decimate,
    plot_network_timeseries,
    plot_roi_pair,
    select_scan,
)
