"""Volumetric training (E2fNet, Spec2VolCAMU-Net) and the tiny simulated run through the bridge."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import xarray as xr

torch = pytest.importorskip("torch")

from unebolt_viz.data.volumes import bold_volumes  # noqa: E402
from unebolt_viz.preprocessing_spectra import VolumeSamples, fit_spectrum_scaler  # noqa: E402
from unebolt_viz.training.volumetric import (  # noqa: E402
    VolumetricConfig,
    restart_lr_factor,
    train_volumetric,
)

N_CH, DEPTH = 4, 4
CH_NAMES = ["Fp1", "Fp2", "C3", "C4"]


def _synthetic_samples(n_scans: int = 1, n_tr: int = 32, seed: int = 0,
                       noise: float = 0.05) -> VolumeSamples:
    """Spectra whose mean level drives a smooth blob's brightness: a learnable mapping."""
    rng = np.random.default_rng(seed)
    xx, yy = np.meshgrid(np.linspace(-1, 1, 64), np.linspace(-1, 1, 64), indexing="ij")
    blob = np.exp(-(xx**2 + yy**2) / 0.2)
    spectra, volumes = [], []
    for s in range(n_scans):
        level = rng.uniform(0, 1, n_tr + 1)
        spec = rng.normal(size=(n_tr, N_CH, 249)).astype(np.float32) + level[:n_tr, None, None]
        data = (level[:n_tr, None, None, None] * blob[None, :, :, None]
                + 0.3 * np.linspace(0, 1, DEPTH)[None, None, None, :]
                + noise * rng.normal(size=(n_tr, 64, 64, DEPTH))).astype(np.float32)
        spectra.append(spec)
        volumes.append(bold_volumes(data, np.eye(4), None, 2.0, scan=f"sub0{s}-scan01",
                                    subject=f"sub0{s}", data_source="simulated"))
    return VolumeSamples(spectra, volumes, fit_spectrum_scaler(spectra))


def _model(name: str = "e2fnet", seed: int = 0):
    from unebolt_viz.models import build_model

    return build_model(name, n_outputs=DEPTH, ch_names=CH_NAMES, preset="tiny", seed=seed)


def test_schedule_warms_up_then_restarts():
    total, warm = 100, 10
    f = [restart_lr_factor(s, warm, total, n_cycles=3) for s in range(total)]
    assert f[0] == pytest.approx(0.1) and f[9] == pytest.approx(1.0)
    assert f[10] == pytest.approx(1.0)
    cycle = 90 / 3  # steps per cosine
    assert f[10 + int(cycle / 2)] == pytest.approx(0.5, abs=1e-9)
    # hard restart: back to 1 at the start of each cycle after decaying towards 0
    assert f[39] < 0.02 and f[40] == pytest.approx(1.0)
    assert restart_lr_factor(total, warm, total, 3) == 0.0
    with pytest.raises(ValueError, match="Unknown VolumetricConfig"):
        VolumetricConfig.from_dict({"epoch": 3})
    cfg = VolumetricConfig()
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.warmup_steps, cfg.restart_epochs,
            cfg.clip_grad) == (1e-3, 32, 50, 50, 10, 1.0)


def test_overfits_a_fixed_batch():
    samples = _synthetic_samples(noise=0.0)
    four = torch.utils.data.Subset(samples, range(4))
    model = _model("e2fnet")
    cfg = dict(epochs=30, batch_size=4, warmup_steps=1, restart_epochs=30, progress=False,
               device="cpu", seed=3)
    result = train_volumetric(model, four, None, cfg)
    loss = result.history["train_loss"].to_numpy()
    assert result.steps == 30 and len(loss) == 30
    assert loss[-1] < 0.6 * loss[0], loss
    assert loss[-5:].mean() < loss[:5].mean()
    assert result.best_epoch == 30  # no validation: the last epoch


def _states_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_resume_is_bit_identical_and_selection_uses_validation(tmp_path):
    train, val = _synthetic_samples(1, 28, seed=1), _synthetic_samples(1, 26, seed=2)
    assert len(train) == 8 and len(val) == 6
    cfg = dict(epochs=3, batch_size=3, warmup_steps=2, restart_epochs=2, progress=False,
               device="cpu", seed=5)
    # Spec2VolCAMU-Net draws drop-path masks: the random state must be restored as well
    full = _model("spec2volcamunet")
    ref = train_volumetric(full, train, val, cfg, out_dir=tmp_path / "full")

    part = _model("spec2volcamunet")
    first = train_volumetric(part, train, val, {**cfg, "max_steps": 4}, out_dir=tmp_path / "cut")
    assert first.interrupted and first.steps == 4 and len(first.history) == 1
    assert not _states_equal(part, full)
    again = _model("spec2volcamunet", seed=99)  # other initial weights: all must come from disk
    second = train_volumetric(again, train, val, cfg, out_dir=tmp_path / "cut")
    assert not second.interrupted and second.steps == ref.steps == 9
    pd.testing.assert_frame_equal(second.history.drop(columns="seconds"),
                                  ref.history.drop(columns="seconds"))
    assert _states_equal(again, full)

    # the epoch kept is the argmin of the logged validation loss, and the model holds it
    log = pd.read_csv(tmp_path / "full" / "log.csv")
    assert ref.best_epoch == int(log["epoch"][log["val_loss"].idxmin()])
    assert ref.best_val_loss == pytest.approx(log["val_loss"].min())
    from unebolt_viz.models import load_model

    best = load_model(tmp_path / "full" / "best")
    assert _states_equal(best, full)
    from unebolt_viz.training.volumetric import volumetric_val_loss

    assert volumetric_val_loss(full, val)["val_loss"] == pytest.approx(log["val_loss"].min(),
                                                                       rel=1e-5)


# -- the tiny simulated run -------------------------------------------------------------------

MODELS = ("e2fnet", "spec2volcamunet")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from unebolt_viz.training.volumetric_run import run_volumetric

    out = tmp_path_factory.mktemp("volumetric")
    # a few steps: 2 epochs of one batch of 24 evenly spaced training windows
    run = run_volumetric("tiny", out, models=MODELS, preset="tiny", shape=(64, 64, 6),
                         config={"epochs": 2, "batch_size": 32, "warmup_steps": 1,
                                 "device": "cpu"}, max_samples=24, progress=False)
    return run


def test_tiny_run_writes_its_files(tiny_run):
    from unebolt_viz.training.volumetric_run import load_volumetric_run

    out = tiny_run.out_dir
    results = json.loads((out / "results.json").read_text())
    assert results["data_source"] == "simulated" and results["parameters"]["model_preset"] == "tiny"
    split = results["split"]
    subjects = {k: {s.split("-")[0] for s in v} for k, v in split.items()}
    assert not (subjects["train"] & subjects["test"]) and not (subjects["val"] & subjects["test"])
    back = load_volumetric_run(out)
    pd.testing.assert_frame_equal(back.table, tiny_run.table, check_exact=False, rtol=1e-9)
    assert set(back.table.index) == set(MODELS)
    assert set(back.table["data_source"]) == {"simulated"}
    for name in MODELS:
        row = tiny_run.table.loc[name]
        assert results["n_samples"]["train"] == results["n_samples"]["val"] == 24
        assert results["n_samples"]["test"] == 66  # the test scan whole: 86 volumes - 20
        assert row["steps"] == 2 * math.ceil(results["n_samples"]["train"] / 32) == 2
        assert row["epochs"] == 2 and row["n_params"] > 0 and row["cpu_s_per_volume"] > 0
        log = pd.read_csv(out / name / "train" / "log.csv")
        assert row["best_epoch"] == int(log["epoch"][log["val_loss"].idxmin()])


@pytest.mark.parametrize("name", MODELS)
def test_tiny_run_roi_metrics_come_out_of_the_bridge(tiny_run, name):
    from unebolt_viz.data import load
    from unebolt_viz.data.volumes import open_volumes
    from unebolt_viz.metrics import evaluate
    from unebolt_viz.metrics.bridge import volume_predictions
    from unebolt_viz.simulation import simulate_cohort

    out = tiny_run.out_dir
    pred = open_volumes(out / name / "volumes.nc", variable="pred").load()
    assert pred.attrs["data_source"] == "simulated" and pred.attrs["model"] == name
    assert "min-max" in pred.attrs["scaling"]
    regions = xr.load_dataset(out / "regions.nc", engine="h5netcdf")
    cohort = simulate_cohort("tiny", seed=0, cache_dir=out / "cache", progress=False)
    true_rois = xr.concat([cohort.pair(s).bold for s in tiny_run.results["split"]["test"]],
                          dim="time", combine_attrs="override")
    bridged = volume_predictions(pred, true_rois, regions["region"].values,
                                 [str(r) for r in regions["roi"].values], None, model=name)
    written = load(out / name / "roi_predictions.nc")
    np.testing.assert_allclose(written["pred"].values, bridged["pred"].values, rtol=1e-6)
    np.testing.assert_array_equal(written["true"].values, bridged["true"].values)
    assert bridged.sizes["time"] == pred.sizes["time"] > 0
    metrics = evaluate(bridged)
    row = tiny_run.table.loc[name]
    assert row["tcorr"] == pytest.approx(float(metrics["tcorr"].mean()), abs=1e-9)
    assert row["pixcorr"] == pytest.approx(float(metrics["pixcorr"].mean()), abs=1e-9)
    assert row["conn_mse"] == pytest.approx(float(metrics["conn_mse"].mean()), abs=1e-9)
    assert row["f1_0.25"] == pytest.approx(float(metrics["f1"].sel(density=0.25).mean()))
    assert row["f1_0.50"] == pytest.approx(float(metrics["f1"].sel(density=0.5).mean()))
    saved = load(out / name / "roi_metrics.nc")
    np.testing.assert_allclose(saved["temporal_r"].values, metrics["temporal_r"].values)


@pytest.mark.parametrize("name", MODELS)
def test_tiny_run_ssim_psnr_and_best_model(tiny_run, name):
    from unebolt_viz.data.volumes import open_volumes
    from unebolt_viz.metrics.volumetric import psnr, ssim
    from unebolt_viz.models import load_model

    out = tiny_run.out_dir
    true = open_volumes(out / name / "volumes.nc", variable="true").load()
    pred = open_volumes(out / name / "volumes.nc", variable="pred").load()
    t = np.moveaxis(true.values, -1, 1)
    p = np.moveaxis(pred.values, -1, 1)
    assert t.min() == 0.0 and t.max() == 1.0
    row = tiny_run.table.loc[name]
    assert row["ssim"] == pytest.approx(ssim(t, p), abs=1e-9)
    assert row["psnr"] == pytest.approx(psnr(t, p), abs=1e-9)
    per_volume = pd.read_csv(out / "volume_metrics.csv").query("model == @name")
    np.testing.assert_allclose(per_volume["ssim"], ssim(t, p, per_volume=True), rtol=1e-9)
    assert list(per_volume["tr_index"]) == list(true.tr_index.values)
    # the predictions are those of the selected (best) model
    model = load_model(out / name / "train" / "best")
    model.eval()
    x = torch.from_numpy(np.stack([_test_input(tiny_run, i) for i in (0, 1)]))
    with torch.no_grad():
        y = model(x).numpy()
    np.testing.assert_allclose(y, p[:2], rtol=1e-4, atol=1e-5)


def _test_input(run, i):
    from unebolt_viz.training.volumetric_run import prepare_volumetric

    if not hasattr(run, "_data"):
        params = run.results["parameters"]
        run._data = prepare_volumetric("tiny", shape=params["shape"],
                                       cache_dir=run.out_dir / "cache")
    return run._data.test[i][0]
