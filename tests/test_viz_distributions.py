"""Distribution and curve figures draw exactly the metrics they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import unebolt_viz as uv  # noqa: E402
from unebolt_viz.metrics import evaluate  # noqa: E402
from unebolt_viz.viz import (  # noqa: E402
    network_groups,
    plot_density_curves,
    plot_network_r,
    plot_scan_bars,
)


@pytest.fixture(scope="module")
def metrics():
    rng = np.random.default_rng(7)
    atlas = uv.load_atlas("embedded", 64)
    parts = []
    for k in range(4):
        true = rng.standard_normal((60, 64))
        bold = uv.roi_timeseries(true, atlas, 2.1, scan=f"sub0{k}-scan01", subject=f"sub0{k}",
                                 data_source="simulated")
        parts.append(uv.predictions(bold, true + 2 * rng.standard_normal(true.shape), model="m"))
    pred = xr.concat(parts, dim="time")
    pred.attrs = dict(parts[0].attrs)
    return evaluate(pred, densities=(0.1, 0.25, 0.5, 1.0))


def test_groups_follow_the_network_coordinate(metrics):
    per_roi = metrics["temporal_r"].mean("scan")
    groups = network_groups(per_roi)
    nets = per_roi.roi_network.values.astype(str)
    assert list(groups) == [n for n in uv.NETWORK_NAMES if n in set(nets)]
    for name, values in groups.items():
        np.testing.assert_allclose(values, per_roi.values[nets == name])
    per_scan = network_groups(metrics["network_r"])
    np.testing.assert_allclose(per_scan["Visual"], metrics["network_r"].sel(network="Visual"))
    with pytest.raises(ValueError, match="mean"):
        network_groups(metrics["temporal_r"])


def test_network_r_points_are_the_values(metrics):
    per_roi = metrics["temporal_r"].mean("scan")
    fig = plot_network_r(per_roi, data_source="simulated")
    ax = fig.axes[0]
    drawn = np.sort(np.concatenate([c.get_offsets()[:, 1] for c in ax.collections
                                    if len(c.get_offsets())]))
    np.testing.assert_allclose(drawn, np.sort(per_roi.values))
    assert "simulated data" in ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="data_source"):
        plot_network_r(per_roi)


def test_scan_bars_are_mean_and_sample_sd(metrics):
    fig = plot_scan_bars(metrics, columns=["Tcorr", "Pixcorr", "F1-0.25"])
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    tcorr = metrics["tcorr"].values
    f1 = metrics["f1"].sel(density=0.25).values
    np.testing.assert_allclose(heights, [tcorr.mean(), metrics["pixcorr"].values.mean(),
                                         f1.mean()])
    (errorbar,) = [c for c in ax.containers if hasattr(c, "lines") and c.lines[2]]
    segments = errorbar.lines[2][0].get_segments()
    half = [abs(s[1][1] - s[0][1]) / 2 for s in segments]
    assert half[0] == pytest.approx(np.std(tcorr, ddof=1))
    assert half[2] == pytest.approx(np.std(f1, ddof=1))
    assert "n = 4 scans" in ax.get_title() and "simulated" in ax.get_title()
    plt.close(fig)


def test_density_curves_draw_f1_chance_and_pixcorr(metrics):
    f1 = metrics["f1"]
    fig = plot_density_curves(f1, metrics["pixcorr"], data_source="simulated")
    ax = fig.axes[0]
    mean_line = [ln for ln in ax.get_lines() if ln.get_label().startswith("F1 (mean")][0]
    np.testing.assert_allclose(mean_line.get_ydata(), f1.mean("scan").values)
    chance = [ln for ln in ax.get_lines() if ln.get_label().startswith("chance")][0]
    np.testing.assert_allclose(chance.get_xydata(), [[0, 0], [1, 1]])
    pix = [ln for ln in ax.get_lines() if ln.get_label().startswith("Pixcorr")][0]
    assert pix.get_ydata()[0] == pytest.approx(metrics["pixcorr"].values.mean())
    # Keeping every edge makes both graphs complete: F1 = 1 at density 1.
    assert mean_line.get_ydata()[-1] == pytest.approx(1.0)
    plt.close(fig)
