"""3-D views (plotly) and linked views (HoloViews) for notebooks.

plotly and HoloViews are imported only inside the functions. Every figure names the data's
provenance (simulated / semi-synthetic / real) in its title.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._style import network_color, provenance
from . import compute

__all__ = ["atlas_3d", "connectome_3d", "fc_tap_explorer", "surface_r_3d", "tap_to_rois"]


def atlas_3d(atlas: Any, network: str | None = None, height: int = 420):
    """The ROI centroids of an atlas in MNI space, coloured by network (plotly 3-D).

    Parameters
    ----------
    atlas : Atlas
        The parcellation.
    network : str, optional
        Highlight this network (others drawn small and grey); None or ``"All"`` for none.
    height : int
        Height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Scatter3d`` trace per network, named after it.
    """
    import plotly.graph_objects as go

    table = atlas.roi_table()
    fig = go.Figure()
    for name, rows in table.groupby("network", sort=False):
        chosen = network in (None, "All") or name == network
        fig.add_trace(go.Scatter3d(
            x=rows["x"], y=rows["y"], z=rows["z"], mode="markers", name=str(name),
            text=rows["roi"], hovertemplate="%{text}<extra></extra>",
            marker={"size": 6 if chosen else 3, "opacity": 0.95 if chosen else 0.25,
                    "color": network_color(str(name)) if chosen else "#bbbbbb"}))
    fig.update_layout(
        title=f"{atlas.name}-{atlas.n_rois}: ROI centroids (MNI, mm)", height=height,
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        scene={"xaxis_title": "x (L-R)", "yaxis_title": "y (P-A)", "zaxis_title": "z (I-S)",
               "aspectmode": "data"})
    return fig


def connectome_3d(fc: xr.DataArray, n_edges: int = 40, height: int = 460):
    """The strongest edges of an FC matrix between ROI centroids in MNI space (plotly 3-D).

    Parameters
    ----------
    fc : xarray.DataArray
        An ``fc`` container carrying ``x``, ``y``, ``z`` centroid coordinates.
    n_edges : int
        How many edges (largest ``|r|``) to draw; positive edges red, negative blue.
    height : int
        Height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Traces ``"positive edges"``, ``"negative edges"`` and one marker trace per network;
        ``fig.layout.meta`` holds the drawn edge table as records.
    """
    import plotly.graph_objects as go

    edges = compute.strongest_edges(fc, n_edges)
    fig = go.Figure()
    for label, sign, color in (("positive edges", 1, "#c0392b"), ("negative edges", -1, "#2e6da4")):
        part = edges[np.sign(edges["r"]) == sign]
        xs, ys, zs = (np.column_stack([part[a], part[b], np.full(len(part), np.nan)]).ravel()
                      for a, b in (("xa", "xb"), ("ya", "yb"), ("za", "zb")))
        fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", name=label,
                                   line={"color": color, "width": 4}, hoverinfo="skip"))
    networks = fc.network.values.astype(str)
    for name in dict.fromkeys(networks):
        keep = networks == name
        fig.add_trace(go.Scatter3d(
            x=fc.x.values[keep], y=fc.y.values[keep], z=fc.z.values[keep], mode="markers",
            name=name, text=fc.roi.values[keep].astype(str), hovertemplate="%{text}<extra></extra>",
            marker={"size": 3.5, "color": network_color(name)}))
    variable = {"true": "true", "pred": "predicted"}.get(fc.attrs.get("variable"), "")
    fig.update_layout(
        title=f"{len(edges)} strongest {variable} FC edges ({provenance(fc)})", height=height,
        margin={"l": 0, "r": 0, "t": 40, "b": 0}, meta=edges.drop(columns=["i", "j"]).to_dict("records"),
        scene={"xaxis_title": "x", "yaxis_title": "y", "zaxis_title": "z", "aspectmode": "data"})
    return fig


def surface_r_3d(values: xr.DataArray, atlas: Any, n_vertices: int = 4000, vmax: float | None = None,
                 label: str = "R", height: int = 460):
    """Per-ROI values painted on both cortical hemispheres in one rotatable 3-D scene (plotly).

    Parameters
    ----------
    values : xarray.DataArray
        One value per ROI along ``roi`` with a ``data_source`` attribute (e.g.
        ``temporal_r(pred).mean("scan")`` with the attribute set again).
    atlas : Atlas
        The parcellation of the values (with a surface mesh).
    n_vertices : int
        Vertices per hemisphere after decimation.
    vmax : float, optional
        Colour limits ``[-vmax, vmax]``.
    label : str
        Colour-bar title.
    height : int
        Height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Mesh3d`` per hemisphere (named ``left`` and ``right``); triangles where no ROI
        lies carry NaN and are left uncoloured.
    """
    import plotly.graph_objects as go

    from ..surface import (
        surface_caption,
        surface_mesh,
        surface_values,
        symmetric_limit,
        triangle_values,
    )

    arr, source = surface_values(values, atlas)
    limit = symmetric_limit(arr, vmax)
    fig = go.Figure()
    for hemi, shift in (("left", -8.0), ("right", 8.0)):
        mesh = surface_mesh(atlas, hemi, n_vertices)
        face = triangle_values(atlas, arr, hemi, mesh)
        xyz = mesh.coordinates.astype(np.float32)
        fig.add_trace(go.Mesh3d(
            x=xyz[:, 0] + shift, y=xyz[:, 1], z=xyz[:, 2], i=mesh.faces[:, 0],
            j=mesh.faces[:, 1], k=mesh.faces[:, 2], name=hemi,
            intensity=np.where(np.isfinite(face), face, np.nan).astype(np.float32),
            intensitymode="cell", colorscale="RdBu_r", cmin=-limit, cmax=limit,
            showscale=hemi == "left", colorbar={"title": {"text": label}},
            hovertemplate=f"{label} %{{intensity:.2f}}<extra>{hemi}</extra>"))
    fig.update_layout(
        title={"text": f"{label} on the cortex<br><sup>{surface_caption(atlas, label, source)}"
                       "</sup>"}, height=height, margin={"l": 0, "r": 0, "t": 60, "b": 0},
        scene={"xaxis": {"visible": False}, "yaxis": {"visible": False},
               "zaxis": {"visible": False}, "aspectmode": "data"})
    return fig


def tap_to_rois(drawn_order: xr.DataArray, x: float | None, y: float | None) -> tuple[int, int]:
    """The two ROIs (indices in the FC's order) under a tap at drawn position ``(x, y)``.

    The heatmap draws position ``k`` (of :func:`unebolt_viz.viz.fc_order`) over ``[k, k + 1)``
    on both axes; a tap outside the matrix is clipped to the nearest cell.
    """
    n = drawn_order.sizes["position"]
    col = int(np.clip(np.floor(0.0 if x is None else x), 0, n - 1))
    row = int(np.clip(np.floor(0.0 if y is None else y), 0, n - 1))
    idx = np.asarray(drawn_order.values)
    return int(idx[row]), int(idx[col])


def fc_tap_explorer(pred: xr.Dataset, scan: str, start: tuple[int, int] | None = None):
    """True FC heatmap (HoloViews) whose tap selects two ROIs: their true and predicted series.

    Parameters
    ----------
    pred : xarray.Dataset
        Predictions with ``true`` and ``pred``.
    scan : str
        The scan shown.
    start : (float, float), optional
        Tap coordinates selected before any tap (default: the first off-diagonal cell of the
        top row).

    Returns
    -------
    (layout, tap, traces) : tuple
        The HoloViews layout (heatmap + DynamicMap of time series), its ``streams.Tap`` and a
        function ``traces(x, y)`` returning the :func:`compute.roi_pair_traces` dict the
        DynamicMap draws for a tap at ``(x, y)``. ``tap.event(x=..., y=...)`` selects a pair.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (registers the options used below)
    from holoviews import streams

    from ..fc import check_fc, fc_order, ordered_matrix

    fc = check_fc(pred.unebolt.fc(var="true", scan=scan))
    drawn = fc_order(fc)
    n = drawn.sizes["position"]
    source = provenance(pred)
    image = hv.Image(ordered_matrix(fc, drawn), bounds=(0, 0, n, n),
                     kdims=["column", "row"], vdims=["r"])
    image = image.opts(cmap="RdBu_r", clim=(-1, 1), colorbar=True, width=380, height=340,
                       tools=["tap", "hover"],
                       title=f"True FC, {scan} ({source}): tap a cell")
    x0, y0 = start or (1.5, n - 0.5)
    tap = streams.Tap(source=image, x=x0, y=y0)

    def traces(x: float | None, y: float | None) -> dict:
        # An Image's first array row is drawn at the top: drawn position k spans y in [n-k-1, n-k).
        a, b = tap_to_rois(drawn, x, None if y is None else n - y)
        return compute.roi_pair_traces(pred, scan, a, b)

    def curves(x: float | None, y: float | None):
        r = traces(x, y)
        overlay = hv.Overlay([
            hv.Curve((r["time"], r[f"{kind}_{roi}"]), "time (s)", "target",
                     label=f"{kind} {r[f'name_{roi}']}").opts(color=color, line_dash=dash)
            for roi, color in (("a", "#1f77b4"), ("b", "#d62728"))
            for kind, dash in (("true", "solid"), ("pred", "dashed"))])
        return overlay.opts(width=520, height=340, legend_position="bottom_left",
                            title=f"r true {r['r_true']:+.2f}, r predicted {r['r_pred']:+.2f}")

    return image + hv.DynamicMap(curves, streams=[tap]), tap, traces
