"""Reference points beside the models' rows: training mean, time shuffle, global-signal oracle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from builders import two_scan_predictions

import unebolt_viz as uv
from unebolt_viz.metrics import (
    evaluate,
    fc_per_scan,
    global_signal_oracle,
    mean_predictor,
    reference_metrics,
    time_shuffled,
    training_mean,
    upper_triangle,
)


def test_global_signal_oracle_copies_the_true_mean_and_is_labelled(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    oracle = global_signal_oracle(pred)
    mean = pred["true"].values.mean(axis=1)
    for k in range(6):
        np.testing.assert_allclose(oracle["pred"].values[:, k], mean)
    np.testing.assert_array_equal(oracle["true"].values, pred["true"].values)
    assert oracle.attrs["reference_kind"] == "oracle"
    assert oracle.attrs["data_source"] == "simulated" and "[oracle]" in oracle.attrs["model"]
    # its Tcorr of a scan is the mean over ROIs of r(ROI, global mean), computed by hand
    idx = np.flatnonzero(pred.scan.values == "sub00-scan01")
    t = pred["true"].values[idx]
    by_hand = np.mean([np.corrcoef(t[:, k], t.mean(axis=1))[0, 1] for k in range(6)])
    assert float(evaluate(oracle)["tcorr"].sel(scan="sub00-scan01")) == pytest.approx(by_hand)


def test_time_shuffle_keeps_the_fc_and_breaks_the_timing(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    shuffled = time_shuffled(pred, seed=3)
    assert shuffled.attrs["reference_kind"] == "reference" and "time-shuffled" in shuffled.attrs["model"]
    # same values within each scan, another order, one permutation for all ROIs
    for scan in ("sub00-scan01", "sub01-scan01"):
        idx = np.flatnonzero(pred.scan.values == scan)
        a, b = pred["pred"].values[idx], shuffled["pred"].values[idx]
        assert not np.allclose(a, b)
        order = [int(np.flatnonzero(np.isclose(a[:, 0], v))[0]) for v in b[:, 0]]
        np.testing.assert_allclose(b, a[order])
    np.testing.assert_allclose(fc_per_scan(shuffled, "pred").values, fc_per_scan(pred, "pred").values,
                               atol=1e-12)
    before, after = evaluate(pred), evaluate(shuffled)
    np.testing.assert_allclose(after["pixcorr"].values, before["pixcorr"].values, atol=1e-12)
    assert float(before["tcorr"].mean()) > 0.5 and abs(float(after["tcorr"].mean())) < 0.25


def test_mean_predictor_has_no_timing_and_no_connectivity(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    train = [uv.roi_timeseries(rng.standard_normal((30, 6)) + 0.5, tiny_rois, 2.0, scan="tr",
                               subject="sub09", data_source="simulated")]
    mean = training_mean(train)
    np.testing.assert_allclose(mean.values, train[0].values.mean(axis=0))
    ref = mean_predictor(pred, mean)
    np.testing.assert_allclose(ref["pred"].values[5], train[0].values.mean(axis=0), rtol=1e-6)
    metrics = evaluate(ref)
    np.testing.assert_array_equal(metrics["tcorr"].values, 0.0)
    # a flat prediction has no edges, so its ConnMSE is the mean squared true edge
    true_edges = upper_triangle(fc_per_scan(pred, "true").sel(scan="sub01-scan01").values)
    assert float(metrics["conn_mse"].sel(scan="sub01-scan01")) == pytest.approx(
        np.mean(true_edges ** 2))
    with pytest.raises(uv.InvalidDataError, match="values for"):
        mean_predictor(pred, [0.0, 1.0])


def test_reference_metrics_label_every_row(rng, tiny_rois):
    pred = two_scan_predictions(tiny_rois, 6, rng)
    ceiling = xr.DataArray(np.full((2, 6), 0.7), dims=("scan", "roi"),
                           coords={"scan": ["sub00-scan01", "sub01-scan01"], "roi": tiny_rois["roi"]})
    rows = reference_metrics(pred, train_mean=training_mean([pred["true"]]), noise_ceiling=ceiling)
    kinds = {label: ds.attrs["reference_kind"] for label, ds in rows.items()}
    assert sorted(kinds.values()) == ["oracle", "oracle", "reference", "reference"]
    assert all(("[oracle]" in k) == (v == "oracle") for k, v in kinds.items())
    noise = rows["Noise ceiling [oracle]"]
    np.testing.assert_allclose(noise["tcorr"].values, 0.7)
    assert np.isnan(noise["pixcorr"].values).all()
    assert all(ds.attrs["data_source"] == "simulated" for ds in rows.values())


def test_real_resting_global_signal_oracle_is_high(shared_data):
    from unebolt_viz.datasets.neurobolt import load_neurobolt_rest
    from unebolt_viz.preprocessing import bold_targets

    scans = load_neurobolt_rest(shared_data)
    tcorr = []
    for bold in scans.values():
        target = bold_targets(bold)
        oracle = global_signal_oracle(uv.predictions(target, target.values, model="truth"))
        assert oracle.attrs["data_source"] == "real"
        tcorr.append(float(evaluate(oracle)["tcorr"].mean()))
    # measured on the 23 shared scans: mean 0.69 (0.53 to 0.83), far above the paper's models
    assert 0.6 < np.mean(tcorr) < 0.8 and min(tcorr) > 0.45


@pytest.mark.slow
def test_runner_writes_reference_rows(tmp_path):
    from unebolt_viz.data import load
    from unebolt_viz.training.experiments import run_experiment

    cfg = {
        "name": "refs", "out_dir": str(tmp_path), "references": True,
        "data": {"source": "simulated", "preset": "tiny", "seed": 0},
        "split": {"kind": "explicit", "train": ["sub01-scan01", "sub02-scan01"],
                  "val": ["sub03-scan01"], "test": ["sub04-scan01"]},
        "models": [{"label": "Ridge", "name": "ridge", "alpha": 1000.0}],
    }
    combined = run_experiment(cfg, progress=False)
    folder = tmp_path / "refs"
    roles = dict(zip(combined.model.values, combined.role.values))
    assert roles["Ridge"] == "model"
    assert roles["Training-set mean [reference]"] == "reference"
    assert roles["Ridge, time-shuffled [reference]"] == "reference"
    assert roles["True global signal in every ROI [oracle]"] == "oracle"
    assert roles["Noise ceiling [oracle]"] == "oracle"
    saved = load(folder / "metrics.nc")
    assert list(saved.model.values) == list(combined.model.values)
    # the shuffled ridge keeps ridge's Pixcorr; the noise ceiling row is that of noise_ceiling.nc
    np.testing.assert_allclose(saved["pixcorr"].sel(model="Ridge, time-shuffled [reference]"),
                               saved["pixcorr"].sel(model="Ridge"), atol=1e-9)
    ceiling = load(folder / "noise_ceiling.nc")["noise_ceiling"]
    assert float(saved["tcorr"].sel(model="Noise ceiling [oracle]").mean()) == pytest.approx(
        float(ceiling.mean()))
    summary = pd.read_csv(folder / "summary.csv", index_col="model")
    assert summary.loc["Ridge", "role"] == "model"
    assert summary.loc["True global signal in every ROI [oracle]", "role"] == "oracle"
    record = json.loads((folder / "results.json").read_text())
    assert record["references"]["Training-set mean [reference]"]["kind"] == "reference"
    assert record["references"]["Training-set mean [reference]"]["tcorr_mean"] == 0.0


def test_fc_explorer_table_shows_the_computed_references(tmp_path, rng, tiny_rois):
    from unebolt_viz.app.components.readouts import GLOBAL_ORACLE_ROW, metrics_table
    from unebolt_viz.app.sources import load_results

    pred = two_scan_predictions(tiny_rois, 6, rng)
    uv.save(pred, tmp_path / "pred.nc")
    res = load_results("file:pred.nc", data_dir=tmp_path)
    table = metrics_table(res, "sub01-scan01", 0.5)
    one = pred.isel(time=np.flatnonzero(pred.scan.values == "sub01-scan01"))
    oracle = evaluate(global_signal_oracle(one), densities=[0.5])
    assert table.loc[GLOBAL_ORACLE_ROW, "role"] == "oracle"
    assert table.loc[GLOBAL_ORACLE_ROW, "Tcorr"] == pytest.approx(float(oracle["tcorr"][0]))
    shuffled = [r for r in table.index if "time-shuffled" in r]
    assert len(shuffled) == 1 and table.loc[shuffled[0], "role"] == "reference"
    shown = table[table.role == "shown"].iloc[0]
    # shuffling keeps the FC, so the FC columns equal the model's; Tcorr drops
    assert table.loc[shuffled[0], "Pixcorr"] == pytest.approx(shown["Pixcorr"])
    assert table.loc[shuffled[0], "F1@0.50"] == pytest.approx(shown["F1@0.50"])
    assert abs(table.loc[shuffled[0], "Tcorr"]) < shown["Tcorr"]
    assert set(table.data_source) == {"simulated"}
