"""Training loop of the paper's recipe: AdamW, layer-wise decay, warm-up then cosine, resumable.

Recipe (NeuroBOLT's code and UnEBOLT paper section 3.1; every value is a field of
:class:`TrainConfig`):

- AdamW (lr 3e-4, weight decay 0.05, eps 1e-8) on the model's parameter groups with LaBraM's
  layer-wise learning-rate decay 0.65 (``model.param_groups``);
- learning rate per optimiser step: linear warm-up from 0 over ``warmup_epochs``, then cosine
  down to ``min_lr`` (1e-6) at the last step; the layer-wise scale multiplies both;
- batches of ``batch_size`` consecutive TRs of one scan in time order (for the temporal
  correlation loss), the order of the batches shuffled each epoch
  (:class:`~unebolt_viz.training.datasets.ConsecutiveBatchSampler`);
- the model's own objective unless ``loss`` says otherwise: UnEBOLT's multi-objective loss
  (:class:`unebolt_viz.models.MultiObjectiveLoss`), MSE for the baselines (``default_loss``);
- selection on the validation set only (UnEBOLT: validation loss; baselines: validation MSE).

On a GPU the forward pass runs under bf16 autocast (fp32 for "paper"-preset models unless
``precision="bf16"``) and can be compiled (``compile=True``); CPUs run fp32 (``precision="bf16"``
is accepted on CPUs with bf16 instructions, but did not speed up compact-model training on one).
Gradient accumulation, gradient clipping, ``DistributedDataParallel`` under
``torchrun`` (:mod:`unebolt_viz.training.distributed`), a tqdm progress bar, a per-epoch CSV log
(``log.csv``) and optional TensorBoard are built in.

Resuming. A checkpoint (:mod:`unebolt_viz.training.checkpoint`) is written at the end of every
epoch and, with ``checkpoint_every``, every so many optimiser steps. It holds the weights, the
optimiser and scheduler states, the random state of every process and the position in the
epoch; the order of batches is a function of ``(seed, epoch)``. A run that is killed and
started again with ``resume=True`` therefore continues from its last checkpoint and ends with
the same weights, bit for bit on a CPU, as a run that was never interrupted.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from .._utils import atomic_path
from ..data.containers import InvalidDataError
from . import checkpoint as ckpt
from .config import RUNTIME_FIELDS, SELECT_ON, TrainConfig, TrainResult
from .datasets import ConsecutiveBatchSampler, WindowDataset, collate_batch
from .distributed import DistInfo, barrier, gather_cat, init_distributed
from .inference import autocast_context, predict, record_training_rois

__all__ = ["TrainConfig", "TrainResult", "Trainer", "train_model", "lr_factor", "SELECT_ON"]


def lr_factor(step: int, warmup_steps: int, total_steps: int, base_lr: float, min_lr: float) -> float:
    """Learning rate of optimiser step ``step`` (0-based) divided by ``base_lr``.

    Linear warm-up ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` steps, then a
    cosine from 1 down to ``min_lr / base_lr`` reached at the last step.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps - 1)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    floor = min_lr / base_lr if base_lr > 0 else 0.0
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


Callback = Callable[[str, "Trainer", dict[str, Any]], None]

_LOSS_KEYS = ("loss", "loss_mse", "loss_tcorr", "loss_scorr")


def _empty_sums() -> dict[str, float]:
    """Running sums of one epoch's training losses (weighted by windows), windows and time."""
    return {**{k: 0.0 for k in _LOSS_KEYS}, "n": 0, "seconds": 0.0}


@dataclass
class _Run:
    """What one call of :meth:`Trainer.fit` works with, from set-up to the last epoch."""

    info: DistInfo
    device: torch.device
    val_pairs: list[Any]
    sampler: ConsecutiveBatchSampler
    loader: torch.utils.data.DataLoader
    net: torch.nn.Module
    state: dict[str, Any]
    best_score: float | None = None
    best_epoch: int = -1
    writer: Any = None
    interrupted: bool = False


class Trainer:
    """Train one model on ScanPairs with the paper's recipe.

    Parameters
    ----------
    model : torch.nn.Module
        A model of :mod:`unebolt_viz.models` (``param_groups``, ``ch_names``, ``n_times``).
    config : TrainConfig or dict, optional
        Hyperparameters (default: :class:`TrainConfig`).
    out_dir : path, optional
        Where checkpoints, the log and the selected model go. Without it nothing is written and
        a run cannot be resumed.
    callbacks : sequence of callables, optional
        Each is called as ``callback(event, trainer, info)`` with ``event`` in ``"step"``
        (after every optimiser step) and ``"epoch_end"``.

    Examples
    --------
    >>> model = build_model("unebolt", n_outputs=64, preset="compact", seed=0)  # doctest: +SKIP
    >>> trainer = Trainer(model, TrainConfig(epochs=5, batch_size=16), out_dir="runs/a")  # doctest: +SKIP
    >>> result = trainer.fit(train_pairs, val_pairs)  # doctest: +SKIP
    >>> result.history[["epoch", "train_loss", "val_r"]]  # doctest: +SKIP
    """

    def __init__(self, model: torch.nn.Module, config: TrainConfig | dict | None = None,
                 out_dir: str | os.PathLike | None = None,
                 callbacks: Sequence[Callback] = ()) -> None:
        if not isinstance(model, torch.nn.Module) or not hasattr(model, "param_groups"):
            raise TypeError(
                f"Trainer trains the torch models of unebolt_viz.models; got {type(model).__name__} "
                "(fit a RidgeBaseline with its own .fit)."
            )
        self.model = model
        config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
        self.config = config.for_model(model)  # the model's loss, selection score, precision
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.callbacks = list(callbacks)
        self.history: list[dict[str, Any]] = []
        self.step = 0
        self.epoch = 0
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: Any = None
        self.criterion: Any = None

    # ------------------------------------------------------------------------------------------
    # set-up

    def _device(self, local_rank: int) -> torch.device:
        wanted = self.config.device
        if wanted == "auto":
            return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
        device = torch.device(wanted)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError("device='cuda' but no CUDA GPU is visible; use device='cpu'.")
        return device

    def _check_resume_config(self, saved: dict[str, Any]) -> None:
        now = self.config.to_dict()
        differs = sorted(k for k in now if k not in RUNTIME_FIELDS and saved.get(k) != now[k])
        if differs:
            raise ValueError(
                f"Cannot resume: the run in {self.out_dir} was started with different settings "
                f"for {differs} (saved {[saved.get(k) for k in differs]}, now "
                f"{[now[k] for k in differs]}). Use the same settings or a new out_dir."
            )

    def _write_log(self) -> None:
        if self.out_dir is None:
            return
        with atomic_path(self.out_dir / "log.csv") as tmp:
            pd.DataFrame(self.history).to_csv(tmp, index=False)

    def _emit(self, event: str, **info: Any) -> None:
        for callback in self.callbacks:
            callback(event, self, info)

    # ------------------------------------------------------------------------------------------
    # validation

    def validate(self, val_pairs: Sequence[Any], criterion: Any, device: torch.device) -> dict[str, float]:
        """Loss (on consecutive blocks of ``batch_size`` in order) and mean temporal r."""
        from ..metrics import temporal_r

        model = self.model
        pred = predict(model, val_pairs, batch_size=self.config.eval_batch_size, device=device,
                       precision=self.config.precision)
        values_p = torch.as_tensor(pred["pred"].values, dtype=torch.float32)
        values_t = torch.as_tensor(pred["true"].values, dtype=torch.float32)
        dataset = WindowDataset(val_pairs, ch_names=model.ch_names, n_times=model.n_times)
        sampler = ConsecutiveBatchSampler(dataset.segments, self.config.batch_size, shuffle=False)
        sums = {"loss": 0.0, "loss_mse": 0.0, "loss_tcorr": 0.0, "loss_scorr": 0.0}
        n = 0
        for start, length in sampler.blocks():
            p, t = values_p[start:start + length], values_t[start:start + length]
            terms = criterion.terms(p, t)
            loss = sum(w * terms[k] for k, w in criterion.weights.items() if w > 0)
            sums["loss"] += float(loss) * length
            for k in ("mse", "tcorr", "scorr"):
                sums[f"loss_{k}"] += float(terms[k]) * length
            n += length
        out = {f"val_{k}": v / n for k, v in sums.items()}
        out["val_mse"] = out.pop("val_loss_mse")
        out["val_r"] = float(temporal_r(pred).mean().item())
        return out

    # ------------------------------------------------------------------------------------------
    # the loop

    def fit(self, train_pairs: Sequence[Any], val_pairs: Sequence[Any] = (),
            resume: bool = True) -> TrainResult:
        """Train; resume from the last checkpoint in ``out_dir`` when there is one.

        The model records the training scans' ROI names, atlas and data source
        (``roi_names``, ``atlas``, ``training_data_source``, saved in its config), so that
        :func:`~unebolt_viz.training.predict` refuses scans of other ROIs.

        Parameters
        ----------
        train_pairs : sequence of ScanPair
            Training scans (or the training part of each scan, intrascan).
        val_pairs : sequence of ScanPair
            Validation scans for model selection (empty: the last epoch is kept).
        resume : bool
            Continue from ``out_dir``'s last checkpoint if one exists.

        Returns
        -------
        TrainResult
        """
        run = self._setup(train_pairs, val_pairs)
        self._resume(run, resume)
        self._wrap(run)
        for epoch in range(int(run.state["epoch"]), self.config.epochs):
            if not self._run_epoch(run, epoch):
                break
        if run.writer is not None:
            run.writer.close()
        best_path = self.out_dir / "best" if self.out_dir is not None and run.best_epoch > 0 else None
        if best_path is not None and not run.interrupted:
            self.restore(best_path)
        return TrainResult(
            history=pd.DataFrame(self.history), best_epoch=run.best_epoch,
            best_score=float("nan") if run.best_score is None else float(run.best_score),
            select_on=self.config.select_on if run.val_pairs else "last_epoch", steps=self.step,
            interrupted=run.interrupted, out_dir=self.out_dir, best_model_path=best_path)

    def _setup(self, train_pairs: Sequence[Any], val_pairs: Sequence[Any]) -> _Run:
        """Device, random seed, data loader, optimiser, schedule and loss of a new run."""
        from ..models import MultiObjectiveLoss

        cfg = self.config
        info = init_distributed()
        device = self._device(info.local_rank)
        if cfg.compile and device.type != "cuda":
            # stacklevel 3: point at the caller of fit
            warnings.warn("compile=True is used on GPUs only; training uncompiled on the CPU.",
                          stacklevel=3)
        autocast_context(device, cfg.precision)  # validates precision for the device
        torch.manual_seed(cfg.seed + info.rank)

        model = self.model.to(device)
        model.train()
        train_ds = WindowDataset(train_pairs, ch_names=model.ch_names, n_times=model.n_times)
        if train_ds.n_outputs != model.n_outputs:
            raise InvalidDataError(
                f"The model predicts {model.n_outputs} ROIs but the scans have "
                f"{train_ds.n_outputs}; build it with n_outputs={train_ds.n_outputs}."
            )
        record_training_rois(self.model, train_pairs)
        sampler = ConsecutiveBatchSampler(train_ds.segments, cfg.batch_size, shuffle=True,
                                          seed=cfg.seed, rank=info.rank, world_size=info.world_size)
        loader = torch.utils.data.DataLoader(
            train_ds, batch_sampler=sampler, collate_fn=collate_batch, num_workers=cfg.num_workers,
            pin_memory=device.type == "cuda",
            # its own generator, so that making an iterator never draws from the global RNG
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        steps_per_epoch = math.ceil(sampler.n_blocks / cfg.grad_accum)
        total_steps = cfg.epochs * steps_per_epoch
        warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
        if warmup >= total_steps:
            warnings.warn(
                f"warmup_epochs={cfg.warmup_epochs} would warm up for {warmup} of {total_steps} "
                f"steps (the whole run); capped at a quarter of it ({total_steps // 4} steps).",
                stacklevel=3)
            warmup = total_steps // 4

        self.optimizer = torch.optim.AdamW(
            model.param_groups(cfg.lr, cfg.weight_decay, cfg.layer_decay),
            lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, partial(lr_factor, warmup_steps=warmup, total_steps=total_steps,
                                    base_lr=cfg.lr, min_lr=cfg.min_lr))
        self.criterion = MultiObjectiveLoss(cfg.alpha, cfg.beta, cfg.loss)
        self.steps_per_epoch, self.total_steps, self.warmup_steps = steps_per_epoch, total_steps, warmup
        state = {"epoch": 0, "batch": 0, "best_score": None, "best_epoch": -1, "history": [],
                 "sums": None}
        return _Run(info=info, device=device, val_pairs=list(val_pairs), sampler=sampler,
                    loader=loader, net=model, state=state)

    def _resume(self, run: _Run, resume: bool) -> None:
        """Load ``out_dir``'s last checkpoint into the run, or record the settings of a new one."""
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            last = ckpt.latest_checkpoint(self.out_dir) if resume else None
            if last is not None:
                saved = json.loads((last / "trainer_state.json").read_text())
                self._check_resume_config(saved.get("config", {}))
                run.state = ckpt.load_checkpoint(last, model=self.model, optimizer=self.optimizer,
                                                 scheduler=self.scheduler, rank=run.info.rank)
            elif run.info.is_main:
                with atomic_path(self.out_dir / "train_config.json") as tmp:
                    tmp.write_text(json.dumps({"train": self.config.to_dict(),
                                               "model": self.model.get_config()}, indent=2))
        self.step = int(run.state.get("step", 0))
        self.history = list(run.state["history"])
        run.best_score, run.best_epoch = run.state["best_score"], int(run.state["best_epoch"])

    def _wrap(self, run: _Run) -> None:
        """DDP and compilation around the (resumed) model, and the TensorBoard writer."""
        cfg, info, device = self.config, run.info, run.device
        if info.is_distributed:
            from torch.nn.parallel import DistributedDataParallel

            run.net = DistributedDataParallel(
                self.model, device_ids=[device.index] if device.type == "cuda" else None)
        if cfg.compile and device.type == "cuda":
            run.net = torch.compile(run.net)
        if cfg.tensorboard and info.is_main and self.out_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                run.writer = SummaryWriter(str(self.out_dir / "tensorboard"))
            except ImportError:
                warnings.warn("tensorboard is not installed; logging to log.csv only.", stacklevel=3)

    def _run_epoch(self, run: _Run, epoch: int) -> bool:
        """Train one epoch, validate, select and checkpoint; False when ``max_steps`` stopped it."""
        self.epoch = epoch
        start_epoch = int(run.state["epoch"])
        first = int(run.state["batch"]) if epoch == start_epoch else 0
        sums = (run.state["sums"] if epoch == start_epoch and run.state.get("sums")
                else _empty_sums())
        seconds = self._train_steps(run, epoch, first, sums)
        if seconds is None:
            run.interrupted = True
            return False
        row: dict[str, Any] = {
            "epoch": epoch + 1, "step": self.step, "lr": self.optimizer.param_groups[-1]["lr"],
            **{f"train_{k}": sums[k] / max(sums["n"], 1) for k in _LOSS_KEYS},
        }
        if run.val_pairs:
            row.update(self.validate(run.val_pairs, self.criterion, run.device))
            score = row[self.config.select_on]
        else:
            score = -float(epoch)  # no validation: keep the last epoch
        row["seconds"] = seconds
        row["windows_per_s"] = sums["n"] / seconds if seconds > 0 else float("nan")
        self.history.append(row)
        self._select(run, epoch, score)
        if run.info.is_main:
            self._write_log()
            if run.writer is not None:
                for key, value in row.items():
                    if key not in ("epoch",) and isinstance(value, (int, float)):
                        run.writer.add_scalar(key, value, epoch + 1)
        self._emit("epoch_end", epoch=epoch + 1, row=row)
        self._save_checkpoint(run, epoch + 1, 0, None)
        self.model.train()
        return True

    def _train_steps(self, run: _Run, epoch: int, first: int, sums: dict[str, float]) -> float | None:
        """Batches ``first``... of one epoch, adding to ``sums``; the seconds spent, or None when
        ``max_steps`` was reached (after checkpointing)."""
        cfg = self.config
        n_blocks = run.sampler.n_blocks
        run.sampler.set_epoch(epoch, start=first)
        tic = time.perf_counter()
        bar = None
        if cfg.progress and run.info.is_main:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_blocks, initial=first, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                       leave=False, unit="batch")
        batch, stop = first, False
        for x, y in run.loader:
            group_start = (batch // cfg.grad_accum) * cfg.grad_accum
            group = min(cfg.grad_accum, n_blocks - group_start)
            last_in_group = batch + 1 == group_start + group
            loss = self._forward_backward(run, x, y, group, last_in_group, sums)
            batch += 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.4f}")
            if not last_in_group:
                continue
            if cfg.clip_grad:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
            self.optimizer.step()
            self.scheduler.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self._emit("step", step=self.step, epoch=epoch, loss=float(loss))
            stop = cfg.max_steps is not None and self.step >= cfg.max_steps
            if stop or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
                sums["seconds"] += time.perf_counter() - tic
                tic = time.perf_counter()
                self._save_checkpoint(run, epoch, batch, dict(sums))
            if stop:
                break
        if bar is not None:
            bar.close()
        return None if stop else sums["seconds"] + time.perf_counter() - tic

    def _forward_backward(self, run: _Run, x: torch.Tensor, y: torch.Tensor, group: int,
                          last_in_group: bool, sums: dict[str, float]) -> torch.Tensor:
        """Loss and gradients of one batch (a ``1 / group`` share), added to ``sums``; the loss."""
        cfg, info, criterion = self.config, run.info, self.criterion
        x = x.to(run.device, non_blocking=True)
        y = y.to(run.device, non_blocking=True)
        # gradients are synchronised across processes on the last batch of a group only
        sync = nullcontext() if (last_in_group or not info.is_distributed) else run.net.no_sync()
        with sync:
            with autocast_context(run.device, cfg.precision):
                pred = run.net(x)
            pred = pred.float()
            if info.is_distributed:
                pred = gather_cat(pred)
                y = gather_cat(y, differentiable=False)
            terms = criterion.terms(pred, y)
            loss = sum(w * terms[k] for k, w in criterion.weights.items() if w > 0)
            (loss / group).backward()
        n = int(y.shape[0])
        sums["loss"] += float(loss.detach()) * n
        for k in ("mse", "tcorr", "scorr"):
            sums[f"loss_{k}"] += float(terms[k].detach()) * n
        sums["n"] += n
        return loss.detach()

    # ------------------------------------------------------------------------------------------
    # checkpoints and model selection

    def _select(self, run: _Run, epoch: int, score: float) -> None:
        """Keep the model of ``epoch`` as ``out_dir/best`` when its score is the best so far."""
        from ..models import save_model

        better = SELECT_ON.get(self.config.select_on, False) if run.val_pairs else False
        best = run.best_score
        if best is None or (score > best if better else score < best):
            run.best_score, run.best_epoch = float(score), epoch + 1
            if self.out_dir is not None and run.info.is_main:
                save_model(self.model, self.out_dir / "best")

    def _save_checkpoint(self, run: _Run, epoch: int, batch: int, sums: dict | None) -> None:
        """Checkpoint the run at ``batch`` of ``epoch`` (every process writes its random state)."""
        if self.out_dir is None:
            return
        cfg, info = self.config, run.info
        progress = {"epoch": epoch, "batch": batch, "best_score": run.best_score,
                    "best_epoch": run.best_epoch, "history": self.history, "sums": sums,
                    "config": cfg.to_dict()}
        if info.is_distributed:
            staging = ckpt.staging_folder(self.out_dir, self.step)
            if info.is_main and staging.exists():
                import shutil

                shutil.rmtree(staging)
            barrier()
            ckpt.write_rng_state(staging, info.rank)
            barrier()
        if info.is_main:
            ckpt.save_checkpoint(self.out_dir, model=self.model, optimizer=self.optimizer,
                                 scheduler=self.scheduler, state=progress, step=self.step,
                                 keep=cfg.keep_checkpoints, rng_written=info.is_distributed)
        barrier()

    def restore(self, path: str | os.PathLike) -> None:
        """Load saved weights (``<path>.safetensors``) into the model, keeping its device."""
        from safetensors.torch import load_file

        from ..models.io import load_state_dict_strict

        device = next(self.model.parameters()).device
        weights = load_file(str(Path(path).with_suffix(".safetensors")), device=str(device))
        load_state_dict_strict(self.model, weights, source=str(path))


def train_model(model: torch.nn.Module, train_pairs: Sequence[Any], val_pairs: Sequence[Any] = (),
                *, out_dir: str | os.PathLike | None = None, resume: bool = True,
                callbacks: Sequence[Callback] = (), **config: Any) -> TrainResult:
    """Train ``model`` with :class:`Trainer`; keyword arguments are :class:`TrainConfig` fields.

    Examples
    --------
    >>> result = train_model(model, train, val, epochs=5, batch_size=16,
    ...                      out_dir="runs/unebolt")  # doctest: +SKIP
    """
    return Trainer(model, TrainConfig.from_dict(config), out_dir=out_dir,
                   callbacks=callbacks).fit(train_pairs, val_pairs, resume=resume)
