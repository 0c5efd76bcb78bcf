"""Fig. 3b as the paper draws it: each network from the scan where it is best predicted."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

import unebolt_viz as uv  # noqa: E402
from unebolt_viz.metrics import network_r  # noqa: E402
from unebolt_viz.viz import best_scan_per_network, plot_network_timeseries  # noqa: E402


def _scans_with_graded_noise(rois, rng):
    """Four scans; the noise of each network differs per scan, so each has its own best scan."""
    nets = np.array(rois["network"])
    names = [n for n in uv.NETWORK_NAMES if n in set(nets)]
    parts = []
    for k in range(4):
        true = rng.standard_normal((60, len(nets)))
        noise_sd = np.ones(len(nets))
        for j, net in enumerate(names):
            noise_sd[nets == net] = 0.2 + ((k + j) % 4) * 0.8  # scan (4 - j) % 4 is the best
        est = true + noise_sd * rng.standard_normal(true.shape)
        bold = uv.roi_timeseries(true, rois, 2.0, scan=f"sub0{k}-scan01", subject=f"sub0{k}",
                                 data_source="simulated")
        parts.append(uv.predictions(bold, est, model="m"))
    out = xr.concat(parts, dim="time")
    out.attrs = dict(parts[0].attrs)
    return out, names


def test_best_scan_is_the_argmax_of_each_networks_r(rng, tiny_rois):
    pred, names = _scans_with_graded_noise(tiny_rois, rng)
    r = network_r(pred)
    best = best_scan_per_network(r)
    scans = r.scan.values.astype(str)
    for net in names:
        assert best[net] == scans[int(np.argmax(r.sel(network=net).values))]
    # the construction makes the best scans differ between networks
    assert len(set(best.values())) > 1

    fig = plot_network_timeseries(pred, "best", network_r=r)
    assert fig.panel_scans == best
    nets = np.array(tiny_rois["network"])
    for ax, net in zip(fig.axes, names):
        one = pred.isel(time=np.flatnonzero(pred.scan.values.astype(str) == best[net]))
        true_line, pred_line = ax.get_lines()[:2]
        np.testing.assert_allclose(pred_line.get_ydata(),
                                   one["pred"].values[:, nets == net].mean(axis=1))
        np.testing.assert_allclose(true_line.get_ydata(),
                                   one["true"].values[:, nets == net].mean(axis=1))
        value = float(r.sel(scan=best[net], network=net))
        assert best[net] in ax.get_title() and f"R = {value:.2f}" in ax.get_title()
    assert "best-predicted scan" in fig.get_suptitle() and "simulated" in fig.get_suptitle()
    plt.close(fig)


def test_best_mode_needs_network_r_with_scans(rng, tiny_rois):
    pred, _ = _scans_with_graded_noise(tiny_rois, rng)
    with pytest.raises(ValueError, match="network_r"):
        plot_network_timeseries(pred, "best")
    with pytest.raises(ValueError, match="dims"):
        best_scan_per_network(network_r(pred).isel(scan=0))
    with pytest.raises(ValueError, match="no values"):
        best_scan_per_network(network_r(pred), ["Limbic"])
    # one named scan still draws every panel from that scan
    fig = plot_network_timeseries(pred, "sub02-scan01")
    assert set(fig.panel_scans.values()) == {"sub02-scan01"}
    plt.close(fig)
