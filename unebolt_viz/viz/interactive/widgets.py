"""ipywidgets explorers for the tutorials: a control, a pure computation, a summary and a figure.

Each explorer is an ``ipywidgets.VBox`` whose first children are its controls, then an HTML
summary line, then an output area with the figure. On every change of a control it calls a
function of :mod:`unebolt_viz.viz.interactive.compute` and stores what it returned in
``box.result`` (a dict), so a test can set ``box.children[0].value`` and read the new numbers.
Outside a Jupyter kernel the figure is built but not displayed. ipywidgets, matplotlib and
plotly are imported only when an explorer is built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from . import compute

__all__ = [
    "atlas_explorer",
    "coupling_explorer",
    "density_explorer",
    "explorer",
    "hrf_delay_explorer",
    "loss_explorer",
    "model_comparison_explorer",
    "network_trace_explorer",
]


def _in_kernel() -> bool:
    """Whether an IPython shell is running (figures are then displayed)."""
    from IPython import get_ipython

    return get_ipython() is not None


def _show(figure: Any) -> None:
    """Display a figure in a kernel; close matplotlib figures either way."""
    from IPython.display import display

    if figure is None:
        return
    if _in_kernel():
        display(figure)
    if hasattr(figure, "savefig"):
        import matplotlib.pyplot as plt

        plt.close(figure)


def explorer(controls: Mapping[str, Any], compute_fn: Callable[..., dict],
             summary: Callable[[dict], str], draw: Callable[[dict], Any] | None = None):
    """Wire controls to a computation, a one-line summary and a figure.

    Parameters
    ----------
    controls : mapping of str to ipywidgets widget
        Keyword name of ``compute_fn`` -> the control giving its value.
    compute_fn : callable
        Called as ``compute_fn(**values)``; returns a dict (stored as ``box.result``).
    summary : callable
        The dict -> an HTML line shown under the controls (``box.summary``).
    draw : callable, optional
        The dict -> a matplotlib or plotly figure shown below.

    Returns
    -------
    ipywidgets.VBox
        Children: the controls, the summary, the output area. ``box.refresh()`` recomputes.
    """
    import ipywidgets as widgets

    status = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([*controls.values(), status, out])
    box.result = {}
    box.summary = status

    def update(_change: Any = None) -> None:
        result = compute_fn(**{name: w.value for name, w in controls.items()})
        box.result = result
        status.value = summary(result)
        if draw is None:
            return
        figure = draw(result)
        if _in_kernel():
            out.clear_output(wait=True)
            with out:
                _show(figure)
        else:
            _show(figure)

    for control in controls.values():
        control.observe(update, names="value")
    box.refresh = update
    update()
    return box


# ----------------------------------------------------------------------------------------------
# tutorial 01: atlases


def atlas_explorer(atlases: Mapping[int, Any], network: str = "All"):
    """Choose an atlas size and a network; see its ROIs' centroids in MNI space (plotly 3-D).

    Parameters
    ----------
    atlases : mapping of int to Atlas
        Atlases by ROI count, e.g. ``{n: uv.load_atlas("embedded", n) for n in (64, 128, 256)}``.
    network : str
        Network shown first (``"All"`` for every ROI).

    Returns
    -------
    ipywidgets.VBox
        Controls ``n_rois`` and ``network``; ``box.result`` is :func:`compute.atlas_selection`.
    """
    import ipywidgets as widgets

    from ...networks import NETWORK_NAMES
    from .figures import atlas_3d

    sizes = list(atlases)
    controls = {
        "n_rois": widgets.Dropdown(options=sizes, value=sizes[0], description="ROIs"),
        "network": widgets.Dropdown(options=["All", *NETWORK_NAMES], value=network,
                                    description="network"),
    }

    def run(n_rois: int, network: str) -> dict:
        result = compute.atlas_selection(atlases[n_rois], network)
        return {**result, "atlas": atlases[n_rois]}

    return explorer(controls, run,
                    lambda r: f"<b>{r['n_rois']}</b> of {r['n_total']} ROIs in <b>{r['network']}</b>"
                              f" (by hemisphere: {r['hemispheres']})",
                    lambda r: atlas_3d(r["atlas"], r["network"]))


# ----------------------------------------------------------------------------------------------
# tutorial 02: coupling and the HRF


def coupling_explorer(strengths: Sequence[float] = (0.0, 0.5, 1.0, 2.0), preset: str = "tiny",
                      seed: int = 0, value: float = 1.0, **size: int):
    """A coupling-strength slider: ridge R on an unseen simulated subject against the ceiling.

    Each strength simulates the cohort anew (cached), fits ridge on all subjects but one and
    tests on the last (:func:`compute.coupling_predictability`; ``size`` passes its
    ``n_subjects`` and ``n_volumes``).

    Returns
    -------
    ipywidgets.VBox
        Control ``strength``; ``box.result`` holds ``mean_r``, ``mean_ceiling``, ``roi_r``...
    """
    import ipywidgets as widgets

    controls = {"strength": widgets.SelectionSlider(
        options=[float(s) for s in strengths], value=float(value),
        description="coupling x", continuous_update=False)}

    def run(strength: float) -> dict:
        return compute.coupling_predictability(strength, preset, seed, **size)

    def draw(result: dict):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.6, 3.4), layout="constrained")
        ax.scatter(result["ceiling"].values, result["roi_r"].values, s=14, alpha=0.7)
        ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=0.8, label="R = noise ceiling")
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_xlim(0, 1), ax.set_ylim(-0.6, 1)
        ax.set_xlabel("noise ceiling of the ROI"), ax.set_ylabel("ridge R, unseen subject")
        ax.set_title(f"coupling x{result['strength']:g} (simulated, {preset})", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
        return fig

    return explorer(controls, run,
                    lambda r: f"mean ROI R <b>{r['mean_r']:.3f}</b>, mean noise ceiling "
                              f"{r['mean_ceiling']:.3f} (simulated)", draw)


def hrf_delay_explorer(ds: xr.Dataset, channels: Sequence[str] = ("O1", "OZ", "O2"),
                       bands: Mapping[str, tuple[float, float]] | None = None,
                       network: str = "Visual"):
    """HRF delay and EEG band sliders: r of HRF-convolved band power with a network's BOLD.

    Parameters
    ----------
    ds : xarray.Dataset
        ``cohort.scan_data(scan)`` of a simulated or semi-synthetic cohort.
    channels : sequence of str
        EEG channels whose band power is used.
    bands : mapping, optional
        Band name -> (low, high) Hz; default delta to beta.
    network : str
        Network whose mean BOLD target is correlated.

    Returns
    -------
    ipywidgets.VBox
        Controls ``delay`` (s), ``band`` and ``network``; ``box.result["r"]``.
    """
    import ipywidgets as widgets

    from ...networks import NETWORK_NAMES

    bands = dict(bands or {"delta": (1.0, 4.0), "theta": (4.0, 8.0), "alpha": (8.0, 12.0),
                           "beta": (13.0, 30.0)})
    present = [n for n in NETWORK_NAMES if n in set(map(str, ds["network"].values))]
    tr, cache = float(ds.attrs["tr"]), {}
    controls = {
        "delay": widgets.FloatSlider(value=0.0, min=-3.0, max=6.0, step=0.5,
                                     description="HRF delay (s)", continuous_update=False),
        "band": widgets.Dropdown(options=list(bands), value="alpha" if "alpha" in bands
                                 else next(iter(bands)), description="EEG band"),
        "network": widgets.Dropdown(options=present, value=network, description="BOLD of"),
    }

    def run(delay: float, band: str, network: str) -> dict:
        if band not in cache:
            cache[band] = compute.band_power_per_tr(ds, bands[band], channels)
        power, volumes = cache[band]
        bold = ds["targets"].values[volumes][:, ds["network"].values == network].mean(1)
        return {"r": compute.hrf_delay_r(power, bold, tr, delay), "delay": float(delay),
                "band": band, "network": network}

    return explorer(controls, run,
                    lambda r: f"r(HRF * log {r['band']} power, {r['network']} BOLD) = "
                              f"<b>{r['r']:+.3f}</b> at HRF delay {r['delay']:+.1f} s "
                              f"({ds.attrs.get('data_source', 'simulated')})")


# ----------------------------------------------------------------------------------------------
# tutorial 03: the loss


def loss_explorer(cases: Mapping[str, Any], true: Any, alpha: float = 0.8, beta: float = 0.1):
    """Sliders for the loss weights alpha (MSE) and beta (temporal r); the loss of each case.

    Returns
    -------
    ipywidgets.VBox
        Controls ``alpha`` and ``beta``; ``box.result["table"]`` is :func:`compute.loss_table`
        (beta is clipped so that alpha + beta <= 1; ``box.result["beta"]`` is the value used).
    """
    import ipywidgets as widgets

    controls = {
        "alpha": widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05,
                                     description="alpha (MSE)", continuous_update=False),
        "beta": widgets.FloatSlider(value=beta, min=0.0, max=1.0, step=0.05,
                                    description="beta (tcorr)", continuous_update=False),
    }

    def run(alpha: float, beta: float) -> dict:
        beta = min(beta, 1.0 - alpha)
        table = compute.loss_table(cases, true, alpha, beta)
        return {"table": table, "alpha": alpha, "beta": beta,
                "worst": str(table["L_MO"].idxmax()), "best": str(table["L_MO"].idxmin())}

    def summary(r: dict) -> str:
        rows = "".join(f"<tr><td>{k}</td><td>{v:.3f}</td></tr>"
                       for k, v in r["table"]["L_MO"].items())
        return (f"alpha {r['alpha']:.2f}, beta {r['beta']:.2f}, scorr weight "
                f"{1 - r['alpha'] - r['beta']:.2f}: worst case <b>{r['worst']}</b>"
                f"<table>{rows}</table>")

    return explorer(controls, run, summary)


# ----------------------------------------------------------------------------------------------
# tutorials 04 and 06: models, scans and networks


def network_trace_explorer(preds: Mapping[str, xr.Dataset], network: str = "Visual"):
    """Choose a model, a scan and a network: true vs predicted network signal and its r.

    Parameters
    ----------
    preds : mapping of str to xarray.Dataset
        Predictions by model label (same scans not required).
    network : str
        Network shown first.

    Returns
    -------
    ipywidgets.VBox
        Controls ``model``, ``scan``, ``network``; ``box.result`` is
        :func:`compute.network_trace` plus the choices.
    """
    import ipywidgets as widgets

    from ...networks import NETWORK_NAMES

    labels = list(preds)
    first = preds[labels[0]]
    scans = list(dict.fromkeys(map(str, first.scan.values)))
    nets = [n for n in NETWORK_NAMES if n in set(map(str, first.network.values))]
    controls = {
        "model": widgets.Dropdown(options=labels, value=labels[0], description="model"),
        "scan": widgets.Dropdown(options=scans, value=scans[0], description="scan"),
        "network": widgets.Dropdown(options=nets, value=network if network in nets else nets[0],
                                    description="network"),
    }

    def on_model(change: Any) -> None:
        options = list(dict.fromkeys(map(str, preds[change["new"]].scan.values)))
        if list(controls["scan"].options) != options:
            controls["scan"].options = options  # ipywidgets then selects the first scan

    controls["model"].observe(on_model, names="value")

    def run(model: str, scan: str, network: str) -> dict:
        pred = preds[model]
        if scan not in set(map(str, pred.scan.values)):
            scan = str(pred.scan.values[0])
        return {**compute.network_trace(pred, scan, network), "model": model, "scan": scan,
                "network": network, "data_source": pred.attrs.get("data_source", "unknown")}

    def draw(r: dict):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 2.4), layout="constrained")
        for key, style in (("true", {"color": "k", "lw": 1.0}), ("pred", {"color": "C3"})):
            y = r[key]
            ax.plot(r["time"], (y - y.mean()) / (y.std() + 1e-12), label=key, **style)
        ax.set_xlabel("time (s)"), ax.set_ylabel("z-scored mean")
        ax.set_title(f"{r['network']}, {r['scan']}: {r['model']} ({r['data_source']}), "
                     f"r = {r['r']:.2f}", fontsize=9)
        ax.legend(fontsize=7, loc="upper right")
        return fig

    return explorer(controls, run,
                    lambda r: f"{r['model']}, {r['scan']}, {r['network']} ({r['n_rois']} ROIs): "
                              f"network r = <b>{r['r']:.3f}</b> ({r['data_source']})", draw)


def model_comparison_explorer(evaluated: Mapping[str, xr.Dataset],
                              metrics: Sequence[str] = ("tcorr", "pixcorr", "conn_mse")):
    """Two models and a metric: per-scan values side by side and the mean difference.

    Parameters
    ----------
    evaluated : mapping of str to xarray.Dataset
        :func:`unebolt_viz.metrics.evaluate` per model label.
    metrics : sequence of str
        Metrics offered (those present in the Datasets).

    Returns
    -------
    ipywidgets.VBox
        Controls ``model_a``, ``model_b``, ``metric``; ``box.result`` is
        :func:`compute.metric_comparison`.
    """
    import ipywidgets as widgets

    labels = list(evaluated)
    offered = [m for m in metrics if m in evaluated[labels[0]]]
    controls = {
        "model_a": widgets.Dropdown(options=labels, value=labels[0], description="model A"),
        "model_b": widgets.Dropdown(options=labels, value=labels[min(1, len(labels) - 1)],
                                    description="model B"),
        "metric": widgets.Dropdown(options=offered, value=offered[0], description="metric"),
    }

    def draw(r: dict):
        import matplotlib.pyplot as plt

        table = r["table"]
        fig, ax = plt.subplots(figsize=(5.5, 2.8), layout="constrained")
        x = np.arange(len(table))
        for k, col in enumerate(table.columns[:2]):
            ax.bar(x + (k - 0.5) * 0.38, table[col].values, width=0.38, label=col)
        ax.set_xticks(x, [str(s) for s in table.index], fontsize=7, rotation=20)
        ax.set_ylabel(r["metric"]), ax.legend(fontsize=7)
        ax.set_title(f"{r['metric']} per scan (simulated)", fontsize=9)
        return fig

    return explorer(controls, lambda **kw: compute.metric_comparison(evaluated, **kw),
                    lambda r: f"mean {r['metric']}: A {r['mean_a']:.3f}, B {r['mean_b']:.3f}, "
                              f"A - B = <b>{r['difference']:+.3f}</b>", draw)


# ----------------------------------------------------------------------------------------------
# tutorial 05: density


def density_explorer(fc_true: xr.DataArray, fc_pred: xr.DataArray, value: float = 0.25,
                     n_edges_3d: int = 0):
    """A density slider: the thresholded true and predicted FC, F1 against chance.

    Parameters
    ----------
    fc_true, fc_pred : xarray.DataArray
        ``fc`` containers over the same ROIs.
    value : float
        Initial density.
    n_edges_3d : int
        When positive, the figure is instead a plotly 3-D connectome of the kept predicted
        edges (at most this many).

    Returns
    -------
    ipywidgets.VBox
        Control ``density``; ``box.result`` is :func:`compute.density_agreement`.
    """
    import ipywidgets as widgets

    from ..fc import plot_fc_comparison
    from .figures import connectome_3d

    controls = {"density": widgets.FloatSlider(value=value, min=0.05, max=1.0, step=0.05,
                                               description="density", continuous_update=False)}

    def draw(r: dict):
        if n_edges_3d > 0:
            return connectome_3d(fc_pred, n_edges=min(n_edges_3d, r["n_edges"]))
        return plot_fc_comparison(fc_true, fc_pred, densities=(r["density"],),
                                  masks=[(r["mask_true"], r["mask_pred"])], panel_size=2.4)

    return explorer(controls, lambda density: compute.density_agreement(fc_true, fc_pred, density),
                    lambda r: f"density {r['density']:.2f}: {r['n_edges']} edges per graph, "
                              f"F1 <b>{r['f1']:.3f}</b> vs chance {r['chance']:.2f}; "
                              f"{100 * r['negative_pred']:.0f} % of the kept predicted edges "
                              "are negative", draw)
