"""Temporal metrics: Pearson r between true and predicted BOLD per ROI and per network."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..networks import NETWORK_NAMES
from ._common import _pearson_columns, _roi_coords, _scan_coords, _scan_groups, _source_attrs

__all__ = ["temporal_r", "network_r"]


def temporal_r(pred: xr.Dataset) -> xr.DataArray:
    """Pearson r between true and predicted signal per ROI and per scan ("Tcorr").

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset (``true``, ``pred`` on ``(time, roi)``), one or several scans.

    Returns
    -------
    xarray.DataArray
        Dims ``(scan, roi)``, with the ``subject`` of each scan and the ROI coordinates
        (``network``, ``hemisphere``, ``x``, ``y``, ``z``). The mean over ``roi`` is the scan's
        Tcorr.
    """
    groups = _scan_groups(pred)
    true = pred["true"].values
    est = pred["pred"].values
    r = np.stack([_pearson_columns(true[idx], est[idx]) for _, _, idx in groups])
    return xr.DataArray(
        r, dims=("scan", "roi"), coords={**_scan_coords(groups), **_roi_coords(pred)},
        name="temporal_r", attrs={**_source_attrs(pred), "long_name": "temporal Pearson r"},
    )


def _network_signals(values: np.ndarray, networks: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return np.stack([values[:, networks == n].mean(axis=1) for n in names], axis=1)


def network_r(pred: xr.Dataset) -> xr.DataArray:
    """Pearson r between true and predicted network signals, per scan (Fig. 3 of the paper).

    A network signal is the mean over the network's ROIs at each time point.

    Returns
    -------
    xarray.DataArray
        Dims ``(scan, network)``; the networks present, in canonical order
        (:data:`unebolt_viz.networks.NETWORK_NAMES`).
    """
    groups = _scan_groups(pred)
    nets = pred.network.values.astype(str)
    names = [n for n in NETWORK_NAMES if n in set(nets)]
    true = pred["true"].values
    est = pred["pred"].values
    r = np.stack([
        _pearson_columns(_network_signals(true[idx], nets, names), _network_signals(est[idx], nets, names))
        for _, _, idx in groups
    ])
    counts = np.array([int(np.sum(nets == n)) for n in names])
    return xr.DataArray(
        r, dims=("scan", "network"),
        coords={**_scan_coords(groups), "network": ("network", np.array(names, dtype=object)),
                "n_rois": ("network", counts)},
        name="network_r", attrs={**_source_attrs(pred), "long_name": "network-signal Pearson r"},
    )
