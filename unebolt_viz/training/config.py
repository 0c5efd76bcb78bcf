"""Settings and outcome of a training run: :class:`TrainConfig` and :class:`TrainResult`.

Kept apart from the training loop (:mod:`unebolt_viz.training.trainer`) so that a config can
be built and validated without importing PyTorch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["TrainConfig", "TrainResult", "SELECT_ON", "RUNTIME_FIELDS"]

#: Validation score used for model selection, and whether larger is better.
SELECT_ON = {"val_loss": False, "val_mse": False, "val_r": True}
#: Config fields that do not change the trajectory of a run (may differ when resuming).
RUNTIME_FIELDS = frozenset({"progress", "tensorboard", "num_workers", "max_steps",
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
    loss : str or None
        ``"full"`` multi-objective loss or an ablation (``"mse_only"``, ``"no_mse"``,
        ``"no_scorr"``, ``"no_tcorr"``). None (default): the model's own objective,
        ``model.default_loss``: ``"full"`` for UnEBOLT, ``"mse_only"`` (plain MSE) for the
        baselines, as their published code trains them.
    alpha, beta : float
        Loss weights of MSE and temporal correlation (0.8, 0.1).
    seed : int
        Seeds the batch order and the dropout masks (12345, NeuroBOLT's).
    select_on : {"val_loss", "val_mse", "val_r"} or None
        Model selection score on the validation scans (``val_r``: mean temporal r); never a
        test score. None (default): ``model.default_select_on``, the validation loss for
        UnEBOLT and the validation MSE for the baselines.
    precision : {"auto", "bf16", "fp32"}
        "auto": bf16 autocast on GPUs, fp32 on CPUs, and fp32 everywhere for models of the
        "paper" preset: NeuroBOLT's code disables autocast because bf16/fp16 gave NaN losses,
        so a paper-size run uses bf16 only when ``precision="bf16"`` asks for it. On a CPU,
        "bf16" needs bf16 instructions (AMX or AVX512-BF16); it is refused elsewhere.
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
    loss: str | None = None
    alpha: float = 0.8
    beta: float = 0.1
    seed: int = 12345
    select_on: str | None = None
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
        if self.select_on is not None and self.select_on not in SELECT_ON:
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

    def for_model(self, model: Any) -> TrainConfig:
        """A copy with the model's defaults filled in: ``loss``, ``select_on`` (when None) and
        ``precision`` ("auto" becomes "fp32" for a "paper"-preset model)."""
        precision = self.precision
        if precision == "auto" and getattr(model, "preset", None) == "paper":
            precision = "fp32"
        return dataclasses.replace(
            self, loss=self.loss or getattr(model, "default_loss", "full"),
            select_on=self.select_on or getattr(model, "default_select_on", "val_loss"),
            precision=precision)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        out = dataclasses.asdict(self)
        out["betas"] = list(self.betas)
        return out


@dataclass
class TrainResult:
    """What :meth:`~unebolt_viz.training.trainer.Trainer.fit` returns.

    Attributes
    ----------
    history : pandas.DataFrame
        One row per epoch (the content of ``log.csv``).
    best_epoch : int
        Epoch (1-based) of the selected model; -1 when none was selected yet.
    best_score : float
        Its validation score (``select_on``).
    select_on : str
        The score that selected it (``"last_epoch"`` without validation scans).
    steps : int
        Optimiser steps done.
    interrupted : bool
        True when ``max_steps`` stopped the run early.
    out_dir : Path or None
    best_model_path : Path or None
        Base path of the selected model (``.safetensors`` + ``.json``).
    extra : dict
        Anything else a caller wants to keep with the result.
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
