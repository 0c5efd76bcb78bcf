"""Interactive (Plotly) map of per-ROI values on the cortex, for browsers and notebooks.

The 3-D twin of :func:`unebolt_viz.viz.plot_surface_r`: the same checks, decimated meshes,
per-triangle values and caption (helpers of :mod:`unebolt_viz.viz.surface`), in four rotatable
scenes. The FC explorer shows the static image instead, so that its page loads no 3-D library.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...viz._style import R_CMAP
from ...viz.surface import (
    NO_ROI_COLOR,
    VIEWS,
    surface_caption,
    surface_mesh,
    surface_values,
    symmetric_limit,
    triangle_values,
    view_axes,
)

__all__ = ["surface_r_figure", "INTERACTIVE_VERTICES"]

#: Default vertex budget per hemisphere of the interactive figure (keeps the page small).
INTERACTIVE_VERTICES = 2500

_CAMERA_DISTANCE = 0.85


def _rdbu_r_11() -> list[str]:
    """Eleven colours of matplotlib's RdBu_r, as hex (the same map as the static figure)."""
    import matplotlib
    from matplotlib.colors import to_hex

    cmap = matplotlib.colormaps[R_CMAP]
    return [to_hex(cmap(k / 10)) for k in range(11)]


def surface_r_figure(
    values: Any,
    atlas: Any,
    *,
    title: str | None = None,
    label: str = "temporal R",
    vmax: float | None = None,
    n_vertices: int | None = INTERACTIVE_VERTICES,
    height: int = 520,
    data_source: str | None = None,
) -> Any:
    """Interactive (Plotly) map of per-ROI values: both hemispheres, lateral and medial.

    Parameters
    ----------
    values : xarray.DataArray
        One value per ROI along ``roi`` with a ``data_source`` attribute, e.g.
        ``unebolt_viz.metrics.temporal_r(pred).mean("scan")``.
    atlas : Atlas
        The parcellation of the values (with a surface mesh).
    title : str, optional
        Figure title; the caption always states the atlas, the data's provenance and how many
        ROIs lie off the cortex.
    label : str
        Name of the value (colour-bar label).
    vmax : float, optional
        Colour limits ``[-vmax, vmax]`` (default: the largest absolute value).
    n_vertices : int or None
        Vertices per hemisphere after decimation; the default (:data:`INTERACTIVE_VERTICES`)
        keeps the page light.
    height : int
        Height in pixels.
    data_source : str, optional
        Provenance when ``values`` carries no ``data_source`` attribute.

    Returns
    -------
    plotly.graph_objects.Figure
        Four 3-D scenes; hovering a triangle shows its value. Arrays are float32 / int32 so
        that they serialise compactly.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    arr, source = surface_values(values, atlas, data_source)
    limit = symmetric_limit(arr, vmax)
    fig = make_subplots(
        rows=2, cols=2, specs=[[{"type": "scene"}] * 2] * 2,
        subplot_titles=[f"{h} {v}" for h, v in VIEWS],
        horizontal_spacing=0.0, vertical_spacing=0.06,
    )
    # Triangles off the parcellation get a value just below the scale, which the colour scale
    # paints grey: one trace per view instead of two keeps the page light.
    below = -limit * 1.02
    colorscale = [[0.0, NO_ROI_COLOR], [0.009, NO_ROI_COLOR]] + [
        [0.01 + 0.99 * k / 10, color] for k, color in enumerate(_rdbu_r_11())]
    for index, (hemi, view) in enumerate(VIEWS):
        mesh = surface_mesh(atlas, hemi, n_vertices)
        face_vals = triangle_values(atlas, arr, hemi, mesh)
        xyz = mesh.coordinates.astype(np.float32)
        faces = mesh.faces.astype(np.uint16 if len(xyz) < 2**16 else np.int32)
        row, col = divmod(index, 2)
        fig.add_trace(go.Mesh3d(
            x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], i=faces[:, 0], j=faces[:, 1], k=faces[:, 2],
            intensity=np.where(np.isfinite(face_vals), face_vals, below).astype(np.float32),
            intensitymode="cell", colorscale=colorscale, cmin=below, cmax=limit,
            showscale=index == 0, flatshading=False, showlegend=False, name=f"{hemi} {view}",
            lighting={"ambient": 0.55, "diffuse": 0.6, "specular": 0.05},
            colorbar={"title": {"text": label}, "len": 0.7, "thickness": 12},
            hovertemplate=f"{label} %{{intensity:.2f}}<extra></extra>",
        ), row=row + 1, col=col + 1)
        sign, _ = view_axes(hemi, view)
        scene = {
            "xaxis": {"visible": False}, "yaxis": {"visible": False},
            "zaxis": {"visible": False}, "aspectmode": "data",
            "camera": {"eye": {"x": sign * _CAMERA_DISTANCE, "y": 0.0, "z": 0.0},
                       "up": {"x": 0, "y": 0, "z": 1}, "projection": {"type": "orthographic"}},
        }
        fig.layout[f"scene{index + 1 if index else ''}"].update(scene)
    fig.update_layout(
        title={"text": f"{title or label[:1].upper() + label[1:] + ' on the cortex'}<br>"
                       f"<sup>{surface_caption(atlas, label, source)}</sup>", "font": {"size": 14}},
        height=height, margin={"l": 0, "r": 0, "t": 70, "b": 0}, paper_bgcolor="white",
    )
    return fig
