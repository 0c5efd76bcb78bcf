"""Where unebolt_viz keeps files it computes or downloads, and how it writes them safely."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "save_npz_atomic"]

#: Environment variable that moves the cache (default ``~/.cache/unebolt_viz``).
CACHE_ENV_VAR = "UNEBOLT_VIZ_DATA"


def cache_dir(sub: str | None = None) -> Path:
    """Return (and create) the unebolt_viz cache directory, or its sub-folder ``sub``.

    The root is ``$UNEBOLT_VIZ_DATA`` when that variable is set, else ``~/.cache/unebolt_viz``.
    """
    root = os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "unebolt_viz"
    path = Path(root).expanduser()
    if sub:
        path = path / sub
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_npz_atomic(path: str | Path, **arrays: np.ndarray) -> Path:
    """Save arrays to an ``.npz`` file atomically (temporary file, then :func:`os.replace`).

    Readers never see a half-written file, even when several processes write the same path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; caches are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
