"""Interactive components of the app (Bokeh, Plotly) draw exactly the data they are given."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from builders import fc_for, independent_order, two_scan_predictions

import unebolt_viz as uv
from unebolt_viz.app import (
    FCMatrixPlot,
    ROIPairPlot,
    density_curve_figure,
    network_timeseries_figure,
    surface_r_figure,
)
from unebolt_viz.networks import network_colors
from unebolt_viz.viz.surface import VIEWS


def _values(atlas, values, source="simulated"):
    return xr.DataArray(np.asarray(values, float), dims="roi", coords={"roi": list(atlas.roi)},
                        attrs={"data_source": source})


@pytest.fixture(scope="module")
def atlas64():
    return uv.load_atlas("embedded", 64)


# ----------------------------------------------------------------------------------------------
# FC matrix


def test_bokeh_colour_bars_and_matrix_match_atlas(atlas64):
    fc = fc_for(atlas64, 64, seed=1)
    plot = FCMatrixPlot(fc)
    idx = independent_order(atlas64.network)
    bars = plot.bar_source.data
    drawn_networks = []
    for net, color, start, stop in zip(bars["network"], bars["color"], bars["start"],
                                       bars["stop"]):
        assert color == network_colors()[net]
        drawn_networks += [net] * int(stop - start)
    assert drawn_networks == list(atlas64.network[idx])
    np.testing.assert_allclose(plot.drawn_matrix, fc.values[np.ix_(idx, idx)], rtol=1e-6)
    # A click at the centre of drawn cell (row 5, column 9) names those two ROIs.
    assert plot.cell_at(9.5, 5.5) == (idx[5], idx[9])
    assert plot.cell_at(-3, 5) is None


def test_bokeh_update_applies_mask_in_place(atlas64):
    fc = fc_for(atlas64, 64, seed=3)
    plot = FCMatrixPlot(fc)
    source = plot.image_source
    mask = np.zeros((64, 64), dtype=bool)
    mask[2, 7] = mask[7, 2] = True
    plot.update(mask=mask)
    assert plot.image_source is source
    drawn = plot.drawn_matrix
    assert np.count_nonzero(~np.isnan(drawn)) == 2
    position = np.argsort(independent_order(atlas64.network))
    assert drawn[position[2], position[7]] == pytest.approx(fc.values[2, 7], rel=1e-6)


def test_bokeh_titles_state_provenance(tiny_rois):
    for source in ("simulated", "semi-synthetic", "real"):
        fc = fc_for(tiny_rois, 6, source=source)
        assert uv.viz.PROVENANCE_LABELS[source] in FCMatrixPlot(fc).figure.title.text


# ----------------------------------------------------------------------------------------------
# time series and curves


def test_network_r_is_written_in_interactive_panels(rng, tiny_rois):
    from unebolt_viz.metrics import network_r

    pred = two_scan_predictions(tiny_rois, 6, rng)
    r = network_r(pred)
    visual = float(r.sel(scan="sub00-scan01", network="Visual"))
    layout = network_timeseries_figure(pred, "sub00-scan01", network_r=r)
    assert "simulated data" in layout.children[0].text
    assert f"R = {visual:.2f}" in layout.children[1].title.text


def test_roi_pair_plot_shows_the_chosen_rois(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    plot = ROIPairPlot(pred, "sub00-scan01")
    plot.update(1, "D")
    one = pred.isel(time=slice(0, 40))

    def z(x):
        x = np.asarray(x, float)
        return (x - x.mean()) / x.std()

    # Each trace is drawn z-scored (said in the title), so a small prediction is not flat.
    np.testing.assert_allclose(plot.sources["true_a"].data["y"], z(one["true"].values[:, 1]),
                               atol=1e-6)
    np.testing.assert_allclose(plot.sources["pred_b"].data["y"], z(one["pred"].values[:, 3]),
                               atol=1e-6)
    assert "B" in plot.figure.title.text and "D" in plot.figure.title.text
    assert "simulated data" in plot.figure.title.text
    with pytest.raises(ValueError, match="No ROI"):
        plot.update("Z", 0)


def test_density_curve_draws_the_mean_f1_and_the_marker():
    f1 = xr.DataArray([[0.2, 0.5, 1.0], [0.4, 0.7, 1.0]], dims=("scan", "density"),
                      coords={"scan": ["a", "b"], "density": [0.1, 0.5, 1.0]},
                      attrs={"data_source": "simulated"})
    fig, marker = density_curve_figure(f1, current=(0.5, 0.6))
    line = fig.renderers[0].data_source.data
    np.testing.assert_allclose(line["y"], [0.3, 0.6, 1.0])
    assert marker.data == {"x": [0.5], "y": [0.6]}
    assert "simulated data" in fig.title.text


# ----------------------------------------------------------------------------------------------
# surface


def test_interactive_map_paints_cortical_rois_only(atlas64):
    atlas = atlas64
    values = np.arange(atlas.n_rois) / 100.0
    fig = surface_r_figure(_values(atlas, values), atlas, vmax=1.0)
    subcortical = values[atlas.network == "Subcortical"]
    cortical = values[atlas.network != "Subcortical"]
    shown = []
    for trace in fig.data:
        intensity = np.asarray(trace.intensity, dtype=float)
        painted = intensity[intensity >= -1.0]
        assert np.isin(np.round(painted, 4), np.round(values, 4)).all()
        shown.append(painted)
    shown = np.round(np.concatenate(shown), 4)
    assert not np.isin(np.round(subcortical, 4), shown).any()
    assert np.isin(np.round(cortical, 4), shown).mean() > 0.95
    text = fig.layout.title.text
    assert "simulated data" in text and "11 ROIs off the cortex" in text
    assert len(fig.data) == len(VIEWS)


def test_interactive_map_stays_light():
    atlas256 = uv.load_atlas("embedded", 256)
    rng = np.random.default_rng(0)
    fig = surface_r_figure(_values(atlas256, rng.uniform(-1, 1, 256)), atlas256)
    size = len(json.dumps(fig.to_plotly_json(), cls=_PlotlyEncoder))
    assert size < 600_000, f"surface figure is {size / 1e3:.0f} kB"


class _PlotlyEncoder(json.JSONEncoder):
    def default(self, obj):
        from plotly.utils import PlotlyJSONEncoder

        return PlotlyJSONEncoder().default(obj)


def test_interactive_surface_inputs_are_checked(atlas64):
    atlas = atlas64
    r = xr.DataArray(np.zeros((2, atlas.n_rois)), dims=("scan", "roi"),
                     coords={"roi": list(atlas.roi)}, attrs={"data_source": "simulated"})
    with pytest.raises(ValueError, match="mean"):
        surface_r_figure(r, atlas)
    no_source = _values(atlas, np.zeros(atlas.n_rois))
    no_source.attrs = {}
    with pytest.raises(ValueError, match="data_source"):
        surface_r_figure(no_source, atlas)
    fig = surface_r_figure(no_source, atlas, data_source="real")
    assert "real recordings" in fig.layout.title.text


# ----------------------------------------------------------------------------------------------
# words, connectome, model comparison


def test_the_unassigned_network_is_named_as_in_the_api():
    """The app wrote "None" (the short code) where the API says "No network"."""
    from bokeh.document import Document

    rois = {"roi": ["a", "b", "c", "d", "e", "f"],
            "network": ["Visual", "Visual", "Default", "Default", "No network", "No network"]}
    plot = FCMatrixPlot(fc_for(rois, 6), size=300)
    Document().add_root(plot.figure)
    labels = list(plot.figure.xaxis[0].major_label_overrides.values())
    assert "No network" in plot.bar_source.data["short"] and "No network" in labels
    assert "None" not in plot.bar_source.data["short"] and "None" not in labels
    hover = next(t for t in plot.figure.tools if type(t).__name__ == "HoverTool")
    assert "e (No network)" in hover.formatters["$y"].args["names"]


def test_connectome_draws_the_edges_the_density_keeps(atlas64):
    from unebolt_viz.app.components.connectome import _kept_edges, connectome_png
    from unebolt_viz.metrics import edge_mask

    fc = fc_for(atlas64, 64, seed=2)
    shown, n_kept = _kept_edges(fc, 0.05, max_edges=10_000)
    expected = np.triu(np.asarray(edge_mask(fc.values, 0.05), bool), 1)
    assert n_kept == expected.sum() == np.count_nonzero(np.triu(shown, 1))
    np.testing.assert_allclose(shown[expected], fc.values[expected])
    strongest, _ = _kept_edges(fc, 0.05, max_edges=20)
    kept = np.abs(strongest[np.triu(strongest != 0, 1)])
    assert kept.size == 20 and kept.min() >= np.sort(np.abs(fc.values[expected]))[-20]
    png = connectome_png(fc, fc, 0.05, scan="s1")
    assert png.startswith(b"\x89PNG")


def test_model_scatter_puts_each_roi_at_its_two_rs(atlas64):
    from unebolt_viz.app import model_scatter_figure

    rng = np.random.default_rng(4)
    coords = {"roi": list(atlas64.roi), "network": ("roi", list(atlas64.network))}
    r_a = xr.DataArray(rng.uniform(-0.2, 0.8, 64), dims="roi", coords=coords,
                       attrs={"data_source": "simulated"})
    r_b = xr.DataArray(rng.uniform(-0.2, 0.8, 64), dims="roi", coords=coords)
    fig, summary = model_scatter_figure(r_a, r_b, "A", "B", scan="s1")
    data = fig.renderers[-1].data_source.data
    np.testing.assert_allclose(data["a"], r_a.values)
    np.testing.assert_allclose(data["b"], r_b.values)
    assert summary["a_better"] == pytest.approx(np.mean(r_a.values > r_b.values))
    assert "simulated data" in fig.title.text and fig.yaxis[0].axis_label == "A: R"
