"""Old import paths kept for one release after a module moved."""

from __future__ import annotations

import warnings

__all__ = ["warn_moved"]


def warn_moved(old: str, new: str) -> None:
    """Warn (``FutureWarning``, shown to users) that module ``old`` is now ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in unebolt_viz 0.3; import from {new} instead.",
        FutureWarning,
        stacklevel=3,
    )
