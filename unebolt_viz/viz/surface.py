"""One value per ROI (e.g. the temporal R of a prediction) painted on the cortical surface.

Both hemispheres, lateral and medial views (paper Fig. 2b). :func:`plot_surface_r` is a static
matplotlib figure (papers). It draws the projected, shaded triangles itself (painter's
algorithm with back-face culling) instead of matplotlib's 3-D axes, which are slow on cortical
meshes. The helpers preparing what is drawn (:func:`surface_values`, :func:`surface_mesh`,
:func:`triangle_values`, :func:`surface_caption`...) are shared with the interactive 3-D map of
the app (:func:`unebolt_viz.app.surface_r_figure`).

Cortical meshes are heavy (fs_LR 32k: 32492 vertices and 64980 triangles per hemisphere), so
both draw a decimated mesh by default: :func:`decimate_mesh` merges vertices by clustering on a
regular grid (computed once per mesh and cached in memory). Each merged vertex keeps the ROI of
one original vertex, so ROI borders stay crisp, and triangles take the value of their ROI
(flat colour per triangle). ROIs off the cortex (subcortical) cannot be shown and are counted in
the caption.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._style import R_CMAP, provenance

__all__ = ["DecimatedMesh", "decimate_mesh", "surface_mesh", "surface_values", "triangle_values",
           "surface_caption", "symmetric_limit", "view_axes", "plot_surface_r", "VIEWS",
           "NO_ROI_COLOR"]

HEMISPHERES = ("left", "right")
#: (hemisphere, view) panels in drawing order.
VIEWS: tuple[tuple[str, str], ...] = (
    ("left", "lateral"), ("right", "lateral"), ("left", "medial"), ("right", "medial"),
)
#: Default vertex budget per hemisphere of the static figure.
STATIC_VERTICES = 12000
NO_ROI_COLOR = "#d9d9d9"

_CACHE: dict[tuple, DecimatedMesh] = {}


@dataclass(frozen=True)
class DecimatedMesh:
    """A simplified hemisphere mesh.

    Attributes
    ----------
    coordinates : ndarray, shape (n, 3)
        Vertex positions (mean of the merged vertices).
    faces : ndarray, shape (m, 3)
        Triangles (indices into ``coordinates``), orientation of the original mesh.
    source_vertex : ndarray, shape (n,)
        For each vertex, the original vertex whose value it shows (the one closest to the
        cluster mean).
    """

    coordinates: np.ndarray
    faces: np.ndarray
    source_vertex: np.ndarray


def _cluster(coords: np.ndarray, cell: float) -> tuple[np.ndarray, int]:
    keys = np.floor((coords - coords.min(axis=0)) / cell).astype(np.int64)
    _, labels = np.unique(keys, axis=0, return_inverse=True)
    labels = labels.reshape(-1)
    return labels, int(labels.max()) + 1


def decimate_mesh(coordinates: np.ndarray, faces: np.ndarray, n_vertices: int) -> DecimatedMesh:
    """Simplify a triangle mesh to about ``n_vertices`` vertices by grid vertex clustering.

    Parameters
    ----------
    coordinates : ndarray, shape (n, 3)
    faces : ndarray, shape (m, 3)
    n_vertices : int
        Target number of vertices (the result is within a few percent of it, or the original
        mesh when it is already smaller).

    Returns
    -------
    DecimatedMesh
    """
    coordinates = np.asarray(coordinates, dtype=float)
    faces = np.asarray(faces, dtype=np.int64)
    n = len(coordinates)
    if n_vertices >= n:
        return DecimatedMesh(coordinates, faces, np.arange(n))
    if n_vertices < 50:
        raise ValueError(f"n_vertices={n_vertices} is too small to show a cortex; use >= 50.")
    extent = np.ptp(coordinates, axis=0).max()
    low, high = extent / 2000.0, extent  # cell sizes giving too many / too few vertices
    for _ in range(40):
        mid = np.sqrt(low * high)
        _, count = _cluster(coordinates, mid)
        if count > n_vertices:
            low = mid
        else:
            high = mid
        if abs(count - n_vertices) <= 0.02 * n_vertices:
            break
    labels, count = _cluster(coordinates, mid)
    sums = np.zeros((count, 3))
    np.add.at(sums, labels, coordinates)
    centers = sums / np.bincount(labels, minlength=count)[:, None]
    # The representative of a cluster: its member closest to the cluster mean.
    dist = np.linalg.norm(coordinates - centers[labels], axis=1)
    order = np.lexsort((dist, labels))
    first = np.ones(n, dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    source = np.empty(count, dtype=np.int64)
    source[labels[order][first]] = order[first]

    new_faces = labels[faces]
    keep = ((new_faces[:, 0] != new_faces[:, 1]) & (new_faces[:, 1] != new_faces[:, 2])
            & (new_faces[:, 0] != new_faces[:, 2]))
    new_faces = new_faces[keep]
    _, unique_idx = np.unique(np.sort(new_faces, axis=1), axis=0, return_index=True)
    new_faces = new_faces[np.sort(unique_idx)]
    return DecimatedMesh(centers, new_faces, source)


def surface_mesh(atlas: Any, hemisphere: str, n_vertices: int | None) -> DecimatedMesh:
    """The mesh of one hemisphere of an atlas, decimated (cached in memory) or in full.

    Parameters
    ----------
    atlas : Atlas
        An atlas with a surface mesh.
    hemisphere : {"left", "right"}
    n_vertices : int or None
        Vertex budget (:func:`decimate_mesh`); None for the full mesh.

    Returns
    -------
    DecimatedMesh
    """
    mesh = atlas.mesh
    coords, faces = mesh.coordinates[hemisphere], mesh.faces[hemisphere]
    if n_vertices is None:
        return DecimatedMesh(np.asarray(coords, float), np.asarray(faces), np.arange(len(coords)))
    key = (mesh.name, hemisphere, len(coords), len(faces), int(n_vertices))
    if key not in _CACHE:
        _CACHE[key] = decimate_mesh(coords, faces, n_vertices)
    return _CACHE[key]


def surface_values(values: Any, atlas, data_source: str | None = None) -> tuple[np.ndarray, str]:
    """Check per-ROI values against an atlas; return them in atlas order and their source.

    ``values`` is a DataArray along ``roi`` (e.g. ``temporal_r(pred).mean("scan")``) carrying
    a ``data_source`` attribute (or pass ``data_source``: xarray reductions such as
    ``.mean("scan")`` drop attributes). Raises a ValueError naming the problem otherwise.
    """
    from ._style import data_source_of

    if not hasattr(values, "dims"):
        raise TypeError(
            "Pass the per-ROI values as an xarray.DataArray along 'roi' with a data_source "
            "attribute, e.g. unebolt_viz.metrics.temporal_r(pred).mean('scan')."
        )
    if tuple(values.dims) != ("roi",):
        raise ValueError(
            f"Surface maps show one value per ROI; got dims {tuple(values.dims)}. Reduce the "
            "other dimensions first, e.g. r.mean('scan') or r.sel(scan=...)."
        )
    names = [str(r) for r in values.roi.values]
    missing = sorted(set(atlas.roi) - set(names))
    extra = sorted(set(names) - set(atlas.roi))
    if missing or extra:
        raise ValueError(
            f"The values' ROIs do not match atlas {atlas.name!r} ({atlas.n_rois} ROIs): "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(extra)} unknown (e.g. "
            f"{extra[:2]}). Use the atlas the predictions were made with."
        )
    source = data_source_of(data_source or values)
    return values.sel(roi=list(atlas.roi)).values.astype(float), source


def _off_surface(atlas) -> list[str]:
    shown = set()
    for hemi in HEMISPHERES:
        labels = atlas.vertex_labels[hemi]
        shown.update(np.unique(labels[labels >= 0]).tolist())
    return [r for i, r in enumerate(atlas.roi) if i not in shown]


def triangle_values(atlas: Any, values: np.ndarray, hemi: str, mesh: DecimatedMesh
                    ) -> np.ndarray:
    """One value per triangle: that of its first vertex's ROI (NaN off the parcellation).

    Parameters
    ----------
    atlas : Atlas
        The parcellation of ``values``.
    values : ndarray, shape (n_rois,)
        Values in atlas order (see :func:`surface_values`).
    hemi : {"left", "right"}
    mesh : DecimatedMesh
        That hemisphere's mesh (see :func:`surface_mesh`).

    Returns
    -------
    ndarray, shape (n_triangles,)
    """
    vertex = atlas.project_to_surface(values)[hemi][mesh.source_vertex]
    return vertex[mesh.faces[:, 0]]


def surface_caption(atlas: Any, name: str, values_source: str) -> str:
    """Caption of a surface map: the value, the atlas, the provenance and the ROIs not shown.

    Parameters
    ----------
    atlas : Atlas
    name : str
        Name of the value, e.g. ``"temporal R"``.
    values_source : str
        The ``data_source`` of the values.

    Returns
    -------
    str
    """
    hidden = _off_surface(atlas)
    text = f"{name} per ROI, {atlas.name} atlas ({atlas.n_rois} ROIs); {provenance(values_source)}"
    if hidden:
        text += f"; {len(hidden)} ROIs off the cortex not shown"
    return text


def symmetric_limit(values: np.ndarray, vmax: float | None) -> float:
    """Colour limit of a diverging scale: ``vmax``, or the largest finite absolute value.

    Parameters
    ----------
    values : ndarray
    vmax : float or None

    Returns
    -------
    float
        1.0 when there is no finite non-zero value.
    """
    if vmax is not None:
        return float(vmax)
    finite = np.abs(values[np.isfinite(values)])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def view_axes(hemisphere: str, view: str) -> tuple[int, np.ndarray]:
    """Where the viewer of a panel stands, and the projection of the panel.

    Parameters
    ----------
    hemisphere : {"left", "right"}
    view : {"lateral", "medial"}

    Returns
    -------
    (sign, projection) : tuple
        Sign of the viewer's x position, and the screen (u, v) rows of the projection,
        shape (2, 3).
    """
    from_left = (hemisphere == "left") == (view == "lateral")
    sign = -1 if from_left else 1
    # Anterior points away from the hemisphere's midline side: left of the screen when the
    # viewer stands at -x, right when at +x.
    projection = np.array([[0.0, float(sign), 0.0], [0.0, 0.0, 1.0]])
    return sign, projection


# ----------------------------------------------------------------------------------------------
# matplotlib


def _draw_view(ax, mesh: DecimatedMesh, face_values: np.ndarray, hemisphere: str, view: str,
               cmap, norm) -> None:
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba

    sign, projection = view_axes(hemisphere, view)
    tri = mesh.coordinates[mesh.faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True) + 1e-12
    facing = normals[:, 0] * sign > 0  # towards a viewer standing at sign * infinity on x
    depth = -sign * tri[:, :, 0].mean(axis=1)
    keep = np.flatnonzero(facing)
    keep = keep[np.argsort(-depth[keep], kind="stable")]  # far triangles first
    light = np.array([sign * 0.8, 0.2, 0.55])
    shade = 0.45 + 0.55 * np.clip(normals[keep] @ (light / np.linalg.norm(light)), 0, 1)
    vals = face_values[keep]
    colors = np.tile(to_rgba(NO_ROI_COLOR), (len(keep), 1))
    finite = np.isfinite(vals)
    colors[finite] = cmap(norm(vals[finite]))
    colors[:, :3] *= shade[:, None]
    polys = tri[keep] @ projection.T
    ax.add_collection(PolyCollection(polys, facecolors=colors, edgecolors=colors,
                                     linewidths=0.15, antialiased=False))
    uv = mesh.coordinates @ projection.T
    ax.set_xlim(uv[:, 0].min(), uv[:, 0].max())
    ax.set_ylim(uv[:, 1].min(), uv[:, 1].max())
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{hemisphere} {view}", fontsize=9)


def plot_surface_r(
    values: Any,
    atlas,
    *,
    title: str | None = None,
    label: str = "temporal R",
    vmax: float | None = None,
    cmap: str = R_CMAP,
    n_vertices: int | None = STATIC_VERTICES,
    views: Sequence[tuple[str, str]] = VIEWS,
    data_source: str | None = None,
):
    """Static map of per-ROI values on both hemispheres, lateral and medial views.

    Parameters
    ----------
    values : xarray.DataArray
        One value per ROI along ``roi`` with a ``data_source`` attribute, e.g.
        ``unebolt_viz.metrics.temporal_r(pred).mean("scan")``.
    atlas : Atlas
        The parcellation of the values (with a surface mesh), e.g. ``load_atlas("embedded", 64)``.
    title : str, optional
        Figure title; the caption always states the atlas, the data's provenance and how many
        ROIs lie off the cortex.
    label : str
        Name of the value (colour-bar label).
    vmax : float, optional
        Colour limits ``[-vmax, vmax]`` (default: the largest absolute value).
    cmap : str
        Diverging colour map.
    n_vertices : int or None
        Vertices per hemisphere after decimation (``None``: the full mesh, slower).
    views : sequence of (hemisphere, view)
        Panels to draw.
    data_source : str, optional
        Provenance when ``values`` carries no ``data_source`` attribute.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    arr, source = surface_values(values, atlas, data_source)
    limit = symmetric_limit(arr, vmax)
    norm = Normalize(-limit, limit)
    colormap = plt.get_cmap(cmap)
    ncol = 2 if len(views) > 1 else 1
    nrow = int(np.ceil(len(views) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol + 0.8, 2.3 * nrow + 0.6),
                             layout="constrained", squeeze=False)
    for ax, (hemi, view) in zip(axes.flat, views):
        mesh = surface_mesh(atlas, hemi, n_vertices)
        _draw_view(ax, mesh, triangle_values(atlas, arr, hemi, mesh), hemi, view, colormap, norm)
    for ax in list(axes.flat)[len(views):]:
        ax.set_axis_off()
    mappable = plt.cm.ScalarMappable(norm=norm, cmap=colormap)
    fig.colorbar(mappable, ax=axes, shrink=0.7, label=label)
    fig.suptitle(title or f"{label[:1].upper() + label[1:]} on the cortex", fontsize=11)
    fig.text(0.5, 0.005, surface_caption(atlas, label, source), ha="center", va="bottom", fontsize=7)
    fig.get_layout_engine().set(h_pad=0.12)
    return fig
