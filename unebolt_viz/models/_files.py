"""File helpers shared by model saving and loading (no torch import)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .._utils import atomic_path

FORMAT_VERSION = 1


def base_path(path: str | os.PathLike) -> Path:
    """``path`` without a ``.safetensors`` or ``.json`` suffix."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path


def with_ext(base: Path, ext: str) -> Path:
    """``base`` + ``ext``; unlike ``Path.with_suffix``, "run/model.v2" keeps its ".v2"."""
    return base.parent / (base.name + ext)


def write_config(target: Path, config: dict[str, Any]) -> None:
    """Write a model config as indented JSON, atomically."""
    payload = {"format_version": FORMAT_VERSION, "library": "unebolt_viz", "config": config}

    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The model config stored beside saved weights (``<path>.json``)."""
    config_path = with_ext(base_path(path), ".json")
    if not config_path.exists():
        raise FileNotFoundError(f"No model config at {config_path} (written by save_model)")
    with open(config_path, encoding="utf-8") as f:
        payload = json.load(f)
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict):
        raise ValueError(f"{config_path} is not a unebolt_viz model config (no 'config' entry)")
    return payload["config"]
