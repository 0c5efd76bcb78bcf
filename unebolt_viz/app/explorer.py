"""The FC explorer: a Panel ``Viewer`` composing the figures of :mod:`unebolt_viz.app.components`.

Serve it with ``panel serve apps/fc_explorer.py``. Data shared by all sessions (loaded
predictions, their metrics, per-scan FC matrices, atlases) is cached with ``pn.cache``; each
session only owns its Bokeh models, which are updated in place when a widget moves. The
surface map is a server-rendered image (cached too), so the page loads no 3-D library.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import panel as pn
import param

from ..viz import PROVENANCE_LABELS, plot_surface_r
from .components.curves import density_curve_figure
from .components.fc_matrix import FCMatrixPlot
from .components.timeseries import ROIPairPlot, network_timeseries_figure
from .sources import (
    OutsideDataDirError,
    Results,
    app_data_dir,
    available_sources,
    embedded_catalog,
    load_results,
    resolve_inside,
)

__all__ = ["FCExplorer", "cached_results", "BANNER_COLORS"]

#: Banner colour of each provenance (the header always says which data is shown).
BANNER_COLORS = {"simulated": "#fff3cd", "semi-synthetic": "#efe3fb", "real": "#d8f0dc"}


@pn.cache(max_items=16, policy="LRU")
def cached_results(key: str, n_rois: int, model: str | None, data_dir: str) -> Results:
    """:func:`~unebolt_viz.app.sources.load_results`, shared by every session of the server."""
    return load_results(key, n_rois=n_rois, model=model, data_dir=data_dir)


@pn.cache(max_items=64, policy="LRU")
def surface_png(key: str, n_rois: int, model: str | None, data_dir: str,
                scan: str | None) -> bytes:
    """The per-ROI R map of one scan (or the mean over scans) as a PNG, shared by sessions.

    A static image (the matplotlib figure of :func:`unebolt_viz.viz.plot_surface_r`) keeps the
    page light: no 3-D library and no mesh are sent to the browser.
    """
    import io

    import matplotlib.pyplot as plt

    embedded = key == "embedded"
    res = cached_results(key, n_rois if embedded else 0, model if embedded else None, data_dir)
    r = res.metrics["temporal_r"]
    if scan is not None:
        values, label = r.sel(scan=scan), f"temporal R, {scan}"
    else:
        values, label = r.mean("scan"), f"temporal R, mean of {r.sizes['scan']} scans"
    values = values.drop_vars([c for c in ("roi_network", "subject", "scan")
                               if c in values.coords])
    fig = plot_surface_r(values, res.atlas, label=label, data_source=res.data_source,
                         vmax=1.0, n_vertices=8000,
                         title=f"Temporal R of {res.model} on the cortex")
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _fmt(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None else f"{float(value):.{digits}f}"


class FCExplorer(pn.viewable.Viewer):
    """True vs predicted functional connectivity, explored across sparsity, scans and models.

    Parameters
    ----------
    data_dir : path, optional
        The only folder (besides the package's embedded data and ``../shared/data``) whose
        results files the app reads; default :func:`~unebolt_viz.app.sources.app_data_dir`.
    **params
        Initial values of the parameters below.
    """

    source = param.Selector(check_on_set=True, doc="Which data to show.")
    # Levels, models and scans depend on the source; values the source lacks fall back to its
    # first choice when loading (the source itself is always checked: it decides what is read).
    n_rois = param.Selector(default=64, objects=[64, 128, 256], check_on_set=False,
                            doc="Parcellation level (ROIs).")
    model = param.Selector(default=None, objects=[None], check_on_set=False,
                           doc="Model whose predictions are shown.")
    scan = param.Selector(default=None, objects=[None], check_on_set=False, doc="Scan shown.")
    density = param.Number(default=0.25, bounds=(0.05, 1.0), step=0.05,
                           doc="Fraction of edges kept (top |r|) in both matrices.")
    surface_scope = param.Selector(default="this scan", objects=["this scan", "mean over scans"])

    def __init__(self, data_dir: str | Path | None = None, **params: Any) -> None:
        self._data_dir = str(Path(data_dir).resolve() if data_dir is not None else app_data_dir())
        sources = available_sources(self._data_dir)
        if not sources:
            raise RuntimeError(
                "No data to show: the embedded predictions are missing from this install "
                "(unebolt_viz/resources/embedded) and no results file is in "
                f"{self._data_dir}."
            )
        source = params.pop("source", next(iter(sources.values())))
        self._updating = False
        self.results: Results | None = None
        self.fc_true_plot: FCMatrixPlot | None = None
        self.fc_pred_plot: FCMatrixPlot | None = None
        self.pair_plot: ROIPairPlot | None = None
        self._curve_marker = None
        self.last_f1: float | None = None

        self._header = pn.pane.HTML(sizing_mode="stretch_width", margin=(0, 5))
        self._alert = pn.pane.Alert("", alert_type="danger", visible=False)
        from bokeh.models import Div

        self._readout_div = Div(width=300, css_classes=["fc-readout"])
        self._readout = pn.pane.Bokeh(self._readout_div)
        self._cell_info = pn.pane.HTML(width=300)
        self._fc_true_pane = pn.pane.Bokeh(css_classes=["fc-true"])
        self._fc_pred_pane = pn.pane.Bokeh(css_classes=["fc-pred"])
        self._pred_missing = pn.pane.Markdown(width=460)
        self._pred_slot = pn.Column(self._fc_pred_pane)
        self._curve_pane = pn.pane.Bokeh()
        self._pair_pane = pn.pane.Bokeh(css_classes=["roi-pair"])
        self._surface_pane = pn.Column(sizing_mode="stretch_width")
        self._network_pane = pn.Column()
        super().__init__(**params)
        # The sources offered are this session's (set on its own copy of the parameter); the
        # parameter refuses any other value, whoever sets it (widget, link, code).
        self.param.source.objects = dict(sources)
        if source not in self.param.source.objects.values():
            raise ValueError(f"source={source!r} is not offered; choose one of "
                             f"{list(sources.values())}.")
        with param.parameterized.discard_events(self):
            self.source = source

        self._file_input = pn.widgets.TextInput(
            label="Open a results file (path inside the data directory)",
            placeholder="run1/predictions.nc", width=280)
        self._file_button = pn.widgets.Button(label="Open", width=80)
        self._file_button.on_click(self._open_file)
        self.slider = pn.widgets.FloatSlider.from_param(
            self.param.density, label="Edge density (sparsity)", width=280,
            css_classes=["density-slider"])
        self._tabs = pn.Tabs(
            ("FC", pn.Column(
                pn.Row(self._fc_true_pane, self._pred_slot),
                self._pair_pane)),
            ("Surface R", pn.Column(
                pn.widgets.RadioButtonGroup.from_param(self.param.surface_scope),
                self._surface_pane)),
            ("Network time series", self._network_pane),
            dynamic=True,
        )
        self._tabs.param.watch(self._on_tab, "active")
        self._load()

    # ------------------------------------------------------------------ layout

    def __panel__(self):
        controls = pn.Column(
            pn.widgets.Select.from_param(self.param.source, label="Data", width=280),
            pn.widgets.Select.from_param(self.param.n_rois, label="Parcellation (ROIs)",
                                         width=280),
            pn.widgets.Select.from_param(self.param.model, label="Model", width=280),
            pn.widgets.Select.from_param(self.param.scan, label="Scan", width=280),
            self.slider,
            self._readout,
            self._curve_pane,
            self._cell_info,
            pn.Row(self._file_input, self._file_button),
            width=320,
        )
        if pn.state.location is not None:
            # Links can name what to show, e.g. ?source=file:run1.nc&n_rois=256&density=0.5;
            # values the app does not offer are rejected by the parameters themselves.
            pn.state.location.sync(self, {"source": "source", "n_rois": "n_rois",
                                          "model": "model", "scan": "scan",
                                          "density": "density"})
        return pn.Column(self._header, self._alert, pn.Row(controls, self._tabs),
                         sizing_mode="stretch_width")

    # ------------------------------------------------------------------ loading

    def _error(self, message: str) -> None:
        self._alert.object = message
        self._alert.visible = True

    def _open_file(self, event: Any = None) -> None:
        name = self._file_input.value.strip()
        try:
            path = resolve_inside(name, self._data_dir)
        except (OutsideDataDirError, FileNotFoundError) as err:
            self._error(html.escape(str(err)))
            return
        key = f"file:{path.relative_to(self._data_dir)}"
        names = dict(self.param.source.names or {})
        names.setdefault(f"Results file: {path.relative_to(self._data_dir)}", key)
        self.param.source.objects = names
        self.source = key

    @param.depends("source", "n_rois", "model", watch=True)
    def _load(self) -> None:
        if self._updating:
            return
        self._updating = True
        try:
            try:
                levels, models = self._choices()
                n_rois = self.n_rois if self.n_rois in levels else levels[0]
                model = self.model if self.model in models else models[0]
                embedded = self.source == "embedded"
                results = cached_results(self.source, n_rois if embedded else 0,
                                         model if embedded else None, self._data_dir)
            except Exception as err:  # show the problem, keep the app alive
                self._error(f"Could not load {html.escape(str(self.source))}: "
                            f"{html.escape(str(err))}")
                return
            self._alert.visible = False
            self.results = results
            scans = results.scans
            self.param.n_rois.objects = {str(n): n for n in levels}
            self.param.model.objects = {
                "none (true data only)" if m is None else str(m): m for m in models}
            self.param.scan.objects = scans
            self.param.update(n_rois=n_rois, model=model,
                              scan=self.scan if self.scan in scans else scans[0])
            self._build_plots()
        finally:
            self._updating = False

    def _choices(self) -> tuple[list[int], list[str | None]]:
        """Parcellation levels and models offered by the current source."""
        if self.source == "embedded":
            catalog = embedded_catalog()
            levels = sorted(catalog)
            level = self.n_rois if self.n_rois in catalog else levels[0]
            return levels, list(catalog[level])
        # A real or results-file source holds one level and one model: read them from it.
        results = cached_results(self.source, 0, None, self._data_dir)
        return [results.n_rois], [results.model]

    def _build_plots(self) -> None:
        """New figures for a new ROI set (data source, level or model)."""
        res = self.results
        fc_true, fc_pred = res.fc(self.scan)
        self.fc_true_plot = FCMatrixPlot(fc_true, title=f"True FC, {self.scan}", size=400)
        self.fc_true_plot.on_cell_click(self._on_cell)
        self._fc_true_pane.object = self.fc_true_plot.figure
        if fc_pred is not None:
            self.fc_pred_plot = FCMatrixPlot(fc_pred, title=f"Predicted FC, {self.scan}",
                                             size=400, share_ranges_with=self.fc_true_plot)
            self.fc_pred_plot.on_cell_click(self._on_cell)
            self._fc_pred_pane.object = self.fc_pred_plot.figure
            self._pred_slot.objects = [self._fc_pred_pane]
        else:
            self.fc_pred_plot = None
            self._pred_slot.objects = [self._pred_missing]
            self._pred_missing.object = (
                "### No predicted FC\n" + html.escape(res.description))
        self._show_scan(rebuild=False)

    # ------------------------------------------------------------------ updates

    @param.depends("scan", watch=True)
    def _on_scan(self) -> None:
        if not self._updating and self.results is not None:
            self._show_scan(rebuild=True)

    def _show_scan(self, rebuild: bool) -> None:
        res = self.results
        fc_true, fc_pred = res.fc(self.scan)
        if rebuild:
            self.fc_true_plot.update(fc_true, title=f"True FC, {self.scan}")
            if self.fc_pred_plot is not None:
                self.fc_pred_plot.update(fc_pred, title=f"Predicted FC, {self.scan}")
        self._header.object = self._header_html()
        if res.pred is not None:
            self.pair_plot = ROIPairPlot(res.pred, self.scan, width=830)
            first = self.fc_true_plot.order.values[:2]
            self.pair_plot.update(int(first[0]), int(first[1]))
            self._pair_pane.object = self.pair_plot.figure
            self._select_cell(int(first[0]), int(first[1]))
            f1 = res.scan_metrics(self.scan)["f1"]
            fig, self._curve_marker = density_curve_figure(f1, data_source=res.data_source)
            self._curve_pane.object = fig
        else:
            self.pair_plot = None
            self._pair_pane.object = None
            self._curve_pane.object = None
            self._curve_marker = None
        self._apply_density()
        self._refresh_tab()

    @param.depends("density", watch=True)
    def _apply_density(self) -> None:
        if self.results is None or self.fc_true_plot is None:
            return
        density = float(self.density)
        mask_true, mask_pred = (None, None) if density >= 1.0 else \
            self.results.edge_masks(self.scan, density)
        self.fc_true_plot.update(mask=mask_true)
        if self.fc_pred_plot is not None:
            self.fc_pred_plot.update(mask=mask_pred)
        # A plain Bokeh Div: setting its text is much cheaper than re-rendering a Panel pane.
        self._readout_div.text = self._readout_html(density)
        if self._curve_marker is not None and self.last_f1 is not None:
            self._curve_marker.data = {"x": [density], "y": [self.last_f1]}

    def _f1_at(self, density: float) -> float | None:
        metrics = self.results.scan_metrics(self.scan)
        if metrics is None:
            return None
        grid = np.asarray(metrics.density.values, dtype=float)
        k = int(np.argmin(np.abs(grid - density)))
        if abs(grid[k] - density) < 1e-9:
            return float(metrics["f1"].values[k])
        from ..metrics import f1_at_density

        fc_true, fc_pred = self.results.fc(self.scan)
        return f1_at_density(fc_true, fc_pred, density)

    def _readout_html(self, density: float) -> str:
        res = self.results
        metrics = res.scan_metrics(self.scan)
        self.last_f1 = self._f1_at(density)
        if metrics is None:
            return ("<div class='readout'><b>No predictions</b>: true FC only.<br>"
                    f"Density {density:.2f}</div>")
        return (
            "<div class='readout' style='font-size:15px;line-height:1.6'>"
            f"<span class='f1-value'>F1 @ {density:.2f}: <b>{_fmt(self.last_f1)}</b></span><br>"
            f"<span class='pixcorr-value'>Pixcorr: <b>{_fmt(metrics['pixcorr'].values)}</b>"
            "</span><br>"
            f"<span class='connmse-value'>ConnMSE: <b>{_fmt(metrics['conn_mse'].values)}</b>"
            "</span><br>"
            f"<span style='color:#666;font-size:12px'>Tcorr (mean ROI R): "
            f"{_fmt(metrics['tcorr'].values)}</span></div>"
        )

    def _header_html(self) -> str:
        res = self.results
        words = PROVENANCE_LABELS[res.data_source]
        model = f" &middot; model: <b>{html.escape(res.model)}</b>" if res.model else ""
        return (
            f"<div class='provenance provenance-{res.data_source}' style='background:"
            f"{BANNER_COLORS[res.data_source]};padding:8px 14px;border-radius:6px;'>"
            f"<span style='font-size:18px'><b>UnEBOLT FC explorer</b></span> &mdash; showing "
            f"<b class='data-source'>{html.escape(words.upper())}</b>: "
            f"{html.escape(res.label)} ({res.n_rois} ROIs){model}<br>"
            f"<span style='font-size:12px'>{html.escape(res.description)}</span></div>"
        )

    def _select_cell(self, roi_a: int, roi_b: int) -> None:
        for plot in (self.fc_true_plot, self.fc_pred_plot):
            if plot is not None:
                plot.select(roi_a, roi_b)
        fc_true, fc_pred = self.results.fc(self.scan)
        names = fc_true.roi.values.astype(str)
        text = (f"<b>Selected</b>: {html.escape(names[roi_a])} &times; "
                f"{html.escape(names[roi_b])}<br>true r = {fc_true.values[roi_a, roi_b]:.2f}")
        if fc_pred is not None:
            text += f", predicted r = {fc_pred.values[roi_a, roi_b]:.2f}"
        self._cell_info.object = text

    def _on_cell(self, roi_a: int, roi_b: int) -> None:
        if self.pair_plot is not None:
            self.pair_plot.update(roi_a, roi_b)
        self._select_cell(roi_a, roi_b)

    # ------------------------------------------------------------------ lazy tabs

    def _on_tab(self, event: Any = None) -> None:
        self._refresh_tab()

    @param.depends("surface_scope", watch=True)
    def _refresh_tab(self) -> None:
        """Draw the surface and network tabs only when shown (they are heavier)."""
        if self.results is None:
            return
        active = self._tabs.active if hasattr(self, "_tabs") else 0
        if active == 1:
            self._surface_pane.objects = [self._surface_view()]
        elif active == 2:
            self._network_pane.objects = [self._network_view()]

    def _surface_view(self):
        res = self.results
        if res.metrics is None:
            return pn.pane.Markdown("No predictions, so no per-ROI R to map.")
        if res.atlas is None:
            return pn.pane.Markdown(html.escape(res.atlas_note))
        scan = self.scan if self.surface_scope == "this scan" else None
        png = surface_png(self.source, res.n_rois, res.model, self._data_dir, scan)
        return pn.pane.PNG(png, width=860, css_classes=["surface-map"])

    def _network_view(self):
        res = self.results
        if res.pred is None:
            return pn.pane.Markdown("No predictions: network time series need true and "
                                    "predicted signals.")
        fig = network_timeseries_figure(res.pred, self.scan,
                                        network_r=res.metrics["network_r"], width=880)
        return pn.pane.Bokeh(fig)

