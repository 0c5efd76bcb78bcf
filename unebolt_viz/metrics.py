"""Temporal and functional-connectivity metrics of predicted BOLD, and their statistics.

Every function takes the package's xarray containers (a predictions Dataset with ``true`` and
``pred`` on ``(time, roi)``, possibly holding several scans along ``time``) and returns labelled
xarray objects. Only numpy, scipy, pandas and xarray are used: no PyTorch.

Definitions (UnEBOLT paper, section 3.2, and the NeuroBOLT protocol)
--------------------------------------------------------------------
Temporal R (``temporal_r``, "Tcorr")
    Pearson r between the true and predicted time series of one ROI over one whole scan.
    The Tcorr of a scan is the mean of its ROIs' r.
Network R (``network_r``, Fig. 3)
    Pearson r between the true and predicted *network signals* of a scan, a network signal
    being the mean over the network's ROIs at each time point.
FC (``fc_per_scan``)
    Pearson correlation between the ROI time series of one scan (true or predicted), the
    diagonal set to 1.
Upper triangle (``upper_triangle``)
    The strict upper triangle (diagonal excluded), read row by row
    (``numpy.triu_indices(n, k=1)``): ``n (n - 1) / 2`` edges.
Pixcorr (``pixcorr``)
    Pearson r between the upper-triangle vectors of the true and predicted FC.
ConnMSE (``conn_mse``)
    Mean of the squared differences between the two upper-triangle vectors.
F1-q (``f1_at_density``)
    Each matrix keeps its top ``q`` fraction of edges ranked by ``|r|`` (the strongest
    connections whatever their sign); ``F1 = 2 TP / (2 TP + FP + FN)`` between the two kept edge
    sets, with TP the edges kept in both, FP those kept only in the predicted matrix and FN
    those kept only in the true one. The number of kept edges is
    ``k = floor(q * n_edges + 0.5)`` (``q * n_edges`` rounded half up), at least 1. Ties in
    ``|r|`` are broken by edge order: among equal values the edge that comes first in the
    row-major upper triangle is kept (a stable sort), so the result is deterministic.

Degenerate series: a constant (zero-variance) series carries no linear information; its
Pearson r with anything is taken as 0 rather than NaN (the same convention as
:func:`unebolt_viz.data.accessor.pearson_fc`), so that a flat prediction scores 0 instead of
breaking the tables.

Scan summaries follow the paper's tables: ``Mean(std)`` across scans with the sample standard
deviation (``ddof=1``). Paired tests across scans are Student's paired t-tests
(:func:`scipy.stats.ttest_rel`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .data.accessor import pearson_fc
from .data.containers import InvalidDataError, validate_predictions
from .networks import NETWORK_NAMES

__all__ = [
    "DEFAULT_DENSITIES",
    "temporal_r",
    "network_r",
    "fc_per_scan",
    "upper_triangle",
    "pixcorr",
    "conn_mse",
    "edge_mask",
    "n_kept_edges",
    "f1_at_density",
    "f1_density_curve",
    "fc_metrics",
    "evaluate",
    "summary_table",
    "paired_ttest",
]

#: The sparsity levels of the paper's F1 scores.
DEFAULT_DENSITIES = (0.25, 0.5)
_ROI_COORDS = ("network", "hemisphere", "x", "y", "z")


# ----------------------------------------------------------------------------------------------
# helpers


def _pearson_columns(a: np.ndarray, b: np.ndarray, axis: int = 0) -> np.ndarray:
    """Pearson r between ``a`` and ``b`` along ``axis``; 0 where either is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = a.shape[axis]

    def centred(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xc = x - x.mean(axis=axis, keepdims=True)
        ss = (xc * xc).sum(axis=axis)
        # rounding leaves ~1e-17 residues in a constant series: call it constant below 1e-10
        # of its own magnitude
        floor = (1e-10 * np.abs(x).max(axis=axis)) ** 2 * n
        return xc, np.where(ss > floor, ss, 0.0)

    a, ssa = centred(a)
    b, ssb = centred(b)
    num = (a * b).sum(axis=axis)
    den = np.sqrt(ssa * ssb)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def _scan_groups(pred: xr.Dataset) -> list[tuple[str, str, np.ndarray]]:
    """(scan, subject, time indices) of each scan, in order of first appearance."""
    validate_predictions(pred)
    scans = pred.scan.values.astype(str)
    subjects = pred.subject.values.astype(str)
    _, first = np.unique(scans, return_index=True)
    groups = []
    for i in np.sort(first):
        idx = np.flatnonzero(scans == scans[i])
        if idx.size < 3:
            raise InvalidDataError(
                f"Scan {scans[i]!r} has {idx.size} time points; temporal correlations need at "
                "least 3."
            )
        groups.append((scans[i], subjects[i], idx))
    return groups


def _roi_coords(pred: xr.Dataset | xr.DataArray, suffix: str = "", dim: str = "roi") -> dict:
    coords = {dim: (dim, pred.roi.values)}
    for name in _ROI_COORDS:
        if name in pred.coords:
            coords[f"{name}{suffix}"] = (dim, pred.coords[name].values)
    return coords


def _scan_coords(groups: list[tuple[str, str, np.ndarray]]) -> dict:
    return {
        "scan": ("scan", np.array([g[0] for g in groups], dtype=object)),
        "subject": ("scan", np.array([g[1] for g in groups], dtype=object)),
    }


def _source_attrs(pred: xr.Dataset) -> dict:
    return {"data_source": str(pred.attrs["data_source"]), "model": str(pred.attrs.get("model", "unknown"))}


def _values(fc: xr.DataArray | np.ndarray) -> np.ndarray:
    values = fc.values if isinstance(fc, xr.DataArray) else np.asarray(fc)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 2 or values.shape[-1] != values.shape[-2]:
        raise InvalidDataError(f"An FC matrix must be square in its last two axes; got {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise InvalidDataError("The FC matrix holds NaN or infinite values; clean them first.")
    return values


def _check_density(density: float) -> float:
    density = float(density)
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density={density}: pass the fraction of edges to keep, in (0, 1].")
    return density


# ----------------------------------------------------------------------------------------------
# temporal metrics


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


# ----------------------------------------------------------------------------------------------
# functional connectivity


def fc_per_scan(pred: xr.Dataset, var: str = "true") -> xr.DataArray:
    """FC (Pearson r between ROIs over the whole scan) of every scan.

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset.
    var : {"true", "pred"}
        Which signal.

    Returns
    -------
    xarray.DataArray
        Dims ``(scan, roi, roi2)``, ROI coordinates on both axes (``network2`` ... on ``roi2``)
        and attribute ``kind="fc_stack"``. ``.isel(scan=i)`` is one scan's matrix.
    """
    if var not in ("true", "pred"):
        raise ValueError(f"var={var!r}; use 'true' or 'pred'.")
    groups = _scan_groups(pred)
    values = pred[var].values
    fc = np.stack([pearson_fc(values[idx]) for _, _, idx in groups])
    return xr.DataArray(
        fc, dims=("scan", "roi", "roi2"),
        coords={**_scan_coords(groups), **_roi_coords(pred),
                **_roi_coords(pred, suffix="2", dim="roi2")},
        name=f"fc_{var}",
        attrs={**_source_attrs(pred), "kind": "fc_stack", "variable": var},
    )


def upper_triangle(fc: xr.DataArray | np.ndarray) -> np.ndarray:
    """Values of the strict upper triangle (diagonal excluded), row by row.

    Parameters
    ----------
    fc : array-like, shape (..., n, n)
        One matrix or a stack of them.

    Returns
    -------
    numpy.ndarray, shape (..., n * (n - 1) / 2)
        1-D for a single matrix.
    """
    values = _values(fc)
    rows, cols = np.triu_indices(values.shape[-1], k=1)
    return values[..., rows, cols]


def pixcorr(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray) -> float:
    """Pearson r between the upper triangles of two FC matrices (0 if either is constant)."""
    a, b = upper_triangle(fc_true), upper_triangle(fc_pred)
    _check_same_shape(a, b)
    return float(_pearson_columns(a, b, axis=-1))


def conn_mse(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray) -> float:
    """Mean squared difference between the upper triangles of two FC matrices."""
    a, b = upper_triangle(fc_true), upper_triangle(fc_pred)
    _check_same_shape(a, b)
    return float(np.mean((a - b) ** 2))


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise InvalidDataError(f"The two FC matrices differ in size ({a.shape} vs {b.shape} edges).")
    if a.ndim != 1:
        raise InvalidDataError("Pass one matrix at a time (use fc_metrics for stacks of scans).")


def n_kept_edges(n_edges: int, density: float) -> int:
    """Number of edges kept at ``density``: ``floor(density * n_edges + 0.5)``, at least 1."""
    return max(1, int(np.floor(_check_density(density) * n_edges + 0.5)))


def _top_edges(edges: np.ndarray, density: float) -> np.ndarray:
    """Boolean mask of the top ``density`` fraction of ``edges`` by ``|r|`` (stable ties)."""
    k = n_kept_edges(edges.size, density)
    order = np.argsort(-np.abs(edges), kind="stable")
    keep = np.zeros(edges.size, dtype=bool)
    keep[order[:k]] = True
    return keep


def edge_mask(fc: xr.DataArray | np.ndarray, density: float) -> xr.DataArray | np.ndarray:
    """The strongest ``density`` fraction of edges as a symmetric boolean matrix.

    Edges are the strict upper triangle ranked by ``|r|``; ``floor(density * n_edges + 0.5)``
    of them are kept (at least one); ties keep the edge that comes first in the row-major
    upper triangle. The mask is mirrored to the lower triangle; the diagonal is False.

    Parameters
    ----------
    fc : DataArray or ndarray, shape (n, n)
    density : float
        Fraction of edges to keep, in (0, 1].

    Returns
    -------
    DataArray or ndarray of bool, shape (n, n)
        A DataArray (with ``fc``'s coordinates) when ``fc`` is one.
    """
    values = _values(fc)
    if values.ndim != 2:
        raise InvalidDataError("edge_mask takes one matrix (roi, roi2).")
    n = values.shape[0]
    rows, cols = np.triu_indices(n, k=1)
    keep = _top_edges(values[rows, cols], density)
    mask = np.zeros((n, n), dtype=bool)
    mask[rows[keep], cols[keep]] = True
    mask |= mask.T
    if isinstance(fc, xr.DataArray):
        out = fc.copy(data=mask)
        out.name = "edge_mask"
        out.attrs = {k: v for k, v in fc.attrs.items() if k != "kind"}
        out.attrs["density"] = float(density)
        return out
    return mask


def _f1(a_true: np.ndarray, a_pred: np.ndarray, density: float) -> float:
    keep_true = _top_edges(a_true, density)
    keep_pred = _top_edges(a_pred, density)
    tp = np.count_nonzero(keep_true & keep_pred)
    fp = np.count_nonzero(keep_pred & ~keep_true)
    fn = np.count_nonzero(keep_true & ~keep_pred)
    return 2.0 * tp / (2.0 * tp + fp + fn)


def f1_at_density(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray,
                  density: float) -> float:
    """F1 between the top-``density`` edge sets (by ``|r|``) of the true and predicted FC."""
    a, b = upper_triangle(fc_true), upper_triangle(fc_pred)
    _check_same_shape(a, b)
    return _f1(a, b, density)


def f1_density_curve(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray,
                     densities: Sequence[float] | None = None) -> xr.DataArray:
    """F1 at each density: the whole F1-density curve.

    Parameters
    ----------
    densities : sequence of float, optional
        Default ``0.05, 0.10, ..., 1.00`` (20 levels). At density 1 every edge is kept and F1 is 1.

    Returns
    -------
    xarray.DataArray
        Dim ``density``.
    """
    if densities is None:
        densities = np.round(np.arange(1, 21) * 0.05, 10)
    a, b = upper_triangle(fc_true), upper_triangle(fc_pred)
    _check_same_shape(a, b)
    dens = np.asarray([_check_density(d) for d in densities], dtype=float)
    return xr.DataArray(
        np.array([_f1(a, b, d) for d in dens]), dims=("density",), coords={"density": dens},
        name="f1", attrs={"long_name": "F1 of the top-|r| edge sets"},
    )


def fc_metrics(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray,
               densities: Sequence[float] = DEFAULT_DENSITIES) -> xr.Dataset:
    """Pixcorr, ConnMSE and F1 at each density between true and predicted FC.

    Parameters
    ----------
    fc_true, fc_pred : DataArray or ndarray, shape (n, n) or (n_scans, n, n)
        One matrix each, or stacks with a leading ``scan`` axis (as from :func:`fc_per_scan`).
    densities : sequence of float
        Fractions of edges kept for F1.

    Returns
    -------
    xarray.Dataset
        ``pixcorr`` and ``conn_mse`` (scalars, or along ``scan``) and ``f1`` along
        ``density`` (and ``scan``).
    """
    a, b = upper_triangle(fc_true), upper_triangle(fc_pred)
    if a.shape != b.shape:
        raise InvalidDataError(f"The FC matrices differ in shape ({a.shape} vs {b.shape} edges).")
    dens = np.asarray([_check_density(d) for d in densities], dtype=float)
    stacked = a.ndim == 2
    a2, b2 = (a, b) if stacked else (a[None], b[None])
    pc = _pearson_columns(a2, b2, axis=-1)
    mse = np.mean((a2 - b2) ** 2, axis=-1)
    f1 = np.array([[_f1(x, y, d) for d in dens] for x, y in zip(a2, b2)])
    if stacked:
        coords: dict = {"density": dens}
        if isinstance(fc_true, xr.DataArray) and "scan" in fc_true.dims:
            coords.update({c: fc_true.coords[c] for c in ("scan", "subject") if c in fc_true.coords})
        dim0 = fc_true.dims[0] if isinstance(fc_true, xr.DataArray) else "scan"
        return xr.Dataset(
            {"pixcorr": ((dim0,), pc), "conn_mse": ((dim0,), mse), "f1": ((dim0, "density"), f1)},
            coords=coords,
        )
    return xr.Dataset(
        {"pixcorr": ((), pc[0]), "conn_mse": ((), mse[0]), "f1": (("density",), f1[0])},
        coords={"density": dens},
    )


# ----------------------------------------------------------------------------------------------
# everything at once, tables and statistics


def evaluate(pred: xr.Dataset, densities: Sequence[float] = DEFAULT_DENSITIES) -> xr.Dataset:
    """All of the paper's metrics for every scan of a predictions Dataset.

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset (one or several scans).
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
    for key in ("experiment", "split", "tr"):
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


def paired_ttest(metrics_a: xr.Dataset | xr.DataArray, metrics_b: xr.Dataset | xr.DataArray,
                 variable: str = "tcorr", dim: str = "scan",
                 alternative: str = "two-sided") -> xr.Dataset:
    """Paired Student t-test between two models across scans (Fig. 2a of the paper).

    The two sets are matched by their ``dim`` labels (scans); any other dimension (e.g.
    ``roi`` for ``temporal_r``) gives one test per element. The statistic is that of
    :func:`scipy.stats.ttest_rel` on ``a - b``: ``t = mean(d) / (std(d, ddof=1) / sqrt(n))``
    with ``n - 1`` degrees of freedom.

    Parameters
    ----------
    metrics_a, metrics_b : Dataset or DataArray
        From :func:`evaluate` (or one of its variables).
    variable : str
        Which variable of the Datasets to compare.
    dim : str
        The paired dimension.
    alternative : {"two-sided", "greater", "less"}
        ``"greater"``: model a is better (larger values).

    Returns
    -------
    xarray.Dataset
        ``t``, ``p``, ``n`` and ``mean_difference`` (a - b).
    """
    from scipy import stats

    a = metrics_a[variable] if isinstance(metrics_a, xr.Dataset) else metrics_a
    b = metrics_b[variable] if isinstance(metrics_b, xr.Dataset) else metrics_b
    if dim not in a.dims or dim not in b.dims:
        raise InvalidDataError(f"Both inputs need the dimension {dim!r} (got {a.dims} and {b.dims}).")
    labels_a = list(map(str, a[dim].values))
    labels_b = list(map(str, b[dim].values))
    if set(labels_a) != set(labels_b) or len(labels_a) != len(set(labels_a)):
        raise InvalidDataError(
            f"The paired t-test needs the same {dim}s in both sets; only in a: "
            f"{sorted(set(labels_a) - set(labels_b))}, only in b: {sorted(set(labels_b) - set(labels_a))}."
        )
    b = b.sel({dim: a[dim].values})
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError(f"alternative={alternative!r}; use 'two-sided', 'greater' or 'less'.")
    diff = (a - b.values if a.dims == b.dims else a - b.transpose(*a.dims).values)
    n = diff.sizes[dim]
    if n < 2:
        raise InvalidDataError(f"A paired t-test needs at least 2 {dim}s; got {n}.")
    mean = diff.mean(dim)
    sd = diff.std(dim, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / np.sqrt(n))
    df = n - 1
    if alternative == "two-sided":
        p = 2.0 * stats.t.sf(np.abs(t.values), df)
    elif alternative == "greater":
        p = stats.t.sf(t.values, df)
    else:
        p = stats.t.cdf(t.values, df)
    return xr.Dataset(
        {"t": t, "p": (t.dims, np.asarray(p)), "n": n, "mean_difference": mean},
        attrs={"test": "paired t-test (scipy.stats.ttest_rel)", "variable": variable,
               "alternative": alternative,
               "model_a": str(getattr(metrics_a, "attrs", {}).get("model", "a")),
               "model_b": str(getattr(metrics_b, "attrs", {}).get("model", "b"))},
    )
