"""The explorer's volumes tab: true and predicted slices side by side, with a slice slider.

Shown only when the results file holds volumes (see
:func:`~unebolt_viz.app.sources.volumes_beside`: a ``volumes.nc`` with ``true`` and ``pred``
``bold_volumes`` variables beside the ROI predictions, as written by
:func:`unebolt_viz.training.run_volumetric`). The volumes file is opened lazily and shared by the
sessions of the server; moving a slider reads one volume of each (0.5 MB at 64 x 64 x 30).

What is drawn: the axial slice ``z`` chosen by the slider, of the true volume, the predicted
one and their difference, each volume min-max scaled to [0, 1] as E2fNet and Spec2VolCAMU-Net
scale their targets (files already in [0, 1], like ``run_volumetric``'s, are shown as stored),
and the SSIM and PSNR of the whole volume shown, as those papers define them
(:mod:`unebolt_viz.metrics.volumetric`).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn
import xarray as xr

from ...viz import PROVENANCE_LABELS
from ...viz.interactive.volumes import scaled_volume, slice_image, volume_scores
from ..sources import OutsideDataDirError, volumes_beside

__all__ = ["VOLUMES_TAB", "VolumeSlices", "cached_volumes", "slice_image", "scaled_volume",
           "volume_scores", "sync_volumes_tab", "volumes_view"]

#: Title of the tab (added after the explorer's fixed tabs when the file holds volumes).
VOLUMES_TAB = "Volumes"
_IMAGE = 250


@pn.cache(max_items=4, policy="LRU")
def cached_volumes(path: str) -> tuple[xr.DataArray, xr.DataArray]:
    """The true and predicted volumes of a volumes file, opened lazily, shared by sessions."""
    from ...data.containers import InvalidDataError
    from ...data.volumes import open_volumes

    true = open_volumes(path, variable="true")
    pred = open_volumes(path, variable="pred")
    if true.shape != pred.shape:
        raise InvalidDataError(f"{Path(path).name}: true volumes {true.shape} but predicted "
                               f"{pred.shape}; write both for the same time points and grid.")
    return true, pred


def _image_figure(title: str, palette: Any, low: float, high: float, shape: tuple[int, int],
                  css: str) -> tuple[Any, Any, Any]:
    from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
    from bokeh.plotting import figure

    ny, nx = shape
    source = ColumnDataSource({"image": [np.zeros(shape)]})
    mapper = LinearColorMapper(palette=palette, low=low, high=high)
    fig = figure(title=title, width=_IMAGE + 60, height=int(_IMAGE * ny / nx) + 40,
                 x_range=(0, nx), y_range=(0, ny), tools="hover,save",
                 tooltips=[("x", "$x{0}"), ("y", "$y{0}"), ("value", "@image{0.000}")],
                 match_aspect=True, css_classes=[css], toolbar_location=None)
    fig.image(image="image", x=0, y=0, dw=nx, dh=ny, color_mapper=mapper, source=source)
    fig.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
    fig.axis.visible = False
    fig.grid.visible = False
    return fig, source, mapper


class VolumeSlices:
    """True | predicted | difference slices of one scan's volumes, with slice and volume sliders.

    Parameters
    ----------
    true, pred : xarray.DataArray
        ``bold_volumes`` containers of the same volumes (lazily opened files are fine).
    scan : str, optional
        Show the volumes of this scan (default: all volumes of the file).
    model : str
        Name of the model in the titles.
    """

    def __init__(self, true: xr.DataArray, pred: xr.DataArray, scan: str | None = None,
                 model: str = "model") -> None:
        from bokeh.models import Div
        from bokeh.palettes import gray

        from ...viz._style import FC_CMAP
        from .fc_matrix import _palette

        scans = true.scan.values.astype(str)
        self.scan = scan if scan in set(scans) else None
        self.times = np.flatnonzero(scans == scan) if self.scan else np.arange(true.sizes["time"])
        self.true, self.pred, self.model = true, pred, model
        self.data_source = str(true.attrs.get("data_source", "real"))
        nz = true.sizes["z"]
        shape = (true.sizes["y"], true.sizes["x"])
        self.z_slider = pn.widgets.IntSlider(label="Slice (z index)", start=0, end=nz - 1,
                                             value=nz // 2, width=300,
                                             css_classes=["volume-slice-slider"])
        self.t_slider = pn.widgets.IntSlider(
            label=f"Volume (index in {'scan ' + scan if self.scan else 'the file'})", start=0,
            end=max(len(self.times) - 1, 1), value=0, width=300,
            disabled=len(self.times) < 2, css_classes=["volume-time-slider"])
        grey = gray(256)
        self.figures, self.sources = {}, {}
        for kind, title, palette, low in (("true", "True", grey, 0.0),
                                          ("pred", f"Predicted ({model})", grey, 0.0),
                                          ("diff", "Pred - true (red: pred higher)",
                                           _palette(FC_CMAP), -0.5)):
            fig, source, _ = _image_figure(title, palette, low, 1.0 if kind != "diff" else 0.5,
                                           shape, f"volume-{kind}")
            self.figures[kind], self.sources[kind] = fig, source
        self.readout = Div(width=900, css_classes=["volume-readout"])
        self.scores: dict[str, float] = {}
        self._volume: tuple[int, np.ndarray, np.ndarray, bool] | None = None
        self.z_slider.param.watch(lambda e: self.show(), "value")
        self.t_slider.param.watch(lambda e: self.show(), "value")
        self.show()

    def _read(self, k: int) -> tuple[np.ndarray, np.ndarray, bool]:
        """Volume ``k`` (index into :attr:`times`), true and predicted, in [0, 1] (memo of one)."""
        if self._volume is None or self._volume[0] != k:
            t = int(self.times[k])
            true, scaled_t = scaled_volume(self.true.isel(time=t).values)
            pred, scaled_p = scaled_volume(self.pred.isel(time=t).values)
            self._volume = (k, true, pred, scaled_t or scaled_p)
        return self._volume[1:]

    def show(self) -> None:
        """Draw the slice and volume the sliders name; update the scores readout."""
        k = min(int(self.t_slider.value), len(self.times) - 1)
        z = int(self.z_slider.value)
        true, pred, rescaled = self._read(k)
        self.sources["true"].data = {"image": [slice_image(true, z)]}
        self.sources["pred"].data = {"image": [slice_image(pred, z)]}
        self.sources["diff"].data = {"image": [slice_image(pred - true, z)]}
        self.scores = volume_scores(true, pred)
        t = int(self.times[k])
        where = (f"volume {int(self.true.tr_index.values[t])} of scan "
                 f"{html.escape(str(self.true.scan.values[t]))} "
                 f"(t = {float(self.true.time.values[t]):.1f} s)")
        scaling = ("min-max scaled here to [0, 1] per volume" if rescaled
                   else "as stored, min-max scaled per volume to [0, 1]")
        label = PROVENANCE_LABELS.get(self.data_source, self.data_source).upper()
        self.readout.text = (
            f"<b class='volume-source'>{html.escape(label)}</b> &middot; "
            f"<span class='volume-where'>{where}, slice z = {z} of "
            f"{self.true.sizes['z']}</span><br>This volume: <b class='volume-ssim'>SSIM "
            f"{self.scores['ssim']:.3f}</b>, <b class='volume-psnr'>PSNR "
            f"{self.scores['psnr']:.2f} dB</b> (2-D SSIM of every slice, 11 x 11 Gaussian "
            f"window, sigma 1.5, data range 1, as the E2fNet and Spec2VolCAMU-Net papers define "
            f"them; values {scaling}).")

    def __panel__(self) -> Any:
        return pn.Column(
            pn.Row(self.z_slider, self.t_slider),
            pn.pane.Bokeh(self.readout),
            pn.Row(*(pn.pane.Bokeh(self.figures[k], css_classes=[f"volume-pane-{k}"])
                     for k in ("true", "pred", "diff"))),
            sizing_mode="stretch_width", css_classes=["volumes-view"])


def _volumes_path(app: Any) -> tuple[Path | None, str]:
    """The results file's volumes file, or the reason it cannot be read."""
    res = app.results
    if res is None or res.pred is None:
        return None, ""
    try:
        return volumes_beside(app.source, dict(res.pred.attrs), app.data_dir), ""
    except (OutsideDataDirError, FileNotFoundError) as err:
        return None, str(err)


def sync_volumes_tab(app: Any, n_fixed: int) -> None:
    """Add the volumes tab after the ``n_fixed`` fixed tabs when the source holds volumes,
    else remove it.

    A results file naming a volumes file that cannot be read keeps the tab, which says why.
    """
    path, problem = _volumes_path(app)
    app.volumes_file, app.volumes_problem = path, problem
    shown = len(app._tabs) > n_fixed
    wanted = path is not None or bool(problem)
    if wanted and not shown:
        app._tabs.append((VOLUMES_TAB, app._tab_panes[VOLUMES_TAB]))
    elif shown and not wanted:
        if app._tabs.active >= n_fixed:
            app._tabs.active = 0
        app._tabs.pop(n_fixed)
        app._tab_panes[VOLUMES_TAB].objects = []


def volumes_view(app: Any) -> Any:
    """The volumes tab's contents for the explorer's results and scan."""
    path = getattr(app, "volumes_file", None)
    problem = getattr(app, "volumes_problem", "")
    if path is None:
        return pn.pane.Markdown(html.escape(problem or "This results file holds no volumes."),
                                css_classes=["volumes-note"])
    try:
        true, pred = cached_volumes(str(path))
    except Exception as err:  # a broken file: say it, keep the app alive
        return pn.pane.Markdown(f"The volumes in {html.escape(path.name)} cannot be shown: "
                                f"{html.escape(str(err))}", css_classes=["volumes-note"])
    model = str(pred.attrs.get("model", app.results.model or "model"))
    app.volume_slices = VolumeSlices(true, pred, scan=app.scan, model=model)
    note = pn.pane.Markdown(
        f"True and predicted volumes from `{html.escape(path.name)}` beside the results file "
        "(axial slices; the difference is pred - true). The ROI tabs show these predictions "
        "after the bridge: each region's in-mask voxels averaged into its ROI time series.",
        sizing_mode="stretch_width")
    return pn.Column(note, app.volume_slices, sizing_mode="stretch_width")
