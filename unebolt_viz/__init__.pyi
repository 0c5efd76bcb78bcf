__all__ = [
    "Atlas",
    "InvalidDataError",
    "NETWORKS",
    "NETWORK_NAMES",
    "YEO7_NAMES",
    "app",
    "atlases",
    "build_model",
    "conventions",
    "data",
    "datasets",
    "eeg_windows",
    "evaluate",
    "fc_matrix",
    "fetch",
    "find_bids_runs",
    "io",
    "load",
    "load_atlas",
    "load_manifest",
    "load_model",
    "load_neurobolt_rest",
    "load_scan_pair",
    "metrics",
    "model_selection",
    "models",
    "networks",
    "predict",
    "predictions",
    "preprocessing",
    "roi_timeseries",
    "run_experiment",
    "save",
    "save_model",
    "semi_synthetic_cohort",
    "simulate_cohort",
    "simulation",
    "train_model",
    "training",
    "validate",
    "viz",
]

from . import (
    app,
    atlases,
    conventions,
    data,
    datasets,
    io,
    metrics,
    model_selection,
    models,
    networks,
    preprocessing,
    simulation,
    training,
    viz,
)
from .atlases import Atlas, load_atlas
from .data import (
    InvalidDataError,
    eeg_windows,
    fc_matrix,
    load,
    predictions,
    roi_timeseries,
    save,
    validate,
)
from .datasets import fetch, load_manifest, load_neurobolt_rest
from .io import find_bids_runs, load_scan_pair
from .metrics import evaluate
from .models import build_model, load_model, save_model
from .networks import NETWORK_NAMES, NETWORKS, YEO7_NAMES
from .simulation import semi_synthetic_cohort, simulate_cohort
from .training import predict, run_experiment, train_model
