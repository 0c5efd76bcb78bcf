"""DistributedDataParallel on 2 CPU processes (gloo on 127.0.0.1) against 1 process.

Same global batch, same seed, dropout switched off: the trainer gathers every rank's slice of a
block before the loss, so both runs follow the same trajectory up to floating-point summation
order. Tolerance: per-epoch losses and validation r within 1e-5, predictions of the held-out
scan and their metrics within 1e-4 (their scale is ~1); measured differences were ~1e-7. Weights are not compared one by one: biases that a
GroupNorm or LayerNorm cancels have a gradient of zero in theory and of rounding noise
(~1e-8) in practice, which Adam's normalisation turns into full-size steps that differ between
runs without changing any output.
"""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from unebolt_viz.conventions import PAPER_CHANNELS
from unebolt_viz.data import eeg_windows, roi_timeseries
from unebolt_viz.io.pairing import ScanPair

N_TIMES = 400
N_ROIS = 5
NO_DROPOUT = dict(drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, sp_attn_dropout=0.0,
                  sp_pe_dropout=0.0, rre_dropout=0.0)
CONFIG = dict(epochs=2, batch_size=8, warmup_epochs=0.5, lr=1e-3, seed=3, progress=False,
              device="cpu", select_on="val_r")


def _pairs():
    rng = np.random.default_rng(0)
    rois = {"roi": [f"r{i}" for i in range(N_ROIS)],
            "network": ["Visual", "Default", "Control", "Visual", "Somatomotor"]}
    out = []
    for s, n in enumerate((24, 16, 16)):
        scan, subject = f"sub{s:02d}-scan01", f"sub{s:02d}"
        w = rng.normal(0, 20, size=(n, 26, N_TIMES)).astype(np.float32)
        y = rng.normal(size=(n, N_ROIS))
        out.append(ScanPair(
            eeg_windows(w, PAPER_CHANNELS, 200.0, scan=scan, subject=subject, data_source="simulated"),
            roi_timeseries(y, rois, 2.1, scan=scan, subject=subject, data_source="simulated")))
    return out


def _train(out_dir):
    from unebolt_viz.models import build_model
    from unebolt_viz.training import TrainConfig, Trainer

    torch.set_num_threads(1)
    pairs = _pairs()
    model = build_model("unebolt", n_outputs=N_ROIS, preset="tiny", seed=0, n_times=N_TIMES,
                        sp_levels=1, **NO_DROPOUT)
    result = Trainer(model, TrainConfig(**CONFIG), out_dir=out_dir).fit(pairs[:2], pairs[2:])
    return model, result


def _worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    from unebolt_viz.training.distributed import cleanup_distributed, init_distributed

    info = init_distributed("gloo")
    assert info.world_size == world_size and info.rank == rank
    model, result = _train(out_dir)
    if rank == 0:
        from unebolt_viz.data import save
        from unebolt_viz.training import predict

        save(predict(model, _pairs()[2:]), os.path.join(out_dir, "pred.nc"))
        result.history.to_csv(os.path.join(out_dir, "history.csv"), index=False)
    cleanup_distributed()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path, monkeypatch):
    import pandas as pd

    from unebolt_viz.data import load
    from unebolt_viz.metrics import evaluate
    from unebolt_viz.models import build_model
    from unebolt_viz.training import predict

    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    single_model, single = _train(tmp_path / "single")

    ddp_dir = tmp_path / "ddp"
    ddp_dir.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(ddp_dir)), nprocs=2, join=True)
    history = pd.read_csv(ddp_dir / "history.csv")
    ddp_pred = load(ddp_dir / "pred.nc")
    single_pred = predict(single_model, _pairs()[2:])

    for col in ("train_loss", "val_loss", "val_mse", "val_r"):
        np.testing.assert_allclose(history[col], single.history[col], atol=1e-5, err_msg=col)
    np.testing.assert_allclose(ddp_pred["pred"].values, single_pred["pred"].values, atol=1e-4)
    a, b = evaluate(ddp_pred), evaluate(single_pred)
    for var in ("tcorr", "pixcorr", "conn_mse"):
        np.testing.assert_allclose(a[var].values, b[var].values, atol=1e-4, err_msg=var)
    # the runs learned something, so the agreement is not that of two untouched models
    untrained = build_model("unebolt", n_outputs=N_ROIS, preset="tiny", seed=0, n_times=N_TIMES,
                            sp_levels=1, **NO_DROPOUT)
    moved = np.abs(predict(untrained, _pairs()[2:])["pred"].values - single_pred["pred"].values)
    assert moved.max() > 1e-2
    assert (ddp_dir / "checkpoints" / "latest.json").exists()
    assert sorted(p.name for p in (ddp_dir / "checkpoints").glob("step-*/rng-rank*")) == [
        "rng-rank0.safetensors", "rng-rank1.safetensors"]
