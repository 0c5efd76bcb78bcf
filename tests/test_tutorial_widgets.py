"""The tutorials' widgets, driven as a reader would: set a control's value, check what it shows.

One group per tutorial. The numbers are recomputed here independently (numpy, the metrics
module) on tiny simulated data or the shipped simulated predictions; nothing of ours is mocked.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import unebolt_viz as uv  # noqa: E402
from unebolt_viz import metrics  # noqa: E402
from unebolt_viz.models.pretrained import PRETRAINED_DIR  # noqa: E402
from unebolt_viz.viz import interactive as ia  # noqa: E402


@pytest.fixture(scope="module")
def shipped():
    """The shipped simulated test-scan predictions at P = 64, by model file."""
    out = {}
    for name in ("ridge", "unebolt"):
        path = PRETRAINED_DIR / f"predictions_{name}_p64.nc"
        if path.is_file():
            out[name] = uv.load(path)
    if len(out) < 2:
        pytest.fail(f"shipped predictions missing under {PRETRAINED_DIR}")
    return out


# ---------------------------------------------------------------------------------------------
# 01: atlases


def test_01_atlas_explorer_follows_size_and_network():
    atlases = {n: uv.load_atlas("embedded", n) for n in (64, 128)}
    box = ia.atlas_explorer(atlases)
    size, network = box.children[0], box.children[1]
    assert box.result["n_rois"] == 64
    network.value = "Visual"
    assert box.result["n_rois"] == int(np.sum(atlases[64].network == "Visual"))
    assert "Visual" in box.summary.value
    size.value = 128
    assert box.result["n_total"] == atlases[128].n_rois
    assert box.result["n_rois"] == int(np.sum(atlases[128].network == "Visual"))
    assert set(box.result["table"]["network"]) == {"Visual"}


def test_01_atlas_3d_highlights_the_chosen_network():
    atlas = uv.load_atlas("embedded", 64)
    fig = ia.atlas_3d(atlas, "Default")
    sizes = {t.name: t.marker.size for t in fig.data}
    assert sizes["Default"] > max(s for n, s in sizes.items() if n != "Default")
    default = next(t for t in fig.data if t.name == "Default")
    np.testing.assert_allclose(sorted(default.x), sorted(atlas.centroid[atlas.network == "Default", 0]))


# ---------------------------------------------------------------------------------------------
# 02: coupling and HRF


# Two subjects of 70 volumes: the smallest cohort where ridge (trained on one subject) separates
# coupling x2 from no coupling (margins 0.11-0.32 over seeds 0-2; 0.05 asked).
SMALL = {"n_subjects": 2, "n_volumes": 70}


@pytest.mark.slow
def test_02_coupling_slider_changes_r_not_the_ceiling():
    box = ia.coupling_explorer(strengths=(0.0, 2.0), value=2.0, **SMALL)
    coupled = dict(box.result)
    box.children[0].value = 0.0
    off = box.result
    assert off["strength"] == 0.0 and coupled["strength"] == 2.0
    # Same seed, same latent activity and BOLD: the ceiling does not move with the coupling.
    np.testing.assert_allclose(off["ceiling"].values, coupled["ceiling"].values)
    assert coupled["mean_r"] > off["mean_r"] + 0.05
    assert f"{off['mean_r']:.3f}" in box.summary.value
    # The displayed R is the correlation of the predictions with the truth, ROI by ROI.
    pred = off["pred"]
    by_hand = [np.corrcoef(pred["true"].values[:, k], pred["pred"].values[:, k])[0, 1]
               for k in range(pred.sizes["roi"])]
    np.testing.assert_allclose(off["roi_r"].values, by_hand, atol=1e-5)


def test_02_hrf_delay_explorer_recomputes_r():
    # The coupled cohort of the test above (cached), so no scan is simulated twice.
    cohort = ia.coupling_predictability(2.0, "tiny", 0, **SMALL)["cohort"]
    ds = cohort.scan_data(cohort.scans[0])
    box = ia.hrf_delay_explorer(ds)
    delay, band = box.children[0], box.children[1]
    r0 = box.result["r"]
    assert r0 < 0, "alpha power is coupled negatively to visual BOLD in the simulator"
    delay.value = 4.0
    power, volumes = ia.band_power_per_tr(ds, (8.0, 12.0), ("O1", "OZ", "O2"))
    visual = ds["targets"].values[volumes][:, ds["network"].values == "Visual"].mean(1)
    assert box.result["r"] == pytest.approx(ia.hrf_delay_r(power, visual, 2.1, 4.0))
    assert box.result["r"] != pytest.approx(r0)
    band.value = "delta"
    assert box.result["band"] == "delta" and box.result["r"] != pytest.approx(r0)


# ---------------------------------------------------------------------------------------------
# 03: the loss


def test_03_loss_sliders_reweight_the_terms():
    g = torch.Generator().manual_seed(0)
    true = torch.randn(32, 16, generator=g).cumsum(0)
    true = (true - true.mean(0)) / true.std(0)
    cases = {"perfect": true, "half amplitude": 0.5 * true,
             "global signal": true + torch.randn(32, 1, generator=g) * 2}
    box = ia.loss_explorer(cases, true)
    alpha, beta = box.children[0], box.children[1]
    table = box.result["table"]
    np.testing.assert_allclose(table["L_MO"],
                               0.8 * table["mse"] + 0.1 * table["tcorr"] + 0.1 * table["scorr"],
                               atol=1e-6)
    alpha.value = 0.0
    # Without the MSE term, a half-amplitude prediction costs nothing: correlations ignore scale.
    assert box.result["table"].loc["half amplitude", "L_MO"] == pytest.approx(0.0, abs=1e-6)
    beta.value = 0.9
    assert box.result["beta"] == pytest.approx(0.9)
    alpha.value = 1.0
    assert box.result["beta"] == 0.0   # clipped: alpha + beta <= 1
    np.testing.assert_allclose(box.result["table"]["L_MO"], box.result["table"]["mse"], atol=1e-6)
    assert box.result["worst"] == "global signal"


# ---------------------------------------------------------------------------------------------
# 04: models, scans, networks; the surface


def test_04_network_trace_explorer_follows_model_and_network(shipped):
    box = ia.network_trace_explorer({"ridge": shipped["ridge"], "unebolt": shipped["unebolt"]})
    model, scan, network = box.children[:3]
    network.value = "Default"
    model.value = "unebolt"
    pred = shipped["unebolt"]
    one = pred.where(pred.scan == scan.value, drop=True)
    keep = one.network.values == "Default"
    expected = np.corrcoef(one["true"].values[:, keep].mean(1), one["pred"].values[:, keep].mean(1))
    assert box.result["model"] == "unebolt"
    assert box.result["r"] == pytest.approx(expected[0, 1], abs=1e-6)
    assert f"{box.result['r']:.3f}" in box.summary.value


def test_04_model_comparison_explorer_matches_evaluate(shipped):
    evaluated = {k: metrics.evaluate(v) for k, v in shipped.items()}
    box = ia.model_comparison_explorer(evaluated)
    box.children[2].value = "pixcorr"
    expected = float(evaluated["ridge"].pixcorr.mean() - evaluated["unebolt"].pixcorr.mean())
    assert box.result["metric"] == "pixcorr"
    assert box.result["difference"] == pytest.approx(expected)
    box.children[1].value = "ridge"
    assert box.result["difference"] == 0.0


def test_04_surface_r_3d_paints_the_rois(shipped):
    atlas = uv.load_atlas("embedded", 64)
    r = metrics.temporal_r(shipped["ridge"]).mean("scan").assign_attrs(data_source="simulated")
    fig = ia.surface_r_3d(r, atlas, n_vertices=1500)
    left = next(t for t in fig.data if t.name == "left")
    painted = np.asarray(left.intensity, dtype=float)
    painted = painted[np.isfinite(painted)]
    assert painted.size > 0
    # Every painted triangle carries the R of one ROI.
    distance = np.abs(painted[:, None] - r.values[None, :]).min(axis=1)
    assert distance.max() < 1e-5


# ---------------------------------------------------------------------------------------------
# 05: FC, linked views, density


def test_05_fc_tap_selects_the_two_rois(shipped):
    pred = shipped["ridge"]
    scan = str(pred.scan.values[0])
    layout, tap, traces = ia.fc_tap_explorer(pred, scan)
    image, dmap = layout.Image.I, layout.DynamicMap.I
    fc_true = pred.unebolt.fc(var="true", scan=scan)
    fc_pred = pred.unebolt.fc(var="pred", scan=scan)
    x, y = 10.5, 20.5
    tap.event(x=x, y=y)
    shown = dmap[()]
    r = traces(x, y)
    a = list(fc_true.roi.values).index(r["name_a"])
    b = list(fc_true.roi.values).index(r["name_b"])
    assert a != b
    assert float(image[x, y]) == pytest.approx(float(fc_true.values[a, b]), abs=1e-6)
    assert r["r_true"] == pytest.approx(float(fc_true.values[a, b]), abs=1e-5)
    assert r["r_pred"] == pytest.approx(float(fc_pred.values[a, b]), abs=1e-5)
    labels = {c.label for c in shown}
    assert labels == {f"true {r['name_a']}", f"pred {r['name_a']}", f"true {r['name_b']}",
                      f"pred {r['name_b']}"}
    tap.event(x=30.5, y=5.5)
    assert traces(30.5, 5.5)["name_a"] != r["name_a"] or traces(30.5, 5.5)["name_b"] != r["name_b"]
    assert {c.label for c in dmap[()]} != labels


def test_05_density_slider_matches_the_metrics(shipped):
    pred = shipped["ridge"]
    scan = str(pred.scan.values[0])
    fc_true = pred.unebolt.fc(var="true", scan=scan)
    fc_pred = pred.unebolt.fc(var="pred", scan=scan)
    box = ia.density_explorer(fc_true, fc_pred, value=0.25)
    f1_quarter = box.result["f1"]
    box.children[0].value = 0.5
    n_edges = 64 * 63 // 2
    assert box.result["n_edges"] == int(np.floor(0.5 * n_edges + 0.5))
    assert box.result["f1"] == pytest.approx(metrics.f1_at_density(fc_true, fc_pred, 0.5))
    assert box.result["f1"] != pytest.approx(f1_quarter)
    assert "F1" in box.summary.value and f"{box.result['f1']:.3f}" in box.summary.value


def test_05_connectome_draws_the_strongest_edges(shipped):
    pred = shipped["ridge"]
    fc = pred.unebolt.fc(var="pred", scan=str(pred.scan.values[0]))
    fig = ia.connectome_3d(fc, n_edges=25)
    drawn = fig.layout.meta
    assert len(drawn) == 25
    iu = np.triu_indices(64, k=1)
    strongest = np.sort(np.abs(fc.values[iu]))[::-1][:25]
    np.testing.assert_allclose(sorted(abs(e["r"]) for e in drawn), sorted(strongest))
    lines = {t.name: t for t in fig.data if t.mode == "lines"}
    n_pos = sum(e["r"] > 0 for e in drawn)
    assert len(lines["positive edges"].x) == 3 * n_pos


def test_05_density_figure_names_chance_once(shipped):
    pred = shipped["ridge"]
    scan = str(pred.scan.values[0])
    curve = metrics.f1_density_curve(pred.unebolt.fc(var="true", scan=scan),
                                     pred.unebolt.fc(var="pred", scan=scan))
    fig = uv.viz.plot_density_curves(curve, pixcorr=0.4, data_source="simulated")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sum("chance" in label for label in labels) == 1, labels
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# 06: comparing training variants


def test_06_model_comparison_switches_models_and_metric(shipped):
    evaluated = {f"{k} ({n})": metrics.evaluate(v.where(v.scan == s, drop=True))
                 for k, v in shipped.items()
                 for n, s in enumerate(list(dict.fromkeys(map(str, v.scan.values)))[:1])}
    labels = list(evaluated)
    box = ia.model_comparison_explorer(evaluated, metrics=("tcorr", "conn_mse"))
    box.children[2].value = "conn_mse"
    a, b = labels[0], labels[1]
    expected = float(evaluated[a].conn_mse.mean()) - float(evaluated[b].conn_mse.mean())
    assert box.result["difference"] == pytest.approx(expected)
    box.children[0].value, box.children[1].value = b, a
    assert box.result["difference"] == pytest.approx(-expected)
    assert list(box.result["table"].columns) == [b, a]


# ---------------------------------------------------------------------------------------------
# 07: volumetric peers


def test_07_volume_slice_explorer_shows_the_chosen_slice():
    from unebolt_viz.data.volumes import bold_volumes
    from unebolt_viz.metrics.volumetric import psnr, ssim

    rng = np.random.default_rng(0)
    shape = (20, 16, 5)
    true = bold_volumes(rng.standard_normal((6, *shape)) * 3 + 1, np.eye(4), None, 2.0,
                        scan="sub01-scan01", subject="sub01", data_source="simulated")
    pred = true.copy(data=rng.uniform(0, 1, true.shape))
    box = ia.volume_slice_explorer(true, pred, z=2)
    z_slider, volume_slider = box.children[0], box.children[1]
    assert box.result["z"] == 2 and box.result["volume"] == 0
    z_slider.value, volume_slider.value = 4, 3
    v = true.values[3]
    scaled = (v - v.min()) / (v.max() - v.min())         # out of [0, 1]: min-max scaled
    np.testing.assert_allclose(box.result["true"], scaled[:, :, 4].T)
    np.testing.assert_allclose(box.result["pred"], pred.values[3][:, :, 4].T)  # in [0, 1]: as is
    np.testing.assert_allclose(box.result["diff"], (pred.values[3] - scaled)[:, :, 4].T)
    a, b = np.moveaxis(scaled, -1, 0), np.moveaxis(pred.values[3], -1, 0)
    assert box.result["ssim"] == pytest.approx(ssim(a, b), abs=1e-12)
    assert box.result["psnr"] == pytest.approx(psnr(a, b), abs=1e-12)
    assert "slice z = 4 of 5" in box.summary.value and "simulated" in box.summary.value
    z_slider.value = 0
    assert not np.allclose(box.result["true"], scaled[:, :, 4].T)
    np.testing.assert_allclose(box.result["true"], scaled[:, :, 0].T)
    plt.close("all")
