"""Functional-connectivity metrics: FC per scan, Pixcorr, ConnMSE, edge masks and F1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from ..data.accessor import pearson_fc
from ..data.containers import InvalidDataError
from ._common import (
    _align_labels,
    _pearson_columns,
    _roi_coords,
    _scan_coords,
    _scan_groups,
    _source_attrs,
)

__all__ = [
    "DEFAULT_DENSITIES",
    "fc_per_scan",
    "upper_triangle",
    "pixcorr",
    "conn_mse",
    "edge_mask",
    "n_kept_edges",
    "f1_at_density",
    "f1_density_curve",
    "fc_metrics",
]

#: The sparsity levels of the paper's F1 scores.
DEFAULT_DENSITIES = (0.25, 0.5)


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
    """Pearson r between the upper triangles of two FC matrices (0 if either is constant).

    Labelled FC DataArrays are matched by ROI name (``fc_pred`` is put in ``fc_true``'s order;
    different ROI sets raise :class:`~unebolt_viz.data.InvalidDataError` listing the ROIs only
    in one of them); plain arrays are compared by position.
    """
    a, b = _edge_pair(fc_true, fc_pred)
    _check_same_shape(a, b)
    return float(_pearson_columns(a, b, axis=-1))


def conn_mse(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray) -> float:
    """Mean squared difference between the upper triangles of two FC matrices.

    ROIs are matched as in :func:`pixcorr` (by name for labelled DataArrays).
    """
    a, b = _edge_pair(fc_true, fc_pred)
    _check_same_shape(a, b)
    return float(np.mean((a - b) ** 2))


def _edge_pair(fc_true: xr.DataArray | np.ndarray,
               fc_pred: xr.DataArray | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper triangles of both matrices, ``fc_pred`` first put in ``fc_true``'s ROI order.

    Labelled DataArrays are matched by ROI name (and stacks by scan label); plain arrays by
    position.
    """
    fc_pred = _align_labels(fc_true, fc_pred, dims=("scan", "roi", "roi2"))
    return upper_triangle(fc_true), upper_triangle(fc_pred)


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
    """F1 between the top-``density`` edge sets (by ``|r|``) of the true and predicted FC.

    ROIs are matched as in :func:`pixcorr` (by name for labelled DataArrays).
    """
    a, b = _edge_pair(fc_true, fc_pred)
    _check_same_shape(a, b)
    return _f1(a, b, density)


def f1_density_curve(fc_true: xr.DataArray | np.ndarray, fc_pred: xr.DataArray | np.ndarray,
                     densities: Sequence[float] | None = None) -> xr.DataArray:
    """F1 at each density: the whole F1-density curve (ROIs matched as in :func:`pixcorr`).

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
    a, b = _edge_pair(fc_true, fc_pred)
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
        Labelled DataArrays are matched by ROI name and scan label (``fc_pred`` follows
        ``fc_true``'s order); plain arrays by position.
    densities : sequence of float
        Fractions of edges kept for F1.

    Returns
    -------
    xarray.Dataset
        ``pixcorr`` and ``conn_mse`` (scalars, or along ``scan``) and ``f1`` along
        ``density`` (and ``scan``).
    """
    a, b = _edge_pair(fc_true, fc_pred)
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
