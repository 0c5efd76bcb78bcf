"""The Panel apps of unebolt_viz.

``FCExplorer``  true vs predicted FC across sparsity, scans, models and parcellation levels,
                with the per-ROI R on the cortex and network time series (imports Panel).
``sources``     what the explorer can show and where it may read it (no Panel import).

Panel is imported on first use of ``FCExplorer``, so that ``unebolt_viz.app.sources`` works
without it.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
