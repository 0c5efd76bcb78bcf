"""Words the app's figures share: network labels as the API spells them, colour-bar titles.

The unassigned network is ``"No network"`` in :mod:`unebolt_viz.networks`; its short code
(``"None"``) reads like a missing value in a figure, so the app always writes the full name.
"""

from __future__ import annotations

from ...networks import canonical_network
from ...viz._style import network_short

__all__ = ["network_label", "FC_COLORBAR_TITLE", "DIFF_COLORBAR_TITLE", "ZSCORE_NOTE"]

#: Colour-bar title of the FC matrices.
FC_COLORBAR_TITLE = "Pearson r"
#: Colour-bar title of the difference matrix.
DIFF_COLORBAR_TITLE = "r difference (pred - true)"
#: Caption of time-series plots whose traces are z-scored for display.
ZSCORE_NOTE = ("Each trace is z-scored for display (mean 0, SD 1), so a prediction with a "
               "smaller amplitude than the truth stays visible; r is unchanged by this.")


def network_label(name: str) -> str:
    """Short label of a network for tight spaces; the unassigned one stays ``"No network"``."""
    canonical = canonical_network(str(name))
    return canonical if canonical == "No network" else network_short(canonical)
