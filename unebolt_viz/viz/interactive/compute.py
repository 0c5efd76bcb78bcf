"""What the tutorial widgets compute: pure functions of the data and of a widget's value.

Every explorer of :mod:`unebolt_viz.viz.interactive` calls one of these on each change of a
control, so a test (or a reader) can call them directly and get the numbers a widget shows.
They import no widget library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "atlas_selection",
    "band_power_per_tr",
    "coupling_predictability",
    "density_agreement",
    "hrf_delay_r",
    "loss_table",
    "metric_comparison",
    "network_trace",
    "roi_pair_traces",
    "strongest_edges",
]


def atlas_selection(atlas: Any, network: str | None = None) -> dict[str, Any]:
    """The ROIs of one network (all ROIs for None or ``"All"``) of an atlas.

    Parameters
    ----------
    atlas : Atlas
        A parcellation (e.g. ``uv.load_atlas("embedded", 64)``).
    network : str, optional
        A network name of the atlas.

    Returns
    -------
    dict
        ``table`` (the ROI table rows), ``n_rois`` (how many), ``n_total``, ``network`` and
        ``hemispheres`` (ROI count per hemisphere).
    """
    table = atlas.roi_table()
    if network not in (None, "All"):
        if network not in set(table["network"]):
            raise ValueError(f"Network {network!r} is not in atlas {atlas.name!r}; choose one of "
                             f"{sorted(set(table['network']))}.")
        table = table[table["network"] == network]
    return {"table": table, "n_rois": len(table), "n_total": int(atlas.n_rois),
            "network": network or "All",
            "hemispheres": table["hemisphere"].value_counts().to_dict()}


def band_power_per_tr(ds: xr.Dataset, band: tuple[float, float] = (8.0, 12.0),
                      channels: Sequence[str] = ("O1", "OZ", "O2")) -> tuple[np.ndarray, np.ndarray]:
    """Log band power of some EEG channels in the TR before each volume of a simulated scan.

    Parameters
    ----------
    ds : xarray.Dataset
        ``cohort.scan_data(scan)`` of a simulated (or semi-synthetic) cohort.
    band : (low, high)
        Frequency band in Hz.
    channels : sequence of str
        Channels averaged.

    Returns
    -------
    (log_power, volume_index) : tuple of ndarray
        One value per volume that has a full TR of EEG before it, and the index of that volume.
    """
    from scipy.signal import butter, hilbert, sosfiltfilt

    sfreq, tr = float(ds.attrs["sfreq"]), float(ds.attrs["tr"])
    sos = butter(4, list(band), btype="band", fs=sfreq, output="sos")
    x = ds["eeg"].sel(channel=list(channels)).values.astype(float)
    power = (np.abs(hilbert(sosfiltfilt(sos, x, axis=1), axis=1)) ** 2).mean(0)
    per_tr = int(round(tr * sfreq))
    trig = ds["volume_sample"].values
    ok = np.flatnonzero(trig >= per_tr)
    return np.log([power[trig[i] - per_tr:trig[i]].mean() for i in ok]), ok


def hrf_delay_r(log_power: np.ndarray, bold: np.ndarray, tr: float, delay: float) -> float:
    """Correlation of HRF-convolved log band power with a BOLD signal, for one HRF delay.

    Parameters
    ----------
    log_power : ndarray, shape (n,)
        Log band power per TR (:func:`band_power_per_tr`).
    bold : ndarray, shape (n,)
        The BOLD signal at the same volumes.
    tr : float
        Repetition time in s.
    delay : float
        Shift of the canonical HRF in s (0 = SPM's canonical HRF, peak near 5 s).

    Returns
    -------
    float
        Pearson r after the convolution has filled up (the first kernel length is skipped).
    """
    from ...simulation.hrf import hrf_kernels

    kernel = hrf_kernels(tr, np.array([float(delay)]))[:, 0]
    predicted = np.convolve(log_power, kernel)[:log_power.size]
    skip = kernel.size
    if log_power.size - skip < 3:
        raise ValueError(f"{log_power.size} volumes are too few for an HRF of {kernel.size} TRs.")
    return float(np.corrcoef(predicted[skip:], np.asarray(bold)[skip:])[0, 1])


@lru_cache(maxsize=8)
def coupling_predictability(strength: float, preset: str = "tiny", seed: int = 0,
                            alpha: float = 100.0, n_subjects: int | None = None,
                            n_volumes: int | None = None) -> dict[str, Any]:
    """Ridge on an unseen simulated subject, and the noise ceiling, at one coupling strength.

    The cohort is simulated with the EEG-BOLD coupling scaled by ``strength`` (same seed, so
    the same latent activity and BOLD at every strength); a :class:`RidgeBaseline` is fitted on
    all subjects but the last and tested on the last. Results are cached per argument set.

    Parameters
    ----------
    strength : float
        Coupling strength (0 = EEG says nothing about BOLD, 1 = the preset's default).
    preset : str
        Simulation preset.
    seed : int
        Cohort seed.
    alpha : float
        Ridge penalty.
    n_subjects, n_volumes : int, optional
        Override the preset's number of subjects (one scan each) and volumes per scan.

    Returns
    -------
    dict
        ``pred`` (predictions of the unseen scan), ``roi_r`` and ``ceiling`` (per ROI),
        ``mean_r`` and ``mean_ceiling`` (floats), and the ``cohort``; all simulated.
    """
    from ...data.containers import predictions
    from ...metrics import temporal_r
    from ...models import RidgeBaseline
    from ...preprocessing import demean_windows
    from ...simulation import simulate_cohort

    size = {} if n_subjects is None else {"n_subjects": n_subjects, "n_scans": n_subjects}
    if n_volumes is not None:
        size["n_volumes"] = n_volumes
    cohort = simulate_cohort(preset, seed=seed, progress=False,
                             coupling={"strength": float(strength)}, **size)
    pairs = cohort.pairs()
    train, test = pairs[:-1], pairs[-1]
    model = RidgeBaseline(alpha=alpha, ch_names=cohort.ch_names).fit(
        np.concatenate([demean_windows(p.windows.values) for p in train]),
        np.concatenate([p.bold.values for p in train]))
    pred = predictions(test.bold, model.predict(demean_windows(test.windows.values)),
                       model="ridge")
    roi_r = temporal_r(pred).squeeze("scan", drop=True)
    ceiling = cohort.noise_ceiling(str(pred.scan.values[0]))
    return {"pred": pred, "roi_r": roi_r, "ceiling": ceiling, "mean_r": float(roi_r.mean()),
            "mean_ceiling": float(ceiling.mean()), "strength": float(strength), "cohort": cohort}


def loss_table(cases: Mapping[str, Any], true: Any, alpha: float = 0.8,
               beta: float = 0.1) -> pd.DataFrame:
    """Terms and total of the multi-objective loss for several predictions of one target.

    Parameters
    ----------
    cases : mapping of str to torch.Tensor
        Predictions ``(batch, rois)``.
    true : torch.Tensor
        The target.
    alpha, beta : float
        Weights of MSE and of the temporal-correlation term (the spatial term gets
        ``1 - alpha - beta``).

    Returns
    -------
    pandas.DataFrame
        One row per case: ``mse``, ``tcorr``, ``scorr`` and ``L_MO``.
    """
    from ...models import MultiObjectiveLoss

    loss = MultiObjectiveLoss(alpha=float(alpha), beta=float(beta))
    rows = {name: {**{k: float(v) for k, v in loss.terms(pred, true).items()},
                   "L_MO": float(loss(pred, true))} for name, pred in cases.items()}
    return pd.DataFrame(rows).T


def metric_comparison(evaluated: Mapping[str, xr.Dataset], model_a: str, model_b: str,
                      metric: str = "tcorr") -> dict[str, Any]:
    """Per-scan values of one metric for two models, and their mean difference.

    Parameters
    ----------
    evaluated : mapping of str to xarray.Dataset
        :func:`unebolt_viz.metrics.evaluate` results per model label, over the same scans.
    model_a, model_b : str
        Two labels of ``evaluated``.
    metric : str
        A variable of the evaluated Datasets with a ``scan`` dimension (e.g. ``"tcorr"``).

    Returns
    -------
    dict
        ``table`` (scans x the two models), ``mean_a``, ``mean_b`` and ``difference``
        (``mean_a - mean_b``).
    """
    for label in (model_a, model_b):
        if label not in evaluated:
            raise ValueError(f"No evaluated results for {label!r}; have {list(evaluated)}.")
        if metric not in evaluated[label]:
            raise ValueError(f"{label!r} has no metric {metric!r}; have "
                             f"{list(evaluated[label].data_vars)}.")

    def per_scan(label: str) -> pd.Series:
        values = evaluated[label][metric]
        other = [d for d in values.dims if d != "scan"]
        return values.mean(other).to_series() if other else values.to_series()

    table = pd.DataFrame({model_a: per_scan(model_a), model_b: per_scan(model_b)})
    mean_a, mean_b = float(table[model_a].mean()), float(table[model_b].mean())
    return {"table": table, "mean_a": mean_a, "mean_b": mean_b, "difference": mean_a - mean_b,
            "metric": metric}


def network_trace(pred: xr.Dataset, scan: str, network: str) -> dict[str, Any]:
    """True and predicted mean signal of one network in one scan, and their correlation.

    Returns
    -------
    dict
        ``time``, ``true``, ``pred`` (ndarrays), ``r`` (float), ``n_rois``.
    """
    from ..timeseries import select_scan

    one = select_scan(pred, scan)
    in_net = one.network.values == network
    if not in_net.any():
        raise ValueError(f"No ROI of network {network!r} in these predictions; have "
                         f"{sorted(set(map(str, one.network.values)))}.")
    true = one["true"].values[:, in_net].mean(1)
    predicted = one["pred"].values[:, in_net].mean(1)
    return {"time": one.time.values, "true": true, "pred": predicted,
            "r": float(np.corrcoef(true, predicted)[0, 1]), "n_rois": int(in_net.sum())}


def roi_pair_traces(pred: xr.Dataset, scan: str, roi_a: int, roi_b: int) -> dict[str, Any]:
    """True and predicted time series of two ROIs of one scan, and their FC edges.

    Parameters
    ----------
    pred : xarray.Dataset
        Predictions (``true``, ``pred``).
    scan : str
        The scan.
    roi_a, roi_b : int
        ROI indices in ``pred``'s order.

    Returns
    -------
    dict
        ``time``, ``true_a``, ``pred_a``, ``true_b``, ``pred_b``, the ROI names ``name_a`` and
        ``name_b``, ``r_true`` (true FC edge) and ``r_pred`` (predicted FC edge).
    """
    from ..timeseries import select_scan

    one = select_scan(pred, scan)
    names = [str(r) for r in one.roi.values]
    t, p = one["true"].values, one["pred"].values
    out = {"time": one.time.values, "true_a": t[:, roi_a], "pred_a": p[:, roi_a],
           "true_b": t[:, roi_b], "pred_b": p[:, roi_b], "name_a": names[roi_a],
           "name_b": names[roi_b]}
    out["r_true"] = float(np.corrcoef(out["true_a"], out["true_b"])[0, 1])
    out["r_pred"] = float(np.corrcoef(out["pred_a"], out["pred_b"])[0, 1])
    return out


def density_agreement(fc_true: xr.DataArray, fc_pred: xr.DataArray,
                      density: float) -> dict[str, Any]:
    """How the two thresholded FC graphs agree at one density.

    Returns
    -------
    dict
        ``f1``, ``chance`` (= density, the expected F1 of random edge sets), ``n_edges`` kept per
        graph, ``negative_pred`` (fraction of the kept predicted edges that are negative),
        ``mask_true`` and ``mask_pred`` (edge masks).
    """
    from ...metrics import edge_mask, f1_at_density

    mask_true, mask_pred = edge_mask(fc_true, density), edge_mask(fc_pred, density)
    upper = np.triu(np.ones(fc_pred.shape, bool), k=1)
    kept = np.asarray(mask_pred.values) & upper
    return {"f1": float(f1_at_density(fc_true, fc_pred, density)), "chance": float(density),
            "n_edges": int(kept.sum()), "negative_pred": float((fc_pred.values[kept] < 0).mean()),
            "mask_true": mask_true, "mask_pred": mask_pred, "density": float(density)}


def strongest_edges(fc: xr.DataArray, n_edges: int = 40) -> pd.DataFrame:
    """The ``n_edges`` strongest edges (largest ``|r|``) of an FC matrix with their centroids.

    Returns
    -------
    pandas.DataFrame
        ``i``, ``j``, ``roi_a``, ``roi_b``, ``r`` and the MNI centroids ``xa, ya, za, xb, yb, zb``
        (from the ``x``/``y``/``z`` coordinates the FC matrix carries), strongest first.
    """
    missing = [c for c in ("x", "y", "z") if c not in fc.coords]
    if missing:
        raise ValueError(f"The FC matrix carries no ROI centroids ({missing} missing); make it "
                         "from predictions or ROI time series built on an atlas.")
    rows, cols = np.triu_indices(fc.sizes["roi"], k=1)
    values = fc.values[rows, cols]
    top = np.argsort(-np.abs(values), kind="stable")[:n_edges]
    xyz = np.column_stack([fc[c].values.astype(float) for c in ("x", "y", "z")])
    names = [str(r) for r in fc.roi.values]
    i, j = rows[top], cols[top]
    return pd.DataFrame({"i": i, "j": j, "roi_a": [names[k] for k in i],
                         "roi_b": [names[k] for k in j], "r": values[top],
                         "xa": xyz[i, 0], "ya": xyz[i, 1], "za": xyz[i, 2],
                         "xb": xyz[j, 0], "yb": xyz[j, 1], "zb": xyz[j, 2]})
