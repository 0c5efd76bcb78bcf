"""Temporal and functional-connectivity metrics of predicted BOLD, and their statistics.

Every function takes the package's xarray containers (a predictions Dataset with ``true`` and
``pred`` on ``(time, roi)``, possibly holding several scans along ``time``) and returns labelled
xarray objects. Only numpy, scipy, pandas and xarray are used: no PyTorch.

Definitions (UnEBOLT paper, section 3.2, and the NeuroBOLT protocol)
--------------------------------------------------------------------
Temporal R (``temporal_r``, "Tcorr")
    Pearson r between the true and predicted time series of one ROI over one whole scan.
    The Tcorr of a scan is the mean of its ROIs' r.
Network R (``network_r``, Fig. 3)
    Pearson r between the true and predicted *network signals* of a scan, a network signal
    being the mean over the network's ROIs at each time point.
FC (``fc_per_scan``)
    Pearson correlation between the ROI time series of one scan (true or predicted), the
    diagonal set to 1.
Upper triangle (``upper_triangle``)
    The strict upper triangle (diagonal excluded), read row by row
    (``numpy.triu_indices(n, k=1)``): ``n (n - 1) / 2`` edges.
Pixcorr (``pixcorr``)
    Pearson r between the upper-triangle vectors of the true and predicted FC.
ConnMSE (``conn_mse``)
    Mean of the squared differences between the two upper-triangle vectors.
F1-q (``f1_at_density``)
    Each matrix keeps its top ``q`` fraction of edges ranked by ``|r|`` (the strongest
    connections whatever their sign); ``F1 = 2 TP / (2 TP + FP + FN)`` between the two kept edge
    sets, with TP the edges kept in both, FP those kept only in the predicted matrix and FN
    those kept only in the true one. The number of kept edges is
    ``k = floor(q * n_edges + 0.5)`` (``q * n_edges`` rounded half up), at least 1. Ties in
    ``|r|`` are broken by edge order: among equal values the edge that comes first in the
    row-major upper triangle is kept (a stable sort), so the result is deterministic.

ROI identity: two labelled FC matrices are compared ROI by ROI *by name* (the second is put in
the first's order, and different ROI sets are refused), never by position; plain arrays are
compared by position. A scan label must name one contiguous block of time points of one
subject: two scans with the same name are refused rather than merged.

Degenerate series: a constant (zero-variance) series carries no linear information; its
Pearson r with anything is taken as 0 rather than NaN (the same convention as
:func:`unebolt_viz.data.accessor.pearson_fc`), so that a flat prediction scores 0 instead of
breaking the tables.

Scan summaries follow the paper's tables: ``Mean(std)`` across scans with the sample standard
deviation (``ddof=1``). Paired tests across scans are Student's paired t-tests
(:func:`scipy.stats.ttest_rel`).

Reference points (:mod:`unebolt_viz.metrics.reference`): the training-set mean, a
time-shuffled prediction and, labelled as oracles, the true global signal in every ROI
and the simulator's noise ceiling, scored like the models to put their numbers in context.

Volumes (:mod:`unebolt_viz.metrics.volumetric`, :mod:`unebolt_viz.metrics.bridge`): SSIM and
PSNR of predicted fMRI volumes as E2fNet and Spec2VolCAMU-Net define them (PyTorch only inside
the loss functions, imported when called), and the bridge that averages predicted volumes
within atlas regions into a predictions Dataset, so volumetric models get the metrics above.
"""

from __future__ import annotations

from .bridge import model_output_to_volumes, roi_series, roi_series_nilearn, volume_predictions
from .connectivity import (
    DEFAULT_DENSITIES,
    conn_mse,
    edge_mask,
    f1_at_density,
    f1_density_curve,
    fc_metrics,
    fc_per_scan,
    n_kept_edges,
    pixcorr,
    upper_triangle,
)
from .evaluation import evaluate, summary_table
from .reference import (
    REFERENCE_LABELS,
    global_signal_oracle,
    mean_predictor,
    noise_ceiling_metrics,
    reference_metrics,
    time_shuffled,
    training_mean,
)
from .statistics import paired_ttest
from .temporal import network_r, temporal_r
from .volumetric import psnr, ssim, ssim_torch, volumetric_loss

__all__ = [
    "DEFAULT_DENSITIES",
    "temporal_r",
    "network_r",
    "fc_per_scan",
    "upper_triangle",
    "pixcorr",
    "conn_mse",
    "edge_mask",
    "n_kept_edges",
    "f1_at_density",
    "f1_density_curve",
    "fc_metrics",
    "evaluate",
    "summary_table",
    "paired_ttest",
    "REFERENCE_LABELS",
    "training_mean",
    "mean_predictor",
    "time_shuffled",
    "global_signal_oracle",
    "noise_ceiling_metrics",
    "reference_metrics",
    "ssim",
    "psnr",
    "ssim_torch",
    "volumetric_loss",
    "model_output_to_volumes",
    "roi_series",
    "roi_series_nilearn",
    "volume_predictions",
]
