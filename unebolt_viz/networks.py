"""The seven Yeo resting-state networks and the categories for ROIs outside them.

Every ROI in the package carries a ``network`` coordinate holding one of the canonical names
of :data:`NETWORK_NAMES`. The seven cortical networks follow Yeo et al. (2011); two extra
categories hold ROIs that no cortical network claims: ``"Subcortical"`` (thalamus, striatum,
cerebellum, ... in the embedded atlas) and ``"No network"`` (DiFuMo's ``"No network found"``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Network",
    "NETWORKS",
    "YEO7_NAMES",
    "NETWORK_NAMES",
    "network_by_name",
    "canonical_network",
    "network_colors",
    "network_sort_key",
]


@dataclass(frozen=True)
class Network:
    """One functional network.

    Attributes
    ----------
    name : str
        Canonical name used in the ``network`` coordinate, e.g. ``"Dorsal Attention"``.
    short : str
        Short name of Yeo et al. (2011), e.g. ``"DorsAttn"``.
    long : str
        Long, descriptive name.
    color : str
        Hex colour (the Yeo 2011 colour table for the seven networks).
    yeo_index : int
        1..7 for the Yeo networks, 0 for the categories outside them.
    """

    name: str
    short: str
    long: str
    color: str
    yeo_index: int

    @property
    def is_yeo(self) -> bool:
        """Whether this is one of the seven cortical Yeo networks."""
        return self.yeo_index > 0


#: The seven Yeo networks in their canonical order, then the two other categories.
NETWORKS: tuple[Network, ...] = (
    Network("Visual", "Vis", "Visual", "#781286", 1),
    Network("Somatomotor", "SomMot", "Somatomotor", "#4682B4", 2),
    Network("Dorsal Attention", "DorsAttn", "Dorsal Attention", "#00760E", 3),
    Network("Salience/Ventral Attention", "SalVentAttn", "Salience / Ventral Attention",
            "#C43AFA", 4),
    Network("Limbic", "Limbic", "Limbic", "#B8CF6A", 5),
    Network("Control", "Cont", "Frontoparietal Control", "#E69422", 6),
    Network("Default", "Default", "Default Mode", "#CD3E4E", 7),
    Network("Subcortical", "Subcort", "Subcortical and cerebellar", "#7F7F7F", 0),
    Network("No network", "None", "No network found (white matter, CSF, other)", "#C8C8C8", 0),
)

YEO7_NAMES: tuple[str, ...] = tuple(n.name for n in NETWORKS if n.is_yeo)
NETWORK_NAMES: tuple[str, ...] = tuple(n.name for n in NETWORKS)

_BY_NAME = {n.name: n for n in NETWORKS}

# Every spelling we accept, lower-cased, for the canonical name. DiFuMo's label tables name the
# networks by one Yeo-17 sub-network each (e.g. "VisCent"); the shared data README maps them.
_ALIASES: dict[str, str] = {}
for _n in NETWORKS:
    for _alias in (_n.name, _n.short, _n.long, str(_n.yeo_index) if _n.is_yeo else None):
        if _alias:
            _ALIASES[_alias.lower()] = _n.name
_ALIASES.update(
    {
        "viscent": "Visual",
        "visperi": "Visual",
        "sommota": "Somatomotor",
        "sommotb": "Somatomotor",
        "dorsattna": "Dorsal Attention",
        "dorsattnb": "Dorsal Attention",
        "salventattna": "Salience/Ventral Attention",
        "salventattnb": "Salience/Ventral Attention",
        "ventral attention": "Salience/Ventral Attention",
        "salience": "Salience/Ventral Attention",
        "limbica": "Limbic",
        "limbicb": "Limbic",
        "conta": "Control",
        "contb": "Control",
        "contc": "Control",
        "frontoparietal": "Control",
        "frontoparietal control": "Control",
        "defaulta": "Default",
        "defaultb": "Default",
        "defaultc": "Default",
        "default mode": "Default",
        "dmn": "Default",
        "no network found": "No network",
        "none": "No network",
        "subcortex": "Subcortical",
        "subcort": "Subcortical",
    }
)


def network_by_name(name: str) -> Network:
    """Return the :class:`Network` for a canonical name or any accepted alias.

    Raises
    ------
    ValueError
        If the name matches no network; the message lists the canonical names.
    """
    return _BY_NAME[canonical_network(name)]


def canonical_network(label: str | int) -> str:
    """Map a network label (canonical, short, long, Yeo index 1-7, or a DiFuMo
    ``Yeo_networks7`` value such as ``"VisCent"``) to its canonical name."""
    key = str(label).strip().lower()
    try:
        return _ALIASES[key]
    except KeyError:
        raise ValueError(
            f"Unknown network label {label!r}. Use one of {list(NETWORK_NAMES)} "
            "(Yeo short names like 'DorsAttn' and indices 1-7 are accepted too)."
        ) from None


def network_colors(names: Iterable[str] | None = None) -> dict[str, str]:
    """Hex colour of each network, in canonical order (or for the given names)."""
    selected = NETWORK_NAMES if names is None else [canonical_network(n) for n in names]
    return {n: _BY_NAME[n].color for n in selected}


def network_sort_key(names: Iterable[str]) -> np.ndarray:
    """Position of each network name in the canonical order (for stable sorting of ROIs)."""
    order = {n: i for i, n in enumerate(NETWORK_NAMES)}
    return np.array([order[canonical_network(n)] for n in names], dtype=int)
