"""The Panel apps of unebolt_viz (imported on demand: this subpackage imports Panel).

``FCExplorer``  true vs predicted FC across sparsity, scans, models and parcellation levels,
                with the per-ROI R on the cortex and network time series.
``sources``     what the explorer can show and where it may read it (no Panel import).
"""

from __future__ import annotations

from .explorer import FCExplorer, cached_results

__all__ = ["FCExplorer", "cached_results"]
