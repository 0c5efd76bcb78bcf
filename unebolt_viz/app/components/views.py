"""The explorer's heavier tabs, built only when shown: cortex map, connectome, network signals,
and two models compared on one scan.

Each function takes the :class:`~unebolt_viz.app.FCExplorer` whose state (source, level, model,
scan, density) it shows and returns a Panel object. Images are rendered once per process and
shared by sessions (:mod:`unebolt_viz.app.components.shared`).
"""

from __future__ import annotations

import html
from typing import Any

import panel as pn

from .shared import connectome_image, results_for, surface_png

__all__ = ["surface_view", "network_view", "connectome_view", "compare_view", "other_models"]


def surface_view(app: Any) -> Any:
    """Per-ROI temporal R on the cortex (a server-rendered image)."""
    res = app.results
    if res.metrics is None:
        return pn.pane.Markdown("No predictions, so no per-ROI R to map.")
    if res.atlas is None:
        return pn.pane.Markdown(html.escape(res.atlas_note), css_classes=["surface-note"])
    scan = app.scan if app.surface_scope == "this scan" else None
    png = surface_png(app.source, res.n_rois, res.model, app.data_dir, scan)
    return pn.pane.PNG(png, width=860, css_classes=["surface-map"])


def network_view(app: Any) -> Any:
    """Network-mean signals, true against predicted, each trace z-scored for display."""
    from .timeseries import network_timeseries_figure

    res = app.results
    if res.pred is None:
        return pn.pane.Markdown("No predictions: network time series need true and "
                                "predicted signals.")
    fig = network_timeseries_figure(res.pred, app.scan, network_r=res.metrics["network_r"],
                                    width=880)
    return pn.pane.Bokeh(fig, sizing_mode="stretch_width")


def connectome_view(app: Any) -> Any:
    """The strongest edges of the true and predicted FC on a glass brain, at the density."""
    res = app.results
    if not {"x", "y", "z"} <= set(res.true.coords):
        return pn.pane.Markdown("These data carry no ROI centroids (x, y, z), so the edges "
                                "cannot be placed in the brain.")
    try:
        png = connectome_image(app.source, res.n_rois, res.model, app.data_dir, app.scan,
                               round(float(app.density), 4))
    except Exception as err:  # e.g. a plotting failure: say it, keep the app alive
        return pn.pane.Markdown(f"The connectome could not be drawn: {html.escape(str(err))}")
    caption = (f"Edges kept at density {app.density:.2f} (the slider; the strongest |r|, as "
               "in the F1 score), strongest 400 drawn at most; ROI centroids from the atlas "
               "(MNI mm). Glass brain drawn with nilearn (Abraham et al. 2014, 'Machine "
               "learning for neuroimaging with scikit-learn').")
    return pn.Column(pn.pane.PNG(png, width=760, css_classes=["connectome-map"]),
                     pn.pane.Markdown(caption, width=760))


def other_models(app: Any) -> dict[str, Any]:
    """Other models' results on the same data and level (``{label: Results}``)."""
    from ..sources import embedded_catalog, semisynthetic_catalog

    res = app.results
    if res is None or res.model is None or app.source not in ("embedded", "real"):
        return {}
    if app.source == "embedded":
        labels = list(embedded_catalog().get(res.n_rois, {}))
    else:
        labels = list(semisynthetic_catalog())
    return {label: results_for(app.source, res.n_rois, label, app.data_dir)
            for label in labels if label != res.model}


def compare_view(app: Any) -> Any:
    """Per-ROI R of the model shown against another model on the same scan."""
    from .compare import model_scatter_figure

    res = app.results
    others = other_models(app)
    if res.metrics is None or not others:
        return pn.pane.Markdown(
            "Only one model's predictions are available for this source, so there is nothing "
            "to compare. The embedded simulated cohort has UnEBOLT and a ridge baseline at "
            "each parcellation level.", css_classes=["compare-note"])
    names = list(others)
    other = app.compare_with if app.compare_with in names else names[0]
    ref = others[other]
    r_a = res.metrics["temporal_r"].sel(scan=app.scan)
    r_b = ref.metrics["temporal_r"].sel(scan=app.scan)
    fig, summary = model_scatter_figure(r_a, r_b, res.model, other, scan=app.scan,
                                        data_source=res.data_source)
    text = (f"**{html.escape(res.model)}** (y) against **{html.escape(other)}** (x) on "
            f"{app.scan}: mean ROI R {summary['mean_a']:.3f} vs {summary['mean_b']:.3f}; "
            f"the model shown is higher on {100 * summary['a_better']:.0f}% of ROIs. Dots "
            "above the dashed line are ROIs where the model shown predicts better.")
    select = pn.widgets.Select(label="Compare with", options=names, value=other, width=300)
    select.link(app, value="compare_with")
    return pn.Column(select, pn.Row(pn.pane.Bokeh(fig, css_classes=["model-scatter"]),
                                    pn.pane.Markdown(text, width=360)))
