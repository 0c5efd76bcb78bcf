"""Reference rows of an experiment's tables (``references: true`` in an experiment config).

Beside the models' rows, :func:`add_reference_rows` scores on the same test scans (see
:mod:`unebolt_viz.metrics.reference`):

- the training-set mean of each ROI (over the training scans of the run that tested the scan);
- each model's own prediction, time-shuffled within each scan;
- the true global signal copied to every ROI (an oracle: it reads the test data);
- the simulator's noise ceiling (an oracle; simulated data only; Tcorr only).

They are appended along the ``model`` dimension of ``metrics.nc`` with a ``role`` coordinate
(``"model"``, ``"reference"`` or ``"oracle"``) and as rows of ``summary.csv`` with a ``role``
column, and their labels say ``[reference]`` or ``[oracle]``. Their per-model metrics go to
``metrics/references/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._utils import atomic_path
from ..data.netcdf import load, save

__all__ = ["add_reference_rows", "experiment_reference_metrics"]


def _concat(parts: list[xr.Dataset]) -> xr.Dataset:
    return parts[0] if len(parts) == 1 else xr.concat(parts, dim="time", combine_attrs="override")


def _truth_and_means(jobs: Sequence[Any]) -> tuple[xr.Dataset, xr.Dataset]:
    """Test truth of every run as a predictions Dataset, and its training-mean prediction."""
    from ..data.containers import predictions
    from ..metrics.reference import mean_predictor, training_mean

    truths, means = [], []
    for _, train, _, test in jobs:
        mean = training_mean(train)
        for pair in test:
            truth = predictions(pair.bold, pair.bold.values, model="truth")
            truths.append(truth)
            means.append(mean_predictor(truth, mean))
    return _concat(truths), _concat(means)


def _file_name(label: str) -> str:
    """A file-name-safe form of a label (the experiment runner's rule)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_") or "model"


def _model_predictions(cfg: Any) -> list[xr.Dataset]:
    """The saved test predictions of the config's models, in its order (``model`` attribute)."""
    found = {}
    for path in sorted((cfg.folder / "predictions").glob("*.nc")):
        pred = load(path)
        found.setdefault(str(pred.attrs.get("model")), pred)
    return [found[m["label"]] for m in cfg["models"] if m["label"] in found]


def experiment_reference_metrics(cfg: Any, jobs: Sequence[Any], cohort: Any = None,
                                 test_scans: Sequence[str] = (), seed: int = 0
                                 ) -> dict[str, xr.Dataset]:
    """The reference metrics of an experiment whose models have written their predictions.

    Parameters
    ----------
    cfg : ExperimentConfig
        The experiment (its folder holds ``predictions/<label>.nc``).
    jobs : sequence of (tag, train, val, test)
        Its runs (:func:`~unebolt_viz.training.experiment_data.experiment_jobs`).
    cohort : SimulatedCohort, optional
        The simulated cohort, for the noise ceiling.
    test_scans : sequence of str
        The scans tested (for the noise ceiling).
    seed : int
        Seed of the time shuffles.

    Returns
    -------
    dict
        ``{label: metrics Dataset}`` with attribute ``reference_kind``.
    """
    from ..metrics import evaluate
    from ..metrics.reference import global_signal_oracle, noise_ceiling_metrics, time_shuffled

    densities = cfg["densities"]
    truth, mean_pred = _truth_and_means(jobs)
    refs = [mean_pred]
    for pred in _model_predictions(cfg):
        refs.append(time_shuffled(pred, seed=seed))
    refs.append(global_signal_oracle(truth))
    out: dict[str, xr.Dataset] = {}
    for ref in refs:
        metrics = evaluate(ref, densities=densities)
        metrics.attrs.update({k: ref.attrs[k] for k in ("model", "reference_kind", "reference")})
        out[ref.attrs["model"]] = metrics
    if cohort is not None and test_scans:
        ceiling = xr.concat([cohort.noise_ceiling(s) for s in test_scans], dim="scan",
                            combine_attrs="drop_conflicts").assign_coords(scan=list(test_scans))
        like = next(iter(out.values()))
        metrics = noise_ceiling_metrics(ceiling, like)
        out[metrics.attrs["model"]] = metrics
    return out


def add_reference_rows(cfg: Any, combined: xr.Dataset, jobs: Sequence[Any], cohort: Any = None,
                       test_scans: Sequence[str] = ()) -> tuple[xr.Dataset, dict[str, Any]]:
    """Append the reference rows to ``metrics.nc`` and ``summary.csv`` of an experiment.

    Parameters
    ----------
    cfg : ExperimentConfig
    combined : xarray.Dataset
        The models' metrics along ``model`` (what ``metrics.nc`` holds).
    jobs, cohort, test_scans
        As for :func:`experiment_reference_metrics`.

    Returns
    -------
    combined : xarray.Dataset
        Models and references along ``model``, with the ``role`` coordinate.
    record : dict
        ``{label: {"kind", "tcorr_mean"}}`` for ``results.json``.
    """
    from ..metrics import summary_table

    folder = cfg.folder
    refs = experiment_reference_metrics(cfg, jobs, cohort, test_scans)
    for label, metrics in refs.items():
        save(metrics, folder / "metrics" / "references" / f"{_file_name(label)}.nc")
    models = combined.assign_coords(role=("model", ["model"] * combined.sizes["model"]))
    stacked = xr.concat(list(refs.values()), dim=pd.Index(list(refs), name="model"),
                        combine_attrs="drop_conflicts", coords="minimal", compat="override")
    stacked = stacked.assign_coords(
        role=("model", [m.attrs["reference_kind"] for m in refs.values()]))
    out = xr.concat([models, stacked], dim="model", combine_attrs="override", coords="minimal",
                    compat="override")
    out.attrs = {**combined.attrs, "references": "rows with role 'reference' or 'oracle' are "
                 "reference points, not models (unebolt_viz.metrics.reference)"}
    save(out, folder / "metrics.nc")
    summary = pd.read_csv(folder / "summary.csv", index_col="model", dtype=str)
    summary["role"] = "model"
    for label, metrics in refs.items():
        row = summary_table(metrics).loc[["Mean(std)"]].rename(index={"Mean(std)": label})
        row = row.replace("nan(nan)", "")
        row["role"] = metrics.attrs["reference_kind"]
        summary = pd.concat([summary, row])
    summary.index.name = "model"
    with atomic_path(folder / "summary.csv") as tmp:
        summary.to_csv(tmp)
    record = {label: {"kind": m.attrs["reference_kind"],
                      "tcorr_mean": float(np.nanmean(m["tcorr"].values))}
              for label, m in refs.items()}
    return out, record
