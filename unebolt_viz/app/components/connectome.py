"""The strongest edges of the true and predicted FC on a glass brain (nilearn, server-rendered).

The image is drawn by :func:`nilearn.plotting.plot_connectome` from the ROI centroids carried by
the FC containers (``x``, ``y``, ``z`` in MNI mm, from the atlas) and sent to the browser as a
PNG, so the page loads no 3-D library. The edges drawn are those
:func:`unebolt_viz.metrics.edge_mask` keeps at the explorer's density (the same slider as the
matrices).
"""

from __future__ import annotations

import io

import numpy as np
import xarray as xr

from ...viz._style import network_color, provenance
from .labels import FC_COLORBAR_TITLE

__all__ = ["connectome_png", "MAX_EDGES_DRAWN"]

#: At most this many edges are drawn per brain (the strongest kept ones), to stay readable.
MAX_EDGES_DRAWN = 400


def _kept_edges(fc: xr.DataArray, density: float, max_edges: int) -> tuple[np.ndarray, int]:
    """The FC with only the edges kept at ``density`` (the strongest ``max_edges`` of them)."""
    from ...metrics import edge_mask

    values = np.asarray(fc.values, dtype=float)
    mask = np.asarray(edge_mask(values, density), dtype=bool)
    np.fill_diagonal(mask, False)
    upper = np.triu(mask, 1)
    n_kept = int(upper.sum())
    if n_kept > max_edges:
        strengths = np.abs(values[upper])
        cut = np.sort(strengths)[-max_edges]
        upper &= np.abs(values) >= cut
    shown = np.where(upper | upper.T, values, 0.0)
    return shown, n_kept


def connectome_png(fc_true: xr.DataArray, fc_pred: xr.DataArray | None, density: float, *,
                   scan: str = "", max_edges: int = MAX_EDGES_DRAWN, dpi: int = 90) -> bytes:
    """Glass brains of the strongest edges of the true (and predicted) FC, as a PNG.

    Parameters
    ----------
    fc_true, fc_pred : xarray.DataArray
        ``fc`` containers with ROI centroids (``x``, ``y``, ``z`` coordinates, MNI mm);
        ``fc_pred`` may be None (true data only).
    density : float
        Fraction of edges kept (top |r|), as in :func:`unebolt_viz.metrics.edge_mask`.
    scan : str
        Named in the titles.
    max_edges : int
        Edges drawn per brain at most (the strongest of those kept).
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    bytes
        The PNG.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from nilearn import plotting

    for fc in (fc_true, fc_pred):
        if fc is not None and not {"x", "y", "z"} <= set(fc.coords):
            raise ValueError("The FC has no ROI centroids (x, y, z coordinates): the connectome "
                             "view needs the atlas's ROI coordinates.")
    coords = np.column_stack([fc_true[c].values.astype(float) for c in ("x", "y", "z")])
    colors = [network_color(str(n)) for n in fc_true.network.values]
    panels = [("True", fc_true)] + ([("Predicted", fc_pred)] if fc_pred is not None else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, 2.7 * len(panels)), squeeze=False)
    try:
        for ax, (name, fc) in zip(axes[:, 0], panels):
            shown, n_kept = _kept_edges(fc, density, max_edges)
            drawn = int(np.count_nonzero(np.triu(shown, 1)))
            plotting.plot_connectome(
                shown, coords, node_color=colors, node_size=12, axes=ax, display_mode="lzr",
                edge_cmap="RdBu_r", edge_vmin=-1.0, edge_vmax=1.0, colorbar=name == "True",
                edge_kwargs={"linewidth": 0.8}, annotate=False,
                title=f"{name}: strongest {drawn} of {n_kept} kept edges")
        fig.suptitle(f"{scan}, density {density:.2f} ({provenance(fc_true)}); edge colour: "
                     f"{FC_COLORBAR_TITLE}; nodes coloured by network", fontsize=9)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buffer.getvalue()


