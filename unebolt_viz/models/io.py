"""Saving and loading models: safetensors weights + a JSON config.

``save_model(model, "run/unebolt")`` writes ``run/unebolt.safetensors`` and ``run/unebolt.json``
(each written to a temporary file in the same folder, then renamed). ``load_model`` rebuilds the
model from the JSON and loads the weights strictly: a missing, unexpected or mis-shaped tensor
raises a ValueError naming it. The JSON records the sha256 of the weights, checked on load (a
damaged or replaced weights file raises a :class:`ModelFileError` naming it). Nothing is ever
unpickled. Pretrained LaBraM weights are read by :mod:`unebolt_viz.models.labram_weights`
(``load_labram_checkpoint``, also importable from here).
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
from .labram_weights import (  # noqa: F401  (the LaBraM loaders' historical import path)
    LabramLoadReport,
    load_labram_checkpoint,
    save_labram_checkpoint,
)


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
