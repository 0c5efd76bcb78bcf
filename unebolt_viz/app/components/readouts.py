"""The explorer's words: provenance header, metric readout, selected cell, metrics table.

Plain functions of a :class:`~unebolt_viz.app.sources.Results` (no Panel, no Bokeh), so that
what the app says is testable on its own and the same table is shown and exported.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ...viz import PROVENANCE_LABELS
from ..sources import Results

__all__ = ["BANNER_COLORS", "NO_MODEL_LABEL", "header_html", "readout_html", "selection_html",
           "metrics_table", "f1_at", "model_label"]

#: Banner colour of each provenance (the header always says which data is shown).
BANNER_COLORS = {"simulated": "#fff3cd", "semi-synthetic": "#efe3fb", "real": "#d8f0dc"}
#: The model choice of a source without predictions.
NO_MODEL_LABEL = "No model (true data only)"


def _fmt(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None or not np.isfinite(float(value)) else f"{float(value):.{digits}f}"


def model_label(model: str | None) -> str:
    """The name of a model choice (None: true data only)."""
    return NO_MODEL_LABEL if model is None else str(model)


def header_html(res: Results, note: str = "") -> str:
    """The provenance banner: which data (simulated, semi-synthetic, real) and which model."""
    words = PROVENANCE_LABELS[res.data_source]
    model = (f"model shown: <b class='model-shown'>{html.escape(res.model)}</b>" if res.model
             else "<b class='model-shown'>no model</b>: true data only")
    extra = (f"<div class='model-note' style='margin-top:4px;color:#8a4b00'><b>Note:</b> "
             f"{html.escape(note)}</div>" if note else "")
    return (
        f"<div class='provenance provenance-{res.data_source}' style='background:"
        f"{BANNER_COLORS[res.data_source]};padding:8px 14px;border-radius:6px;'>"
        f"<span style='font-size:18px'><b>UnEBOLT FC explorer</b></span> &mdash; showing "
        f"<b class='data-source'>{html.escape(words.upper())}</b>: "
        f"{html.escape(res.label)} ({res.n_rois} ROIs) &middot; {model}<br>"
        f"<span style='font-size:12px'>{html.escape(res.description)}</span>{extra}</div>"
    )


def f1_at(res: Results, scan: str, density: float) -> float | None:
    """F1 of one scan at ``density``: the precomputed grid value, else computed."""
    metrics = res.scan_metrics(scan)
    if metrics is None:
        return None
    grid = np.asarray(metrics.density.values, dtype=float)
    k = int(np.argmin(np.abs(grid - density)))
    if abs(grid[k] - density) < 1e-9:
        return float(metrics["f1"].values[k])
    from ...metrics import f1_at_density

    fc_true, fc_pred = res.fc(scan)
    return f1_at_density(fc_true, fc_pred, density)


def readout_html(res: Results, scan: str, density: float, f1: float | None) -> str:
    """The live readout beside the slider: F1 at the density shown, Pixcorr, ConnMSE, Tcorr."""
    metrics = res.scan_metrics(scan)
    if metrics is None:
        return ("<div class='readout'><b>No predictions</b>: true FC only.<br>"
                f"Density {density:.2f}</div>")
    return (
        "<div class='readout' style='font-size:15px;line-height:1.6'>"
        f"<span class='f1-value'>F1 @ {density:.2f}: <b>{_fmt(f1)}</b></span><br>"
        f"<span class='pixcorr-value'>Pixcorr: <b>{_fmt(metrics['pixcorr'].values)}</b>"
        "</span><br>"
        f"<span class='connmse-value'>ConnMSE: <b>{_fmt(metrics['conn_mse'].values)}</b>"
        "</span><br>"
        f"<span style='color:#666;font-size:12px'>Tcorr (mean ROI R): "
        f"{_fmt(metrics['tcorr'].values)}</span></div>"
    )


def selection_html(res: Results, scan: str, roi_a: int, roi_b: int) -> str:
    """What the selected cell shows: its two ROIs (of the data shown) and their r."""
    fc_true, fc_pred = res.fc(scan)
    names = fc_true.roi.values.astype(str)
    text = (f"<span class='selection'><b>Selected</b>: {html.escape(names[roi_a])} &times; "
            f"{html.escape(names[roi_b])}<br>true r = {fc_true.values[roi_a, roi_b]:.2f}")
    if fc_pred is not None:
        text += f", predicted r = {fc_pred.values[roi_a, roi_b]:.2f}"
    else:
        text += " (no prediction: true data only)"
    return text + "</span>"


#: Row labels of the reference points computed from the predictions shown.
SHUFFLED_ROW = "{model}, time-shuffled (reference)"
GLOBAL_ORACLE_ROW = "oracle: true global signal in every ROI"


def _computed_references(shown: Results, scan: str, density: float,
                         f1_col: str) -> list[dict[str, Any]]:
    """The time-shuffled prediction and the global-signal oracle of one scan, as table rows."""
    if shown.pred is None:
        return []
    from ...metrics import evaluate
    from ...metrics.reference import global_signal_oracle, time_shuffled

    one = shown.pred.isel(time=np.flatnonzero(shown.pred.scan.values.astype(str) == scan))
    if one.sizes["time"] < 3:
        return []
    rows = []
    for name, ref, role in (
            (SHUFFLED_ROW.format(model=model_label(shown.model)), time_shuffled(one), "reference"),
            (GLOBAL_ORACLE_ROW, global_signal_oracle(one), "oracle")):
        m = evaluate(ref, densities=[float(density)]).isel(scan=0)
        rows.append({"row": name, "Tcorr": float(m["tcorr"]), "Pixcorr": float(m["pixcorr"]),
                     "ConnMSE": float(m["conn_mse"]), f1_col: float(m["f1"].values[0]),
                     "role": role})
    return rows


def metrics_table(shown: Results, scan: str, density: float,
                  others: Mapping[str, Results] | None = None) -> pd.DataFrame:
    """The metrics of one scan for the model shown, with reference rows where they exist.

    Parameters
    ----------
    shown : Results
        The data and model shown.
    scan : str
        The scan.
    density : float
        Density of the F1 column.
    others : mapping of str to Results, optional
        Other models on the same scans (e.g. the baselines of the embedded cohort), shown as
        reference rows.

    Returns
    -------
    pandas.DataFrame
        One row per model (``role`` "shown" or "reference"), plus "chance" (F1 of randomly
        kept edges equals the density), the model's prediction time-shuffled within the scan
        (Tcorr at chance, FC unchanged) and, with ``role`` "oracle" (they read the true
        data), the true global signal copied to every ROI and the "noise ceiling" (mean over
        ROIs of the best achievable r) when the source provides it
        (:mod:`unebolt_viz.metrics.reference`). Columns ``Tcorr``, ``Pixcorr``,
        ``ConnMSE``, ``F1@<density>``, ``role``, ``data_source``.
    """
    f1_col = f"F1@{density:.2f}"
    rows: list[dict[str, Any]] = []

    def add(name: str, res: Results, role: str) -> None:
        metrics = res.scan_metrics(scan)
        if metrics is None:
            return
        rows.append({"row": name, "Tcorr": float(metrics["tcorr"]),
                     "Pixcorr": float(metrics["pixcorr"]), "ConnMSE": float(metrics["conn_mse"]),
                     f1_col: f1_at(res, scan, density), "role": role})

    add(model_label(shown.model), shown, "shown")
    for name, res in (others or {}).items():
        if name != shown.model and scan in res.scans:
            add(name, res, "reference")
    if shown.metrics is not None:
        rows.append({"row": "chance (edges kept at random)", f1_col: float(density),
                     "role": "reference"})
    ceiling = shown.noise_ceiling
    if ceiling is not None and scan in set(map(str, ceiling.scan.values)):
        rows.append({"row": "noise ceiling (best achievable mean ROI r)",
                     "Tcorr": float(ceiling.sel(scan=scan).mean()), "role": "oracle"})
    rows.extend(_computed_references(shown, scan, density, f1_col))
    table = pd.DataFrame(rows, columns=["row", "Tcorr", "Pixcorr", "ConnMSE", f1_col, "role"])
    table["data_source"] = shown.data_source
    return table.set_index("row")
