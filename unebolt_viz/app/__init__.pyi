__all__ = [
    "sources",
    "CouplingLab",
    "FCExplorer",
    "FCMatrixPlot",
    "ROIPairPlot",
    "cached_results",
    "connectome_png",
    "density_curve_figure",
    "model_scatter_figure",
    "network_timeseries_figure",
    "surface_r_figure",
]

from . import sources
from .components.compare import model_scatter_figure
from .components.connectome import connectome_png
from .components.curves import density_curve_figure
from .components.fc_matrix import FCMatrixPlot
from .components.surface import surface_r_figure
from .components.timeseries import ROIPairPlot, network_timeseries_figure
from .explorer import FCExplorer, cached_results
from .lab.app import CouplingLab
