"""Deprecated alias of :mod:`unebolt_viz.simulation` (removed in unebolt_viz 0.3)."""

from .._utils.deprecation import warn_moved

warn_moved("unebolt_viz.data.simulate", "unebolt_viz.simulation")

from ..simulation import *  # noqa: E402,F403
from ..simulation import __all__  # noqa: E402,F401
