"""Interactive components of the apps: Bokeh and Plotly figures for the browser.

One module per kind of figure, each the interactive twin of a static figure of
:mod:`unebolt_viz.viz`, whose helpers prepare the data drawn (same order, masks, decimation and
provenance in both):

``fc_matrix``   :class:`FCMatrixPlot`, the FC matrix with network bars, hover and click (Bokeh)
``timeseries``  network signals and the pair of ROIs of a clicked cell (Bokeh)
``curves``      F1 against density with a marker at the density shown (Bokeh)
``surface``     per-ROI values on a 3-D cortex for browsers and notebooks (Plotly)
``connectome``  strongest edges on a glass brain (nilearn, rendered to PNG on the server)
``compare``     per-ROI R of one model against another on one scan (Bokeh)
``labels``      network labels as the API spells them, colour-bar titles, captions
``readouts``    the explorer's words: header, readout, selection, metrics table
``export``      figure (PNG, SVG), metrics (CSV) and predictions (netCDF) as bytes
``shared``      what all sessions of a server share (cached sources and images)
``views``       the explorer's heavier tabs, built when shown
``volumes``     true | predicted | difference slices of a results file's volumes (Bokeh)

Import them from :mod:`unebolt_viz.app`; Bokeh and Plotly are imported only when a figure is
built, and this package imports none of its modules.
"""
