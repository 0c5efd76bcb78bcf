"""The Panel apps of unebolt_viz and their interactive components.

``FCExplorer``                 true vs predicted FC across sparsity, scans, models and
                               parcellation levels, with the per-ROI R on the cortex and network
                               time series (imports Panel).
``sources``                    what the explorer can show and where it may read it (no Panel
                               import).
``FCMatrixPlot``               interactive FC matrix: network bars, hover, click (Bokeh).
``network_timeseries_figure``  network signals, true vs predicted (Bokeh).
``ROIPairPlot``                the two ROIs of a clicked FC cell (Bokeh).
``density_curve_figure``       F1 against density with a marker (Bokeh).
``surface_r_figure``           per-ROI values on a 3-D cortex for browsers and notebooks (Plotly).

The components (:mod:`unebolt_viz.app.components`, one module per kind of figure) are the
interactive twins of the static figures of :mod:`unebolt_viz.viz`, whose helpers prepare the
data they draw. Panel, Bokeh and Plotly are imported on first use of a name that needs them, so
that ``unebolt_viz.app.sources`` works without them.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
