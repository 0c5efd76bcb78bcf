"""Errors of the command line and the checks made before anything is computed or written."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["PROG", "CLIError", "check_device", "check_output", "cli_spelling"]

PROG = "unebolt-viz"


class CLIError(Exception):
    """A problem with the command line the user can fix; printed without a traceback."""


def check_output(path: Path, flag: str, is_file: bool = True,
                 parent_must_exist: bool = False) -> None:
    """Refuse an output path that cannot be written (checked before anything is computed)."""
    if is_file and path.is_dir():
        raise CLIError(f"{flag} {path} is a folder; give a file path, e.g. {path / path.name}.")
    if parent_must_exist and not path.parent.is_dir():
        raise CLIError(f"{flag} {path}: the folder {path.parent} does not exist; create it "
                       f"first (mkdir -p {path.parent}) or choose another path.")
    existing = next(p for p in (path.parent if is_file else path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise CLIError(f"{flag} {path}: {existing} is an existing file, not a folder; choose "
                       "another path (or move the file away).")


def check_device(text: str) -> None:
    """Refuse a --device this machine does not have, before any data is loaded."""
    import torch

    try:
        device = torch.device("cpu" if text == "auto" else text)
    except (RuntimeError, ValueError):
        raise CLIError(f"--device {text!r} is not a device; use auto, cpu, cuda or cuda:N.") from None
    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device.type == "cuda" and (device.index or 0) >= n_gpus:
        raise CLIError(f"--device {text}: PyTorch sees {n_gpus} CUDA GPU(s) on this machine; "
                       "use --device cpu, or --device auto to take a GPU when there is one.")
    if device.type not in ("cpu", "cuda"):
        raise CLIError(f"--device {text}: only auto, cpu and cuda[:N] are supported.")


def _rescale_option(match: re.Match) -> str:
    pairs = re.findall(r"'([^']+)':\s*([-+0-9.eE]+)", match.group(1))
    return "--rescale " + ",".join(f"{name}={factor}" for name, factor in pairs)


#: How the EEG layer's fixes, written for Python, are spelled on the command line.
_CLI_SPELLINGS: tuple[tuple[str, object], ...] = (
    (r"allow_upsampling=True", "--allow-upsampling"),
    (r"missing='interpolate'", "--missing interpolate"),
    (r"prepare_eeg\(raw, \.\.\., rescale=\{([^}]*)\}\)", _rescale_option),
    (r"rescale=\{([^}]*)\}", _rescale_option),
    (r"rescale=([-+0-9.eE]+)", r"--rescale \1"),
    (r"trigger=None, tr=<TR in s>", "--tr <TR in s> without --trigger"),
    (r"trigger=None, tr=<s>", "--tr <s> without --trigger"),
    (r"first_volume=<s>", "--first-volume <s>"),
    (r"precision='(\w+)' or '(\w+)'", r"--precision \1 or \2"),
    (r"precision='(\w+)'", r"--precision \1"),
    (r"trigger=<", "--trigger <"),
    (r"pass channels=\[\.\.\.\] with only (?:the )?channels (?:you have|the file has) "
     r"\(and a model built for them\)", "use a model trained on only the channels the file has"),
)


def cli_spelling(message: str) -> str:
    """``message`` with the Python arguments it suggests written as command-line options."""
    for pattern, replacement in _CLI_SPELLINGS:
        message = re.sub(pattern, replacement, message)
    return message
