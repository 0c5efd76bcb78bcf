"""The ``.unebolt`` accessor on xarray objects: common operations on the containers.

Importing :mod:`unebolt_viz` registers it::

    bold.unebolt.fc()                  # FC matrix of a (time, roi) series
    bold.unebolt.network_means()       # (time, network) mean signal of each network
    fc.unebolt.reorder_by_network()    # ROIs grouped by network, original positions kept
    fc.unebolt.network_order()         # that order, as data
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..networks import NETWORK_NAMES, network_colors, network_sort_key
from .containers import InvalidDataError, fc_matrix, validate
from .validation import roi_fingerprint

__all__ = ["UneboltAccessor", "pearson_fc", "network_order", "network_blocks"]


def pearson_fc(values: np.ndarray) -> np.ndarray:
    """Pearson correlation between the columns of a (time, roi) array.

    Constant columns give 0 correlation with everything (and 1 on the diagonal) instead of NaN,
    so that a flat predicted ROI counts as "no connectivity" rather than breaking the metrics.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InvalidDataError(f"FC needs a (time, roi) array with at least 2 time points; got {x.shape}.")
    # Rounding leaves ~1e-17 residues in a constant column (e.g. a mean predictor computed in
    # float64): below 1e-10 of the column's own magnitude it counts as constant, as in the
    # temporal metrics.
    floor = (1e-10 * np.abs(x).max(axis=0)) ** 2 * x.shape[0]
    x = x - x.mean(axis=0)
    sum_sq = (x * x).sum(axis=0)
    norm = np.sqrt(np.where(sum_sq > floor, sum_sq, 0.0))
    safe = np.where(norm > 0, norm, 1.0)
    z = x / safe
    r = z.T @ z
    r[:, norm == 0] = 0.0
    r[norm == 0, :] = 0.0
    np.fill_diagonal(r, 1.0)
    return np.clip(r, -1.0, 1.0)


def network_order(networks: Sequence[str], order: Sequence[str] = NETWORK_NAMES) -> np.ndarray:
    """Stable permutation that groups ROIs by network in the given network order.

    Within a network, ROIs keep their atlas order. ``networks[result]`` is sorted.
    """
    rank = {n: i for i, n in enumerate(order)}
    missing = sorted(set(networks) - set(rank))
    if missing:
        raise InvalidDataError(f"Networks {missing} are not in the requested order {list(order)}.")
    keys = np.array([rank[n] for n in networks])
    return np.argsort(keys, kind="stable")


def network_blocks(networks: Sequence[str]) -> pd.DataFrame:
    """Contiguous runs of equal network labels: one row per run with start, stop and colour.

    Used for the colour bars beside FC matrices; ``networks`` is usually already ordered.
    """
    rows = []
    nets = [str(n) for n in networks]
    start = 0
    for i in range(1, len(nets) + 1):
        if i == len(nets) or nets[i] != nets[start]:
            rows.append({"network": nets[start], "start": start, "stop": i,
                         "color": network_colors([nets[start]])[nets[start]]})
            start = i
    return pd.DataFrame(rows, columns=["network", "start", "stop", "color"])


@xr.register_dataarray_accessor("unebolt")
@xr.register_dataset_accessor("unebolt")
class UneboltAccessor:
    """Operations on unebolt_viz containers, available as ``obj.unebolt``."""

    def __init__(self, obj: xr.DataArray | xr.Dataset) -> None:
        self._obj = obj

    @property
    def kind(self) -> str | None:
        """The container kind (``"eeg_windows"``, ``"roi_timeseries"``, ``"predictions"``, ``"fc"``)."""
        return self._obj.attrs.get("kind")

    def validate(self) -> xr.DataArray | xr.Dataset:
        """Validate the object against the data model; return it unchanged."""
        return validate(self._obj)

    def save(self, path) -> None:
        """Write the object to netCDF atomically (see :func:`unebolt_viz.data.save`)."""
        from .netcdf import save

        save(self._obj, path)

    # ------------------------------------------------------------------ time series

    def _series(self, var: str | None) -> xr.DataArray:
        obj = self._obj
        if isinstance(obj, xr.Dataset):
            if var is None:
                raise InvalidDataError("On a predictions Dataset, name the variable: var='true' or 'pred'.")
            da = obj[var].copy()
            da.attrs = {**obj.attrs, "kind": "roi_timeseries"}
            da.attrs.pop("model", None)
            return da
        if tuple(obj.dims) != ("time", "roi"):
            raise InvalidDataError(f"This operation needs (time, roi) data; got dims {obj.dims}.")
        return obj

    def fc(self, var: str | None = None, scan: str | None = None) -> xr.DataArray:
        """Functional connectivity (Pearson r) over the time axis.

        Parameters
        ----------
        var : {"true", "pred"}, optional
            On a predictions Dataset, which variable to use.
        scan : str, optional
            Restrict to one scan (time points whose ``scan`` coordinate matches). Without it,
            the data must hold a single scan.

        Returns
        -------
        xarray.DataArray
            An ``fc`` container ``(roi, roi2)``.
        """
        da = self._series(var)
        if scan is not None:
            da = da.isel(time=np.flatnonzero(da.scan.values == scan))
            if da.sizes["time"] == 0:
                raise InvalidDataError(f"No time points of scan {scan!r}.")
        scans = np.unique(da.scan.values.astype(str))
        if len(scans) > 1:
            raise InvalidDataError(
                f"The data holds {len(scans)} scans ({list(scans)[:4]}...); FC is defined per scan: "
                "pass scan=... or use unebolt_viz.metrics for per-scan FC."
            )
        attrs = {"scan": str(scans[0])} if len(scans) else {}
        if var is not None:
            attrs["variable"] = var
        return fc_matrix(pearson_fc(da.values), da, data_source=da.attrs["data_source"], attrs=attrs)

    def network_means(self, var: str | None = None, networks: Sequence[str] | None = None) -> xr.DataArray:
        """Mean signal of each network, dims ``(time, network)`` (networks in canonical order)."""
        da = self._series(var)
        present = [n for n in NETWORK_NAMES if n in set(da.network.values)]
        selected = present if networks is None else list(networks)
        means = [da.isel(roi=np.flatnonzero(da.network.values == n)).mean("roi") for n in selected]
        if not means:
            raise InvalidDataError(f"None of the networks {selected} is present.")
        out = xr.concat(means, dim=pd.Index(selected, name="network"), coords="minimal",
                        compat="override").transpose("time", "network")
        out = out.drop_vars([c for c in ("hemisphere", "x", "y", "z") if c in out.coords])
        out.attrs = {**da.attrs, "kind": "network_timeseries"}
        return out

    # ------------------------------------------------------------------ ordering

    def network_order(self, order: Sequence[str] = NETWORK_NAMES) -> xr.DataArray:
        """The permutation that groups ROIs by network, as data.

        Returns a DataArray along a ``position`` dimension: its values are the original ROI
        indices, with the ``roi`` name and ``network`` of each position as coordinates.
        """
        obj = self._obj
        idx = network_order([str(n) for n in obj.network.values], order)
        return xr.DataArray(
            idx, dims=("position",),
            coords={"position": np.arange(idx.size),
                    "roi": ("position", obj.roi.values[idx]),
                    "network": ("position", obj.network.values[idx])},
            name="roi_index",
        )

    def reorder_by_network(self, order: Sequence[str] = NETWORK_NAMES) -> xr.DataArray | xr.Dataset:
        """The object with ROIs grouped by network (both axes for FC).

        The original position of each ROI is kept in a ``roi_index`` coordinate (and
        ``roi_index2`` on the second FC axis), so the order is recoverable from the data.
        """
        obj = self._obj
        idx = self.network_order(order).values
        out = obj.assign_coords(roi_index=("roi", np.arange(obj.sizes["roi"]))).isel(roi=idx)
        if "roi2" in obj.dims:
            out = out.assign_coords(roi_index2=("roi2", np.arange(obj.sizes["roi2"]))).isel(roi2=idx)
        if "roi_fingerprint" in out.attrs:
            # the ROI order changed, so does its identity
            out.attrs = {**out.attrs, "roi_fingerprint": roi_fingerprint(map(str, out.roi.values))}
        return out

    def network_blocks(self) -> pd.DataFrame:
        """Runs of equal network along ``roi`` (start, stop, colour) in the current order."""
        return network_blocks([str(n) for n in self._obj.network.values])

    def network_sort_key(self) -> np.ndarray:
        """Canonical position of each ROI's network."""
        return network_sort_key(self._obj.network.values)
