"""The bridge: predicted volumes -> ROI time series -> the package's ROI metrics, unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from unebolt_viz.data import InvalidDataError, roi_timeseries
from unebolt_viz.data.volumes import bold_volumes
from unebolt_viz.metrics import evaluate
from unebolt_viz.metrics.bridge import (
    model_output_to_volumes,
    roi_series,
    roi_series_nilearn,
    volume_predictions,
)

NAMES = ["L Visual 1", "R Default 2", "Thalamus L", "Brainstem"]
NETWORKS = ["Visual", "Default", "Subcortical", "Subcortical"]
ROIS = {"roi": NAMES, "network": NETWORKS}
SHAPE = (10, 9, 6)


def _labels():
    labels = np.full(SHAPE, -1)
    labels[1:5, 1:4, 1:5] = 0
    labels[5:9, 1:4, 1:5] = 1
    labels[1:5, 4:8, 1:5] = 2
    labels[5:9, 4:8, 1:5] = 3
    return labels


def _volumes_from(series, rng, noise=0.0, mask=None):
    """Voxel = positive weight x its ROI's series (+ noise), 0 outside the regions."""
    labels = _labels()
    weight = rng.uniform(0.5, 1.5, SHAPE)
    data = np.zeros((series.shape[0], *SHAPE), np.float32)
    inside = labels >= 0
    data[:, inside] = weight[inside] * series[:, labels[inside]]
    data += noise * rng.standard_normal(data.shape).astype(np.float32)
    return bold_volumes(data, np.diag([3.0, 3.0, 3.0, 1.0]), inside if mask is None else mask,
                        2.1, scan="sub01-scan01", subject="sub01", data_source="simulated")


def _series(rng, n=60):
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(rng.standard_normal((n, len(NAMES))), 2, axis=0)


def test_noise_free_volumes_map_back_to_their_series(rng):
    series = _series(rng)
    vols = _volumes_from(series, rng)
    out = roi_series(vols, _labels(), NAMES, ROIS)
    assert out.attrs["kind"] == "roi_timeseries" and out.attrs["data_source"] == "simulated"
    for i, name in enumerate(NAMES):
        r = np.corrcoef(out.sel(roi=name).values, series[:, i])[0, 1]
        assert r > 0.999999


def test_rois_matched_by_name_not_position(rng):
    series = _series(rng)
    vols = _volumes_from(series, rng)
    shuffled = {"roi": NAMES[::-1], "network": NETWORKS[::-1]}
    out = roi_series(vols, _labels(), NAMES, shuffled)
    assert list(out.roi.values) == NAMES[::-1]
    assert np.corrcoef(out.sel(roi="Thalamus L").values, series[:, 2])[0, 1] > 0.999999
    with pytest.raises(InvalidDataError, match="no region"):
        roi_series(vols, _labels(), NAMES, {"roi": [*NAMES, "Extra"], "network": [*NETWORKS, "Visual"]})


def test_nilearn_masker_path_agrees(rng):
    import nibabel as nib

    series = _series(rng)
    vols = _volumes_from(series, rng)
    img = nib.Nifti1Image((_labels() + 1).astype(np.int32), np.diag([3.0, 3.0, 3.0, 1.0]))
    via_nilearn = roi_series_nilearn(vols, img, NAMES, ROIS)
    direct = roi_series(vols, _labels(), NAMES, ROIS)
    np.testing.assert_allclose(via_nilearn.values, direct.values, rtol=1e-5, atol=1e-6)


def test_bridge_gives_package_metrics(rng):
    series = _series(rng)
    true_vols = _volumes_from(series, rng)
    # a "model" whose volumes equal the truth: perfect ROI metrics
    model_out = np.moveaxis(true_vols.values, -1, 1)  # (n, D, nx, ny), the models' layout
    pred_vols = model_output_to_volumes(model_out, like=true_vols, model="oracle")
    ds = volume_predictions(pred_vols, true_vols, _labels(), NAMES, ROIS, model="oracle")
    metrics = evaluate(ds)
    assert float(metrics["tcorr"].item()) == pytest.approx(1.0, abs=1e-6)
    assert float(metrics["pixcorr"].item()) == pytest.approx(1.0, abs=1e-6)
    assert float(metrics["conn_mse"].item()) == pytest.approx(0.0, abs=1e-10)
    # a noisy prediction scores lower, and true ROI series can be the reference
    noisy = _volumes_from(series, rng, noise=3.0)
    truth = roi_timeseries(series[5:], ROIS, 2.1, scan="sub01-scan01", subject="sub01",
                           tr_index=np.arange(5, 60), data_source="simulated")
    ds2 = volume_predictions(noisy, truth, _labels(), NAMES, None, model="noisy")
    assert ds2.sizes["time"] == 55 and list(ds2.tr_index.values[:2]) == [5, 6]
    tcorr = float(evaluate(ds2)["tcorr"].item())
    assert 0.2 < tcorr < 0.99
    assert ds2.attrs["data_source"] == "simulated" and ds2.attrs["model"] == "noisy"


def test_simulated_volumes_round_trip_to_roi_targets():
    """Noise-free simulated volumes give back the cohort's ROI targets (r ~ 1)."""
    from unebolt_viz.simulation import simulate_cohort
    from unebolt_viz.simulation.volumes import VolumeGrid, region_labels, simulate_volumes

    cohort = simulate_cohort("tiny", seed=2, progress=False)
    scan = cohort.scans[1]
    shape = (24, 28, 16)
    affine = np.diag([7.5, 7.8, 11.0, 1.0])
    affine[:3, 3] = [-86, -105, -65]
    grid = VolumeGrid(shape, affine, np.ones(shape, bool))
    assert len(np.unique(region_labels(cohort.atlas.centroid, grid))) == cohort.atlas.n_rois
    vols = simulate_volumes(cohort, scan, grid=grid, noise_sd=0.0)
    pair = cohort.pair(scan)
    ds = volume_predictions(vols["bold"], pair.bold, vols["region"].values,
                            list(vols.roi.values), None, model="noise-free volumes")
    assert ds.sizes["time"] == pair.bold.sizes["time"]
    r = evaluate(ds)["temporal_r"].values
    assert r.min() > 0.99999
