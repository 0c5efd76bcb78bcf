"""File helpers shared by model saving and loading (no torch import at module level).

A saved model is ``<base>.safetensors`` (weights) + ``<base>.json`` (config). The JSON records
the sha256 of the weights file (``weights_sha256``), verified on load; files saved before the
hash was recorded still load, unverified.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from .._utils import atomic_path

FORMAT_VERSION = 1
SHA256_KEY = "weights_sha256"
#: What to do about a damaged or mismatched model file.
MODEL_FIX = ("Save the model again with unebolt_viz.models.save_model(model, path), or "
             "re-download it.")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ModelFileError(ValueError):
    """A saved model or checkpoint file is unreadable, damaged or does not match its hash."""


class ModelFileNotFoundError(ModelFileError, FileNotFoundError):
    """A file of a saved model or checkpoint is missing."""


def base_path(path: str | os.PathLike) -> Path:
    """``path`` without a ``.safetensors`` or ``.json`` suffix."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    return path


def with_ext(base: Path, ext: str) -> Path:
    """``base`` + ``ext``; unlike ``Path.with_suffix``, "run/model.v2" keeps its ".v2"."""
    return base.parent / (base.name + ext)


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, as 64 lower-case hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_config(target: Path, config: dict[str, Any], weights_sha256: str | None = None) -> None:
    """Write a model config as indented JSON, atomically, with the weights' sha256 if given."""
    payload: dict[str, Any] = {"format_version": FORMAT_VERSION, "library": "unebolt_viz",
                               "config": config}
    if weights_sha256 is not None:
        payload[SHA256_KEY] = weights_sha256
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
        f.write("\n")


def read_json(path: Path, fix: str = MODEL_FIX) -> Any:
    """Parse a JSON file; a missing or garbled file raises a :class:`ModelFileError` naming it."""
    if not path.is_file():
        raise ModelFileNotFoundError(f"No such file: {path}. {fix}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path} is not valid JSON ({err}): the file is damaged or "
                             f"truncated. {fix}") from None


def read_payload(path: str | os.PathLike) -> dict[str, Any]:
    """The whole JSON stored beside saved weights: ``config`` and, if recorded, the hash."""
    config_path = with_ext(base_path(path), ".json")
    if not config_path.exists():
        raise ModelFileNotFoundError(
            f"No model config at {config_path} (save_model writes <path>.json beside "
            "<path>.safetensors). Check the path (without suffix), or save the model again "
            "with unebolt_viz.models.save_model(model, path)."
        )
    payload = read_json(config_path)
    if not isinstance(payload, dict) or not isinstance(payload.get("config"), dict):
        raise ModelFileError(f"{config_path} is not a unebolt_viz model config (no 'config' "
                             f"entry). {MODEL_FIX}")
    recorded = payload.get(SHA256_KEY)
    if recorded is not None and not (isinstance(recorded, str) and _SHA256.fullmatch(recorded)):
        raise ModelFileError(f"{config_path}: {SHA256_KEY} is {recorded!r}, not 64 lower-case "
                             f"hex digits. {MODEL_FIX}")
    return payload


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """The model config stored beside saved weights (``<path>.json``)."""
    return read_payload(path)["config"]


def verify_sha256(path: Path, expected: str | None, recorded_in: Path | str,
                  fix: str = MODEL_FIX) -> None:
    """Raise a :class:`ModelFileError` when ``path`` does not have the sha256 ``expected``
    (``None``: nothing recorded, nothing to check)."""
    if expected is None:
        return
    actual = file_sha256(path)
    if actual != expected:
        raise ModelFileError(
            f"{path} is damaged or was replaced: its sha256 is {actual}, but {recorded_in} "
            f"records {expected}. {fix}"
        )


def read_weights(path: Path, framework: str = "pt", expected_sha256: str | None = None,
                 recorded_in: Path | str = "its config", fix: str = MODEL_FIX) -> dict[str, Any]:
    """Load a safetensors file (``framework`` "pt": torch tensors on the CPU; "np": numpy),
    verifying its sha256 first when one is recorded.

    Raises
    ------
    ModelFileNotFoundError
        If the file is missing.
    ModelFileError
        If its hash does not match, or it is not a readable safetensors file.
    """
    if not path.is_file():
        raise ModelFileNotFoundError(f"No weights at {path}. {fix}")
    verify_sha256(path, expected_sha256, recorded_in, fix)
    from safetensors import SafetensorError

    try:
        if framework == "np":
            from safetensors.numpy import load_file

            return load_file(str(path))
        from safetensors.torch import load_file as load_torch

        return load_torch(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as err:
        raise ModelFileError(f"Cannot read {path}: it is not a valid safetensors file (damaged "
                             f"or truncated: {err}). {fix}") from None
