"""Where unebolt_viz keeps the files it computes or downloads."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV_VAR", "cache_dir"]

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
