"""Time-series figures: decimation keeps extremes; drawn lines are the data's signals."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from builders import two_scan_predictions

import unebolt_viz as uv  # noqa: E402
from unebolt_viz.viz import (  # noqa: E402
    minmax_decimate,
    plot_network_timeseries,
    select_scan,
)


def test_minmax_decimation_keeps_extremes_and_endpoints(rng):
    t = np.arange(10_000) * 0.5
    y = np.cumsum(rng.standard_normal(10_000))
    td, yd = minmax_decimate(t, y, 500)
    assert len(td) <= 500
    assert td[0] == t[0] and td[-1] == t[-1]
    assert yd.max() == y.max() and yd.min() == y.min()
    assert np.all(np.diff(td) > 0)
    np.testing.assert_array_equal(yd, y[np.searchsorted(t, td)])
    short_t, short_y = minmax_decimate(t[:100], y[:100], 500)
    np.testing.assert_array_equal(short_y, y[:100])
    with pytest.raises(ValueError):
        minmax_decimate(t, y[:-1])


def test_network_panels_draw_network_means(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    fig = plot_network_timeseries(pred, "sub01-scan01")
    one = pred.isel(time=slice(40, 80))
    nets = np.array(tiny_rois["network"])
    present = [n for n in uv.NETWORK_NAMES if n in set(nets)]
    for ax, net in zip(fig.axes, present):
        true_line, pred_line = ax.get_lines()[:2]
        np.testing.assert_allclose(true_line.get_ydata(),
                                   one["true"].values[:, nets == net].mean(axis=1))
        np.testing.assert_allclose(pred_line.get_ydata(),
                                   one["pred"].values[:, nets == net].mean(axis=1))
    assert "simulated data" in fig.get_suptitle()
    plt.close(fig)


def test_network_r_is_written_in_panel_titles(rng, tiny_rois):
    from unebolt_viz.metrics import network_r

    pred = two_scan_predictions(tiny_rois, 6, rng)
    r = network_r(pred)
    fig = plot_network_timeseries(pred, "sub00-scan01", network_r=r)
    visual = float(r.sel(scan="sub00-scan01", network="Visual"))
    assert f"R = {visual:.2f}" in fig.axes[0].get_title()
    plt.close(fig)


def test_scan_selection_is_explicit(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    with pytest.raises(ValueError, match="choose one"):
        select_scan(pred)
    with pytest.raises(ValueError, match="No scan"):
        select_scan(pred, "sub09-scan01")
    assert set(select_scan(pred, "sub01-scan01").scan.values) == {"sub01-scan01"}
