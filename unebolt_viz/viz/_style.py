"""Shared look of every figure: network colours, colour maps and the provenance label.

Every figure says where its numbers come from. :func:`provenance` turns a container's
``data_source`` attribute (``"simulated"``, ``"semi-synthetic"`` or ``"real"``) into the words
shown in the figure title, so that a figure of simulated data can never pass for the paper's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.containers import DATA_SOURCES
from ..networks import network_by_name

__all__ = [
    "PROVENANCE_LABELS",
    "data_source_of",
    "provenance",
    "titled",
    "network_color",
    "network_short",
    "hex_to_rgb",
    "FC_CMAP",
    "R_CMAP",
]

#: Words shown in titles for each ``data_source``.
PROVENANCE_LABELS: dict[str, str] = {
    "simulated": "simulated data",
    "semi-synthetic": "semi-synthetic data (real BOLD, simulated EEG)",
    "real": "real recordings",
}

#: Diverging map for correlations (FC, R): blue negative, red positive, white at zero.
FC_CMAP = "RdBu_r"
R_CMAP = "RdBu_r"


def data_source_of(obj: Any) -> str:
    """The ``data_source`` of a container, or a string that already is one.

    Raises
    ------
    ValueError
        If the object carries no valid ``data_source``: figures refuse to draw data of unknown
        origin.
    """
    if isinstance(obj, str):
        source = obj
    else:
        source = getattr(obj, "attrs", {}).get("data_source")
    if source not in DATA_SOURCES:
        raise ValueError(
            f"Cannot tell where the data comes from (data_source={source!r}). Figures need "
            f"one of {DATA_SOURCES}: build the data with unebolt_viz's constructors or set "
            "obj.attrs['data_source']."
        )
    return source


def provenance(*objs: Any) -> str:
    """Provenance words for one or several containers (joined when they differ).

    Examples
    --------
    >>> provenance("simulated")
    'simulated data'
    """
    sources: list[str] = []
    for obj in objs:
        source = data_source_of(obj)
        if source not in sources:
            sources.append(source)
    return " + ".join(PROVENANCE_LABELS[s] for s in sources)


def titled(title: str, *objs: Any) -> str:
    """``title`` followed by the provenance of ``objs``, e.g. ``"FC (simulated data)"``."""
    return f"{title} ({provenance(*objs)})" if title else provenance(*objs).capitalize()


def network_color(name: str) -> str:
    """Hex colour of a network (any accepted alias)."""
    return network_by_name(name).color


def network_short(name: str) -> str:
    """Short network name for tight labels (``"DorsAttn"``, ``"Default"``...)."""
    return network_by_name(name).short


def hex_to_rgb(color: str) -> np.ndarray:
    """``"#RRGGBB"`` as floats in [0, 1]."""
    color = color.lstrip("#")
    return np.array([int(color[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])
