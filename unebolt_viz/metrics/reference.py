"""Reference points for metric tables: what simple or impossible predictors score.

A Tcorr of 0.4 means little on its own: on real resting-state ROI series the global signal
dominates, and copying the true global mean into every ROI already scores a mean temporal r of
about 0.8. These predictors, scored with the same metrics as the models
(:func:`unebolt_viz.metrics.evaluate`), put a model's numbers in context.

Two kinds, always labelled (attribute ``reference_kind``):

``"reference"``: predictors that use no test data, so a model could do as well
    - *training-set mean*: every ROI predicted by its mean over the training scans (a
      constant: its temporal r is 0 by convention and its FC has no edge, so its ConnMSE is
      that of "no connectivity");
    - *time-shuffled*: a model's own prediction with its time points permuted within each
      scan, the same permutation for every ROI. Tcorr falls to chance while the FC, invariant
      to a common reordering of time, and thus Pixcorr, ConnMSE and F1 stay the model's own:
      it separates what a model gets right in time from what it gets right in FC.

``"oracle"``: they read the test scans' true signals, which no model can
    - *global signal*: the true mean over ROIs at each time point, copied to every ROI (all
      predicted ROIs are then identical, so the predicted FC is all ones and Pixcorr is 0);
    - *noise ceiling*: for simulated data, the r between the noiseless and the measured
      targets of each ROI (:meth:`unebolt_viz.simulation.SimulatedCohort.noise_ceiling`); only
      its Tcorr exists.

Everything here is numpy / xarray on the package's predictions Datasets; the results keep the
``data_source`` of the data they were computed from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..data.containers import InvalidDataError, predictions
from .connectivity import DEFAULT_DENSITIES
from .evaluation import evaluate

__all__ = [
    "REFERENCE_LABELS",
    "training_mean",
    "mean_predictor",
    "time_shuffled",
    "global_signal_oracle",
    "noise_ceiling_metrics",
    "reference_metrics",
    "reference_rows",
]

#: Label and kind of each reference point (``{model}`` is the shuffled model's label).
REFERENCE_LABELS: dict[str, tuple[str, str]] = {
    "training_mean": ("Training-set mean [reference]", "reference"),
    "time_shuffled": ("{model}, time-shuffled [reference]", "reference"),
    "global_signal": ("True global signal in every ROI [oracle]", "oracle"),
    "noise_ceiling": ("Noise ceiling [oracle]", "oracle"),
}


def _truth(pred: xr.Dataset) -> xr.DataArray:
    """The ``true`` series of a predictions Dataset as a roi_timeseries container."""
    true = pred["true"].copy()
    true.attrs = {k: v for k, v in pred.attrs.items()
                  if k in ("tr", "data_source", "atlas", "roi_fingerprint")}
    true.attrs["kind"] = "roi_timeseries"
    return true


def _labelled(ds: xr.Dataset, key: str, model: str = "", **attrs: Any) -> xr.Dataset:
    label, kind = REFERENCE_LABELS[key]
    ds.attrs.update({"model": label.format(model=model), "reference_kind": kind,
                     "reference": key, **attrs})
    return ds


def training_mean(bold: Iterable[Any]) -> xr.DataArray:
    """Mean of each ROI over every time point of the training scans.

    Parameters
    ----------
    bold : iterable of ScanPair or roi_timeseries DataArray
        The training scans (a ScanPair's ``bold`` is used), all on the same ROIs in the
        same order.

    Returns
    -------
    xarray.DataArray
        Dims ``(roi,)``.
    """
    total, count, names = None, 0, None
    for item in bold:
        da = getattr(item, "bold", item)
        scan_names = list(map(str, da.roi.values))
        if names is not None and scan_names != names:
            raise InvalidDataError("The training scans list different ROIs; use one atlas, in "
                                   "one order, for all of them.")
        names = scan_names
        values = np.asarray(da.transpose("time", "roi").values, dtype=float)
        total = values.sum(axis=0) if total is None else total + values.sum(axis=0)
        count += values.shape[0]
    if names is None or count == 0:
        raise InvalidDataError("training_mean needs at least one training scan with time points.")
    return xr.DataArray(total / count, dims=("roi",), coords={"roi": names},
                        name="training_mean")


def mean_predictor(pred: xr.Dataset, train_mean: xr.DataArray | Sequence[float]) -> xr.Dataset:
    """Predict every ROI by its training-set mean, on the time points of ``pred`` (reference).

    Parameters
    ----------
    pred : xarray.Dataset
        A predictions Dataset (only its ``true`` series and coordinates are used).
    train_mean : DataArray or sequence of float
        From :func:`training_mean` (matched by ROI name) or one value per ROI in ``pred``'s
        order.
    """
    rois = list(map(str, pred.roi.values))
    if isinstance(train_mean, xr.DataArray) and "roi" in train_mean.dims:
        have = list(map(str, train_mean.roi.values))
        if set(have) != set(rois):
            raise InvalidDataError(f"The training mean covers other ROIs ({have[:3]}...) than "
                                   f"the predictions ({rois[:3]}...).")
        values = np.asarray(train_mean.sel(roi=rois).values, dtype=float)
    else:
        values = np.asarray(train_mean, dtype=float).reshape(-1)
        if values.size != len(rois):
            raise InvalidDataError(f"train_mean has {values.size} values for {len(rois)} ROIs.")
    # rounded to float32 precision, a constant column sums exactly in float64, so its FC is
    # exactly "no connectivity" (no rounding residue for pearson_fc to normalise)
    values = values.astype(np.float32).astype(np.float64)
    est = np.broadcast_to(values, pred["true"].shape)
    out = predictions(_truth(pred), est, model="training mean")
    return _labelled(out, "training_mean")


def time_shuffled(pred: xr.Dataset, seed: int = 0) -> xr.Dataset:
    """A model's prediction with its time points permuted within each scan (reference).

    One permutation per scan, shared by all ROIs (``numpy.random.default_rng(seed)``), so the
    predicted FC is unchanged and only the timing is lost.

    Parameters
    ----------
    pred : xarray.Dataset
        A model's predictions Dataset.
    seed : int
        Seed of the permutations.
    """
    rng = np.random.default_rng(seed)
    scans = pred.scan.values.astype(str)
    est = np.array(pred["pred"].transpose("time", "roi").values, copy=True)
    for scan in dict.fromkeys(scans):
        idx = np.flatnonzero(scans == scan)
        est[idx] = est[rng.permutation(idx)]
    model = str(pred.attrs.get("model", "model"))
    out = predictions(_truth(pred), est, model=model)
    return _labelled(out, "time_shuffled", model=model, shuffle_seed=int(seed))


def global_signal_oracle(pred: xr.Dataset) -> xr.Dataset:
    """The true global signal (mean over ROIs at each time point) copied to every ROI (oracle).

    It reads the test scans' true series, which no model can: an upper reference, not a
    competitor.
    """
    true = pred["true"].transpose("time", "roi").values
    est = np.repeat(true.mean(axis=1, keepdims=True), true.shape[1], axis=1)
    return _labelled(predictions(_truth(pred), est, model="global signal"), "global_signal")


def noise_ceiling_metrics(ceiling: xr.DataArray, like: xr.Dataset) -> xr.Dataset:
    """The noise ceiling as a metrics Dataset shaped like ``like`` (oracle; Tcorr only).

    Parameters
    ----------
    ceiling : xarray.DataArray
        Best achievable r per ROI, dims ``(scan, roi)`` (the scans of ``like``).
    like : xarray.Dataset
        A metrics Dataset of :func:`~unebolt_viz.metrics.evaluate` on the same scans and ROIs:
        its other variables become NaN.
    """
    scans = list(map(str, like.scan.values))
    rois = list(map(str, like.roi.values))
    missing = sorted(set(scans) - set(map(str, ceiling.scan.values)))
    if missing:
        raise InvalidDataError(f"The noise ceiling lacks the scans {missing}.")
    values = np.asarray(ceiling.sel(scan=scans, roi=rois).transpose("scan", "roi").values,
                        dtype=float)
    out = xr.full_like(like, np.nan)
    out["temporal_r"] = (("scan", "roi"), values)
    out["tcorr"] = ("scan", values.mean(axis=1))
    out.attrs = {**like.attrs, "data_source": str(ceiling.attrs.get(
        "data_source", like.attrs.get("data_source", "unknown")))}
    return _labelled(out, "noise_ceiling")


def reference_metrics(pred: xr.Dataset, *, train_mean: xr.DataArray | None = None,
                      noise_ceiling: xr.DataArray | None = None, shuffle: bool = True,
                      densities: Sequence[float] = DEFAULT_DENSITIES,
                      seed: int = 0) -> dict[str, xr.Dataset]:
    """The metrics of every reference point that the inputs allow, beside a model's.

    Parameters
    ----------
    pred : xarray.Dataset
        A model's predictions Dataset on the test scans.
    train_mean : xarray.DataArray, optional
        From :func:`training_mean` (adds the training-set mean row).
    noise_ceiling : xarray.DataArray, optional
        ``(scan, roi)`` best achievable r (adds the noise ceiling row; simulated data).
    shuffle : bool
        Add the time-shuffled prediction of the model.
    densities : sequence of float
        F1 densities.
    seed : int
        Seed of the time shuffle.

    Returns
    -------
    dict
        ``{label: metrics Dataset}`` (:data:`REFERENCE_LABELS`), each with attributes
        ``reference_kind`` (``"reference"`` or ``"oracle"``), ``data_source`` and ``model``.

    Examples
    --------
    >>> rows = reference_metrics(pred, train_mean=training_mean(train_pairs))  # doctest: +SKIP
    >>> {k: float(v["tcorr"].mean()) for k, v in rows.items()}  # doctest: +SKIP
    """
    preds: list[xr.Dataset] = []
    if train_mean is not None:
        preds.append(mean_predictor(pred, train_mean))
    if shuffle:
        preds.append(time_shuffled(pred, seed=seed))
    preds.append(global_signal_oracle(pred))
    out: dict[str, xr.Dataset] = {}
    for one in preds:
        metrics = evaluate(one, densities=densities)
        metrics.attrs.update({k: one.attrs[k] for k in ("model", "reference_kind", "reference")})
        out[one.attrs["model"]] = metrics
    if noise_ceiling is not None:
        like = next(iter(out.values()))
        ceiling = noise_ceiling_metrics(noise_ceiling, like)
        out[ceiling.attrs["model"]] = ceiling
    return out


def reference_rows(metrics: Mapping[str, xr.Dataset]) -> list[dict[str, Any]]:
    """One row per reference (label, kind, data source, mean Tcorr, Pixcorr, ConnMSE)."""
    rows = []
    for label, ds in metrics.items():
        rows.append({"row": label, "kind": ds.attrs.get("reference_kind", "reference"),
                     "data_source": ds.attrs.get("data_source", "unknown"),
                     **{name: float(ds[var].mean()) for name, var in
                        (("Tcorr", "tcorr"), ("Pixcorr", "pixcorr"), ("ConnMSE", "conn_mse"))}})
    return rows
