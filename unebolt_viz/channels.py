"""Deprecated alias of :mod:`unebolt_viz.conventions` (removed in unebolt_viz 0.3)."""

from ._utils.deprecation import warn_moved

warn_moved("unebolt_viz.channels", "unebolt_viz.conventions")

from .conventions import *  # noqa: E402,F403
from .conventions import __all__  # noqa: E402,F401
