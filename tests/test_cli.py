"""The ``unebolt-viz`` command line: help, clear errors, and each command's output."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from unebolt_viz.cli import build_parser, main

COMMANDS = ("simulate", "train", "predict", "evaluate", "fetch")


def _predictions(tmp_path):
    from unebolt_viz.data import predictions, roi_timeseries, save

    rng = np.random.default_rng(0)
    rois = {"roi": [f"r{i}" for i in range(8)],
            "network": ["Visual", "Default", "Control", "Limbic"] * 2}
    true = rng.normal(size=(80, 8)) @ rng.normal(size=(8, 8))
    scans = np.repeat(["sub01-scan01", "sub02-scan01"], 40)
    bold = roi_timeseries(true, rois, 2.1, scan=scans, subject=[s[:5] for s in scans],
                          tr_index=np.tile(np.arange(40), 2), data_source="simulated")
    pred = predictions(bold, true + rng.normal(size=true.shape), model="noisy")
    return save(pred, tmp_path / "pred.nc"), pred


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: unebolt-viz {command}")
    assert "--out" in out or command == "fetch"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "simulate" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "unebolt_viz", "--help"], capture_output=True,
                         text=True, check=True)
    assert all(c in out.stdout for c in COMMANDS)


def test_train_without_data_says_how_to_give_it(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "--simulated PRESET or --data DIR" in err and "Traceback" not in err


def test_train_rejects_a_bad_split_spec(tmp_path, capsys):
    assert main(["train", "--simulated", "tiny", "--split", "kfold:x", "--out", str(tmp_path)]) == 2
    assert "kfold:K:FOLD" in capsys.readouterr().err


def test_predict_without_a_saved_model_names_the_missing_file(tmp_path, capsys):
    code = main(["predict", "--model", str(tmp_path / "nope"), "--simulated", "tiny",
                 "--out", str(tmp_path / "p.nc")])
    assert code == 2 and "nope.json" in capsys.readouterr().err


def test_evaluate_prints_a_labelled_table_and_writes_metrics(tmp_path, capsys):
    from unebolt_viz.data import load
    from unebolt_viz.metrics import evaluate

    path, pred = _predictions(tmp_path)
    code = main(["evaluate", str(path), "--out", str(tmp_path / "m.nc"), "--csv", str(tmp_path / "t.csv"),
                 "--densities", "0.1", "0.5"])
    assert code == 0
    out = capsys.readouterr().out
    assert "simulated data" in out and "Mean(std)" in out and "F1-0.10" in out
    written = load(tmp_path / "m.nc")
    expected = evaluate(pred, densities=(0.1, 0.5))
    np.testing.assert_allclose(written["tcorr"].values, expected["tcorr"].values)
    np.testing.assert_allclose(written["f1"].values, expected["f1"].values)
    assert (tmp_path / "t.csv").read_text().startswith("scan,Tcorr,Pixcorr,ConnMSE,F1-0.10,F1-0.50")


def test_evaluate_refuses_a_file_that_is_not_predictions(tmp_path, capsys, tiny_bold):
    from unebolt_viz.data import save

    save(tiny_bold, tmp_path / "bold.nc")
    assert main(["evaluate", str(tmp_path / "bold.nc")]) == 2
    assert "not a predictions file" in capsys.readouterr().err


def test_fetch_lists_the_manifest_and_refuses_unknown_names(capsys):
    from unebolt_viz.datasets.fetch import list_datasets

    assert main(["fetch", "--list"]) == 0
    assert capsys.readouterr().out.split() == list_datasets()
    assert main(["fetch", "no_such_dataset"]) == 2
    assert "not in the data manifest" in capsys.readouterr().err


def test_parser_knows_the_paper_defaults():
    args = build_parser().parse_args(["train", "--simulated", "tiny", "--out", "x"])
    assert (args.lr, args.batch_size, args.epochs) == (3e-4, 64, 20)
    assert args.loss is None and args.select_on is None  # each model's own objective


@pytest.mark.slow
def test_simulate_train_predict_evaluate_from_files(tmp_path, capsys):
    import torch

    torch.set_num_threads(1)
    data = tmp_path / "data"
    scans = "sub01-scan01,sub02-scan01,sub03-scan01"
    assert main(["simulate", "--preset", "tiny", "--scans", scans, "--out", str(data)]) == 0
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--model", "unebolt", "--preset", "tiny",
                 "--split", "loso:sub-03", "--epochs", "1", "--batch-size", "16",
                 "--max-steps", "2", "--no-progress", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "stopped early" in out and "simulated data" in out
    assert (run / "checkpoints" / "latest.json").exists() and (run / "split.csv").exists()
    # the model file is written at the end of an epoch: finish the epoch by resuming
    assert main(["train", "--data", str(data), "--model", "unebolt", "--preset", "tiny",
                 "--split", "loso:sub-03", "--epochs", "1", "--batch-size", "16",
                 "--no-progress", "--out", str(run)]) == 0
    # train high-passed the EEG at 0.5 Hz (the cross-subject default) and recorded it ...
    assert json.loads((run / "preprocessing.json").read_text()) == {"eeg_highpass_hz": 0.5}
    capsys.readouterr()
    assert main(["predict", "--model", str(run / "best"), "--data", str(data), "--scans", "test",
                 "--out", str(tmp_path / "pred.nc")]) == 0
    # ... so predict filters the same way without being told, and warns when told otherwise
    assert "high-passed at 0.5 Hz, as in the model's training run" in capsys.readouterr().out
    assert main(["predict", "--model", str(run / "best"), "--data", str(data), "--scans", "test",
                 "--highpass", "0", "--out", str(tmp_path / "pred_unfiltered.nc")]) == 0
    assert "differs from the 0.5 Hz the model was trained with" in capsys.readouterr().err
    from unebolt_viz.data import load

    pred = load(tmp_path / "pred.nc")
    assert {str(s).split("_")[0] for s in pred.scan.values} == {"sub-03"}  # the held-out subject
    assert pred.attrs["data_source"] == "simulated"
    assert main(["evaluate", str(tmp_path / "pred.nc")]) == 0
    assert "Mean(std)" in capsys.readouterr().out
    _opens_in_every_tab(tmp_path / "pred.nc", tmp_path / "appdata")


def _opens_in_every_tab(path, app_dir):
    """A results file of ``train`` + ``predict`` records its atlas and shows every app tab."""
    import shutil

    from bokeh.document import Document

    from unebolt_viz.app import FCExplorer
    from unebolt_viz.app.explorer import TAB_NAMES
    from unebolt_viz.atlases import load_atlas
    from unebolt_viz.data import load
    from unebolt_viz.data.identity import roi_fingerprint

    pred = load(path)
    atlas = load_atlas("embedded", pred.sizes["roi"])
    # The data folder said only "atlas-embedded64_rois.tsv": the file now records the atlas.
    assert pred.attrs["atlas"] == "embedded" and int(pred.attrs["n_rois"]) == atlas.n_rois
    assert pred.attrs["roi_fingerprint"] == roi_fingerprint(list(atlas.roi))
    app_dir.mkdir()
    shutil.copy(path, app_dir / "pred.nc")
    app = FCExplorer(data_dir=app_dir, source="file:pred.nc")
    app.__panel__().get_root(Document())
    assert app.results.model is not None and app.fc_pred_plot is not None
    for k, name in enumerate(TAB_NAMES):
        app._tabs.active = k
        if name in app._tab_panes:
            assert app._tab_panes[name].objects, name
    app._tabs.active = TAB_NAMES.index("Surface R")
    (surface,) = app._tab_panes["Surface R"].objects
    assert "surface-map" in surface.css_classes, getattr(surface, "object", surface)
    assert surface.object.startswith(b"\x89PNG")


# --- input errors: exit status 2, one line on stderr, nothing written ------------------------


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith(f"unebolt-viz {command}: error: ")
    return err


def test_train_with_a_bad_yaml_config_names_the_file(tmp_path, capsys):
    config = tmp_path / "exp.yaml"
    config.write_text("name: broken\nmodels: [unebolt\n  data: {source: simulated\n")
    assert main(["train", "--config", str(config)]) == 2
    err = _one_line_error(capsys, "train")
    assert str(config) in err and "not a valid experiment config" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.yaml"]


@pytest.mark.parametrize("option", [["--max-steps", "-3"], ["--max-steps", "0"],
                                    ["--epochs", "0"], ["--lr", "-1"], ["--batch-size", "x"],
                                    ["--grad-accum", "0"], ["--seed", "-1"]])
def test_train_refuses_out_of_range_numbers_before_writing(tmp_path, capsys, option):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--simulated", "tiny", "--model", "unebolt", *option, "--out", str(run)])
    assert exit_info.value.code == 2
    err = _one_line_error(capsys, "train")
    assert option[0] in err and ("must be" in err or "expected" in err)
    assert list(tmp_path.iterdir()) == []


def test_evaluate_refuses_an_out_of_range_density(tmp_path, capsys):
    path, _ = _predictions(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(path), "--densities", "1.5"])
    assert exit_info.value.code == 2
    assert "--densities" in _one_line_error(capsys, "evaluate")


def test_train_refuses_an_unknown_model_before_writing_split_csv(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--simulated", "tiny", "--model", "transformerx", "--no-progress",
                 "--out", str(run)]) == 2
    err = _one_line_error(capsys, "train")
    assert "'transformerx' is not a model" in err and "unebolt" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_train_on_cuda_without_a_gpu_is_refused_before_writing(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--simulated", "tiny", "--model", "unebolt", "--device", "cuda",
                 "--no-progress", "--out", str(run)]) == 2
    err = _one_line_error(capsys, "train")
    assert "--device cuda" in err and "--device cpu" in err
    assert list(tmp_path.iterdir()) == []


def test_train_refuses_a_kfold_fold_out_of_range(tmp_path, capsys):
    assert main(["train", "--simulated", "tiny", "--split", "kfold:3:5",
                 "--out", str(tmp_path / "run")]) == 2
    assert "0 <= FOLD < K" in _one_line_error(capsys, "train")
    assert list(tmp_path.iterdir()) == []


def test_simulate_onto_an_existing_file_is_refused(tmp_path, capsys):
    target = tmp_path / "data"
    target.write_text("keep me")
    assert main(["simulate", "--preset", "tiny", "--scans", "sub01-scan01",
                 "--out", str(target)]) == 2
    err = _one_line_error(capsys, "simulate")
    assert f"--out {target}" in err and "is an existing file" in err
    assert target.read_text() == "keep me" and list(tmp_path.iterdir()) == [target]


def test_evaluate_with_a_csv_in_a_missing_folder_writes_nothing(tmp_path, capsys):
    path, _ = _predictions(tmp_path)
    code = main(["evaluate", str(path), "--out", str(tmp_path / "m.nc"),
                 "--csv", str(tmp_path / "no_such_dir" / "t.csv")])
    assert code == 2
    err = _one_line_error(capsys, "evaluate")
    assert "--csv" in err and "mkdir -p" in err and str(tmp_path / "no_such_dir") in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.nc"]


def test_evaluate_of_a_damaged_file_names_it(tmp_path, capsys):
    path, _ = _predictions(tmp_path)
    path.write_bytes(path.read_bytes()[:500])
    assert main(["evaluate", str(path)]) == 2
    err = _one_line_error(capsys, "evaluate")
    assert str(path) in err and "truncated" in err


def test_fetch_refusal_names_the_cli_flag(tmp_path, capsys):
    from unebolt_viz.datasets.fetch import UnverifiedDataError, fetch, load_manifest

    datasets = load_manifest()["datasets"]
    name = next(n for n, e in sorted(datasets.items())
                if e["access"] == "download" and e.get("sha256") is None and "files" not in e)
    assert main(["fetch", name, "--data-dir", str(tmp_path)]) == 2
    err = _one_line_error(capsys, "fetch")
    assert "--allow-unverified" in err and "allow_unverified=True" not in err
    with pytest.raises(UnverifiedDataError) as python_err:  # from Python: the argument's name
        fetch(name, tmp_path)
    assert "allow_unverified=True" in str(python_err.value)
    assert "--allow-unverified" not in str(python_err.value)
    assert list(tmp_path.iterdir()) == []
