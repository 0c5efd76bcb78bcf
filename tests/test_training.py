"""Training engine: batches of consecutive TRs, schedule, checkpoints, exact resume, inference.

The models here are the ``tiny`` preset on short windows (400 samples, one spectral level)
and dropout left on, so that the resume test also checks that dropout masks are restored.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.data import InvalidDataError, eeg_windows, roi_timeseries
from unebolt_viz.io.pairing import ScanPair
from unebolt_viz.models import build_model
from unebolt_viz.training import checkpoint as ckpt
from unebolt_viz.training.datasets import ConsecutiveBatchSampler, WindowDataset
from unebolt_viz.training.inference import predict, predict_scan
from unebolt_viz.training.trainer import TrainConfig, Trainer, lr_factor

N_TIMES = 400
ROIS = {"roi": [f"r{i}" for i in range(6)],
        "network": ["Visual", "Somatomotor", "Default", "Control", "Visual", "Default"]}


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: faster on a busy 2-core machine, and the same numbers every run."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def make_pair(scan: str, n_windows: int = 24, seed: int = 0, tr_index=None,
              channels=PAPER_CHANNELS, units: str = "uV") -> ScanPair:
    rng = np.random.default_rng(seed)
    subject = scan.split("-")[0]
    windows = rng.normal(5.0, 20.0, size=(n_windows, len(channels), N_TIMES)).astype(np.float32)
    bold = rng.normal(size=(n_windows, len(ROIS["roi"])))
    kw = dict(scan=scan, subject=subject, tr_index=tr_index, data_source="simulated")
    return ScanPair(eeg_windows(windows, list(channels), 200.0, units=units, **kw),
                    roi_timeseries(bold, ROIS, 2.1, **kw))


def tiny_model(seed: int = 0):
    return build_model("unebolt", n_outputs=len(ROIS["roi"]), preset="tiny", seed=seed,
                       n_times=N_TIMES, sp_levels=1)


# ---------------------------------------------------------------------------------------------
# batches


def test_sampler_blocks_are_consecutive_within_runs_and_cover_everything():
    # scan 0: 20 windows in one run; scan 1: a gap in tr_index splits it into runs of 7 and 9
    pairs = [make_pair("sub01-scan01", 20),
             make_pair("sub02-scan01", 16, tr_index=list(range(7)) + list(range(10, 19)))]
    ds = WindowDataset(pairs)
    assert ds.segments == [(0, 20), (20, 7), (27, 9)]
    sampler = ConsecutiveBatchSampler(ds.segments, 8, seed=3)
    batches = list(sampler)
    for b in batches:
        assert np.all(np.diff(b) == 1), "windows of a batch must be consecutive TRs in order"
        assert any(s <= b[0] and b[-1] < s + n for s, n in ds.segments), "a batch crossed a run"
    # blocks from each run's start: 8, 8, 4 | 7 | 8, (1 dropped: fewer than 2)
    assert sorted(len(b) for b in batches) == [4, 7, 8, 8, 8]
    assert sorted(i for b in batches for i in b) == [i for i in range(36) if i != 35]


def test_sampler_order_depends_on_seed_and_epoch_only():
    segments = [(0, 200)]
    a = ConsecutiveBatchSampler(segments, 10, seed=1)
    b = ConsecutiveBatchSampler(segments, 10, seed=1)
    a.set_epoch(4)
    b.set_epoch(4)
    assert list(a) == list(b)
    b.set_epoch(5)
    assert list(a) != list(b)
    b.set_epoch(4, start=7)
    assert list(b) == list(a)[7:]
    assert list(ConsecutiveBatchSampler(segments, 10, shuffle=False))[0] == list(range(10))


def test_sampler_ranks_split_each_block_into_equal_halves():
    segments = [(0, 37)]
    full = ConsecutiveBatchSampler(segments, 8, seed=0)
    r0 = ConsecutiveBatchSampler(segments, 8, seed=0, rank=0, world_size=2)
    r1 = ConsecutiveBatchSampler(segments, 8, seed=0, rank=1, world_size=2)
    for whole, a, b in zip(full, r0, r1):
        assert a + b == whole[: len(a) + len(b)] and len(a) == len(b)
    # the 5-window tail is trimmed to 4 so that both ranks get 2
    assert sorted(len(a) for a in r0) == [2, 4, 4, 4, 4]
    with pytest.raises(ValueError, match="multiple"):
        ConsecutiveBatchSampler(segments, 7, world_size=2)


def test_window_dataset_reorders_channels_demeans_and_converts_volts():
    reversed_channels = list(PAPER_CHANNELS)[::-1]
    pair_uv = make_pair("sub01-scan01", 10, channels=reversed_channels)
    raw = pair_uv.windows.values
    ds = WindowDataset([pair_uv], ch_names=PAPER_CHANNELS)
    x, y = ds.get_batch([3, 4, 5])
    expected = raw[3:6][:, ::-1, :]
    expected = expected - expected.mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(x.numpy(), expected, atol=1e-4)
    np.testing.assert_allclose(y.numpy(), pair_uv.bold.values[3:6], rtol=1e-6)
    assert x.dtype == torch.float32
    volts = make_pair("sub01-scan01", 10, units="V")
    xv, _ = WindowDataset([volts]).get_batch([0])
    ref = volts.windows.values[0] - volts.windows.values[0].mean(axis=-1, keepdims=True)
    np.testing.assert_allclose(xv[0].numpy(), ref * 1e6, rtol=1e-4, atol=1e-3)


def test_window_dataset_names_missing_channels():
    pair = make_pair("sub01-scan01", 6, channels=PAPER_CHANNELS[:20])
    with pytest.raises(InvalidDataError, match="FT9"):
        WindowDataset([pair], ch_names=PAPER_CHANNELS)


# ---------------------------------------------------------------------------------------------
# schedule


def test_lr_factor_warmup_then_cosine_to_min_lr():
    warm, total, lr, min_lr = 5, 26, 3e-4, 1e-6
    f = [lr_factor(s, warm, total, lr, min_lr) for s in range(total)]
    np.testing.assert_allclose(f[:warm], np.arange(1, warm + 1) / warm)
    assert f[warm] == pytest.approx(1.0)
    assert f[-1] * lr == pytest.approx(min_lr)
    mid = warm + (total - warm - 1) / 2
    assert lr_factor(int(mid), warm, total, lr, min_lr) == pytest.approx(
        (min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * 0.5))) / lr)
    assert np.all(np.diff(f[warm:]) < 0)


def test_trainer_applies_layer_decay_and_schedule_to_every_group(tmp_path):
    pairs = [make_pair("sub01-scan01", 16), make_pair("sub02-scan01", 16, seed=1)]
    model = tiny_model()
    seen = []

    def record(event, trainer, info):
        if event == "step":
            seen.append([(g["lr"], g["lr_scale"]) for g in trainer.optimizer.param_groups])

    cfg = TrainConfig(epochs=2, batch_size=8, warmup_epochs=1, progress=False, lr=1e-3)
    trainer = Trainer(model, cfg, callbacks=[record])
    trainer.fit(pairs)
    assert trainer.warmup_steps == 4 and trainer.total_steps == 8 and len(seen) == 8
    scales = {round(s, 12) for s in (scale for _, scale in seen[0])}
    assert 1.0 in scales and round(0.65 ** 2, 12) in scales  # tiny: 1 block -> 0.65**2 embeddings
    for step, groups in enumerate(seen):
        # after step s the scheduler has set the lr of step s + 1
        factor = lr_factor(step + 1, 4, 8, 1e-3, cfg.min_lr)
        for lr, scale in groups:
            assert lr == pytest.approx(1e-3 * scale * factor, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# checkpoints and exact resume


def test_optimizer_state_round_trips_through_safetensors_and_json():
    model = tiny_model()
    opt = torch.optim.AdamW(model.param_groups(1e-3, 0.05), lr=1e-3)
    model(torch.randn(2, 26, N_TIMES)).sum().backward()
    opt.step()
    tensors, meta = ckpt.optimizer_to_tensors(opt)
    meta = json.loads(json.dumps(meta))
    other = torch.optim.AdamW(tiny_model().param_groups(5.0, 0.05), lr=5.0)
    ckpt.optimizer_from_tensors(other, tensors, meta)
    a, b = opt.state_dict(), other.state_dict()
    assert a["param_groups"] == [dict(g, betas=tuple(g["betas"])) for g in b["param_groups"]]
    for pid, entries in a["state"].items():
        for name, value in entries.items():
            assert torch.equal(value, b["state"][pid][name])


def _fit(out_dir, pairs, val, callbacks=(), **overrides):
    cfg = dict(epochs=2, batch_size=8, warmup_epochs=0.5, checkpoint_every=2, progress=False,
               lr=1e-3, seed=7)
    cfg.update(overrides)
    trainer = Trainer(tiny_model(), TrainConfig(**cfg), out_dir=out_dir, callbacks=callbacks)
    return trainer, trainer.fit(pairs, val)


def test_killed_run_resumes_to_bit_identical_weights(tmp_path):
    pairs = [make_pair("sub01-scan01", 24), make_pair("sub02-scan01", 16, seed=1)]
    val = [make_pair("sub03-scan01", 16, seed=2)]  # 5 blocks per epoch, 10 steps in all
    ref_trainer, ref = _fit(tmp_path / "ref", pairs, val)

    class Killed(RuntimeError):
        pass

    def kill_after_7(event, trainer, info):
        if event == "step" and info["step"] == 7:  # in epoch 2, after the checkpoint of step 6
            raise Killed

    with pytest.raises(Killed):
        _fit(tmp_path / "run", pairs, val, callbacks=[kill_after_7])
    assert ckpt.latest_checkpoint(tmp_path / "run").name == "step-00000006"
    resumed_trainer, resumed = _fit(tmp_path / "run", pairs, val)

    ref_state = ref_trainer.model.state_dict()
    for name, value in resumed_trainer.model.state_dict().items():
        assert torch.equal(value, ref_state[name]), f"{name} differs after resuming"
    last_ref = ckpt.latest_checkpoint(tmp_path / "ref")
    last_run = ckpt.latest_checkpoint(tmp_path / "run")
    assert (last_ref / "model.safetensors").read_bytes() == (last_run / "model.safetensors").read_bytes()
    assert (last_ref / "optimizer.safetensors").read_bytes() == (last_run / "optimizer.safetensors").read_bytes()
    cols = ["epoch", "step", "lr", "train_loss", "val_loss", "val_r"]
    assert resumed.history[cols].equals(ref.history[cols])
    assert resumed.best_epoch == ref.best_epoch


def test_max_steps_stops_and_a_second_call_finishes_the_run(tmp_path):
    pairs = [make_pair("sub01-scan01", 24)]
    _, first = _fit(tmp_path, pairs, [], max_steps=2)
    assert first.interrupted and first.steps == 2
    _, second = _fit(tmp_path, pairs, [])
    assert not second.interrupted and second.steps == 6  # 3 blocks x 2 epochs
    log = (tmp_path / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,step,lr,train_loss") and len(log) == 3


def test_resume_refuses_changed_settings(tmp_path):
    pairs = [make_pair("sub01-scan01", 24)]
    _fit(tmp_path, pairs, [], max_steps=1)
    with pytest.raises(ValueError, match="lr"):
        _fit(tmp_path, pairs, [], lr=5e-4)


def test_model_selection_keeps_the_best_validation_epoch(tmp_path):
    pairs = [make_pair("sub01-scan01", 24), make_pair("sub02-scan01", 24, seed=1)]
    val = [make_pair("sub03-scan01", 16, seed=2)]
    trainer, result = _fit(tmp_path, pairs, val, epochs=3, checkpoint_every=None)
    losses = result.history["val_loss"].to_numpy()
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert result.best_score == pytest.approx(losses.min())
    from unebolt_viz.models import load_model

    best = load_model(tmp_path / "best")
    for name, value in best.state_dict().items():
        assert torch.equal(value, trainer.model.state_dict()[name])
    # what the log says about the selected epoch is what the restored model does
    again = trainer.validate(val, trainer.criterion, torch.device("cpu"))
    assert again["val_loss"] == pytest.approx(losses.min(), rel=1e-5)


# ---------------------------------------------------------------------------------------------
# inference


def test_predict_matches_a_manual_forward_and_keeps_coordinates():
    model = tiny_model().eval()
    pairs = [make_pair("sub01-scan01", 10), make_pair("sub02-scan01", 7, seed=1)]
    pred = predict(model, pairs, batch_size=4, model_name="tiny")
    assert pred.attrs["kind"] == "predictions" and pred.attrs["model"] == "tiny"
    assert pred.attrs["data_source"] == "simulated"
    assert pred.sizes == {"time": 17, "roi": 6}
    assert list(pred.scan.values[:10]) == ["sub01-scan01"] * 10
    assert list(pred.network.values) == ROIS["network"]
    w = pairs[1].windows.values
    with torch.no_grad():
        manual = model(torch.from_numpy(w - w.mean(axis=-1, keepdims=True))).numpy()
    np.testing.assert_allclose(pred["pred"].values[10:], manual, atol=1e-5)
    np.testing.assert_allclose(pred["true"].values[10:], pairs[1].bold.values)
    np.testing.assert_allclose(predict_scan(model, pairs[1], batch_size=3), manual, atol=1e-5)


def test_predict_with_a_ridge_baseline_and_refuses_wrong_roi_count():
    from unebolt_viz.models import RidgeBaseline

    pairs = [make_pair("sub01-scan01", 30), make_pair("sub02-scan01", 12, seed=1)]
    x = pairs[0].windows.values
    ridge = RidgeBaseline(alpha=10.0, n_times=N_TIMES).fit(x, pairs[0].bold.values)
    pred = predict(ridge, pairs[1:])
    # the windows are demeaned before the band powers: equal up to float rounding
    np.testing.assert_allclose(pred["pred"].values, ridge.predict(pairs[1].windows.values), atol=1e-6)
    wrong = build_model("unebolt", n_outputs=3, preset="tiny", seed=0, n_times=N_TIMES, sp_levels=1)
    with pytest.raises(InvalidDataError, match="3 ROIs"):
        predict(wrong, pairs[1:])


def test_predictions_record_the_precision_and_refuse_an_unknown_one():
    pred = predict(tiny_model(), [make_pair("sub01-scan01", 4)], device="cpu")
    assert pred.attrs["precision"] == "fp32"
    with pytest.raises(ValueError, match="'auto', 'bf16' or 'fp32'"):
        predict(tiny_model(), [make_pair("sub01-scan01", 4)], precision="half")


# Both x the sd of the fp32 predictions. Measured on a CPU for this model: fp32 against fp64
# 3e-7, bf16 autocast against fp32 7e-3 (bf16 keeps 8 significant bits, 0.4 % a rounding).
COMPILED_ATOL = 1e-4
BF16_MAX_ERR = 0.05


@pytest.mark.gpu
def test_gpu_bf16_and_compiled_predictions_match_fp32_eager(tmp_path):
    """A model trained on the GPU (bf16 autocast, compiled) predicts like fp32 eager mode.

    Tolerances, relative to the sd of the fp32 predictions: the compiled model computes the
    same float32 function with other (fused) kernels, so only round-off separates them
    (``COMPILED_ATOL``; TF32 is switched off so that fp32 means fp32). bf16 autocast rounds
    activations to 8 significant bits in every layer: a few per mille per operation,
    accumulating over the layers to about a percent (``BF16_MAX_ERR``), while a broken cast (a
    wrong dtype, overflow, a dropped layer) is off by the whole signal. bf16 must also differ
    from fp32 at all: identical output would mean autocast never ran.
    """
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    pairs = [make_pair("sub01-scan01", 24)]
    trainer, result = _fit(tmp_path, pairs, pairs, device="cuda", compile=True, epochs=1)
    assert np.isfinite(result.history["train_loss"]).all()
    model = trainer.model
    assert next(model.parameters()).is_cuda
    test = [make_pair("sub02-scan01", 32, seed=1)]

    def pred(net, precision):
        return predict(net, test, device="cuda", precision=precision)["pred"].values

    matmul, conv_tf32 = torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    torch.set_float32_matmul_precision("highest")
    torch.backends.cudnn.allow_tf32 = False
    try:
        fp32 = pred(model, "fp32")
        bf16 = pred(model, "bf16")
        compiled = pred(torch.compile(model), "fp32")
        compiled_bf16 = pred(torch.compile(model), "bf16")
    finally:
        torch.set_float32_matmul_precision(matmul)
        torch.backends.cudnn.allow_tf32 = conv_tf32
    scale = float(np.std(fp32))
    assert scale > 0 and np.isfinite(fp32).all()
    np.testing.assert_allclose(compiled, fp32, rtol=0, atol=COMPILED_ATOL * scale)
    for name, low in (("bf16", bf16), ("compiled bf16", compiled_bf16)):
        err = float(np.max(np.abs(low - fp32))) / scale
        assert 0 < err < BF16_MAX_ERR, (name, err)
        assert np.corrcoef(low.ravel(), fp32.ravel())[0, 1] > 0.999, name


def test_resumed_run_keeps_the_labram_initialisation_it_began_with(tmp_path):
    # A run started from pretrained LaBraM weights, stopped, and resumed by a command that no
    # longer names the weights file: the resumed model still records the pretrained start.
    from unebolt_viz.models import load_labram_checkpoint, save_labram_checkpoint

    weights = save_labram_checkpoint(build_model("unebolt", n_outputs=4, preset="tiny", seed=3),
                                     tmp_path / "labram.pth")
    pretrained = tiny_model()
    load_labram_checkpoint(pretrained, weights)
    assert pretrained.labram_init["pretrained"] is True
    pairs = [make_pair("sub01-scan01", 24)]
    settings = dict(epochs=2, batch_size=8, warmup_epochs=0.5, progress=False, lr=1e-3, seed=7)
    first = Trainer(pretrained, TrainConfig(**settings, max_steps=2), out_dir=tmp_path / "run")
    assert first.fit(pairs).interrupted
    resumed = tiny_model()
    assert resumed.labram_init == {"pretrained": False}
    Trainer(resumed, TrainConfig(**settings), out_dir=tmp_path / "run").fit(pairs)
    assert resumed.labram_init == pretrained.labram_init
