"""Training checkpoints: weights, optimiser, scheduler, random state and progress, atomically.

A checkpoint is a folder ``<out_dir>/checkpoints/step-000120/`` holding

``model.safetensors`` + ``model.json``
    The weights and the config that rebuilds the model (:func:`unebolt_viz.models.save_model`).
``optimizer.safetensors`` + ``optimizer.json``
    AdamW's per-parameter tensors (``exp_avg``, ``exp_avg_sq``, ``step``) and its parameter
    groups (learning rates, ``lr_scale``, weight decay, ...).
``rng-rank<k>.safetensors``
    The torch random state of each process (dropout masks), CPU and CUDA.
``trainer_state.json``
    Epoch, step, position within the epoch, the scheduler's state, the best score so far and
    the log history.

The sha256 of every weights file is recorded (``model.json``, ``optimizer.json``, and
``files_sha256`` in ``trainer_state.json`` for the random states) and verified on load; a
damaged file raises a :class:`CheckpointError` naming it. Nothing is pickled. The folder is written under a temporary name and renamed when complete,
then ``checkpoints/latest.json`` is replaced atomically to point at it: a run killed at any
moment leaves either the previous or the new checkpoint, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from .._utils import atomic_path
from ..models._files import ModelFileError, file_sha256, read_json, read_payload, read_weights

__all__ = [
    "CHECKPOINT_DIR",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
    "optimizer_to_tensors",
    "optimizer_from_tensors",
    "rng_state_tensors",
    "set_rng_state_tensors",
]

CHECKPOINT_DIR = "checkpoints"
_LATEST = "latest.json"
_FILES_SHA256 = "files_sha256"
_SHA256 = "sha256"


class CheckpointError(ModelFileError):
    """A training checkpoint is unreadable, incomplete or damaged (a ValueError)."""


def _fix(root: Path) -> str:
    return (f"Delete the damaged checkpoint and {root / _LATEST} to start the run afresh "
            "(or train with resume=False; on the command line, --no-resume), or point "
            f"{_LATEST} at another complete step-* folder in {root}.")


def _write_json(path: Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True))


def optimizer_to_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimiser's state dict into tensors (for safetensors) and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                           meta: dict) -> None:
    """Load what :func:`optimizer_to_tensors` wrote into ``optimizer``."""
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        _, pid, name = key.split(".", 2)
        state.setdefault(int(pid), {})[name] = value
    for pid, entries in meta.get("scalars", {}).items():
        state.setdefault(int(pid), {}).update(entries)
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def rng_state_tensors() -> dict[str, torch.Tensor]:
    """The torch random states of this process (CPU, and every CUDA device) as tensors."""
    out = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"cuda.{i}"] = s
    return out


def set_rng_state_tensors(tensors: dict[str, torch.Tensor]) -> None:
    """Restore states saved by :func:`rng_state_tensors`."""
    torch.set_rng_state(tensors["cpu"].to(torch.uint8))
    cuda = sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k.split(".")[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k].to(torch.uint8) for k in cuda])


def _save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> str:
    """Write ``tensors`` to ``path``; return the file's sha256."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path))
    return file_sha256(path)


def write_rng_state(folder: Path, rank: int) -> None:
    """Write this process's random state into a checkpoint folder being built."""
    folder.mkdir(parents=True, exist_ok=True)
    _save_tensors(rng_state_tensors(), folder / f"rng-rank{rank}.safetensors")


def staging_folder(out_dir: str | os.PathLike, step: int) -> Path:
    """The temporary folder a checkpoint of ``step`` is assembled in."""
    return Path(out_dir) / CHECKPOINT_DIR / f".step-{step:08d}.partial"


def save_checkpoint(out_dir: str | os.PathLike, *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, scheduler: Any, state: dict[str, Any],
                    step: int, keep: int = 1, rng_written: bool = False) -> Path:
    """Write a complete checkpoint of ``step`` and point ``latest.json`` at it.

    Parameters
    ----------
    out_dir : path
        The run's output folder.
    model : torch.nn.Module
        The (unwrapped) model.
    optimizer, scheduler
        Their states are saved.
    state : dict
        JSON-serialisable progress (epoch, step, history, ...).
    step : int
        Optimiser steps done; names the folder.
    keep : int
        How many checkpoints to keep (older ones are deleted after the new one is in place).
    rng_written : bool
        Whether every rank already wrote its random state into :func:`staging_folder`
        (distributed runs); otherwise this process's state is written as rank 0's.

    Returns
    -------
    pathlib.Path
        The checkpoint folder.
    """
    from ..models import save_model

    root = Path(out_dir) / CHECKPOINT_DIR
    staging = staging_folder(out_dir, step)
    if not rng_written:
        if staging.exists():
            shutil.rmtree(staging)
        write_rng_state(staging, 0)
    save_model(model, staging / "model")
    tensors, meta = optimizer_to_tensors(optimizer)
    meta[_SHA256] = _save_tensors(tensors, staging / "optimizer.safetensors")
    (staging / "optimizer.json").write_text(json.dumps(meta, indent=2))
    full_state = {**state, "step": int(step), "scheduler": scheduler.state_dict(),
                  _FILES_SHA256: {p.name: file_sha256(p)
                                  for p in sorted(staging.glob("rng-rank*.safetensors"))}}
    (staging / "trainer_state.json").write_text(json.dumps(full_state, indent=2, sort_keys=True))
    final = root / f"step-{step:08d}"
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    _write_json(root / _LATEST, {"checkpoint": final.name, "step": int(step)})
    for stale in root.glob(".step-*.partial"):  # left by a run killed while saving
        shutil.rmtree(stale, ignore_errors=True)
    old = sorted(p for p in root.glob("step-*") if p.is_dir() and p != final)
    for path in old[: max(0, len(old) - (keep - 1))]:
        shutil.rmtree(path, ignore_errors=True)
    return final


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    """The folder ``latest.json`` points at, or ``None`` when the run has none.

    Raises
    ------
    CheckpointError
        If ``latest.json`` is garbled, or points at a folder that is gone or incomplete (the
        message names the file and the complete checkpoints that are left).
    """
    root = Path(out_dir) / CHECKPOINT_DIR
    pointer = root / _LATEST
    if not pointer.exists():
        return None
    complete = sorted(p.name for p in root.glob("step-*") if (p / "trainer_state.json").is_file())
    left = f" Complete checkpoints there: {', '.join(complete)}." if complete else ""
    fix = (f"Delete {pointer} to start the run afresh (or train with resume=False; on the "
           f"command line, --no-resume), or write the name of a complete step-* folder in it, "
           f'as in {{"checkpoint": "step-00000120", "step": 120}}.{left}')
    try:
        payload = read_json(pointer, fix)
    except ModelFileError as err:
        raise CheckpointError(str(err)) from None
    name = payload.get("checkpoint") if isinstance(payload, dict) else None
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise CheckpointError(f"{pointer} does not name a checkpoint folder (expected a "
                              f"'checkpoint' entry such as \"step-00000120\"). {fix}")
    folder = root / name
    if not (folder / "trainer_state.json").is_file():
        raise CheckpointError(f"{pointer} points at {folder}, which is incomplete or gone. {fix}")
    try:  # the trainer reads it before load_checkpoint does
        read_json(folder / "trainer_state.json", _fix(root))
    except ModelFileError as err:
        raise CheckpointError(str(err)) from None
    return folder


def load_checkpoint(folder: str | os.PathLike, *, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None,
                    rank: int = 0, restore_rng: bool = True) -> dict[str, Any]:
    """Load a checkpoint into existing objects; return its progress state.

    The model must have been built with the same config (the weights are loaded strictly;
    a mismatch raises a ValueError naming the offending tensors). Each weights file is checked
    against the sha256 recorded beside it (checkpoints written before hashes were recorded
    load unchecked).

    Raises
    ------
    CheckpointError
        If a file of the checkpoint is missing, garbled, or does not match its sha256.
    """
    from ..models.io import load_state_dict_strict

    folder = Path(folder)
    fix = _fix(folder.parent)
    try:
        payload = read_payload(folder / "model")
        weights = read_weights(folder / "model.safetensors", "pt", payload.get("weights_sha256"),
                               folder / "model.json", fix)
        state = read_json(folder / "trainer_state.json", fix)
        if not isinstance(state, dict):
            raise CheckpointError(f"{folder / 'trainer_state.json'} is not a JSON object. {fix}")
        hashes = state.pop(_FILES_SHA256, None) or {}
        if optimizer is not None:
            meta = read_json(folder / "optimizer.json", fix)
            tensors = read_weights(folder / "optimizer.safetensors", "pt", meta.pop(_SHA256, None),
                                   folder / "optimizer.json", fix)
    except CheckpointError:
        raise
    except ModelFileError as err:
        raise CheckpointError(str(err)) from None
    device = next(model.parameters()).device
    load_state_dict_strict(model, weights, source=str(folder / "model.safetensors"))
    model.to(device)
    # The weights carry their LaBraM initialisation with them: a run resumed without the
    # checkpoint option still started from the pretrained weights it was begun with.
    recorded_init = payload["config"].get("labram_init")
    if recorded_init is not None and hasattr(model, "labram_init"):
        model.labram_init = recorded_init
    if optimizer is not None:
        # on CPU: load_state_dict moves each tensor to its parameter's device, except AdamW's
        # "step" counter, which must stay on the CPU
        optimizer_from_tensors(optimizer, tensors, meta)
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng:
        rng_file = folder / f"rng-rank{rank}.safetensors"
        if not rng_file.exists():
            raise FileNotFoundError(
                f"{rng_file} is missing: the checkpoint was written by a run with fewer "
                "processes; resume with the same number of processes."
            )
        try:
            rng = read_weights(rng_file, "pt", hashes.get(rng_file.name),
                               folder / "trainer_state.json", fix)
        except ModelFileError as err:
            raise CheckpointError(str(err)) from None
        set_rng_state_tensors(rng)
    return state
