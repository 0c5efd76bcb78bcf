"""Statistics across scans: the paired t-test between two models."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError
from ._common import _align_labels

__all__ = ["paired_ttest"]


def paired_ttest(metrics_a: xr.Dataset | xr.DataArray, metrics_b: xr.Dataset | xr.DataArray,
                 variable: str = "tcorr", dim: str = "scan",
                 alternative: str = "two-sided") -> xr.Dataset:
    """Paired Student t-test between two models across scans (Fig. 2a of the paper).

    The two sets are matched by their ``dim`` labels (scans); any other dimension (e.g.
    ``roi`` for ``temporal_r``) gives one test per element, matched by label too (ROI names),
    and different labels are refused. The statistic is that of
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
    others = tuple(d for d in a.dims if d != dim and d in b.dims)
    b = _align_labels(a, b, dims=others, names=("metrics_a", "metrics_b"))
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
