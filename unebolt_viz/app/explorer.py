"""The FC explorer: a Panel ``Viewer`` composing the figures of :mod:`unebolt_viz.app.components`.

Serve it with ``panel serve apps/fc_explorer.py`` (no ``--num-threads``: the Bokeh models are
updated in place, on the server's thread). Data shared by all sessions (loaded predictions, their
metrics, per-scan FC matrices, edge masks, server-rendered images) is cached once per process
(:mod:`unebolt_viz.app.components.shared`); each session only owns its Bokeh models, which are
updated in place when a widget moves, and releases them when its browser tab closes.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import panel as pn
import param

from .components.curves import density_curve_figure
from .components.export import (
    difference_fc,
    export_name,
    figure_bytes,
    predictions_netcdf_bytes,
    table_csv_bytes,
)
from .components.fc_matrix import FCMatrixPlot
from .components.labels import DIFF_COLORBAR_TITLE, ZSCORE_NOTE
from .components.readouts import (
    BANNER_COLORS,
    f1_at,
    header_html,
    metrics_table,
    model_label,
    readout_html,
    selection_html,
)
from .components.shared import cached_results, offered_sources, release_on_close, results_for
from .components.timeseries import ROIPairPlot
from .components.views import (
    compare_view,
    connectome_view,
    network_view,
    other_models,
    surface_view,
)
from .components.volumes import VOLUMES_TAB, sync_volumes_tab, volumes_view
from .sources import (
    OutsideDataDirError,
    app_data_dir,
    embedded_catalog,
    resolve_inside,
    semisynthetic_catalog,
)

__all__ = ["FCExplorer", "cached_results", "BANNER_COLORS"]

TAB_NAMES = ("FC", "Connectome", "Surface R", "Network time series", "Compare models")
_SIDEBAR = 330
_MATRIX = 280
_WIDGET = 300


class FCExplorer(pn.viewable.Viewer):
    """True vs predicted functional connectivity, explored across density, scans and models.

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
    # first choice when loading, and the header says so (the source itself is always checked).
    n_rois = param.Selector(default=64, objects=[64, 128, 256], check_on_set=False,
                            doc="Parcellation level (ROIs).")
    model = param.Selector(default=None, objects=[None], check_on_set=False,
                           doc="Model whose predictions are shown.")
    scan = param.Selector(default=None, objects=[None], check_on_set=False, doc="Scan shown.")
    density = param.Number(default=0.25, bounds=(0.05, 1.0), step=0.05,
                           doc="Fraction of edges kept (top |r|) in both matrices.")
    surface_scope = param.Selector(default="this scan", objects=["this scan", "mean over scans"])
    compare_with = param.String(default="", doc="The other model of the comparison tab.")

    def __init__(self, data_dir: str | Path | None = None, **params: Any) -> None:
        self.data_dir = str(Path(data_dir).resolve() if data_dir is not None else app_data_dir())
        sources = dict(offered_sources(self.data_dir))
        if not sources:
            raise RuntimeError(
                "No data to show: the embedded predictions are missing from this install "
                "(unebolt_viz/resources/embedded) and no results file is in "
                f"{self.data_dir}.")
        source = params.pop("source", next(iter(sources.values())))
        self._updating = False
        self.results = None
        self.fc_true_plot = self.fc_pred_plot = self.fc_diff_plot = None
        self.pair_plot: ROIPairPlot | None = None
        self._curve_marker = None
        self.last_f1: float | None = None
        self.model_note = ""
        self._build_panes()
        super().__init__(**params)
        # The sources offered are this session's (set on its own copy of the parameter); the
        # parameter refuses any other value, whoever sets it (widget, link, code).
        self.param.source.objects = sources
        if source not in self.param.source.objects.values():
            raise ValueError(f"source={source!r} is not offered; choose one of "
                             f"{list(sources.values())}.")
        with param.parameterized.discard_events(self):
            self.source = source
        self._build_widgets()
        self._load()
        release_on_close(self)

    # ------------------------------------------------------------------ layout

    def _build_panes(self) -> None:
        from bokeh.models import Div

        self._header = pn.pane.HTML(sizing_mode="stretch_width", margin=(0, 5))
        self._alert = pn.pane.Alert("", alert_type="danger", visible=False)
        self._readout_div = Div(width=_WIDGET, css_classes=["fc-readout"])
        self._readout = pn.pane.Bokeh(self._readout_div)
        self._cell_info = pn.pane.HTML(width=_WIDGET, css_classes=["cell-info"])
        # The matrices share the page width (each figure scales, keeping its aspect).
        size = {"sizing_mode": "stretch_width", "min_width": 280}
        self._fc_true_pane = pn.pane.Bokeh(css_classes=["fc-true"], **size)
        self._fc_pred_pane = pn.pane.Bokeh(css_classes=["fc-pred"], **size)
        self._fc_diff_pane = pn.pane.Bokeh(css_classes=["fc-diff"], **size)
        self._pred_missing = pn.pane.Markdown(width=430)
        self._matrices = pn.Row(self._fc_true_pane, sizing_mode="stretch_width")
        self._curve_pane = pn.pane.Bokeh()
        self._pair_pane = pn.pane.Bokeh(css_classes=["roi-pair"], sizing_mode="stretch_width")
        self._metrics_pane = pn.pane.DataFrame(css_classes=["metrics-table"],
                                               sizing_mode="stretch_width")
        # The volumes tab follows the fixed ones, present only when the source holds volumes.
        self._tab_panes = {name: pn.Column(sizing_mode="stretch_width")
                           for name in (*TAB_NAMES[1:], VOLUMES_TAB)}

    def _build_widgets(self) -> None:
        self._file_input = pn.widgets.TextInput(
            label="Open a results file (path inside the data directory)",
            placeholder="run1/predictions.nc", width=_WIDGET, css_classes=["file-input"])
        self._file_button = pn.widgets.Button(label="Open", width=_WIDGET,
                                              css_classes=["open-button"])
        self._file_button.on_click(self._open_file)
        self.slider = pn.widgets.FloatSlider.from_param(
            self.param.density, label="Edge density (fraction of edges kept)", width=_WIDGET,
            css_classes=["density-slider"])
        self._downloads = {
            kind: pn.widgets.FileDownload(callback=self._export_callback(kind), filename="x",
                                          label=label, width=_WIDGET // 2 - 10,
                                          css_classes=[f"export-{kind}"])
            for kind, label in (("png", "Figure (PNG)"), ("svg", "Figure (SVG)"),
                                ("csv", "Metrics (CSV)"), ("nc", "Predictions (netCDF)"))}
        fc_tab = pn.Column(self._matrices, self._pair_pane,
                           pn.pane.Markdown(f"*{ZSCORE_NOTE}*", sizing_mode="stretch_width"),
                           pn.pane.Markdown("**Metrics of this scan, with reference rows**"),
                           self._metrics_pane, sizing_mode="stretch_width")
        surface = pn.Column(pn.widgets.RadioButtonGroup.from_param(self.param.surface_scope),
                            self._tab_panes["Surface R"], sizing_mode="stretch_width")
        contents = {"FC": fc_tab, "Surface R": surface}
        self._tabs = pn.Tabs(*[(name, contents.get(name, self._tab_panes.get(name)))
                               for name in TAB_NAMES], dynamic=True,
                             sizing_mode="stretch_width")
        self._tabs.param.watch(self._refresh_tab, "active")

    def __panel__(self) -> Any:
        downloads = list(self._downloads.values())
        controls = pn.Column(
            pn.widgets.Select.from_param(self.param.source, label="Data", width=_WIDGET),
            pn.widgets.Select.from_param(self.param.n_rois, label="Parcellation (ROIs)",
                                         width=_WIDGET),
            pn.widgets.Select.from_param(self.param.model, label="Model", width=_WIDGET),
            pn.widgets.Select.from_param(self.param.scan, label="Scan", width=_WIDGET),
            self.slider, self._readout, self._curve_pane, self._cell_info,
            self._file_input, self._file_button,
            pn.pane.Markdown("**Take it away**", margin=(10, 10, 0, 10)),
            pn.Row(*downloads[:2]), pn.Row(*downloads[2:]),
            width=_SIDEBAR, css_classes=["fc-controls"])
        if pn.state.location is not None:
            # Links can name what to show, e.g. ?source=file:run1.nc&n_rois=256&density=0.5;
            # values the app does not offer are rejected by the parameters themselves.
            pn.state.location.sync(self, {"source": "source", "n_rois": "n_rois",
                                          "model": "model", "scan": "scan",
                                          "density": "density"})
        return pn.Column(self._header, self._alert,
                         pn.Row(controls, self._tabs, sizing_mode="stretch_width"),
                         sizing_mode="stretch_width")

    def release(self) -> None:
        """Drop this session's figures and data references (its browser tab closed)."""
        self.results = None
        self.fc_true_plot = self.fc_pred_plot = self.fc_diff_plot = self.pair_plot = None
        self._curve_marker = self.volume_slices = None
        for pane in (self._fc_true_pane, self._fc_pred_pane, self._fc_diff_pane,
                     self._pair_pane, self._curve_pane):
            pane.object = None
        for column in self._tab_panes.values():
            column.objects = []

    # ------------------------------------------------------------------ loading

    def _error(self, message: str) -> None:
        self._alert.object = message
        self._alert.visible = True

    def _open_file(self, event: Any = None) -> None:
        name = self._file_input.value.strip()
        try:
            path = resolve_inside(name, self.data_dir)
        except (OutsideDataDirError, FileNotFoundError) as err:
            self._error(html.escape(str(err)))
            return
        key = f"file:{path.relative_to(self.data_dir)}"
        names = dict(self.param.source.names or {})
        names.setdefault(f"Results file: {path.relative_to(self.data_dir)}", key)
        self.param.source.objects = names
        self.source = key

    @param.depends("source", "n_rois", "model", watch=True)
    def _load(self) -> None:
        if self._updating:
            return
        self._updating = True
        # One document patch for the whole change: sent piecemeal, a patch could name a figure
        # the browser had not received yet ("reference ... isn't known" in Bokeh).
        try:
            with pn.io.hold():
                self._load_source()
        finally:
            self._updating = False

    def _load_source(self) -> None:
        """Read the chosen source, level and model, and redraw everything from them."""
        try:
            levels, models = self._choices()
            n_rois = self.n_rois if self.n_rois in levels else levels[0]
            model = self.model if self.model in models else models[0]
            results = results_for(self.source, n_rois, model, self.data_dir)
        except Exception as err:  # show the problem, keep the app alive
            self._error(f"Could not load {html.escape(str(self.source))}: "
                        f"{html.escape(str(err))}")
            return
        self._alert.visible = False
        self.model_note = self._fallback_note(n_rois, model)
        self.results = results
        scans = results.scans
        self.param.n_rois.objects = {str(n): n for n in levels}
        self.param.model.objects = {model_label(m): m for m in models}
        self.param.scan.objects = scans
        self.param.update(n_rois=n_rois, model=model,
                          scan=self.scan if self.scan in scans else scans[0])
        sync_volumes_tab(self, len(TAB_NAMES))
        self._build_plots()

    def _fallback_note(self, n_rois: int, model: str | None) -> str:
        """Say so when the model asked for is not the one shown (never fall back silently)."""
        asked = self.model
        if self.source != "embedded" or asked is None or asked == model:
            return ""
        known = {m for level in embedded_catalog().values() for m in level}
        if asked not in known:
            return ""
        return (f"{asked} has no predictions at {n_rois} ROIs in this source, so {model} is "
                "shown instead.")

    def _choices(self) -> tuple[list[int], list[str | None]]:
        """Parcellation levels and models offered by the current source."""
        if self.source == "embedded":
            catalog = embedded_catalog()
            levels = sorted(catalog)
            level = self.n_rois if self.n_rois in catalog else levels[0]
            return levels, list(catalog[level])
        # A real or results-file source holds one level and one model: read them from it. The
        # real BOLD may also be shown with the semi-synthetic models' predictions.
        results = results_for(self.source, 0, None, self.data_dir)
        extra = list(semisynthetic_catalog()) if self.source == "real" else []
        return [results.n_rois], [results.model, *extra]

    def _build_plots(self) -> None:
        """New figures for a new ROI set (data source, level or model)."""
        fc_true, fc_pred = self.results.fc(self.scan)
        self.fc_true_plot = FCMatrixPlot(fc_true, title=f"True FC, {self.scan}", size=_MATRIX)
        self.fc_true_plot.on_cell_click(self._on_cell)
        self.fc_true_plot.figure.sizing_mode = "scale_width"
        self._fc_true_pane.object = self.fc_true_plot.figure
        if fc_pred is not None:
            self.fc_pred_plot = FCMatrixPlot(fc_pred, title=f"Predicted FC, {self.scan}",
                                             size=_MATRIX, share_ranges_with=self.fc_true_plot)
            self.fc_diff_plot = FCMatrixPlot(
                difference_fc(fc_true, fc_pred), title=f"Pred - true, {self.scan}",
                size=_MATRIX, share_ranges_with=self.fc_true_plot,
                colorbar_title=DIFF_COLORBAR_TITLE)
            for plot, pane in ((self.fc_pred_plot, self._fc_pred_pane),
                               (self.fc_diff_plot, self._fc_diff_pane)):
                plot.on_cell_click(self._on_cell)
                plot.figure.sizing_mode = "scale_width"
                pane.object = plot.figure
            self._matrices.objects = [self._fc_true_pane, self._fc_pred_pane, self._fc_diff_pane]
        else:
            self.fc_pred_plot = self.fc_diff_plot = None
            self._pred_missing.object = (
                "### No predicted FC\n" + html.escape(self.results.description))
            self._matrices.objects = [self._fc_true_pane, self._pred_missing]
        self._show_scan(rebuild=False)

    # ------------------------------------------------------------------ updates

    @param.depends("scan", watch=True)
    def _on_scan(self) -> None:
        if not self._updating and self.results is not None:
            with pn.io.hold():
                self._show_scan(rebuild=True)

    def _show_scan(self, rebuild: bool) -> None:
        res = self.results
        fc_true, fc_pred = res.fc(self.scan)
        if rebuild:
            self.fc_true_plot.update(fc_true, title=f"True FC, {self.scan}")
            if self.fc_pred_plot is not None:
                self.fc_pred_plot.update(fc_pred, title=f"Predicted FC, {self.scan}")
                self.fc_diff_plot.update(difference_fc(fc_true, fc_pred),
                                         title=f"Pred - true, {self.scan}")
        self._header.object = header_html(res, self.model_note)
        first = self.fc_true_plot.order.values[:2]
        if res.pred is not None:
            self.pair_plot = ROIPairPlot(res.pred, self.scan, width=830)
            self.pair_plot.update(int(first[0]), int(first[1]))
            self._pair_pane.object = self.pair_plot.figure
            f1 = res.scan_metrics(self.scan)["f1"]
            fig, self._curve_marker = density_curve_figure(f1, data_source=res.data_source)
            self._curve_pane.object = fig
        else:
            self.pair_plot = None
            self._pair_pane.object = None
            self._curve_pane.object = None
            self._curve_marker = None
        # The selection always describes the data shown (never a previous source's cells).
        self._select_cell(int(first[0]), int(first[1]))
        for kind, button in self._downloads.items():
            button.filename = export_name(res, self.scan, kind)
            button.disabled = kind == "nc" and res.pred is None
        self._show_density()
        self._refresh_tab()

    @param.depends("density", watch=True)
    def _apply_density(self) -> None:
        if self.results is None or self.fc_true_plot is None:
            return
        with pn.io.hold():
            self._show_density()
            if self._tabs.active == TAB_NAMES.index("Connectome"):
                self._refresh_tab()

    def _show_density(self) -> None:
        """Masks, readouts and metrics at the current edge density."""
        density = float(self.density)
        mask_true, mask_pred = (None, None) if density >= 1.0 else \
            self.results.edge_masks(self.scan, density)
        self.fc_true_plot.update(mask=mask_true)
        if self.fc_pred_plot is not None:
            self.fc_pred_plot.update(mask=mask_pred)
        self.last_f1 = f1_at(self.results, self.scan, density)
        # A plain Bokeh Div: setting its text is much cheaper than re-rendering a Panel pane.
        self._readout_div.text = readout_html(self.results, self.scan, density, self.last_f1)
        if self._curve_marker is not None and self.last_f1 is not None:
            self._curve_marker.data = {"x": [density], "y": [self.last_f1]}
        table = self.metrics().round(3)
        self._metrics_pane.object = table.astype(object).where(table.notna(), "")

    def metrics(self) -> Any:
        """The metrics table shown (model shown, reference rows) at the current density."""
        return metrics_table(self.results, self.scan, float(self.density), other_models(self))

    def _select_cell(self, roi_a: int, roi_b: int) -> None:
        for plot in (self.fc_true_plot, self.fc_pred_plot, self.fc_diff_plot):
            if plot is not None:
                plot.select(roi_a, roi_b)
        self._cell_info.object = selection_html(self.results, self.scan, roi_a, roi_b)

    def _on_cell(self, roi_a: int, roi_b: int) -> None:
        if self.pair_plot is not None:
            self.pair_plot.update(roi_a, roi_b)
        self._select_cell(roi_a, roi_b)

    # ------------------------------------------------------------------ export

    def _export_callback(self, kind: str) -> Any:
        def make() -> Any:
            import io

            res, scan = self.results, self.scan
            if kind in ("png", "svg"):
                data = figure_bytes(res, scan, float(self.density), kind)
            elif kind == "csv":
                data = table_csv_bytes(self.metrics())
            else:
                data = predictions_netcdf_bytes(res, scan)
            return io.BytesIO(data)
        return make

    def export(self, kind: str) -> bytes:
        """The bytes a download button gives: ``"png"``, ``"svg"``, ``"csv"`` or ``"nc"``."""
        return self._export_callback(kind)().getvalue()

    # ------------------------------------------------------------------ lazy tabs

    @param.depends("surface_scope", "compare_with", watch=True)
    def _refresh_tab(self, event: Any = None) -> None:
        """Draw the heavier tabs only when shown."""
        if self.results is None or not hasattr(self, "_tabs"):
            return
        name = (*TAB_NAMES, VOLUMES_TAB)[self._tabs.active]
        views = {"Surface R": surface_view, "Network time series": network_view,
                 "Connectome": connectome_view, "Compare models": compare_view,
                 VOLUMES_TAB: volumes_view}
        if name in views:
            self._tab_panes[name].objects = [views[name](self)]
