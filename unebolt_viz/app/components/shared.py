"""What every session of one server shares: loaded sources, server-rendered images, sessions.

Loading a source (reading the file, computing its metrics on the density grid) and drawing a
static image (the cortex map, the glass-brain connectome) are done once per process and cached
with ``pn.cache``; sessions only build their own Bokeh models. :func:`release_on_close` lets a
session drop its objects when its browser tab closes, so memory returns near its starting
level.
"""

from __future__ import annotations

import io
import weakref
from typing import Any

import panel as pn

from ...viz import plot_surface_r
from ..sources import Results, available_sources, load_results

__all__ = ["cached_results", "results_for", "surface_png", "connectome_image",
           "offered_sources", "release_on_close", "open_sessions"]

#: Sessions alive in this process (weak references: a closed session may be collected).
_SESSIONS: weakref.WeakSet = weakref.WeakSet()


@pn.cache(max_items=16, policy="LRU")
def cached_results(key: str, n_rois: int, model: str | None, data_dir: str) -> Results:
    """:func:`~unebolt_viz.app.sources.load_results`, shared by every session of the server."""
    return load_results(key, n_rois=n_rois, model=model, data_dir=data_dir)


def results_for(key: str, n_rois: int, model: str | None, data_dir: str) -> Results:
    """The cached results of a source; the level matters for the embedded one only, the model
    for the embedded and the real ones (whose models are the semi-synthetic shipped ones)."""
    embedded = key == "embedded"
    with_model = embedded or key == "real"
    return cached_results(key, n_rois if embedded else 0, model if with_model else None, data_dir)


@pn.cache(max_items=8, policy="LRU", ttl=10)
def offered_sources(data_dir: str) -> dict[str, str]:
    """:func:`~unebolt_viz.app.sources.available_sources`, re-read at most every 10 s."""
    return available_sources(data_dir)


@pn.cache(max_items=64, policy="LRU")
def surface_png(key: str, n_rois: int, model: str | None, data_dir: str,
                scan: str | None) -> bytes:
    """The per-ROI R map of one scan (or the mean over scans) as a PNG, shared by sessions.

    A static image (the matplotlib figure of :func:`unebolt_viz.viz.plot_surface_r`) keeps the
    page light: no 3-D library and no mesh are sent to the browser.
    """
    import matplotlib.pyplot as plt

    res = results_for(key, n_rois, model, data_dir)
    r = res.metrics["temporal_r"]
    if scan is not None:
        values, label = r.sel(scan=scan), f"temporal R, {scan}"
    else:
        values, label = r.mean("scan"), f"temporal R, mean of {r.sizes['scan']} scans"
    values = values.drop_vars([c for c in ("roi_network", "subject", "scan")
                               if c in values.coords])
    fig = plot_surface_r(values, res.atlas, label=label, data_source=res.data_source,
                         vmax=1.0, n_vertices=8000,
                         title=f"Temporal R of {res.model} on the cortex")
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    return buffer.getvalue()


@pn.cache(max_items=64, policy="LRU")
def connectome_image(key: str, n_rois: int, model: str | None, data_dir: str, scan: str,
                     density: float) -> bytes:
    """The glass-brain connectome of one scan at one density, as a PNG shared by sessions."""
    from .connectome import connectome_png

    res = results_for(key, n_rois, model, data_dir)
    fc_true, fc_pred = res.fc(scan)
    return connectome_png(fc_true, fc_pred, density, scan=scan)


def release_on_close(session: Any) -> None:
    """Register ``session.release()`` to run when the browser tab of the session closes."""
    _SESSIONS.add(session)
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return
    ref = weakref.ref(session)

    def _destroyed(context: Any) -> None:
        obj = ref()
        if obj is not None:
            obj.release()
        _return_memory()

    pn.state.on_session_destroyed(_destroyed)


def _return_memory() -> None:
    """Collect the closed session's cycles and hand freed heap pages back to the system.

    Without ``malloc_trim`` glibc keeps the freed arenas of closed sessions, and the server's
    resident memory stays at its peak.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc: nothing to trim
            pass


def open_sessions() -> int:
    """How many explorer sessions this process holds (closed ones drop out once collected)."""
    return len(_SESSIONS)
