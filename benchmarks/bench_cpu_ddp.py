"""Training windows per second of the compact UnEBOLT on a 2-core CPU: one process with 2
threads (how training ran until now) against two single-thread DistributedDataParallel
processes (``torchrun --standalone --nproc_per_node=2 ...``), side by side in one run.

Both run the same :class:`~unebolt_viz.training.Trainer` on the same data (random EEG windows of
the real size: 26 channels x 3200 samples, 64 ROIs), global batch 16, same seed, dropout switched
off. The trainer gathers every process's slice of a batch before the loss
(:mod:`unebolt_viz.training.distributed`), so both settings take the same optimisation steps up
to floating-point summation order; the benchmark checks this by comparing the two trained
models' predictions of held-out windows. A 1-process, 1-thread run is measured too, to show
what the second thread adds within one process, and so is the code as it was before the speed
work of this issue (the frozen forwards of ``bench_training_speed.py``, 1 process, 2 threads).

Windows per second are the trainer's own (``windows_per_s`` in ``log.csv``: training windows
over the seconds of the training steps, validation excluded), of the last epoch (the first
includes warm-up), median over ``--reps`` repetitions, the settings taken in turn so that all
see the same background load.

Run: ``python benchmarks/bench_cpu_ddp.py [--reps 3] [--epochs 2] [--out f.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
from pathlib import Path

N_ROIS = 64
#: Launches compared: today's code in one process (2 or 1 threads) or two DDP processes, and
#: the code before the speed work in one process with 2 threads.
SETTINGS = ("before_1proc_2threads", "1proc_2threads", "ddp_2x1thread", "1proc_1thread")
NO_DROPOUT = dict(drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, sp_attn_dropout=0.0,
                  sp_pe_dropout=0.0, rre_dropout=0.0)


def _pairs(n_train: int, n_windows: int):
    """``n_train`` training scans and one held-out scan of random windows (seeded)."""
    import numpy as np

    from unebolt_viz.conventions import N_TIMES, PAPER_CHANNELS
    from unebolt_viz.data import eeg_windows, roi_timeseries
    from unebolt_viz.io.pairing import ScanPair

    rng = np.random.default_rng(0)
    rois = {"roi": [f"r{i}" for i in range(N_ROIS)],
            "network": [("Visual", "Default", "Control", "Somatomotor")[i % 4]
                        for i in range(N_ROIS)]}
    pairs = []
    for s in range(n_train + 1):
        scan, subject = f"sub{s:02d}-scan01", f"sub{s:02d}"
        w = rng.normal(0, 20, size=(n_windows, 26, N_TIMES)).astype(np.float32)
        y = rng.normal(size=(n_windows, N_ROIS))
        pairs.append(ScanPair(
            eeg_windows(w, PAPER_CHANNELS, 200.0, scan=scan, subject=subject,
                        data_source="simulated"),
            roi_timeseries(y, rois, 2.1, scan=scan, subject=subject, data_source="simulated")))
    return pairs[:-1], pairs[-1:]


def _train(args: argparse.Namespace, out_dir: str, threads: int, old_code: bool = False) -> None:
    import torch

    from unebolt_viz.models import build_model
    from unebolt_viz.training import TrainConfig, Trainer, predict
    from unebolt_viz.training.distributed import distributed_info

    torch.set_num_threads(threads)
    train, held_out = _pairs(args.scans, args.windows)
    model = build_model("unebolt", n_outputs=N_ROIS, preset="compact", seed=0, **NO_DROPOUT)
    if old_code:
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_training_speed import old_model

        model = old_model(model)
    config = TrainConfig(epochs=args.epochs, batch_size=16, lr=5e-4, warmup_epochs=0.5, seed=3,
                         progress=False, device="cpu", select_on="val_r")
    Trainer(model, config, out_dir=out_dir).fit(train, held_out)
    if distributed_info().is_main:
        pred = predict(model, held_out)
        (Path(out_dir) / "pred.json").write_text(json.dumps(pred["pred"].values.tolist()))


def _ddp_worker(rank: int, port: int, out_dir: str, args: argparse.Namespace) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE="2", LOCAL_RANK=str(rank))
    from unebolt_viz.training.distributed import cleanup_distributed, init_distributed

    init_distributed("gloo")
    _train(args, out_dir, threads=1)
    cleanup_distributed()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _last_epoch(out_dir: str) -> dict:
    import pandas as pd

    log = pd.read_csv(Path(out_dir) / "log.csv")
    pred = json.loads((Path(out_dir) / "pred.json").read_text())
    return {"windows_per_s": float(log["windows_per_s"].iloc[-1]), "pred": pred}


def run_setting(setting: str, args: argparse.Namespace) -> dict:
    """One repetition of ``setting`` (one of :data:`SETTINGS`)."""
    import torch.multiprocessing as mp

    with tempfile.TemporaryDirectory() as out_dir:
        if setting == "ddp_2x1thread":
            mp.spawn(_ddp_worker, args=(_free_port(), out_dir, args), nprocs=2, join=True)
        else:
            _train(args, out_dir, threads=1 if setting == "1proc_1thread" else 2,
                   old_code=setting == "before_1proc_2threads")
        return _last_epoch(out_dir)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--scans", type=int, default=4, help="training scans")
    parser.add_argument("--windows", type=int, default=96, help="windows per scan")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the training scripts set it

    import numpy as np

    settings = SETTINGS
    runs: dict[str, list[dict]] = {s: [] for s in settings}
    for rep in range(args.reps):
        for setting in settings:
            runs[setting].append(run_setting(setting, args))
            print(f"rep {rep + 1}: {setting} {runs[setting][-1]['windows_per_s']:.1f} windows/s",
                  file=sys.stderr, flush=True)
    speed = {s: statistics.median(r["windows_per_s"] for r in runs[s]) for s in settings}
    base = np.asarray(runs["1proc_2threads"][0]["pred"])
    ddp = np.asarray(runs["ddp_2x1thread"][0]["pred"])
    before = np.asarray(runs["before_1proc_2threads"][0]["pred"])
    report = {
        "what": "compact UnEBOLT (64 ROIs) training windows/s on this CPU; random input of the "
                "real size; global batch 16; dropout off",
        "cpu_count": os.cpu_count(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "epochs": args.epochs, "train_windows": args.scans * args.windows, "reps": args.reps,
        "windows_per_s": speed,
        "windows_per_s_all": {s: [r["windows_per_s"] for r in runs[s]] for s in settings},
        "speedup_ddp_vs_1proc_2threads": speed["ddp_2x1thread"] / speed["1proc_2threads"],
        "speedup_2threads_vs_1thread": speed["1proc_2threads"] / speed["1proc_1thread"],
        "speedup_ddp_vs_before": speed["ddp_2x1thread"] / speed["before_1proc_2threads"],
        "speedup_1proc_vs_before": speed["1proc_2threads"] / speed["before_1proc_2threads"],
        "max_abs_pred_diff_ddp_vs_1proc": float(np.max(np.abs(ddp - base))),
        "max_abs_pred_diff_before_vs_now": float(np.max(np.abs(before - base))),
        "pred_abs_max": float(np.max(np.abs(base))),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return report


if __name__ == "__main__":
    main()
