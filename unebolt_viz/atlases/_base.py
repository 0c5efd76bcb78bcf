"""The atlas data structures: the ROI table and the surface mesh it paints onto."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..networks import NETWORK_NAMES, canonical_network

__all__ = ["Atlas", "SurfaceMesh", "ATLAS_NAMES", "ATLAS_SIZES", "HEMISPHERES"]

ATLAS_NAMES = ("embedded", "difumo")
ATLAS_SIZES = (64, 128, 256)
HEMISPHERES = ("left", "right")


@dataclass(frozen=True)
class SurfaceMesh:
    """A cortical surface, one triangle mesh per hemisphere.

    Attributes
    ----------
    name : str
        e.g. ``"fs_LR_32k inflated"`` or ``"fsaverage5 inflated"``.
    coordinates : dict
        ``{"left": (n_vertices, 3) float array, "right": ...}`` in mm.
    faces : dict
        ``{"left": (n_faces, 3) int array, "right": ...}``.
    """

    name: str
    coordinates: dict[str, np.ndarray]
    faces: dict[str, np.ndarray]

    def n_vertices(self, hemisphere: str) -> int:
        """Number of vertices of one hemisphere."""
        return int(self.coordinates[hemisphere].shape[0])


@dataclass(frozen=True, eq=False)
class Atlas:
    """A parcellation: ROI table and surface projection.

    Attributes
    ----------
    name : str
        ``"embedded"`` or ``"difumo"`` (or a user's own name).
    roi : tuple of str
        Unique ROI names, in atlas order (the order of model outputs).
    network : numpy.ndarray of str
        Canonical network name of each ROI (see :mod:`unebolt_viz.networks`).
    hemisphere : numpy.ndarray of str
        ``"L"``, ``"R"`` or ``"B"`` (bilateral or midline).
    centroid : numpy.ndarray, shape (n_rois, 3)
        ROI centroids in MNI space (mm).
    vertex_labels : dict
        ``{"left": int array, "right": int array}``: index of the ROI painted on each vertex of
        :attr:`mesh` (-1 where no ROI is shown, e.g. the medial wall).
    mesh_loader : callable, optional
        Returns the :class:`SurfaceMesh` the vertex labels refer to, loaded on first use.
    description : str
        Where the atlas comes from, with its citation.
    """

    name: str
    roi: tuple[str, ...]
    network: np.ndarray
    hemisphere: np.ndarray
    centroid: np.ndarray
    vertex_labels: dict[str, np.ndarray] | None = None
    mesh_loader: Any = field(default=None, repr=False)
    description: str = ""

    def __post_init__(self) -> None:
        n = len(self.roi)
        if len(set(self.roi)) != n:
            dupes = sorted({r for r in self.roi if list(self.roi).count(r) > 1})
            raise ValueError(f"Atlas {self.name!r} has duplicate ROI names: {dupes}.")
        object.__setattr__(self, "network", np.array([canonical_network(x) for x in self.network]))
        object.__setattr__(self, "hemisphere", np.asarray(self.hemisphere, dtype=str))
        object.__setattr__(self, "centroid", np.asarray(self.centroid, dtype=float))
        for attr, shape in (("network", (n,)), ("hemisphere", (n,)), ("centroid", (n, 3))):
            if getattr(self, attr).shape != shape:
                raise ValueError(
                    f"Atlas {self.name!r}: {attr} has shape {getattr(self, attr).shape}, "
                    f"expected {shape} for {n} ROIs."
                )
        bad = sorted(set(self.hemisphere) - {"L", "R", "B"})
        if bad:
            raise ValueError(f"Atlas {self.name!r}: hemisphere values {bad} (use 'L', 'R', 'B').")

    @property
    def n_rois(self) -> int:
        """Number of ROIs."""
        return len(self.roi)

    def __repr__(self) -> str:
        counts = self.network_counts()
        summary = ", ".join(f"{k}: {v}" for k, v in counts.items() if v)
        return f"<Atlas {self.name!r}, {self.n_rois} ROIs ({summary})>"

    def network_counts(self) -> dict[str, int]:
        """Number of ROIs in each network, in canonical network order."""
        return {n: int(np.sum(self.network == n)) for n in NETWORK_NAMES}

    def roi_table(self):
        """The ROI table as a :class:`pandas.DataFrame` (one row per ROI)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "roi": list(self.roi),
                "network": self.network,
                "hemisphere": self.hemisphere,
                "x": self.centroid[:, 0],
                "y": self.centroid[:, 1],
                "z": self.centroid[:, 2],
            }
        )

    def roi_coords(self, dim: str = "roi", suffix: str = "") -> dict[str, tuple[str, Any]]:
        """xarray coordinates describing the ROIs along dimension ``dim``.

        ``suffix`` is appended to every coordinate name (``"2"`` for the second axis of an FC
        matrix), so that ``network`` becomes ``network2`` and so on.
        """
        return {
            dim: (dim, np.array(self.roi, dtype=object)),
            f"network{suffix}": (dim, self.network.astype(object)),
            f"hemisphere{suffix}": (dim, self.hemisphere.astype(object)),
            f"x{suffix}": (dim, self.centroid[:, 0]),
            f"y{suffix}": (dim, self.centroid[:, 1]),
            f"z{suffix}": (dim, self.centroid[:, 2]),
        }

    @property
    def mesh(self) -> SurfaceMesh:
        """The surface mesh :attr:`vertex_labels` refer to (loaded on first use)."""
        if self.mesh_loader is None:
            raise ValueError(f"Atlas {self.name!r} has no surface mesh.")
        return self.mesh_loader()

    def project_to_surface(
        self, values: Sequence[float] | np.ndarray, fill: float = np.nan
    ) -> dict[str, np.ndarray]:
        """Paint one value per ROI onto the cortical surface.

        Parameters
        ----------
        values : array-like, shape (n_rois,)
            One value per ROI in atlas order (for example the per-ROI R of a prediction). An
            :class:`xarray.DataArray` with a ``roi`` dimension is re-ordered to atlas order.
        fill : float
            Value of vertices that belong to no ROI (medial wall, ROIs off the cortex).

        Returns
        -------
        dict
            ``{"left": (n_vertices,), "right": (n_vertices,)}`` float arrays for :attr:`mesh`.
        """
        if self.vertex_labels is None:
            raise ValueError(f"Atlas {self.name!r} has no surface projection.")
        if hasattr(values, "dims") and "roi" in getattr(values, "dims", ()):
            values = values.sel(roi=list(self.roi)).values
        arr = np.asarray(values, dtype=float).reshape(-1)
        if arr.shape[0] != self.n_rois:
            raise ValueError(
                f"project_to_surface got {arr.shape[0]} values for an atlas of "
                f"{self.n_rois} ROIs: pass one value per ROI in atlas order."
            )
        padded = np.append(arr, fill)  # index -1 picks the fill value
        return {h: padded[self.vertex_labels[h]] for h in HEMISPHERES}
