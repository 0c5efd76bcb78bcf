"""Static figures (matplotlib, for papers): they draw data and metrics, and compute no science.

One module per kind of figure. Every figure states where its data comes from (simulated,
semi-synthetic or real) in its title or caption. Matplotlib is imported only when a figure is
drawn. The helpers that prepare what a figure draws (the drawn order of an FC matrix, decimated
meshes and series, the scan shown, the provenance words) are public, so that the interactive
figures of :mod:`unebolt_viz.app` draw the same data; this package never imports the app.

``fc``             FC matrices grouped by network with colour bars (Fig. 4); the drawn order as data
``surface``        per-ROI values on the cortex, both hemispheres, lateral and medial (Fig. 2b)
``timeseries``     network signals (Fig. 3b) and pairs of ROIs, true vs predicted
``distributions``  R per network (Fig. 2c, 3a) and per-scan bars (Fig. 5)
``curves``         F1 and Pixcorr against density
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
