__all__ = [
    "RIDGE_ALPHAS",
    "CheckpointError",
    "ConsecutiveBatchSampler",
    "EEGPrediction",
    "ExperimentConfig",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "WindowDataset",
    "calibrate_roi_heads",
    "cleanup_distributed",
    "init_distributed",
    "latest_checkpoint",
    "load_checkpoint",
    "load_experiment_config",
    "lr_factor",
    "predict",
    "predict_eeg",
    "predict_scan",
    "record_training_rois",
    "ridge_chunks",
    "run_experiment",
    "train_model",
]

from .calibration import calibrate_roi_heads
from .checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
from .config import TrainConfig, TrainResult
from .datasets import ConsecutiveBatchSampler, WindowDataset
from .distributed import cleanup_distributed, init_distributed
from .eeg_only import EEGPrediction, predict_eeg
from .experiment_config import ExperimentConfig, load_experiment_config
from .experiment_config import RIDGE_ALPHAS
from .experiments import ridge_chunks, run_experiment
from .inference import predict, predict_scan, record_training_rois
from .trainer import Trainer, lr_factor, train_model
