"""Saving and loading models: safetensors weights + a JSON config; LaBraM checkpoints.

``save_model(model, "run/unebolt")`` writes ``run/unebolt.safetensors`` and ``run/unebolt.json``
(each written to a temporary file in the same folder, then renamed). ``load_model`` rebuilds the
model from the JSON and loads the weights strictly: a missing, unexpected or mis-shaped tensor
raises a ValueError naming it. The JSON records the sha256 of the weights, checked on load (a
damaged or replaced weights file raises a :class:`ModelFileError` naming it). Nothing is ever
unpickled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._utils import atomic_path
from ._files import (  # noqa: F401  (ModelFileError: re-exported for callers)
    SHA256_KEY,
    ModelFileError,
    ModelFileNotFoundError,
    base_path,
    file_sha256,
    read_payload,
    read_weights,
    with_ext,
    write_config,
)
from .factory import model_from_config

#: Keys of a LaBraM pre-training student that the fine-tuning encoder does not have (the mask
#: token, the final norm before the tokenizer head, the tokenizer head). Dropped, and reported.
LABRAM_PRETRAINING_ONLY_KEYS = frozenset(
    {"mask_token", "norm.weight", "norm.bias", "lm_head.weight", "lm_head.bias"}
)
#: Keys the fine-tuning encoder adds to a pre-training student; LaBraM initialises them anew.
LABRAM_FINETUNING_ONLY_KEYS = frozenset({"fc_norm.weight", "fc_norm.bias"})


def save_model(model: Any, path: str | os.PathLike) -> tuple[Path, Path]:
    """Save a model as ``<path>.safetensors`` (weights) and ``<path>.json`` (config).

    Parameters
    ----------
    model : torch.nn.Module or RidgeBaseline
        A model of :mod:`unebolt_viz.models` (it must have ``get_config``).
    path : str or PathLike
        Base path; a ``.safetensors`` or ``.json`` suffix is ignored.

    Returns
    -------
    weights_path, config_path : Path
    """
    from .ridge import RidgeBaseline

    if isinstance(model, RidgeBaseline):
        return model.save(path)
    if not (isinstance(model, nn.Module) and hasattr(model, "get_config")):
        raise TypeError(f"cannot save {type(model).__name__}: not a unebolt_viz model")
    from safetensors.torch import save_file

    base = base_path(path)
    weights_path, config_path = with_ext(base, ".safetensors"), with_ext(base, ".json")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights_path) as tmp:
        save_file(tensors, tmp, metadata={"format": "pt"})
        digest = file_sha256(tmp)
    write_config(config_path, model.get_config(), weights_sha256=digest)
    return weights_path, config_path


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Any:
    """Rebuild a model saved by :func:`save_model` and load its weights strictly.

    Parameters
    ----------
    path : str or PathLike
        Base path (``<path>.safetensors`` and ``<path>.json``).
    map_location : str or torch.device
        Device for the weights.

    Returns
    -------
    torch.nn.Module or RidgeBaseline
        In eval mode for torch models.

    Raises
    ------
    ModelFileNotFoundError
        If the config or the weights file is missing (a FileNotFoundError).
    ModelFileError
        If the config is not valid JSON, or the weights are unreadable or do not have the
        sha256 recorded in the config (a ValueError).
    ValueError
        If a weight is missing, unexpected or has the wrong shape (the message names it).
    """
    base = base_path(path)
    payload = read_payload(base)
    config = payload["config"]
    if config.get("name") == "ridge":
        from .ridge import RidgeBaseline

        return RidgeBaseline.load(base)
    weights_path = with_ext(base, ".safetensors")
    tensors = read_weights(weights_path, "pt", payload.get(SHA256_KEY),
                           recorded_in=with_ext(base, ".json"))
    model = model_from_config(config)
    load_state_dict_strict(model, tensors, source=str(weights_path))
    return model.to(map_location).eval()


def load_state_dict_strict(
    module: nn.Module, state: Mapping[str, torch.Tensor], source: str = "state dict"
) -> None:
    """``module.load_state_dict(state, strict=True)`` with errors that name each bad key."""
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k}: expected shape {tuple(expected[k].shape)}, found {tuple(state[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(
            "missing key(s): "
            + ", ".join(f"{k} (expected shape {tuple(expected[k].shape)})" for k in missing)
        )
    if unexpected:
        problems.append(
            "unexpected key(s): "
            + ", ".join(f"{k} (found shape {tuple(state[k].shape)})" for k in unexpected)
        )
    if mismatched:
        problems.append("shape mismatch: " + "; ".join(mismatched))
    if problems:
        raise ValueError(
            f"Cannot load {source} into {type(module).__name__}: "
            + " | ".join(problems)
            + ". The weights were saved from a different architecture or config."
        )
    module.load_state_dict(state, strict=True)


def _find_spatiotemporal(model_or_branch: nn.Module) -> nn.Module:
    from .labram import SpatiotemporalEncoder

    if isinstance(model_or_branch, SpatiotemporalEncoder):
        return model_or_branch
    branches = [m for m in model_or_branch.modules() if isinstance(m, SpatiotemporalEncoder)]
    if len(branches) != 1:
        raise ValueError(
            f"{type(model_or_branch).__name__} has {len(branches)} spatiotemporal branches; "
            "pass the branch itself (e.g. model.nets[i].encoder.spatiotemporal)"
        )
    return branches[0]


def load_labram_checkpoint(
    model_or_branch: nn.Module, path: str | os.PathLike
) -> dict[str, list[str]]:
    """Load LaBraM weights (e.g. ``labram-base.pth``) into the spatiotemporal branch.

    The file is read with ``torch.load(weights_only=True)``; its ``"model"`` entry holds the
    pre-training model, whose encoder keys start with ``"student."``. After stripping that
    prefix (other top-level keys, such as the outer tokenizer head, are not the encoder's and
    are ignored), every key of the branch must be present with its shape, except ``fc_norm``
    which a pre-training checkpoint lacks and which then keeps its fresh initialisation, as in
    LaBraM's own fine-tuning. The pre-training-only keys (``mask_token``, ``norm``,
    ``lm_head``) are dropped. Anything else raises.

    Parameters
    ----------
    model_or_branch : torch.nn.Module
        A model with exactly one spatiotemporal branch, or the branch.
    path : str or PathLike
        The checkpoint file.

    Returns
    -------
    dict
        ``loaded``, ``ignored`` (dropped student keys and non-student keys) and
        ``initialised`` (branch keys left at their initialisation) key lists.

    Raises
    ------
    ValueError
        Naming missing, unexpected or mis-shaped keys.
    """
    branch = _find_spatiotemporal(model_or_branch)
    checkpoint = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, Mapping) or "model" not in checkpoint:
        raise ValueError(f"{path} is not a LaBraM checkpoint: expected a dict with a 'model' entry")
    raw = checkpoint["model"]
    student = {k[len("student.") :]: v for k, v in raw.items() if k.startswith("student.")}
    if not student:
        raise ValueError(f"{path}: no 'student.'-prefixed keys in checkpoint['model']")
    ignored = [k for k in raw if not k.startswith("student.")]
    ignored += ["student." + k for k in student if k in LABRAM_PRETRAINING_ONLY_KEYS]
    state = {k: v for k, v in student.items() if k not in LABRAM_PRETRAINING_ONLY_KEYS}
    expected = branch.state_dict()
    initialised: list[str] = []
    is_pretraining = any(k in LABRAM_PRETRAINING_ONLY_KEYS for k in student)
    if is_pretraining:
        for key in LABRAM_FINETUNING_ONLY_KEYS:
            if key not in state and key in expected:
                state[key] = expected[key]
                initialised.append(key)
    load_state_dict_strict(branch, state, source=f"LaBraM checkpoint {path}")
    return {
        "loaded": sorted(k for k in state if k not in initialised),
        "ignored": sorted(ignored),
        "initialised": sorted(initialised),
    }


def save_labram_checkpoint(model_or_branch: nn.Module, path: str | os.PathLike) -> Path:
    """Write the spatiotemporal branch in LaBraM's format: ``{"model": {"student.<key>": ...}}``.

    The inverse of :func:`load_labram_checkpoint` for a fine-tuned branch; written atomically
    with ``torch.save`` (tensors only, so ``weights_only=True`` loading works).
    """
    branch = _find_spatiotemporal(model_or_branch)
    payload = {"model": {f"student.{k}": v.detach().cpu() for k, v in branch.state_dict().items()}}
    target = Path(path)
    with atomic_path(target) as tmp:
        torch.save(payload, tmp)
    return target
