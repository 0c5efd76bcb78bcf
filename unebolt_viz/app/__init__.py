"""The Panel apps of unebolt_viz.

``FCExplorer``  true vs predicted FC across sparsity, scans, models and parcellation levels,
                with the per-ROI R on the cortex and network time series (imports Panel).
``sources``     what the explorer can show and where it may read it (no Panel import).

``FCExplorer`` is loaded on first access, so that ``unebolt_viz.app.sources`` works without
Panel installed.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["FCExplorer", "cached_results"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module(".explorer", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
