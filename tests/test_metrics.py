"""Metrics against independent implementations (nilearn, scikit-learn, scipy, plain numpy)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from unebolt_viz import metrics
from unebolt_viz.data import InvalidDataError, predictions, roi_timeseries

NETWORKS = ["Visual", "Somatomotor", "Default", "Control"]


def _rois(n_rois: int) -> dict:
    return {"roi": [f"roi{i:02d}" for i in range(n_rois)],
            "network": [NETWORKS[i % len(NETWORKS)] for i in range(n_rois)]}


def _predictions(seed: int = 0, n_scans: int = 3, n_times: int = 60, n_rois: int = 12,
                 noise: float = 1.0, model: str = "test") -> xr.Dataset:
    """Several scans with correlated ROIs; predictions = truth + noise."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(n_rois, n_rois))
    true = rng.normal(size=(n_scans * n_times, n_rois)) @ mixing
    pred = true + noise * rng.normal(size=true.shape) * true.std(axis=0)
    scans = np.repeat([f"sub{s // 2:02d}-scan{s % 2:02d}" for s in range(n_scans)], n_times)
    subjects = [s.split("-")[0] for s in scans]
    bold = roi_timeseries(true, _rois(n_rois), 2.1, scan=scans, subject=subjects,
                          tr_index=np.tile(np.arange(n_times), n_scans), data_source="simulated")
    return predictions(bold, pred, model=model)


def _scan_values(pred: xr.Dataset, scan: str, var: str) -> np.ndarray:
    return pred[var].values[pred.scan.values == scan]


def test_temporal_r_matches_scipy_pearsonr_per_roi_and_scan():
    pred = _predictions()
    r = metrics.temporal_r(pred)
    assert r.dims == ("scan", "roi")
    assert list(r.network.values) == list(pred.network.values)
    for scan in r.scan.values:
        t, p = _scan_values(pred, scan, "true"), _scan_values(pred, scan, "pred")
        expected = [stats.pearsonr(t[:, j], p[:, j])[0] for j in range(t.shape[1])]
        np.testing.assert_allclose(r.sel(scan=scan).values, expected, atol=1e-10)


def test_temporal_r_of_constant_prediction_is_zero_not_nan():
    pred = _predictions(n_scans=1)
    flat = pred.copy()
    flat["pred"] = xr.zeros_like(flat["pred"]) + 0.3
    r = metrics.temporal_r(flat)
    assert np.all(r.values == 0.0)


def test_network_r_is_correlation_of_network_mean_signals():
    pred = _predictions(n_scans=2)
    r = metrics.network_r(pred)
    assert list(r.network.values) == ["Visual", "Somatomotor", "Control", "Default"]
    scan = str(r.scan.values[1])
    t, p = _scan_values(pred, scan, "true"), _scan_values(pred, scan, "pred")
    nets = pred.network.values
    for name in r.network.values:
        cols = nets == name
        expected = np.corrcoef(t[:, cols].mean(axis=1), p[:, cols].mean(axis=1))[0, 1]
        assert r.sel(scan=scan, network=name).item() == pytest.approx(expected, abs=1e-10)
    assert int(r.n_rois.sel(network="Visual")) == int(np.sum(nets == "Visual"))


def test_fc_per_scan_matches_nilearn_connectivity_measure():
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import EmpiricalCovariance

    pred = _predictions(n_scans=3)
    for var in ("true", "pred"):
        fc = metrics.fc_per_scan(pred, var)
        assert fc.dims == ("scan", "roi", "roi2")
        series = [_scan_values(pred, s, var) for s in fc.scan.values]
        # nilearn shrinks the covariance by default (Ledoit-Wolf); FC here is plain Pearson r
        measure = ConnectivityMeasure(kind="correlation", cov_estimator=EmpiricalCovariance())
        expected = measure.fit_transform(series)
        np.testing.assert_allclose(fc.values, expected, atol=1e-6)
        assert list(fc.network2.values) == list(pred.network.values)


def test_upper_triangle_is_strict_and_row_major():
    m = np.arange(16.0).reshape(4, 4)
    np.testing.assert_array_equal(metrics.upper_triangle(m), [1, 2, 3, 6, 7, 11])
    stack = np.stack([m, m + 100])
    assert metrics.upper_triangle(stack).shape == (2, 6)


def test_pixcorr_and_conn_mse_match_explicit_formulas():
    pred = _predictions(n_scans=1, n_rois=15)
    a = metrics.fc_per_scan(pred, "true").isel(scan=0)
    b = metrics.fc_per_scan(pred, "pred").isel(scan=0)
    iu = np.triu_indices(15, k=1)
    va, vb = a.values[iu], b.values[iu]
    assert metrics.pixcorr(a, b) == pytest.approx(stats.pearsonr(va, vb)[0], abs=1e-10)
    assert metrics.conn_mse(a, b) == pytest.approx(np.sum((va - vb) ** 2) / va.size, abs=1e-12)
    # the diagonal must not count: changing it changes nothing
    b2 = b.values.copy()
    np.fill_diagonal(b2, 5.0)
    assert metrics.conn_mse(a.values, b2) == pytest.approx(metrics.conn_mse(a, b), abs=1e-12)


def _top_set(matrix: np.ndarray, k: int) -> set:
    """Independent top-k edge set: sort (|r| descending, edge position ascending)."""
    n = matrix.shape[0]
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    ranked = sorted(range(len(edges)), key=lambda e: (-abs(matrix[edges[e]]), e))
    return {edges[e] for e in ranked[:k]}


@pytest.mark.parametrize("density", [0.1, 0.25, 0.5, 0.77])
def test_f1_matches_set_arithmetic_and_sklearn(density):
    from sklearn.metrics import f1_score

    pred = _predictions(n_scans=1, n_rois=20, noise=1.5, seed=3)
    a = metrics.fc_per_scan(pred, "true").isel(scan=0).values
    b = metrics.fc_per_scan(pred, "pred").isel(scan=0).values
    n_edges = 20 * 19 // 2
    k = int(np.floor(density * n_edges + 0.5))
    sa, sb = _top_set(a, k), _top_set(b, k)
    tp, fp, fn = len(sa & sb), len(sb - sa), len(sa - sb)
    expected = 2 * tp / (2 * tp + fp + fn)
    got = metrics.f1_at_density(a, b, density)
    assert got == pytest.approx(expected, abs=1e-12)
    edges = [(i, j) for i in range(20) for j in range(i + 1, 20)]
    y_true = [e in sa for e in edges]
    y_pred = [e in sb for e in edges]
    assert got == pytest.approx(f1_score(y_true, y_pred), abs=1e-6)
    assert 0.0 < got < 1.0


def test_edge_mask_counts_ties_sign_and_symmetry():
    m = np.eye(5)
    m[0, 1] = m[1, 0] = -0.9  # strongest by |r| although negative
    m[2, 3] = m[3, 2] = 0.5
    m[0, 4] = m[4, 0] = 0.5  # tie with (2, 3): (0, 4) comes first in row-major order
    mask = metrics.edge_mask(m, 0.2)  # 10 edges -> 2 kept
    assert mask.sum() == 4 and not mask.diagonal().any()
    assert mask[0, 1] and mask[1, 0] and mask[0, 4] and not mask[2, 3]
    np.testing.assert_array_equal(mask, mask.T)
    # rounding half up: 0.25 * 10 = 2.5 -> 3 edges
    assert metrics.edge_mask(m, 0.25).sum() == 6


def test_edge_mask_keeps_coordinates_of_a_dataarray():
    pred = _predictions(n_scans=1)
    fc = metrics.fc_per_scan(pred, "true").isel(scan=0)
    mask = metrics.edge_mask(fc, 0.5)
    assert mask.dtype == bool and mask.dims == ("roi", "roi2")
    assert int(mask.sum()) == 2 * int(np.floor(0.5 * 66 + 0.5))


def test_f1_density_curve_ends_at_one_and_rejects_bad_density():
    pred = _predictions(n_scans=1, noise=2.0)
    a = metrics.fc_per_scan(pred, "true").isel(scan=0)
    b = metrics.fc_per_scan(pred, "pred").isel(scan=0)
    curve = metrics.f1_density_curve(a, b)
    assert curve.dims == ("density",) and curve.sizes["density"] == 20
    assert curve.sel(density=1.0).item() == 1.0
    assert curve.sel(density=0.25).item() == pytest.approx(metrics.f1_at_density(a, b, 0.25))
    with pytest.raises(ValueError, match="fraction of edges"):
        metrics.f1_at_density(a, b, 1.5)


def test_fc_metrics_on_stacks_equals_per_matrix_values():
    pred = _predictions(n_scans=3)
    ft, fp = metrics.fc_per_scan(pred, "true"), metrics.fc_per_scan(pred, "pred")
    ds = metrics.fc_metrics(ft, fp, densities=(0.25, 0.5))
    assert ds["f1"].dims == ("scan", "density")
    for i in range(3):
        a, b = ft.isel(scan=i), fp.isel(scan=i)
        assert ds.pixcorr.values[i] == pytest.approx(metrics.pixcorr(a, b), abs=1e-12)
        assert ds.conn_mse.values[i] == pytest.approx(metrics.conn_mse(a, b), abs=1e-12)
        assert ds.f1.values[i, 1] == pytest.approx(metrics.f1_at_density(a, b, 0.5), abs=1e-12)
    single = metrics.fc_metrics(ft.isel(scan=0).values, fp.isel(scan=0).values)
    assert single.pixcorr.item() == pytest.approx(ds.pixcorr.values[0], abs=1e-12)


def test_evaluate_collects_everything_with_provenance():
    pred = _predictions(n_scans=3, noise=0.5, model="unebolt")
    m = metrics.evaluate(pred)
    assert m.attrs["data_source"] == "simulated" and m.attrs["model"] == "unebolt"
    assert m["f1"].dims == ("scan", "density")
    np.testing.assert_allclose(m.density.values, [0.25, 0.5])
    np.testing.assert_allclose(m.tcorr.values, metrics.temporal_r(pred).mean("roi").values)
    assert list(m.roi_network.values) == list(pred.network.values)
    assert m["network_r"].dims == ("scan", "network")
    # less noise must score better: a sanity check that the variables are not swapped
    worse = metrics.evaluate(_predictions(n_scans=3, noise=3.0))
    assert (m.tcorr > worse.tcorr).all() and (m.conn_mse < worse.conn_mse).all()


def test_evaluate_round_trips_through_netcdf(tmp_path):
    from unebolt_viz.data import load, save

    m = metrics.evaluate(_predictions(n_scans=2))
    path = save(m, tmp_path / "metrics.nc")
    back = load(path)
    xr.testing.assert_allclose(back, m)


def test_summary_table_reproduces_the_papers_mean_std_convention():
    # Table 3 of the UnEBOLT paper: per-scan Tcorr and Pixcorr of the six unseen scans, and
    # Table 1's "Ours (P=64)" unseen-subject Mean(std), 0.418(0.036) and 0.549(0.120); the
    # per-scan values are rounded, so only the std of Pixcorr is compared (its mean sits on
    # a rounding boundary).
    tcorr = np.array([0.460, 0.416, 0.437, 0.442, 0.365, 0.389])
    pix = np.array([0.506, 0.358, 0.710, 0.515, 0.623, 0.579])
    scans = [f"s{i}" for i in range(6)]
    m = xr.Dataset(
        {"tcorr": ("scan", tcorr), "pixcorr": ("scan", pix), "conn_mse": ("scan", pix / 10),
         "f1": (("scan", "density"), np.stack([pix, tcorr], axis=1))},
        coords={"scan": scans, "density": [0.25, 0.5]},
        attrs={"data_source": "real", "model": "paper"},
    )
    table = metrics.summary_table(m)
    assert list(table.columns) == ["Tcorr", "Pixcorr", "ConnMSE", "F1-0.25", "F1-0.50"]
    assert table.loc["Mean(std)", "Tcorr"] == "0.418(0.036)"
    assert table.loc["Mean(std)", "Pixcorr"].endswith("(0.120)")
    assert table.loc["s0", "Tcorr"] == "0.460"
    numeric = metrics.summary_table(m, formatted=False)
    assert numeric.loc["std", "Tcorr"] == pytest.approx(np.std(tcorr, ddof=1))
    assert table.attrs["data_source"] == "real"


def test_paired_ttest_matches_scipy_for_scans_and_per_roi():
    a = metrics.evaluate(_predictions(n_scans=5, noise=0.6, seed=1))
    b = metrics.evaluate(_predictions(n_scans=5, noise=1.2, seed=1))
    res = metrics.paired_ttest(a, b)
    ref = stats.ttest_rel(a.tcorr.values, b.tcorr.values)
    assert res.t.item() == pytest.approx(ref.statistic, abs=1e-6)
    assert res.p.item() == pytest.approx(ref.pvalue, abs=1e-6)
    assert int(res.n) == 5
    one_sided = metrics.paired_ttest(a, b, alternative="greater")
    ref1 = stats.ttest_rel(a.tcorr.values, b.tcorr.values, alternative="greater")
    assert one_sided.p.item() == pytest.approx(ref1.pvalue, abs=1e-6)
    per_roi = metrics.paired_ttest(a, b, variable="temporal_r")
    ref_roi = stats.ttest_rel(a.temporal_r.values, b.temporal_r.values, axis=0)
    np.testing.assert_allclose(per_roi.t.values, ref_roi.statistic, atol=1e-6)
    np.testing.assert_allclose(per_roi.p.values, ref_roi.pvalue, atol=1e-6)


def test_paired_ttest_pairs_by_scan_label_not_position():
    a = metrics.evaluate(_predictions(n_scans=4, noise=0.6, seed=2))
    b = metrics.evaluate(_predictions(n_scans=4, noise=1.0, seed=2))
    shuffled = b.isel(scan=[2, 0, 3, 1])
    res = metrics.paired_ttest(a, shuffled)
    ref = stats.ttest_rel(a.tcorr.values, b.tcorr.values)
    assert res.t.item() == pytest.approx(ref.statistic, abs=1e-6)
    with pytest.raises(InvalidDataError, match="same scans"):
        metrics.paired_ttest(a, b.isel(scan=[0, 1, 2]))


def test_metrics_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, unebolt_viz.metrics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
