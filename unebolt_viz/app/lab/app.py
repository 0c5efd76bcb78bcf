"""The coupling lab app: turn the EEG-BOLD coupling, the HRF and the noise, watch r follow.

Serve it with ``panel serve apps/coupling_lab.py``. The simulation and the ridge fits are
cached for every session of the server (:func:`~unebolt_viz.app.lab.model.run_lab`); a session
owns only its widgets and Bokeh figures, which are updated in place. Sliders act when released
(``value_throttled``), so one drag costs one simulation.
"""

from __future__ import annotations

import html
from typing import Any

import panel as pn
import param

from ...networks import YEO7_NAMES
from ...simulation import BANDS
from ...viz import PROVENANCE_LABELS
from .figures import LabFigures
from .model import LAB_CHANNELS, LAB_N_VOLUMES, LabResult, LabSettings, run_lab

__all__ = ["CouplingLab"]

_BANNER = "#fff3cd"  # the FC explorer's colour for simulated data
_RIDGE_ALPHAS = {"10": 10.0, "100": 100.0, "1000": 1000.0, "10000": 10000.0}
# (setting, label, start, end, step) of the sliders that are not band gains
_SLIDERS: dict[str, tuple[str, float, float, float]] = {
    "strength": ("Coupling strength (x every gain)", 0.0, 2.0, 0.1),
    "thalamic_alpha": ("alpha gain on thalamic activity", -1.0, 1.0, 0.05),
    "envelope_noise": ("EEG envelope noise", 0.0, 1.5, 0.05),
    "sensor_noise_uv": ("EEG sensor noise (uV)", 0.0, 10.0, 0.5),
    "hrf_delay": ("HRF delay shift (s)", -2.0, 4.0, 0.25),
    "hrf_peak": ("HRF time to peak (s)", 3.0, 9.0, 0.25),
    "hrf_undershoot": ("HRF undershoot ratio", 0.0, 0.5, 0.02),
    "physio_noise": ("BOLD physiological noise", 0.0, 3.0, 0.1),
    "thermal_noise": ("BOLD thermal noise", 0.0, 3.0, 0.1),
}
_ABOUT = (
    "**How it works.** A small simulated study (4 scans of {minutes:.1f} min, the embedded "
    "64-ROI atlas, {n_ch} EEG channels at 100 Hz, no blinks) is re-simulated with your "
    "settings. Each EEG band's log-amplitude at a cortical source follows its network's latent "
    "neural activity with the gain you set; the BOLD follows the same activity through the HRF, "
    "plus physiological and thermal noise, so the coupling changes the EEG and the HRF and "
    "BOLD noise change the BOLD. A ridge model on HRF-weighted EEG band powers (it assumes "
    "the canonical HRF) is trained on three scans and scored on the fourth. The noise ceiling "
    "is the correlation of the noiseless with the measured BOLD: no model can beat it on "
    "average.\n\n"
    "The default gains follow: Goldman, Stern, Engel and Cohen, *Simultaneous EEG and fMRI of "
    "the alpha rhythm* (2002); Moosmann et al., *Correlates of alpha rhythm in functional "
    "magnetic resonance imaging and near infrared spectroscopy* (2003); Laufs et al., "
    "*EEG-correlated fMRI of human alpha activity* (2003) and *Electroencephalographic "
    "signatures of attentional and cognitive default modes in spontaneous brain activity "
    "fluctuations at rest* (2003); Scheeringa et al., *Neuronal dynamics underlying high- and "
    "low-frequency EEG oscillations contribute independently to the human BOLD signal* (2011)."
)


def _move(slider: pn.widgets.FloatSlider, value: float) -> None:
    """Set a slider's value and its released value (so that releasing it there again acts)."""
    value = round(float(value), 4)
    with param.edit_constant(slider):
        slider.param.update(value=value, value_throttled=value)


class CouplingLab(pn.viewable.Viewer):
    """Teaching app: EEG-BOLD coupling, HRF and noise sliders on a small simulated study.

    Parameters
    ----------
    settings : LabSettings, optional
        Where the sliders start (default: the simulator's defaults).
    network : str
        The Yeo-7 network whose band gains the sliders show and whose signals are drawn.
    band : str
        The EEG band whose HRF-convolved envelope is drawn against the BOLD.

    Attributes
    ----------
    settings : LabSettings
        The current settings.
    result : LabResult
        What is shown.
    readout : dict
        The numbers shown: ``ridge_r``, ``noise_ceiling`` (means over all ROIs), ``network_r``
        (ridge, the network's mean ROI r) and ``predictor_r``.
    """

    def __init__(self, settings: LabSettings | None = None, network: str = "Visual",
                 band: str = "alpha", **params: Any) -> None:
        super().__init__(**params)
        self.settings = settings if settings is not None else LabSettings()
        self._syncing = False
        self.figures = LabFigures()
        from bokeh.models import Div

        self._readout_div = Div(width=320, css_classes=["lab-readout"])
        self._header = pn.pane.HTML(self._header_html(), sizing_mode="stretch_width")
        self.network_select = pn.widgets.Select(label="Network", options=list(YEO7_NAMES),
                                                value=network, width=280)
        self.band_select = pn.widgets.Select(label="Band drawn against the BOLD",
                                             options=list(BANDS), value=band, width=280)
        self.gain_sliders = {b: self._slider(f"gain-{b}", f"{b} gain", -1.0, 1.0, 0.05,
                                             self.settings.gain(b, network)) for b in BANDS}
        self.sliders = {name: self._slider(name.replace("_", "-"), label, lo, hi, step,
                                           getattr(self.settings, name))
                        for name, (label, lo, hi, step) in _SLIDERS.items()}
        self.alpha_select = pn.widgets.Select(
            label="Ridge penalty", options=_RIDGE_ALPHAS, value=self.settings.ridge_alpha,
            width=280)
        self.reset_button = pn.widgets.Button(label="Reset to the simulator's defaults",
                                              width=280)
        for band_name, slider in self.gain_sliders.items():
            slider.param.watch(lambda e, b=band_name: self._set_gain(b, e.new), "value_throttled")
        for name, slider in self.sliders.items():
            slider.param.watch(lambda e, n=name: self._set(**{n: e.new}), "value_throttled")
        self.alpha_select.param.watch(lambda e: self._set(ridge_alpha=e.new), "value")
        self.network_select.param.watch(self._on_network, "value")
        self.band_select.param.watch(lambda e: self._show(), "value")
        self.reset_button.on_click(lambda e: self.reset())
        self.result: LabResult | None = None
        self.readout: dict[str, float] = {}
        f = self.figures
        self._views = pn.Column(pn.pane.Bokeh(f.envelopes), pn.pane.Bokeh(f.predictor),
                                pn.Row(pn.pane.Bokeh(f.ceiling), pn.pane.Bokeh(f.hrf)))
        self._show()

    @staticmethod
    def _slider(css: str, label: str, start: float, end: float, step: float,
                value: float) -> pn.widgets.FloatSlider:
        return pn.widgets.FloatSlider(label=label, start=start, end=end, step=step,
                                      value=round(float(value), 4), width=280,
                                      css_classes=["lab-slider", f"{css}-slider"])

    # ------------------------------------------------------------------ layout

    def __panel__(self) -> pn.viewable.Viewable:
        coupling = pn.Column(
            pn.pane.Markdown("### Coupling"), self.network_select,
            *self.gain_sliders.values(), self.sliders["strength"],
            self.sliders["thalamic_alpha"], width=310)
        hrf_noise = pn.Column(
            pn.pane.Markdown("### HRF"), *(self.sliders[k] for k in
                                           ("hrf_delay", "hrf_peak", "hrf_undershoot")),
            pn.pane.Markdown("### Noise"), *(self.sliders[k] for k in
                                             ("envelope_noise", "sensor_noise_uv",
                                              "physio_noise", "thermal_noise")),
            width=310)
        model = pn.Column(pn.pane.Markdown("### Model and view"), self.alpha_select,
                          self.band_select, self.reset_button, pn.pane.Bokeh(self._readout_div),
                          width=310)
        about = pn.pane.Markdown(_ABOUT.format(minutes=LAB_N_VOLUMES * self.result.tr / 60,
                                               n_ch=len(LAB_CHANNELS)),
                                 sizing_mode="stretch_width")
        return pn.Column(self._header, pn.Row(pn.Column(coupling, model), hrf_noise, self._views),
                         about, sizing_mode="stretch_width")

    # ------------------------------------------------------------------ changes

    def _set(self, **changes: Any) -> None:
        if not self._syncing:
            self.update(self.settings.replace(**changes))

    def _set_gain(self, band: str, value: float) -> None:
        if not self._syncing:
            self.update(self.settings.with_gain(band, self.network_select.value, value))

    def _on_network(self, event: Any = None) -> None:
        """Show the chosen network's gains on the band sliders (no new simulation)."""
        self._syncing = True
        try:
            for band, slider in self.gain_sliders.items():
                _move(slider, self.settings.gain(band, self.network_select.value))
        finally:
            self._syncing = False
        self._show()

    def update(self, settings: LabSettings) -> None:
        """Show the lab for new settings (the sliders are not moved).

        On a server the figures show a spinner while the study is re-simulated: the change
        is made on the next tick, after the spinner has reached the browser.
        """
        self.settings = settings
        self._views.loading = True
        pn.state.execute(self._show_and_unload, schedule=True)

    def _show_and_unload(self) -> None:
        try:
            self._show()
        finally:
            self._views.loading = False

    def reset(self) -> None:
        """Back to the simulator's defaults, sliders included."""
        self.settings = LabSettings()
        self._syncing = True
        try:
            for name, slider in self.sliders.items():
                _move(slider, getattr(self.settings, name))
            self.alpha_select.value = self.settings.ridge_alpha
        finally:
            self._syncing = False
        self._on_network()

    def _show(self) -> None:
        self.result = run_lab(self.settings)
        network, band = self.network_select.value, self.band_select.value
        shown = self.figures.update(self.result, band, network)
        table = self.result.network_table().set_index("network")
        self.readout = {
            "ridge_r": float(table.loc["all ROIs", "ridge_r"]),
            "noise_ceiling": float(table.loc["all ROIs", "noise_ceiling"]),
            "network_r": float(table.loc[network, "ridge_r"]),
            "network_ceiling": float(table.loc[network, "noise_ceiling"]),
            "predictor_r": float(shown["r"]),
        }
        self._readout_div.text = self._readout_html(network, band)

    def _readout_html(self, network: str, band: str) -> str:
        r = self.readout
        net = html.escape(network)
        return (
            "<div class='readout' style='font-size:14px;line-height:1.6'>"
            f"<b>Held-out scan {html.escape(self.result.test_scan)}</b> (simulated data)<br>"
            f"<span class='ridge-r'>Ridge r, mean of 64 ROIs: <b>{r['ridge_r']:.3f}</b></span>"
            f"<br><span class='noise-ceiling'>Noise ceiling: <b>{r['noise_ceiling']:.3f}</b>"
            f"</span><br><span class='network-r'>{net}: ridge r {r['network_r']:.3f}, "
            f"ceiling {r['network_ceiling']:.3f}</span><br>"
            f"<span class='predictor-r'>{html.escape(band)} envelope * HRF vs {net} BOLD: "
            f"r = {r['predictor_r']:+.3f}</span></div>"
        )

    def _header_html(self) -> str:
        words = PROVENANCE_LABELS["simulated"].upper()
        return (
            f"<div class='provenance provenance-simulated' style='background:{_BANNER};"
            "padding:8px 14px;border-radius:6px;'><span style='font-size:18px'><b>UnEBOLT "
            f"coupling lab</b></span> &mdash; showing <b class='data-source'>{words}</b>: "
            "every signal and number here comes from the simulator, with the coupling, HRF and "
            "noise set by the sliders.</div>"
        )
