"""unebolt_viz: EEG-to-fMRI translation with UnEBOLT, as data, models, metrics and apps.

Scalp EEG windows go in; whole-brain BOLD ROI time series and functional connectivity come out,
as labelled xarray objects. Importing this package is light: PyTorch, Panel, Plotly, MNE and
nilearn are imported only when a function that needs them is called.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import networks
from .atlas import Atlas, load_atlas
from .data import (
    InvalidDataError,
    eeg_windows,
    fc_matrix,
    load,
    predictions,
    roi_timeseries,
    save,
    validate,
)
from .networks import NETWORK_NAMES, NETWORKS, YEO7_NAMES

__version__ = "0.1.0"

# Public names provided by modules that import heavy dependencies, loaded on first use.
_LAZY = {
    "fetch": "unebolt_viz.data.fetch",
    "load_manifest": "unebolt_viz.data.fetch",
    "load_neurobolt_rest": "unebolt_viz.data.real",
    "simulate_cohort": "unebolt_viz.data.simulate",
    "semi_synthetic_cohort": "unebolt_viz.data.simulate",
    "load_scan_pair": "unebolt_viz.data.ingest",
    "find_bids_runs": "unebolt_viz.data.bids",
    "build_model": "unebolt_viz.models",
    "load_model": "unebolt_viz.models",
    "save_model": "unebolt_viz.models",
    "evaluate": "unebolt_viz.metrics",
    "train_model": "unebolt_viz.training",
    "predict": "unebolt_viz.training",
    "run_experiment": "unebolt_viz.training",
}

__all__ = [
    "Atlas",
    "InvalidDataError",
    "NETWORKS",
    "NETWORK_NAMES",
    "YEO7_NAMES",
    "__version__",
    "eeg_windows",
    "fc_matrix",
    "load",
    "load_atlas",
    "networks",
    "predictions",
    "roi_timeseries",
    "save",
    "validate",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'unebolt_viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
