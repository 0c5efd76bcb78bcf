"""Internal file-system helpers: the one atomic writer and the cache folder."""

from __future__ import annotations

from .cache import CACHE_ENV_VAR, cache_dir
from .files import atomic_path

__all__ = ["CACHE_ENV_VAR", "atomic_path", "cache_dir"]
