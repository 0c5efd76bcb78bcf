"""All of the paper's metrics of a predictions Dataset at once, and its Table 3."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xarray as xr

from ..data.containers import InvalidDataError
from ._common import _source_attrs
from .connectivity import DEFAULT_DENSITIES, fc_metrics, fc_per_scan
from .temporal import network_r, temporal_r

__all__ = ["evaluate", "summary_table"]


def evaluate(pred: xr.Dataset, densities: Sequence[float] = DEFAULT_DENSITIES) -> xr.Dataset:
    """All of the paper's metrics for every scan of a predictions Dataset.

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset (one or several scans). Each ``scan`` label must name one
        contiguous block of time points of one subject: two scans sharing a name are refused
        (:class:`~unebolt_viz.data.InvalidDataError` naming them) rather than merged.
    densities : sequence of float
        Edge densities of the F1 scores (the paper's 0.25 and 0.5 by default).

    Returns
    -------
    xarray.Dataset
        Per-scan ``tcorr`` (mean temporal r over ROIs), ``pixcorr``, ``conn_mse``,
        ``f1 (scan, density)``, ``temporal_r (scan, roi)`` and ``network_r (scan, network)``.
        The ROIs' networks are in the coordinate ``roi_network`` (``network`` is the dimension
        of ``network_r``). Attributes ``kind="metrics"``, ``data_source`` and ``model`` say
        where the numbers come from.

    Examples
    --------
    >>> metrics = evaluate(pred)  # doctest: +SKIP
    >>> summary_table(metrics)    # doctest: +SKIP
    """
    t_r = temporal_r(pred)
    n_r = network_r(pred)
    fm = fc_metrics(fc_per_scan(pred, "true"), fc_per_scan(pred, "pred"), densities)
    t_r = t_r.rename({"network": "roi_network"}) if "network" in t_r.coords else t_r
    ds = xr.Dataset(
        {
            "tcorr": t_r.mean("roi"),
            "pixcorr": fm["pixcorr"],
            "conn_mse": fm["conn_mse"],
            "f1": fm["f1"],
            "temporal_r": t_r,
            "network_r": n_r,
        },
        attrs={**_source_attrs(pred), "kind": "metrics",
               "definitions": "see unebolt_viz.metrics (strict upper triangle; F1 on top-|r| edges)"},
    )
    for key in ("experiment", "split", "tr", "atlas", "roi_fingerprint", "model_data_source"):
        if key in pred.attrs:
            ds.attrs[key] = pred.attrs[key]
    ds["tcorr"].attrs = {"long_name": "mean temporal r over ROIs"}
    ds["pixcorr"].attrs = {"long_name": "Pearson r of FC upper triangles"}
    ds["conn_mse"].attrs = {"long_name": "MSE of FC upper triangles"}
    ds["f1"].attrs = {"long_name": "F1 of top-|r| edge sets"}
    ds["temporal_r"].attrs = {"long_name": "temporal Pearson r per ROI"}
    ds["network_r"].attrs = {"long_name": "Pearson r of network mean signals"}
    return ds


def _density_label(d: float) -> str:
    return f"F1-{d:.2f}"


def summary_table(metrics: xr.Dataset, formatted: bool = True, decimals: int = 3) -> pd.DataFrame:
    """Per-scan table like the paper's Table 3, with a ``Mean(std)`` row.

    Parameters
    ----------
    metrics : xarray.Dataset
        From :func:`evaluate`.
    formatted : bool
        True: strings with ``decimals`` decimals and a last row ``"Mean(std)"`` written
        ``mean(std)`` (sample std, ``ddof=1``). False: numbers, with ``"mean"`` and ``"std"``
        rows.
    decimals : int
        Decimals of the formatted strings.

    Returns
    -------
    pandas.DataFrame
        Index ``scan``; columns ``Tcorr``, ``Pixcorr``, ``ConnMSE``, ``F1-0.25``, ``F1-0.50``
        (one F1 column per density). ``attrs`` carries ``data_source`` and ``model``.
    """
    missing = [v for v in ("tcorr", "pixcorr", "conn_mse", "f1") if v not in metrics]
    if missing:
        raise InvalidDataError(f"metrics lacks {missing}: pass the Dataset of unebolt_viz.metrics.evaluate.")
    table = pd.DataFrame(
        {"Tcorr": metrics["tcorr"].values, "Pixcorr": metrics["pixcorr"].values,
         "ConnMSE": metrics["conn_mse"].values},
        index=pd.Index(metrics.scan.values.astype(str), name="scan"),
    )
    for d in metrics.density.values:
        table[_density_label(float(d))] = metrics["f1"].sel(density=d).values
    mean, std = table.mean(axis=0), table.std(axis=0, ddof=1)
    if formatted:
        out = table.apply(lambda col: col.map(lambda v: f"{v:.{decimals}f}"))
        out.loc["Mean(std)"] = [f"{m:.{decimals}f}({s:.{decimals}f})" for m, s in zip(mean, std)]
    else:
        out = table.copy()
        out.loc["mean"] = mean
        out.loc["std"] = std
    out.attrs = {"data_source": metrics.attrs.get("data_source", "unknown"),
                 "model": metrics.attrs.get("model", "unknown")}
    return out
