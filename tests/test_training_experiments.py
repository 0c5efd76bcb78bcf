"""The config-driven experiment runner: validation, the paper's configs, and result files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from unebolt_viz.training.experiments import (
    SHARED_23_CHANNELS,
    TABLE1_ABLATIONS,
    ExperimentConfig,
    load_experiment_config,
    paper_experiments,
    run_experiment,
)


def _minimal(**extra):
    return {"name": "x", "data": {"source": "simulated", "preset": "tiny"},
            "models": [{"name": "ridge"}], **extra}


def test_config_errors_name_the_problem():
    with pytest.raises(ValueError, match="Unknown experiment keys"):
        ExperimentConfig(_minimal(modle=1))
    with pytest.raises(ValueError, match="needs 'models'"):
        ExperimentConfig({"name": "x", "data": {}})
    with pytest.raises(ValueError, match="unique"):
        ExperimentConfig(_minimal(models=[{"name": "ridge"}, {"name": "ridge"}]))
    with pytest.raises(TypeError, match="Unknown training options"):
        ExperimentConfig(_minimal(train={"epoch": 3}))
    with pytest.raises(ValueError, match="protocol"):
        ExperimentConfig(_minimal(protocol="within"))


def test_yaml_config_round_trip(tmp_path):
    import yaml

    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(_minimal(train={"epochs": 2})))
    cfg = load_experiment_config(path)
    assert cfg["train"] == {"epochs": 2} and cfg["protocol"] == "cross_subject"
    assert cfg["out_dir"] == "results" and cfg.folder.parts[-2:] == ("results", "x")


def test_paper_experiments_cover_the_papers_tables():
    configs = paper_experiments()
    assert {"intrascan", "unseen_subject", "table1_ablations", "rois_64", "rois_128", "rois_256",
            "transfer_pretrain", "transfer_task"} <= set(configs)
    for cfg in configs.values():
        ExperimentConfig(cfg)  # every one is valid
    labels = [m["label"] for m in configs["table1_ablations"]["models"]]
    assert set(TABLE1_ABLATIONS) <= set(labels)
    names = {m["name"] for m in configs["unseen_subject"]["models"]}
    assert {"unebolt", "neurobolt_unified", "biot_unified", "labram_unified", "ridge"} <= names
    assert configs["intrascan"]["train"]["batch_size"] == 16
    assert configs["unseen_subject"]["train"]["batch_size"] == 64
    assert [configs[f"rois_{p}"]["data"]["n_rois"] for p in (64, 128, 256)] == [64, 128, 256]
    task = configs["transfer_task"]
    assert task["channels"] == "shared23" and task["data"]["condition"] == "task"
    modes = {m["label"]: m for m in task["models"]}
    assert modes["Zero-shot"]["fit"] is False and modes["Zero-shot"]["init_from"]
    assert modes["Fine-tune"]["init_from"] == modes["Zero-shot"]["init_from"]
    assert "init_from" not in modes["From scratch"]
    assert len(SHARED_23_CHANNELS) == 23


@pytest.mark.slow
def test_cross_subject_run_writes_labelled_results_and_reuses_them(tmp_path):
    import torch

    from unebolt_viz.data import load
    from unebolt_viz.metrics import evaluate

    torch.set_num_threads(1)
    cfg = {
        "name": "tiny_unseen", "out_dir": str(tmp_path),
        "data": {"source": "simulated", "preset": "tiny", "seed": 0},
        "split": {"kind": "explicit", "train": ["sub01-scan01", "sub02-scan01"],
                  "val": ["sub03-scan01"], "test": ["sub04-scan01"]},
        "train": {"epochs": 1, "batch_size": 16, "progress": False},
        "models": [{"label": "UnEBOLT tiny", "name": "unebolt", "preset": "tiny"},
                   {"label": "Ridge", "name": "ridge", "alphas": [100.0, 1000.0]}],
    }
    combined = run_experiment(cfg, progress=False)
    folder = tmp_path / "tiny_unseen"
    assert list(combined.model.values) == ["UnEBOLT tiny", "Ridge"]
    assert combined.attrs["data_source"] == "simulated"
    assert list(combined.scan.values) == ["sub04-scan01"]
    split = pd.read_csv(folder / "split.csv")
    assert split.set_index("scan").loc["sub04-scan01", "split"] == "test"
    # the saved metrics are those of the saved predictions
    pred = load(folder / "predictions" / "Ridge.nc")
    np.testing.assert_allclose(load(folder / "metrics" / "Ridge.nc")["tcorr"].values,
                               evaluate(pred)["tcorr"].values)
    assert pred.attrs["model"] == "Ridge" and pred.attrs["data_source"] == "simulated"
    summary = pd.read_csv(folder / "summary.csv", index_col="model")
    assert list(summary.index) == ["UnEBOLT tiny", "Ridge"] and "F1-0.25" in summary.columns
    record = json.loads((folder / "results.json").read_text())
    assert record["data_source"] == "simulated"
    assert record["models"]["Ridge"]["run"]["run"]["alpha"] in (100.0, 1000.0)
    ceiling = load(folder / "noise_ceiling.nc")
    assert 0 < float(ceiling["noise_ceiling"].mean()) <= 1
    assert (folder / "models" / "UnEBOLT_tiny.safetensors").exists()
    assert (folder / "runs" / "UnEBOLT_tiny" / "log.csv").exists()
    # a second run reuses the metrics files instead of training again
    before = (folder / "metrics" / "UnEBOLT_tiny.nc").stat().st_mtime_ns
    again = run_experiment(cfg, progress=False)
    assert (folder / "metrics" / "UnEBOLT_tiny.nc").stat().st_mtime_ns == before
    np.testing.assert_allclose(again["tcorr"].values, combined["tcorr"].values)


@pytest.mark.slow
def test_intrascan_run_tests_on_the_end_of_each_scan(tmp_path):
    from unebolt_viz.data import load

    cfg = {
        "name": "intra", "out_dir": str(tmp_path), "protocol": "intrascan",
        "data": {"source": "simulated", "preset": "tiny", "seed": 0, "n_volumes": 200},
        "split": {"scans": ["sub01-scan01", "sub02-scan01"]},
        "models": [{"label": "Ridge", "name": "ridge", "alpha": 1000.0}],
    }
    run_experiment(cfg, progress=False)
    pred = load(tmp_path / "intra" / "predictions" / "Ridge.nc")
    assert sorted(set(pred.scan.values)) == ["sub01-scan01", "sub02-scan01"]
    split = pd.read_csv(tmp_path / "intra" / "split.csv")
    for scan in ("sub01-scan01", "sub02-scan01"):
        rows = split[split.scan == scan].set_index("split")
        test_tr = pred.tr_index.values[pred.scan.values == scan]
        assert test_tr.min() == rows.loc["test", "tr_index_first"]
        # 10 windows (20 s at TR 2.1 s) separate validation and test from what precedes them
        assert rows.loc["val", "tr_index_first"] - rows.loc["train", "tr_index_last"] == 11
        assert rows.loc["test", "tr_index_first"] - rows.loc["val", "tr_index_last"] == 11
    assert (tmp_path / "intra" / "models" / "Ridge__sub01-scan01.json").exists()
