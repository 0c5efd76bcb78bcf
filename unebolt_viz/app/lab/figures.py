"""The coupling lab's Bokeh figures, built once per session and updated in place.

Every figure's title says that it shows simulated data (:func:`unebolt_viz.viz._style.titled`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...networks import YEO7_NAMES, network_colors
from ...simulation import BANDS
from ...simulation.hrf import double_gamma_hrf
from ...viz._style import network_short, titled
from ...viz.timeseries import TRUE_COLOR
from .model import LabResult, hrf_predictor

__all__ = ["BAND_COLORS", "LabFigures"]

#: Colour of each EEG band, slow to fast.
BAND_COLORS: dict[str, str] = {"delta": "#1b9e77", "theta": "#7570b3", "alpha": "#d95f02",
                               "beta": "#e7298a", "gamma": "#66a61e"}
_ENVELOPE_SPACING = 2.5  # vertical offset between the stacked band envelopes
_NETWORKS_SHOWN = (*YEO7_NAMES, "Subcortical", "all ROIs")


def _short(network: str) -> str:
    return "all" if network == "all ROIs" else network_short(network)


def _fine_hrf(delay: float, peak: float, undershoot: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 32.0, 321)
    h = double_gamma_hrf(t, delay, peak_shape=peak + 1.0, ratio=undershoot)
    return t, h / (np.abs(h).max() + 1e-12)


class LabFigures:
    """The four figures of the coupling lab and their data sources.

    Parameters
    ----------
    width : int
        Width of the wide figures in pixels.

    Attributes
    ----------
    envelopes, predictor, ceiling, hrf : bokeh.plotting.figure
        Band envelopes of a network; HRF-convolved predictor, measured BOLD and ridge
        prediction; ridge r against the noise ceiling per network; the HRF.
    """

    def __init__(self, width: int = 760) -> None:
        from bokeh.models import ColumnDataSource

        self._src: dict[str, Any] = {
            key: ColumnDataSource({"t": [], "y": []})
            for key in (*BANDS, "bold", "predictor", "ridge", "hrf", "hrf_canonical")}
        self._src["bars"] = ColumnDataSource({"network": [], "ridge_r": [], "ceiling": [],
                                              "color": []})
        self.envelopes = self._envelope_figure(width)
        self.predictor = self._predictor_figure(width)
        self.ceiling = self._ceiling_figure()
        self.hrf = self._hrf_figure()

    # ------------------------------------------------------------------ construction

    def _envelope_figure(self, width: int) -> Any:
        from bokeh.models import FixedTicker
        from bokeh.plotting import figure

        fig = figure(width=width, height=260, tools="xpan,xwheel_zoom,reset,save",
                     toolbar_location="right", css_classes=["lab-envelopes"])
        self._envelope_lines = {}
        for band in BANDS:
            self._envelope_lines[band] = fig.line("t", "y", source=self._src[band],
                                                  color=BAND_COLORS[band], line_width=1.3)
        offsets = [-k * _ENVELOPE_SPACING for k in range(len(BANDS))]
        fig.yaxis.ticker = FixedTicker(ticks=offsets)
        fig.yaxis.major_label_overrides = {o: b for o, b in zip(offsets, BANDS)}
        fig.xaxis.axis_label = "time (s)"
        fig.title.text_font_size = "10pt"
        return fig

    def _predictor_figure(self, width: int) -> Any:
        from bokeh.models import Legend, LegendItem
        from bokeh.plotting import figure

        fig = figure(width=width, height=280, tools="xpan,xwheel_zoom,reset,save",
                     toolbar_location="right", x_range=self.envelopes.x_range,
                     css_classes=["lab-predictor"])
        lines = {
            "bold": fig.line("t", "y", source=self._src["bold"], color=TRUE_COLOR,
                             line_width=1.8),
            "predictor": fig.line("t", "y", source=self._src["predictor"], color="#d95f02",
                                  line_width=1.6),
            "ridge": fig.line("t", "y", source=self._src["ridge"], color="#1f77b4",
                              line_width=1.4, line_dash="dashed"),
        }
        self._predictor_items = {k: LegendItem(label=k, renderers=[v]) for k, v in lines.items()}
        self._predictor_line = lines["predictor"]
        fig.add_layout(Legend(items=list(self._predictor_items.values()), orientation="horizontal",
                              location="top_left", label_text_font_size="8pt",
                              background_fill_alpha=0.6), "above")
        fig.xaxis.axis_label = "time (s)"
        fig.yaxis.axis_label = "z-score"
        fig.title.text_font_size = "10pt"
        return fig

    def _ceiling_figure(self) -> Any:
        from bokeh.models import HoverTool
        from bokeh.plotting import figure

        factors = [_short(n) for n in _NETWORKS_SHOWN]
        fig = figure(width=460, height=320, x_range=factors, y_range=(-0.55, 1.0),
                     tools="save", toolbar_location=None, css_classes=["lab-ceiling"])
        bars = fig.vbar(x="network", top="ridge_r", width=0.7, source=self._src["bars"],
                        color="color", alpha=0.8, legend_label="ridge r (held-out scan)")
        fig.scatter(x="network", y="ceiling", source=self._src["bars"], marker="dash", size=28,
                    line_width=3, color="#222222", legend_label="noise ceiling")
        fig.add_tools(HoverTool(renderers=[bars], tooltips=[
            ("network", "@network"), ("ridge r", "@ridge_r{0.000}"),
            ("noise ceiling", "@ceiling{0.000}")]))
        fig.line([-0.5, len(factors) + 0.5], [0, 0], color="#999999")
        fig.legend.location = "bottom_right"  # below the ceiling marks, beside most bars
        fig.legend.orientation = "horizontal"
        fig.legend.label_text_font_size = "8pt"
        fig.legend.background_fill_alpha = 0.6
        fig.xaxis.major_label_orientation = 0.8
        fig.yaxis.axis_label = "Pearson r"
        fig.title.text_font_size = "10pt"
        return fig

    def _hrf_figure(self) -> Any:
        from bokeh.plotting import figure

        fig = figure(width=460, height=320, tools="save", toolbar_location=None,
                     title=titled("HRF of the simulated BOLD", "simulated"),
                     css_classes=["lab-hrf"])
        fig.line("t", "y", source=self._src["hrf_canonical"], color="#999999",
                 line_dash="dashed", legend_label="canonical (the ridge assumes it)")
        fig.line("t", "y", source=self._src["hrf"], color="#d62728", line_width=2,
                 legend_label="lab HRF")
        t, h = _fine_hrf(0.0, 5.0, 1.0 / 6.0)
        self._src["hrf_canonical"].data = {"t": t, "y": h}
        fig.legend.label_text_font_size = "8pt"
        fig.legend.background_fill_alpha = 0.6
        fig.xaxis.axis_label = "time after neural activity (s)"
        fig.title.text_font_size = "10pt"
        return fig

    # ------------------------------------------------------------------ updates

    def update(self, result: LabResult, band: str, network: str) -> dict[str, Any]:
        """Show ``result`` for one predictor band and one network.

        Returns
        -------
        dict
            The :func:`~unebolt_viz.app.lab.model.hrf_predictor` output shown.
        """
        self._update_envelopes(result, band, network)
        shown = self._update_predictor(result, band, network)
        self._update_ceiling(result)
        s = result.settings
        t, h = _fine_hrf(s.hrf_delay, s.hrf_peak, s.hrf_undershoot)
        self._src["hrf"].data = {"t": t, "y": h}
        return shown

    def _update_envelopes(self, result: LabResult, band: str, network: str) -> None:
        net = YEO7_NAMES.index(network)
        scan = (result.node_time >= 0) & (result.node_time <= result.volume_time[-1])
        t = result.node_time[scan]
        for k, b in enumerate(BANDS):
            y = result.envelopes[k, scan, net] - k * _ENVELOPE_SPACING
            self._src[b].data = {"t": t, "y": y}
            self._envelope_lines[b].glyph.line_width = 2.6 if b == band else 1.2
        self.envelopes.title.text = titled(
            f"EEG band envelopes (log-amplitude at the sources), {network}, "
            f"{result.test_scan}", result.data_source)

    def _update_predictor(self, result: LabResult, band: str, network: str) -> dict[str, Any]:
        shown = hrf_predictor(result, band, network)
        ridge = result.network_mean(result.prediction, network)
        ridge_r = float(result.network_mean(result.ridge_r, network))
        ridge_z = (ridge - ridge.mean()) / (ridge.std() + 1e-12)
        self._src["bold"].data = {"t": shown["time"], "y": shown["bold"]}
        self._src["predictor"].data = {"t": shown["time"], "y": shown["predictor"]}
        self._src["ridge"].data = {"t": shown["time"], "y": ridge_z}
        self._predictor_line.glyph.line_color = BAND_COLORS[band]
        self._predictor_items["bold"].label = {"value": f"{network} BOLD (measured)"}
        self._predictor_items["predictor"].label = {
            "value": f"{band} envelope * HRF (r = {shown['r']:+.2f})"}
        self._predictor_items["ridge"].label = {
            "value": f"ridge prediction (mean ROI r = {ridge_r:+.2f})"}
        self.predictor.title.text = titled(
            f"{band} envelope * HRF against the {network} BOLD, {result.test_scan}",
            result.data_source)
        return shown

    def _update_ceiling(self, result: LabResult) -> None:
        table = result.network_table().set_index("network")
        names = [n for n in _NETWORKS_SHOWN if n in table.index]
        colors = network_colors([n for n in names if n != "all ROIs"])
        self._src["bars"].data = {
            "network": [_short(n) for n in names],
            "ridge_r": table.loc[names, "ridge_r"].to_numpy(),
            "ceiling": table.loc[names, "noise_ceiling"].to_numpy(),
            "color": [colors.get(n, "#444444") for n in names],
        }
        self.ceiling.title.text = titled(f"Ridge r vs noise ceiling, {result.test_scan}",
                                         result.data_source)
