"""What every metric shares: null-safe Pearson r, the scans of a predictions Dataset, and
the coordinates and attributes of the results."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError, validate_predictions

_ROI_COORDS = ("network", "hemisphere", "x", "y", "z")


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
