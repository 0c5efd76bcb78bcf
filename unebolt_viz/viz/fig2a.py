"""Fig. 2a: the unified model against ROI-specific models, ROI by ROI, with significance stars.

Bars are the mean temporal r over test scans, error bars the sample SD, and the stars those of
the paired t-test across test scans between the two models (``*`` p < 0.05, ``**`` p < 0.01,
``***`` p < 0.001), as in the UnEBOLT paper. The numbers come from
:func:`unebolt_viz.training.roi_specific.fig2a_ttests`; nothing is computed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._style import titled

__all__ = ["plot_roi_specific_comparison", "UNIFIED_COLOR", "ROI_SPECIFIC_COLOR"]

UNIFIED_COLOR = "#c0392b"
ROI_SPECIFIC_COLOR = "#7f8c8d"
_COLUMNS = ("unified_mean", "unified_sd", "roi_specific_mean", "roi_specific_sd", "stars")


def plot_roi_specific_comparison(ttests: pd.DataFrame, *, unified_label: str = "UnEBOLT (unified)",
                                 specific_label: str = "NeuroBOLT (ROI-specific)",
                                 title: str | None = None, ax=None):
    """Grouped bars per ROI: unified vs ROI-specific mean temporal r, SD bars, stars (Fig. 2a).

    Parameters
    ----------
    ttests : pandas.DataFrame
        Index: the ROIs' short labels; columns ``unified_mean``, ``unified_sd``,
        ``roi_specific_mean``, ``roi_specific_sd``, ``stars`` (from ``fig2a_ttests``);
        ``ttests.attrs["data_source"]`` goes into the title.
    unified_label, specific_label : str
        Legend entries.
    title : str, optional
        Title (the provenance is appended).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    missing = [c for c in _COLUMNS if c not in ttests.columns]
    if missing:
        raise ValueError(f"The t-test table lacks {missing}; pass the table of "
                         "unebolt_viz.training.roi_specific.fig2a_ttests.")
    if ax is None:
        _, ax = plt.subplots(figsize=(1.1 * len(ttests) + 2.0, 3.8), layout="constrained")
    x = np.arange(len(ttests))
    width = 0.38
    bars = []
    for offset, prefix, color, label in ((-width / 2, "unified", UNIFIED_COLOR, unified_label),
                                         (width / 2, "roi_specific", ROI_SPECIFIC_COLOR,
                                          specific_label)):
        bars.append(ax.bar(x + offset, ttests[f"{prefix}_mean"].to_numpy(float), width,
                           yerr=ttests[f"{prefix}_sd"].to_numpy(float), capsize=3, color=color,
                           label=label, error_kw={"lw": 0.8}))
    tops = np.nanmax(np.stack([ttests[f"{p}_mean"].to_numpy(float)
                               + np.nan_to_num(ttests[f"{p}_sd"].to_numpy(float))
                               for p in ("unified", "roi_specific")]), axis=0)
    span = max(float(np.nanmax(np.abs(tops))), 0.1)
    for xi, top, stars in zip(x, tops, ttests["stars"]):
        ax.text(xi, top + 0.04 * span, str(stars), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [str(i) for i in ttests.index])
    ax.set_ylabel("temporal r (mean \u00b1 SD, test scans)", fontsize=8)
    ax.axhline(0, color="#444444", lw=0.6)
    ax.set_ylim(top=float(np.nanmax(tops)) + 0.2 * span)
    ax.legend(fontsize=8, frameon=False, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    source = str(ttests.attrs.get("data_source", "unknown"))
    ax.set_title(titled(title or "Unified vs ROI-specific models (paired t-test across scans)",
                        source), fontsize=9)
    ax.figure.fig2a_bars = bars
    return ax.figure

