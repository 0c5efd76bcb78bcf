"""What the explorer lets a user take away: the figure (PNG, SVG), the metrics table (CSV) and
the predictions shown (netCDF).

Each function returns the file's bytes; the explorer hands them to ``pn.widgets.FileDownload``.
The figure is the static twin of the FC tab (:func:`unebolt_viz.viz.plot_fc`): true and
predicted FC at the density shown and their difference, each titled with its provenance.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd
import xarray as xr

from ..sources import Results
from .labels import DIFF_COLORBAR_TITLE

__all__ = ["difference_fc", "figure_bytes", "table_csv_bytes", "predictions_netcdf_bytes",
           "export_name"]


def difference_fc(fc_true: xr.DataArray, fc_pred: xr.DataArray) -> xr.DataArray:
    """The ``fc`` container of ``pred - true`` (same ROIs, provenance of the prediction)."""
    diff = fc_pred.copy(data=fc_pred.values - fc_true.values)
    diff.attrs = {**fc_pred.attrs, "description": "predicted minus true FC"}
    return diff


def export_name(res: Results, scan: str, suffix: str) -> str:
    """A file name saying what is inside: source, model, level, scan."""
    model = (res.model or "true-only").replace(" ", "_")
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{model}_p{res.n_rois}")
    return f"fc_explorer_{res.data_source}_{keep}_{scan}.{suffix}"


def figure_bytes(res: Results, scan: str, density: float, fmt: str = "png") -> bytes:
    """True, predicted and difference FC of one scan as a PNG or SVG file.

    Parameters
    ----------
    res : Results
        The data and model shown.
    scan : str
        The scan.
    density : float
        Density of the edges kept in the true and predicted panels (1: all).
    fmt : {"png", "svg"}
        File format.
    """
    import matplotlib.pyplot as plt

    from ...viz import plot_fc

    if fmt not in ("png", "svg"):
        raise ValueError(f"fmt={fmt!r}; use 'png' or 'svg'.")
    fc_true, fc_pred = res.fc(scan)
    dens = None if density >= 1.0 else float(density)
    n = 1 if fc_pred is None else 3
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.8), layout="constrained", squeeze=False)
    try:
        plot_fc(fc_true, density=dens, ax=axes[0, 0], title=f"True FC, {scan}", legend=False)
        if fc_pred is not None:
            plot_fc(fc_pred, density=dens, ax=axes[0, 1],
                    title=f"Predicted FC ({res.model}), {scan}", legend=False)
            plot_fc(difference_fc(fc_true, fc_pred), ax=axes[0, 2], colorbar=True,
                    title=f"{DIFF_COLORBAR_TITLE}, all edges", legend="auto")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=120)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def table_csv_bytes(table: pd.DataFrame) -> bytes:
    """A metrics table as UTF-8 CSV."""
    return table.to_csv().encode("utf-8")


def predictions_netcdf_bytes(res: Results, scan: str) -> bytes:
    """The predictions of one scan as a netCDF file (:func:`unebolt_viz.save`).

    Raises
    ------
    ValueError
        For a source without predictions (true data only).
    """
    from ...data.netcdf import save

    if res.pred is None:
        raise ValueError("This source has no predictions to export (true data only).")
    one = res.pred.isel(time=(res.pred.scan.values.astype(str) == scan).nonzero()[0])
    with tempfile.TemporaryDirectory() as tmp:
        path = save(one, Path(tmp) / "predictions.nc")
        return path.read_bytes()
