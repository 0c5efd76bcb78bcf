"""FC matrix figures: the drawn order, colour bars and sparsity agree with the data."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from builders import fc_for, independent_order

import unebolt_viz as uv  # noqa: E402
from unebolt_viz.networks import network_colors  # noqa: E402
from unebolt_viz.viz import fc_order, plot_fc, plot_fc_comparison  # noqa: E402

COLOR_TO_NETWORK = {c.lower(): n for n, c in network_colors().items()}


def _rgb_to_networks(rgb: np.ndarray) -> list[str]:
    hexes = ["#" + "".join(f"{int(round(v * 255)):02x}" for v in px[:3]) for px in rgb]
    return [COLOR_TO_NETWORK[h] for h in hexes]


def _image(fig, gid):
    axes = [a for ax in fig.axes for a in (ax, *ax.child_axes)]
    found = [im for ax in axes for im in ax.get_images() if im.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


@pytest.fixture(scope="module")
def atlas64():
    return uv.load_atlas("embedded", 64)


def test_fc_order_is_data(tiny_rois):
    fc = fc_for(tiny_rois, 6)
    order = fc_order(fc)
    expected = independent_order(tiny_rois["network"])
    np.testing.assert_array_equal(order.values, expected)
    assert list(order.roi.values) == [tiny_rois["roi"][i] for i in expected]
    assert list(order.color.values) == [network_colors()[tiny_rois["network"][i]]
                                        for i in expected]


@pytest.mark.parametrize("which", ["tiny", "embedded"])
def test_matplotlib_colour_bars_match_atlas_networks(which, tiny_rois, atlas64):
    rois, n = (tiny_rois, 6) if which == "tiny" else (atlas64, 64)
    networks = np.asarray(rois["network"] if which == "tiny" else atlas64.network)
    fc = fc_for(rois, n)
    fig = plot_fc(fc)
    idx = independent_order(networks)
    left = _image(fig, "network-bar-left").get_array()[:, 0, :]
    top = _image(fig, "network-bar-top").get_array()[0, :, :]
    assert _rgb_to_networks(left) == list(networks[idx])
    assert _rgb_to_networks(top) == list(networks[idx])
    drawn = np.asarray(_image(fig, "fc-matrix").get_array())
    np.testing.assert_allclose(drawn, fc.values[np.ix_(idx, idx)])
    plt.close(fig)


def test_density_keeps_the_strongest_edges(atlas64):
    fc = fc_for(atlas64, 64, seed=2)
    density = 0.25
    fig = plot_fc(fc, density=density)
    drawn = np.asarray(_image(fig, "fc-matrix").get_array().filled(np.nan))
    idx = independent_order(atlas64.network)
    rows, cols = np.triu_indices(64, k=1)
    edges = fc.values[rows, cols]
    k = int(np.floor(density * edges.size + 0.5))
    threshold = np.sort(np.abs(edges))[::-1][k - 1]
    expected = np.abs(fc.values) >= threshold
    np.fill_diagonal(expected, False)
    assert np.array_equal(~np.isnan(drawn), expected[np.ix_(idx, idx)])
    assert np.count_nonzero(~np.isnan(drawn)) == 2 * k
    plt.close(fig)


def test_labels_readable_at_256_rois():
    atlas = uv.load_atlas("embedded", 256)
    fc = fc_for(atlas, 256, seed=4)
    fig = plot_fc(fc)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [a for ax in fig.axes for a in (ax, *ax.child_axes)]
    shorts = {n.short for n in uv.networks.NETWORKS}
    labels = [t for ax in axes for t in ax.get_yticklabels() if t.get_text() in shorts]
    assert labels, "network labels are drawn"
    assert len(labels) < 30, "no per-ROI labels at 256 ROIs"
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.y0)
    for lower, upper in zip(boxes, boxes[1:]):
        assert lower.y1 <= upper.y0 + 0.5, "network labels overlap"
    legend_texts = {t.get_text() for t in fig.legends[0].get_texts()} if fig.legends else set()
    shown = {t.get_text() for t in labels}
    present = {uv.networks.network_by_name(n).short for n in set(atlas.network)}
    assert present <= shown | legend_texts, "every network is named by a label or the legend"
    plt.close(fig)


def test_titles_state_provenance(tiny_rois):
    for source in ("simulated", "semi-synthetic", "real"):
        fc = fc_for(tiny_rois, 6, source=source)
        fig = plot_fc(fc)
        title = " ".join(a.get_title() for ax in fig.axes for a in (ax, *ax.child_axes))
        assert uv.viz.PROVENANCE_LABELS[source] in title
        plt.close(fig)
    fig = plot_fc_comparison(fc, fc, densities=(None, 0.5))
    assert "real recordings" in fig.get_suptitle()
    plt.close(fig)


def test_bad_inputs_are_explained(tiny_rois):
    fc = fc_for(tiny_rois, 6)
    with pytest.raises(ValueError, match="shape"):
        plot_fc(fc, mask=np.ones((5, 5), dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        plot_fc(fc, mask=np.ones((6, 6)))
    with pytest.raises(TypeError, match="FC"):
        plot_fc(fc.values)
    with pytest.raises(ValueError, match="density"):
        plot_fc(fc, density=1.5)
    unknown = fc.copy()
    unknown.attrs["data_source"] = "mystery"
    with pytest.raises(ValueError):
        plot_fc(unknown)


def test_one_scan_of_fc_per_scan_is_accepted(atlas64):
    from unebolt_viz.metrics import fc_per_scan

    rng = np.random.default_rng(5)
    bold = uv.roi_timeseries(rng.standard_normal((80, 64)), atlas64, 2.1, scan="s9",
                             subject="x", data_source="simulated")
    pred = uv.predictions(bold, bold.values + rng.standard_normal((80, 64)))
    stack = fc_per_scan(pred, "pred")
    fig = plot_fc(stack.isel(scan=0))
    assert "s9" in " ".join(a.get_title() for ax in fig.axes for a in (ax, *ax.child_axes))
    plt.close(fig)
