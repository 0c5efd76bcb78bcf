"""Small synthetic objects that several test files build the same way."""

from __future__ import annotations

import numpy as np
import xarray as xr

import unebolt_viz as uv
from unebolt_viz.networks import NETWORK_NAMES


def independent_order(networks) -> np.ndarray:
    """ROI order grouped by canonical network, computed without the package's ordering code."""
    rank = {n: i for i, n in enumerate(NETWORK_NAMES)}
    return np.argsort([rank[str(n)] for n in networks], kind="stable")


def fc_for(rois, n_rois, seed=0, source="simulated"):
    """FC of 120 random time points on ``rois``."""
    rng = np.random.default_rng(seed)
    bold = uv.roi_timeseries(rng.standard_normal((120, n_rois)), rois, 2.1, scan="s1",
                             subject="sub1", data_source=source)
    return bold.unebolt.fc()


def two_scan_predictions(rois, n_rois, rng):
    """Predictions of two 40-volume scans of two subjects (truth plus unit noise)."""
    parts = []
    for k in range(2):
        true = rng.standard_normal((40, n_rois))
        bold = uv.roi_timeseries(true, rois, 2.0, scan=f"sub0{k}-scan01", subject=f"sub0{k}",
                                 data_source="simulated")
        parts.append(uv.predictions(bold, true + rng.standard_normal(true.shape), model="m"))
    out = xr.concat(parts, dim="time")
    out.attrs = dict(parts[0].attrs)
    return out
