"""Training and prediction of the volumetric peers (E2fNet, Spec2VolCAMU-Net).

The recipe of "From Brainwaves to Brain Scans: A Robust Neural Network for EEG-to-fMRI
Synthesis" (E2fNet), which Spec2VolCAMU-Net shares (every value is a field of
:class:`VolumetricConfig`):

- loss ``0.5 (1 - SSIM) + 0.5 MSE`` (:func:`unebolt_viz.metrics.volumetric.volumetric_loss`)
  on volumes min-max scaled per volume to [0, 1];
- AdamW, learning rate 1e-3, 50 linear warm-up steps, then a cosine with hard restarts every
  10 epochs (:func:`restart_lr_factor`), gradient clipping at norm 1.0, batches of 32, 50
  epochs.

What differs from the authors' code, on purpose: the epoch kept is the one with the lowest
loss on the **validation** scans (their code selects on the test set), the spectra are scaled
with training statistics only (:func:`~unebolt_viz.preprocessing_spectra.fit_spectrum_scaler`),
and volumes are read lazily, one batch at a time, through a ``torch`` DataLoader over
:class:`~unebolt_viz.preprocessing_spectra.VolumeSamples` (never all volumes in memory).

Resuming: a checkpoint (:mod:`unebolt_viz.training.checkpoint`) is written at the end of every
epoch and when ``max_steps`` stops a run. The order of the samples is a function of
``(seed, epoch)`` and the torch random state (drop-path) is saved, so a run interrupted and
started again ends with the same weights, bit for bit on a CPU, as one never interrupted.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .._utils import atomic_path
from . import checkpoint as ckpt

__all__ = ["VolumetricConfig", "VolumetricTrainResult", "restart_lr_factor", "train_volumetric",
           "volumetric_val_loss"]

#: Fields that may change when a run is resumed (they do not change what is computed).
RUNTIME_FIELDS = ("device", "num_workers", "eval_batch_size", "max_steps", "progress",
                  "keep_checkpoints")
_HISTORY = ("epoch", "step", "lr", "train_loss", "val_loss", "val_ssim", "val_mse", "seconds")


def _history_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The per-epoch log with its columns in a fixed order (checkpoints store sorted keys)."""
    frame = pd.DataFrame(rows)
    return frame[[c for c in _HISTORY if c in frame.columns]]


@dataclass
class VolumetricConfig:
    """Hyperparameters of volumetric training (defaults: the papers' recipe).

    Parameters
    ----------
    epochs, batch_size, lr : int, int, float
        50 epochs of batches of 32 at AdamW learning rate 1e-3.
    weight_decay, betas, eps : float, tuple, float
        AdamW's (torch's defaults: the papers set none).
    warmup_steps : int
        Linear warm-up over the first 50 optimiser steps.
    restart_epochs : int
        Period of the cosine's hard restarts (10 epochs).
    clip_grad : float or None
        Gradient norm clipping (1.0).
    ssim_weight, mse_weight : float
        Weights of ``1 - SSIM`` and MSE in the loss (0.5 and 0.5).
    seed : int
        Seed of the sample order and of torch's random state at the start.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    num_workers : int
        DataLoader worker processes (0: read volumes in the main process).
    eval_batch_size : int
        Volumes per forward pass on the validation scans.
    max_steps : int, optional
        Stop (with a checkpoint) after this many optimiser steps; resume later.
    keep_checkpoints : int
        Checkpoints kept on disk.
    progress : bool
        A tqdm progress bar per epoch.
    """

    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: int = 50
    restart_epochs: int = 10
    clip_grad: float | None = 1.0
    ssim_weight: float = 0.5
    mse_weight: float = 0.5
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    eval_batch_size: int = 16
    max_steps: int | None = None
    keep_checkpoints: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        self.betas = tuple(self.betas)  # type: ignore[assignment]
        for name in ("epochs", "batch_size", "restart_epochs", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}={getattr(self, name)!r} must be a positive int.")
        if self.warmup_steps < 0 or self.lr <= 0:
            raise ValueError(f"warmup_steps={self.warmup_steps} must be >= 0 and lr={self.lr} > 0.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        out = asdict(self)
        out["betas"] = list(self.betas)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> VolumetricConfig:
        """Build from a dict, naming unknown keys."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown VolumetricConfig option(s) {unknown}; known: {sorted(known)}.")
        return cls(**values)


@dataclass
class VolumetricTrainResult:
    """What :func:`train_volumetric` returns.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per epoch: ``epoch``, ``step``, ``lr``, ``train_loss``, ``val_loss``,
        ``val_ssim``, ``val_mse``, ``seconds``.
    best_epoch : int
        The epoch kept (1-based): the lowest ``val_loss`` (the last epoch without validation).
    best_val_loss : float
    steps : int
        Optimiser steps done.
    interrupted : bool
        ``max_steps`` stopped the run (the model then holds its last weights, not the best).
    out_dir, best_model_path : Path or None
    """

    history: pd.DataFrame
    best_epoch: int
    best_val_loss: float
    steps: int
    interrupted: bool = False
    out_dir: Path | None = None
    best_model_path: Path | None = None


def restart_lr_factor(step: int, warmup_steps: int, total_steps: int, n_cycles: float) -> float:
    """Learning rate of optimiser step ``step`` (0-based) divided by the base rate.

    Linear warm-up ``(step + 1) / warmup_steps``, then ``n_cycles`` cosines from 1 to 0, each
    restarting at 1 (hard restarts) over the remaining steps.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    if progress >= 1.0:
        return 0.0
    return 0.5 * (1.0 + math.cos(math.pi * ((n_cycles * progress) % 1.0)))


class _TorchSamples(torch.utils.data.Dataset):
    """VolumeSamples as tensors (each volume read when its sample is asked for)."""

    def __init__(self, samples: Any) -> None:
        self.samples = samples

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = self.samples[int(item)]
        return torch.from_numpy(x), torch.from_numpy(y)


def _epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The shuffled batches of one epoch: a function of ``(seed, epoch)`` only."""
    order = np.random.default_rng([int(seed), int(epoch)]).permutation(n)
    return [order[i:i + batch_size].tolist() for i in range(0, n, batch_size)]


def _device(wanted: str) -> torch.device:
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(wanted)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' but no CUDA GPU is visible; use device='cpu' or 'auto'.")
    return device


def _loader(samples: Any, batches: list[list[int]], num_workers: int,
            device: torch.device) -> torch.utils.data.DataLoader:
    # its own generator: making an iterator never draws from the global random state
    return torch.utils.data.DataLoader(_TorchSamples(samples), batch_sampler=batches,
                                       num_workers=num_workers, pin_memory=device.type == "cuda",
                                       generator=torch.Generator().manual_seed(0))


@torch.no_grad()
def volumetric_val_loss(model: torch.nn.Module, samples: Any, batch_size: int = 16,
                        ssim_weight: float = 0.5, mse_weight: float = 0.5,
                        device: torch.device | str | None = None) -> dict[str, float]:
    """Mean loss, SSIM and MSE over ``samples`` (eval mode, weighted by volumes).

    ``samples`` is any sequence of ``(x, y)`` numpy pairs (a ``VolumeSamples``), read
    ``batch_size`` at a time.

    Returns
    -------
    dict
        ``val_loss``, ``val_ssim``, ``val_mse``.
    """
    from ..metrics.volumetric import ssim_torch

    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums, n = np.zeros(2), 0
    batches = [list(range(i, min(i + batch_size, len(samples))))
               for i in range(0, len(samples), batch_size)]
    for x, y in _loader(samples, batches, 0, device):
        x, y = x.to(device), y.to(device)
        pred = model(x).float()
        s = ssim_torch(pred, y, reduction="none")
        m = ((pred - y) ** 2).flatten(1).mean(dim=1)
        sums += [float(s.sum()), float(m.sum())]
        n += int(y.shape[0])
    model.train(was_training)
    ssim_mean, mse_mean = sums / max(n, 1)
    # the loss's MSE term is a batch mean; per volume it is the same mean for equal-size volumes
    loss = ssim_weight * (1 - ssim_mean) + mse_weight * mse_mean
    return {"val_loss": float(loss), "val_ssim": float(ssim_mean), "val_mse": float(mse_mean)}


@dataclass
class _State:
    """Progress of one run, as the checkpoint stores it."""

    epoch: int = 0
    batch: int = 0
    step: int = 0
    best_val_loss: float | None = None
    best_epoch: int = -1
    history: list = None  # type: ignore[assignment]
    sums: list | None = None

    def to_json(self, cfg: VolumetricConfig) -> dict[str, Any]:
        return {"epoch": self.epoch, "batch": self.batch, "best_val_loss": self.best_val_loss,
                "best_epoch": self.best_epoch, "history": self.history, "sums": self.sums,
                "config": cfg.to_dict()}


def _optimiser(model: torch.nn.Module, cfg: VolumetricConfig, steps_per_epoch: int
               ) -> tuple[torch.optim.Optimizer, Any]:
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=cfg.betas, eps=cfg.eps,
                                  weight_decay=cfg.weight_decay)
    total = cfg.epochs * steps_per_epoch
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(
        restart_lr_factor, warmup_steps=min(cfg.warmup_steps, max(total - 1, 0)),
        total_steps=total, n_cycles=cfg.epochs / cfg.restart_epochs))
    return optimizer, scheduler


def _resume(out_dir: Path | None, resume: bool, model: torch.nn.Module, optimizer: Any,
            scheduler: Any, cfg: VolumetricConfig) -> _State:
    """The state of the last checkpoint in ``out_dir``, loaded into the objects, or a new one."""
    state = _State(history=[])
    if out_dir is None:
        return state
    out_dir.mkdir(parents=True, exist_ok=True)
    last = ckpt.latest_checkpoint(out_dir) if resume else None
    if last is None:
        with atomic_path(out_dir / "train_config.json") as tmp:
            tmp.write_text(json.dumps({"train": cfg.to_dict(), "model": model.get_config()},
                                      indent=2))
        return state
    saved = json.loads((last / "trainer_state.json").read_text()).get("config", {})
    now = cfg.to_dict()
    differs = sorted(k for k in now if k not in RUNTIME_FIELDS and saved.get(k) != now[k])
    if differs:
        raise ValueError(f"Cannot resume the run in {out_dir}: it was started with other "
                         f"settings for {differs} (saved {[saved.get(k) for k in differs]}, now "
                         f"{[now[k] for k in differs]}). Use the same settings, resume=False, "
                         "or a new out_dir.")
    raw = ckpt.load_checkpoint(last, model=model, optimizer=optimizer, scheduler=scheduler)
    return _State(epoch=int(raw["epoch"]), batch=int(raw["batch"]), step=int(raw["step"]),
                  best_val_loss=raw["best_val_loss"], best_epoch=int(raw["best_epoch"]),
                  history=list(raw["history"]), sums=raw.get("sums"))


def _train_epoch(model: torch.nn.Module, samples: Any, cfg: VolumetricConfig, state: _State,
                 optimizer: Any, scheduler: Any, device: torch.device,
                 save: Any) -> tuple[list[float], bool]:
    """Batches ``state.batch``... of epoch ``state.epoch``; (loss sum, volumes, seconds) and
    whether ``max_steps`` stopped it (after a checkpoint)."""
    from ..metrics.volumetric import volumetric_loss

    batches = _epoch_batches(len(samples), cfg.batch_size, cfg.seed, state.epoch)
    sums = list(state.sums) if state.sums else [0.0, 0, 0.0]
    bar = None
    if cfg.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(batches), initial=state.batch, leave=False, unit="batch",
                   desc=f"{getattr(model, 'name', 'model')} epoch {state.epoch + 1}/{cfg.epochs}")
    tic = time.perf_counter()
    model.train()
    for x, y in _loader(samples, batches[state.batch:], cfg.num_workers, device):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = volumetric_loss(model(x).float(), y, cfg.ssim_weight, cfg.mse_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_grad:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
        optimizer.step()
        scheduler.step()
        state.step += 1
        state.batch += 1
        sums[0] += float(loss.detach()) * int(y.shape[0])
        sums[1] += int(y.shape[0])
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss):.4f}")
        if cfg.max_steps is not None and state.step >= cfg.max_steps and \
                state.batch < len(batches):
            sums[2] += time.perf_counter() - tic
            state.sums = sums
            save(state)
            if bar is not None:
                bar.close()
            return sums, True
    if bar is not None:
        bar.close()
    sums[2] += time.perf_counter() - tic
    return sums, False


def _end_epoch(model: torch.nn.Module, val: Any, cfg: VolumetricConfig, state: _State,
               sums: list[float], optimizer: Any, device: torch.device,
               out_dir: Path | None, best: dict[str, Any]) -> None:
    """Validate, log, select (lowest validation loss) and move the state to the next epoch."""
    from ..models import save_model

    row: dict[str, Any] = {"epoch": state.epoch + 1, "step": state.step,
                           "lr": optimizer.param_groups[0]["lr"],
                           "train_loss": sums[0] / max(sums[1], 1)}
    if val is not None and len(val):
        row.update(volumetric_val_loss(model, val, cfg.eval_batch_size, cfg.ssim_weight,
                                       cfg.mse_weight, device))
        score = row["val_loss"]
    else:
        score = -float(state.epoch)  # no validation scans: keep the last epoch
    row["seconds"] = sums[2]
    state.history.append(row)
    if state.best_val_loss is None or score < state.best_val_loss:
        state.best_val_loss, state.best_epoch = float(score), state.epoch + 1
        if out_dir is not None:
            save_model(model, out_dir / "best")
        else:
            best["weights"] = copy.deepcopy(model.state_dict())
    if out_dir is not None:
        with atomic_path(out_dir / "log.csv") as tmp:
            _history_frame(state.history).to_csv(tmp, index=False)
    state.epoch, state.batch, state.sums = state.epoch + 1, 0, None


def train_volumetric(model: torch.nn.Module, train: Any, val: Any = None,
                     config: VolumetricConfig | dict | None = None,
                     out_dir: str | os.PathLike | None = None,
                     resume: bool = True) -> VolumetricTrainResult:
    """Train a volumetric model with the papers' recipe, selecting on validation scans only.

    Parameters
    ----------
    model : torch.nn.Module
        ``build_model("e2fnet" | "spec2volcamunet", ...)``.
    train, val : VolumeSamples
        Training and validation samples (:class:`~unebolt_viz.preprocessing_spectra.VolumeSamples`
        of the training and validation scans, with the training scans' scaler; any sequence
        of ``(x, y)`` numpy pairs works, e.g. a ``torch.utils.data.Subset`` of one). Without
        ``val`` the last epoch is kept. Test scans never enter here.
    config : VolumetricConfig or dict, optional
    out_dir : path, optional
        Checkpoints (``checkpoints/``), ``log.csv``, ``train_config.json`` and the selected
        model (``best.safetensors`` + ``best.json``). Without it nothing is written.
    resume : bool
        Continue from the last checkpoint in ``out_dir`` when there is one.

    Returns
    -------
    VolumetricTrainResult
        The model holds the selected epoch's weights afterwards (unless interrupted).
    """
    cfg = config if isinstance(config, VolumetricConfig) else VolumetricConfig.from_dict(config)
    out = Path(out_dir) if out_dir is not None else None
    device = _device(cfg.device)
    torch.manual_seed(cfg.seed)
    model.to(device)
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    optimizer, scheduler = _optimiser(model, cfg, steps_per_epoch)
    state = _resume(out, resume, model, optimizer, scheduler, cfg)

    def save(s: _State) -> None:
        if out is not None:
            ckpt.save_checkpoint(out, model=model, optimizer=optimizer, scheduler=scheduler,
                                 state=s.to_json(cfg), step=s.step, keep=cfg.keep_checkpoints)

    best: dict[str, Any] = {}
    interrupted = cfg.max_steps is not None and state.step >= cfg.max_steps \
        and state.epoch < cfg.epochs
    while not interrupted and state.epoch < cfg.epochs:
        sums, interrupted = _train_epoch(model, train, cfg, state, optimizer, scheduler, device,
                                         save)
        if interrupted:
            break
        _end_epoch(model, val, cfg, state, sums, optimizer, device, out, best)
        save(state)
        interrupted = cfg.max_steps is not None and state.step >= cfg.max_steps \
            and state.epoch < cfg.epochs
    best_path = out / "best" if out is not None and state.best_epoch > 0 else None
    if not interrupted:
        _restore_best(model, best_path, best, device)
    return VolumetricTrainResult(
        history=_history_frame(state.history), best_epoch=state.best_epoch,
        best_val_loss=float("nan") if state.best_val_loss is None else state.best_val_loss,
        steps=state.step, interrupted=interrupted, out_dir=out, best_model_path=best_path)


def _restore_best(model: torch.nn.Module, path: Path | None, best: dict[str, Any],
                  device: torch.device) -> None:
    """Load the selected epoch's weights (from ``best.safetensors`` or memory)."""
    if path is not None and path.with_suffix(".safetensors").exists():
        from safetensors.torch import load_file

        from ..models.io import load_state_dict_strict

        load_state_dict_strict(model, load_file(str(path.with_suffix(".safetensors")),
                                                device=str(device)), source=str(path))
    elif "weights" in best:
        model.load_state_dict(best["weights"])
