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
- UnEBOLT's multi-objective loss (:class:`unebolt_viz.models.MultiObjectiveLoss`, or one of its
  ablations);
- model selection on the validation set (``select_on``: the validation loss by default).

On a GPU the forward pass runs under bf16 autocast and can be compiled (``compile=True``); CPUs
run fp32. Gradient accumulation, gradient clipping, ``DistributedDataParallel`` under
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

import dataclasses
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..data.containers import InvalidDataError
from .._utils import atomic_path
from . import checkpoint as ckpt
from .datasets import ConsecutiveBatchSampler, WindowDataset, collate_batch
from .distributed import barrier, gather_cat, init_distributed
from .inference import autocast_context, predict

__all__ = ["TrainConfig", "TrainResult", "Trainer", "train_model", "lr_factor", "SELECT_ON"]

#: Validation score used for model selection, and whether larger is better.
SELECT_ON = {"val_loss": False, "val_mse": False, "val_r": True}
#: Config fields that do not change the trajectory of a run (may differ when resuming).
_RUNTIME_FIELDS = frozenset({"progress", "tensorboard", "num_workers", "max_steps",
                             "checkpoint_every", "keep_checkpoints", "eval_batch_size", "device"})


@dataclass
class TrainConfig:
    """Hyperparameters of a training run (defaults: the paper's cross-subject recipe).

    Attributes
    ----------
    epochs : int
        Passes over the training windows (20).
    batch_size : int
        Consecutive TRs per batch, over all processes (64 cross-subject, 16 intrascan).
    lr, min_lr : float
        Peak and final learning rate (3e-4, 1e-6).
    weight_decay : float
        AdamW weight decay of weight matrices (0.05).
    layer_decay : float
        LaBraM's layer-wise learning-rate decay (0.65).
    warmup_epochs : float
        Linear warm-up length (5 epochs). A warm-up as long as the whole run is capped at a
        quarter of it, with a warning.
    betas, eps : AdamW's (0.9, 0.999) and 1e-8.
    grad_accum : int
        Batches whose gradients are summed per optimiser step.
    clip_grad : float or None
        Clip the gradient norm at this value.
    loss : str
        ``"full"`` multi-objective loss or an ablation (``"mse_only"``, ``"no_mse"``,
        ``"no_scorr"``, ``"no_tcorr"``).
    alpha, beta : float
        Loss weights of MSE and temporal correlation (0.8, 0.1).
    seed : int
        Seeds the batch order and the dropout masks (12345, NeuroBOLT's).
    select_on : {"val_loss", "val_mse", "val_r"}
        Model selection score on the validation scans (``val_r``: mean temporal r).
    precision : {"auto", "bf16", "fp32"}
        "auto": bf16 autocast on GPUs, fp32 on CPUs.
    compile : bool
        ``torch.compile`` the model (GPU only; ignored with a warning on a CPU).
    device : str
        "auto" (the local GPU, else CPU), "cpu", "cuda", "cuda:1", ...
    num_workers : int
        DataLoader worker processes.
    eval_batch_size : int
        Windows per forward pass in validation.
    max_steps : int or None
        Stop (after checkpointing) once this many optimiser steps are done in total.
    checkpoint_every : int or None
        Also checkpoint every this many optimiser steps (always at the end of an epoch).
    keep_checkpoints : int
        Checkpoints kept on disk.
    tensorboard : bool
        Also log to ``<out_dir>/tensorboard`` (needs the ``tensorboard`` package).
    progress : bool
        Show a tqdm progress bar.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-4
    min_lr: float = 1e-6
    weight_decay: float = 0.05
    layer_decay: float = 0.65
    warmup_epochs: float = 5.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_accum: int = 1
    clip_grad: float | None = None
    loss: str = "full"
    alpha: float = 0.8
    beta: float = 0.1
    seed: int = 12345
    select_on: str = "val_loss"
    precision: str = "auto"
    compile: bool = False
    device: str = "auto"
    num_workers: int = 0
    eval_batch_size: int = 64
    max_steps: int | None = None
    checkpoint_every: int | None = None
    keep_checkpoints: int = 1
    tensorboard: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)
        if self.epochs < 1 or self.batch_size < 1 or self.grad_accum < 1:
            raise ValueError("epochs, batch_size and grad_accum must be >= 1.")
        if self.select_on not in SELECT_ON:
            raise ValueError(f"select_on={self.select_on!r}; choose one of {tuple(SELECT_ON)}.")
        if not 0 <= self.min_lr <= self.lr:
            raise ValueError(f"Need 0 <= min_lr ({self.min_lr}) <= lr ({self.lr}).")
        if self.warmup_epochs < 0:
            raise ValueError("warmup_epochs must be >= 0.")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> TrainConfig:
        """Build from a mapping; unknown keys raise a TypeError listing the valid ones."""
        values = dict(values or {})
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - valid)
        if unknown:
            raise TypeError(f"Unknown training options {unknown}; valid: {sorted(valid)}.")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


@dataclass
class TrainResult:
    """What :meth:`Trainer.fit` returns.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per epoch (the content of ``log.csv``).
    best_epoch : int
        Epoch (1-based) of the selected model; -1 when none was selected yet.
    best_score : float
        Its validation score (``select_on``).
    steps : int
        Optimiser steps done.
    interrupted : bool
        True when ``max_steps`` stopped the run early.
    out_dir : Path or None
    best_model_path : Path or None
        Base path of the selected model (``.safetensors`` + ``.json``).
    """

    history: pd.DataFrame
    best_epoch: int
    best_score: float
    select_on: str
    steps: int
    interrupted: bool = False
    out_dir: Path | None = None
    best_model_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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
        self.config = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
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
        differs = sorted(k for k in now if k not in _RUNTIME_FIELDS and saved.get(k) != now[k])
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
        from ..models import MultiObjectiveLoss, save_model

        cfg = self.config
        info = init_distributed()
        device = self._device(info.local_rank)
        if cfg.compile and device.type != "cuda":
            warnings.warn("compile=True is used on GPUs only; training uncompiled on the CPU.",
                          stacklevel=2)
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
        val_pairs = list(val_pairs)
        sampler = ConsecutiveBatchSampler(train_ds.segments, cfg.batch_size, shuffle=True,
                                          seed=cfg.seed, rank=info.rank, world_size=info.world_size)
        loader = torch.utils.data.DataLoader(
            train_ds, batch_sampler=sampler, collate_fn=collate_batch, num_workers=cfg.num_workers,
            pin_memory=device.type == "cuda",
            # its own generator, so that making an iterator never draws from the global RNG
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        n_blocks = sampler.n_blocks
        steps_per_epoch = math.ceil(n_blocks / cfg.grad_accum)
        total_steps = cfg.epochs * steps_per_epoch
        warmup = int(round(cfg.warmup_epochs * steps_per_epoch))
        if warmup >= total_steps:
            warnings.warn(
                f"warmup_epochs={cfg.warmup_epochs} would warm up for {warmup} of {total_steps} "
                f"steps (the whole run); capped at a quarter of it ({total_steps // 4} steps).",
                stacklevel=2)
            warmup = total_steps // 4

        optimizer = torch.optim.AdamW(
            model.param_groups(cfg.lr, cfg.weight_decay, cfg.layer_decay),
            lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, partial(lr_factor, warmup_steps=warmup, total_steps=total_steps,
                               base_lr=cfg.lr, min_lr=cfg.min_lr))
        criterion = MultiObjectiveLoss(cfg.alpha, cfg.beta, cfg.loss)
        self.optimizer, self.scheduler, self.criterion = optimizer, scheduler, criterion
        self.steps_per_epoch, self.total_steps, self.warmup_steps = steps_per_epoch, total_steps, warmup

        state: dict[str, Any] = {"epoch": 0, "batch": 0, "best_score": None, "best_epoch": -1,
                                 "history": [], "sums": None}
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            last = ckpt.latest_checkpoint(self.out_dir) if resume else None
            if last is not None:
                saved = json.loads((last / "trainer_state.json").read_text())
                self._check_resume_config(saved.get("config", {}))
                state = ckpt.load_checkpoint(last, model=model, optimizer=optimizer,
                                             scheduler=scheduler, rank=info.rank)
            elif info.is_main:
                with atomic_path(self.out_dir / "train_config.json") as tmp:
                    tmp.write_text(json.dumps({"train": cfg.to_dict(),
                                               "model": model.get_config()}, indent=2))
        self.step = int(state.get("step", 0))
        self.history = list(state["history"])
        best_score, best_epoch = state["best_score"], int(state["best_epoch"])

        net: torch.nn.Module = model
        if info.is_distributed:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        if cfg.compile and device.type == "cuda":
            net = torch.compile(net)

        writer = None
        if cfg.tensorboard and info.is_main and self.out_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter

                writer = SummaryWriter(str(self.out_dir / "tensorboard"))
            except ImportError:
                warnings.warn("tensorboard is not installed; logging to log.csv only.", stacklevel=2)

        def save(epoch: int, batch: int, sums: dict | None) -> None:
            if self.out_dir is None:
                return
            progress = {"epoch": epoch, "batch": batch, "best_score": best_score,
                        "best_epoch": best_epoch, "history": self.history, "sums": sums,
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
                ckpt.save_checkpoint(self.out_dir, model=model, optimizer=optimizer,
                                     scheduler=scheduler, state=progress, step=self.step,
                                     keep=cfg.keep_checkpoints, rng_written=info.is_distributed)
            barrier()

        interrupted = False
        start_epoch, start_batch = int(state["epoch"]), int(state["batch"])
        for epoch in range(start_epoch, cfg.epochs):
            self.epoch = epoch
            first = start_batch if epoch == start_epoch else 0
            sums = (state["sums"] if epoch == start_epoch and state.get("sums") else
                    {"loss": 0.0, "loss_mse": 0.0, "loss_tcorr": 0.0, "loss_scorr": 0.0, "n": 0,
                     "seconds": 0.0})
            sampler.set_epoch(epoch, start=first)
            tic = time.perf_counter()
            bar = None
            if cfg.progress and info.is_main:
                from tqdm.auto import tqdm

                bar = tqdm(total=n_blocks, initial=first, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                           leave=False, unit="batch")
            batch = first
            for x, y in loader:
                group_start = (batch // cfg.grad_accum) * cfg.grad_accum
                group = min(cfg.grad_accum, n_blocks - group_start)
                last_in_group = batch + 1 == group_start + group
                x = x.to(device, non_blocking=True)
                y = y.to(device, non_blocking=True)
                sync = nullcontext() if (last_in_group or not info.is_distributed) else net.no_sync()
                with sync:
                    with autocast_context(device, cfg.precision):
                        pred = net(x)
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
                batch += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
                if not last_in_group:
                    continue
                if cfg.clip_grad:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                self.step += 1
                self._emit("step", step=self.step, epoch=epoch, loss=float(loss.detach()))
                stop = cfg.max_steps is not None and self.step >= cfg.max_steps
                if stop or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
                    sums["seconds"] += time.perf_counter() - tic
                    tic = time.perf_counter()
                    save(epoch, batch, dict(sums))
                if stop:
                    interrupted = True
                    break
            if bar is not None:
                bar.close()
            if interrupted:
                break
            seconds = sums["seconds"] + time.perf_counter() - tic
            row: dict[str, Any] = {
                "epoch": epoch + 1, "step": self.step, "lr": optimizer.param_groups[-1]["lr"],
                **{f"train_{k}": sums[k] / max(sums["n"], 1) for k in
                   ("loss", "loss_mse", "loss_tcorr", "loss_scorr")},
            }
            if val_pairs:
                row.update(self.validate(val_pairs, criterion, device))
                score = row[cfg.select_on]
            else:
                score = -float(epoch)  # no validation: keep the last epoch
            row["seconds"] = seconds
            row["windows_per_s"] = sums["n"] / seconds if seconds > 0 else float("nan")
            self.history.append(row)
            better = SELECT_ON.get(cfg.select_on, False) if val_pairs else False
            improved = (best_score is None or (score > best_score if better else score < best_score))
            if improved:
                best_score, best_epoch = float(score), epoch + 1
                if self.out_dir is not None and info.is_main:
                    save_model(model, self.out_dir / "best")
            if info.is_main:
                self._write_log()
                if writer is not None:
                    for key, value in row.items():
                        if key not in ("epoch",) and isinstance(value, (int, float)):
                            writer.add_scalar(key, value, epoch + 1)
            self._emit("epoch_end", epoch=epoch + 1, row=row)
            save(epoch + 1, 0, None)
            model.train()
        if writer is not None:
            writer.close()
        best_path = self.out_dir / "best" if self.out_dir is not None and best_epoch > 0 else None
        if best_path is not None and not interrupted:
            self.restore(best_path)
        return TrainResult(
            history=pd.DataFrame(self.history), best_epoch=best_epoch,
            best_score=float("nan") if best_score is None else float(best_score),
            select_on=cfg.select_on if val_pairs else "last_epoch", steps=self.step,
            interrupted=interrupted, out_dir=self.out_dir, best_model_path=best_path)

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
