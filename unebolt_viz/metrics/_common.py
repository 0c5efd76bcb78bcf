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


def _check_unique_scans(scans: np.ndarray, subjects: np.ndarray) -> None:
    """Refuse scan labels that name several scans: one label, one contiguous block, one subject."""
    starts = np.flatnonzero(np.r_[True, scans[1:] != scans[:-1]])
    labels, counts = np.unique(scans[starts], return_counts=True)
    split = [str(s) for s in labels[counts > 1]]
    mixed = {str(s): sorted(map(str, set(subjects[scans == s]))) for s in labels}
    mixed = {s: subs for s, subs in mixed.items() if len(subs) > 1}
    if not split and not mixed:
        return
    problems = []
    if split:
        problems.append(f"the labels {split} each occur in several separate blocks of time points")
    if mixed:
        problems.append("the labels " + ", ".join(f"{s!r} (subjects {subs})" for s, subs in mixed.items())
                        + " each hold several subjects")
    raise InvalidDataError(
        f"Duplicate scan names: {' and '.join(problems)}. Two different scans share a name and "
        "would be scored as one. Give every scan a unique 'scan' label (e.g. "
        "'<subject>-<run>') before concatenating them."
    )


def _scan_groups(pred: xr.Dataset) -> list[tuple[str, str, np.ndarray]]:
    """(scan, subject, time indices) of each scan, in order of first appearance.

    A scan label must name one contiguous block of time points of one subject; anything else
    means two scans share a name, and is refused.
    """
    validate_predictions(pred)
    scans = pred.scan.values.astype(str)
    subjects = pred.subject.values.astype(str)
    _check_unique_scans(scans, subjects)
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


def _labels(obj: object, dim: str) -> list[str] | None:
    if isinstance(obj, xr.DataArray) and dim in obj.dims and dim in obj.coords:
        return [str(v) for v in obj.coords[dim].values]
    return None


def _listed(names: list[str], limit: int = 10) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{names[:limit]}{more}"


def _align_labels(a: object, b: object, dims: tuple[str, ...] = ("roi", "roi2"),
                  names: tuple[str, str] = ("fc_true", "fc_pred")) -> object:
    """``b`` reordered along ``dims`` to ``a``'s label order, when both are labelled DataArrays.

    Unlabelled inputs (numpy arrays) are returned as they are and compared by position.

    Raises
    ------
    InvalidDataError
        If the two hold different labels (those only in one of them are listed) or repeat one.
    """
    for dim in dims:
        la, lb = _labels(a, dim), _labels(b, dim)
        if la is None or lb is None or la == lb:
            continue
        what = "ROIs" if dim.startswith("roi") else f"{dim} labels"
        for name, labels in zip(names, (la, lb)):
            if len(set(labels)) != len(labels):
                dupes = sorted({x for x in labels if labels.count(x) > 1})
                raise InvalidDataError(f"{name} repeats the {what} {_listed(dupes)} along '{dim}'.")
        only_a = [x for x in la if x not in set(lb)]
        only_b = [x for x in lb if x not in set(la)]
        if only_a or only_b:
            raise InvalidDataError(
                f"{names[0]} and {names[1]} hold different {what} along '{dim}': "
                f"{len(only_a)} only in {names[0]}: {_listed(only_a)}; {len(only_b)} only in "
                f"{names[1]}: {_listed(only_b)}. Compare matrices of the same atlas (ROIs are "
                "matched by name, in any order)."
            )
        position = {x: i for i, x in enumerate(lb)}
        b = b.isel({dim: [position[x] for x in la]})
    return b
