"""Interactive components of the apps: Bokeh and Plotly figures for the browser.

One module per kind of figure, each the interactive twin of a static figure of
:mod:`unebolt_viz.viz`, whose helpers prepare the data drawn (same order, masks, decimation and
provenance in both):

``fc_matrix``   :class:`FCMatrixPlot`, the FC matrix with network bars, hover and click (Bokeh)
``timeseries``  network signals and the pair of ROIs of a clicked cell (Bokeh)
``curves``      F1 against density with a marker at the density shown (Bokeh)
``surface``     per-ROI values on a 3-D cortex for browsers and notebooks (Plotly)

Import them from :mod:`unebolt_viz.app`; Bokeh and Plotly are imported only when a figure is
built, and this package imports none of its modules.
"""
