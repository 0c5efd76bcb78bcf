"""Fig. 2a: independent ROI-specific models against the unified model, with paired t-tests."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from scipy import stats  # noqa: E402

from unebolt_viz.training.roi_specific import (  # noqa: E402
    PAPER_FIG2A_ROIS,
    EarlyStopping,
    StopTraining,
    fig2a_config,
    fig2a_rois,
    fig2a_ttests,
    run_fig2a,
    significance_stars,
)
from unebolt_viz.viz import plot_roi_specific_comparison  # noqa: E402


def test_rois_by_name_on_difumo_and_by_name_or_centroid_on_the_embedded_atlas():
    from unebolt_viz.atlases import load_atlas

    difumo = {"roi": ["Cuneus", "Heschl\u2019s gyrus", "Middle frontal gyrus anterior",
                      "Middle frontal gyrus", "Precuneus anterior", "Putamen", "Thalamus"],
              "network": ["Visual"] * 7, "hemisphere": ["B"] * 7}
    table = fig2a_rois(difumo)
    assert list(table.roi) == ["Cuneus", "Heschl\u2019s gyrus", "Middle frontal gyrus anterior",
                               "Precuneus anterior", "Putamen", "Thalamus"]
    assert set(table.rule) == {"name"}
    atlas = load_atlas("embedded", 64)
    table = fig2a_rois(atlas).set_index("label")
    assert table.loc["Th", "roi"] == "L Thalamus" and table.loc["Pu", "roi"] == "L Basal ganglia"
    frame = atlas.roi_table().set_index("roi")
    for spec in PAPER_FIG2A_ROIS[:4]:
        row = table.loc[spec["label"]]
        assert frame.loc[row.roi, "hemisphere"] == "L"
        y, z = frame.loc[row.roi, ["y", "z"]]
        assert row.distance_mm == pytest.approx(np.hypot(y - spec["centroid"][1], z - spec["centroid"][2]))
        if "any network" not in row.rule:  # nearest of the mode's own network
            same = frame[(frame.network == spec["network"]) & (frame.hemisphere == "L")]
            assert row.distance_mm == pytest.approx(np.min(np.hypot(
                same.y - spec["centroid"][1], same.z - spec["centroid"][2])))
    assert table.loc["Cu", "roi"].startswith("L Visual")
    assert table.loc["He", "roi"].startswith("L Somatomotor")


def test_ttests_match_scipy_and_stars_follow_p():
    rng = np.random.default_rng(4)
    scans = [f"s{i}" for i in range(6)]
    rois = pd.DataFrame({"label": ["A", "B"], "roi": ["r1", "r2"]})
    a = xr.DataArray(rng.normal(0.4, 0.1, (6, 3)), dims=("scan", "roi"),
                     coords={"scan": scans, "roi": ["r1", "r2", "r3"]}, attrs={"data_source": "simulated"})
    b = xr.DataArray(a.values[:, :2] - [0.2, 0.0] + rng.normal(0, 0.05, (6, 2)), dims=("scan", "roi"),
                     coords={"scan": scans, "roi": ["r1", "r2"]})
    b = b.sel(scan=scans[::-1])  # stored in another scan order: paired by label, not position
    table = fig2a_ttests(a, b, rois)
    for label, roi in zip(rois.label, rois.roi):
        ref = stats.ttest_rel(a.sel(roi=roi).values, b.sel(roi=roi, scan=scans).values)
        assert table.loc[label, "t"] == pytest.approx(ref.statistic)
        assert table.loc[label, "p"] == pytest.approx(ref.pvalue)
        assert table.loc[label, "stars"] == significance_stars(ref.pvalue)
    assert table.loc["A", "stars"] == "***"
    assert [significance_stars(p) for p in (0.0005, 0.005, 0.03, 0.2)] == ["***", "**", "*", "n.s."]


def test_early_stopping_stops_after_patience_epochs():
    class FakeTrainer:  # only what the callback reads: config.select_on and history
        class config:
            select_on = "val_mse"
            epochs = 10

        history = [{"val_mse": 1.0}, {"val_mse": 0.5}, {"val_mse": 0.6}]

    stop = EarlyStopping(patience=2)
    stop("epoch_end", FakeTrainer, {"epoch": 3})  # best was 1 epoch ago
    FakeTrainer.history.append({"val_mse": 0.7})
    with pytest.raises(StopTraining):
        stop("epoch_end", FakeTrainer, {"epoch": 4})
    assert stop.stopped_epoch == 4
    FakeTrainer.config.epochs = 4  # the last epoch: nothing to stop
    EarlyStopping(patience=2)("epoch_end", FakeTrainer, {"epoch": 4})


@pytest.mark.slow
def test_fig2a_runs_on_the_tiny_cohort(tmp_path):
    import torch

    torch.set_num_threads(1)
    cfg = fig2a_config({"source": "simulated", "preset": "tiny", "seed": 0, "n_volumes": 45},
                       preset="tiny", out_dir=str(tmp_path), patience=1,
                       train={"epochs": 2, "batch_size": 16, "warmup_epochs": 0, "progress": False})
    cfg["split"] = {"kind": "explicit", "train": ["sub01-scan01"], "val": ["sub02-scan01"],
                    "test": ["sub03-scan01", "sub04-scan01"]}
    result = run_fig2a(cfg)
    folder = tmp_path / "fig2a_tiny"
    table = pd.read_csv(folder / "ttests.csv", index_col="label")
    assert list(table.index) == ["Cu", "He", "MF", "PA", "Pu", "Th"]
    per_scan = pd.read_csv(folder / "per_scan_r.csv")
    assert set(per_scan.scan) == {"sub03-scan01", "sub04-scan01"}
    for _, row in table.iterrows():
        both = per_scan[per_scan.roi == row.roi].pivot(index="scan", columns="model", values="r")
        ref = stats.ttest_rel(both["unified"], both["roi_specific"])
        assert row.t == pytest.approx(ref.statistic, nan_ok=True)
        assert row.p == pytest.approx(ref.pvalue, nan_ok=True)
        assert row.unified_mean == pytest.approx(both["unified"].mean())
        assert row.roi_specific_sd == pytest.approx(both["roi_specific"].std(ddof=1))
    # six independent runs, each selected on its own validation MSE with its own MSE loss
    runs = result.runs["roi_specific"]
    assert list(runs) == list(table.index)
    digests = set()
    for label, run in runs.items():
        assert run["select_on"] == "val_mse" and run["loss"] == "mse_only"
        log = pd.read_csv(folder / "runs" / f"NeuroBOLT_ROI-specific__{label}" / "log.csv")
        assert run["best_epoch"] == int(log.val_mse.idxmin()) + 1
        assert run["best_score"] == pytest.approx(log.val_mse.min())
        saved = json.loads((folder / "models" / f"NeuroBOLT_ROI-specific__{label}.json").read_text())
        assert saved["config"]["n_outputs"] == 1 and saved["config"]["roi_names"] == [run["roi"]]
        digests.add(saved["weights_sha256"])
    assert len(digests) == 6  # six separately trained networks
    assert result.runs["unified"]["loss"] == "full"
    assert result.figure_path.exists() and result.figure_path.stat().st_size > 5000
    record = json.loads((folder / "results.json").read_text())
    assert record["data_source"] == "simulated" and len(record["ttests"]) == 6
    fig = plot_roi_specific_comparison(result.ttests)
    unified_bars, specific_bars = fig.fig2a_bars
    np.testing.assert_allclose([b.get_height() for b in unified_bars], table.unified_mean)
    np.testing.assert_allclose([b.get_height() for b in specific_bars], table.roi_specific_mean)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == list(table.stars.fillna("n/a"))
    assert "simulated" in fig.axes[0].get_title()
    plt.close(fig)


def test_config_from_yaml_keeps_the_paper_recipe_of_each_kind(tmp_path):
    import yaml

    from unebolt_viz.training.roi_specific import _load

    path = tmp_path / "fig2a.yaml"
    path.write_text(yaml.safe_dump(fig2a_config(preset="paper", out_dir=str(tmp_path))))
    cfg, extra = _load(path)
    assert cfg["name"] == "fig2a" and cfg["protocol"] == "cross_subject"
    assert cfg["train"] == {"epochs": 20, "batch_size": 64}
    assert extra["roi_specific"]["name"] == "neurobolt_unified"
    assert extra["roi_specific"]["train"] == {"loss": "mse_only", "select_on": "val_mse"}
    assert extra["roi_specific"]["patience"] == 5 and extra["unified"]["name"] == "unebolt"
    assert fig2a_config(preset="compact")["name"] == "fig2a_compact"
    with pytest.raises(ValueError, match="Unknown experiment keys"):
        _load({**fig2a_config(), "modles": []})
