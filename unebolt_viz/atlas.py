"""Deprecated alias of :mod:`unebolt_viz.atlases` (removed in unebolt_viz 0.3)."""

from ._utils.deprecation import warn_moved

warn_moved("unebolt_viz.atlas", "unebolt_viz.atlases")

from .atlases import *  # noqa: E402,F403
from .atlases import __all__  # noqa: E402,F401
