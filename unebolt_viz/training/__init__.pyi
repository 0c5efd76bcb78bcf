__all__ = [
    "RIDGE_ALPHAS",
    "CheckpointError",
    "ConsecutiveBatchSampler",
    "EEGPrediction",
    "ExperimentConfig",
    "Fig2aResult",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "VolumetricConfig",
    "VolumetricRun",
    "VolumetricTrainResult",
    "WindowDataset",
    "calibrate_roi_heads",
    "cleanup_distributed",
    "fig2a_config",
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
    "run_fig2a",
    "train_model",
    "load_volumetric_run",
    "predict_volumes",
    "run_volumetric",
    "train_volumetric",
]

from .calibration import calibrate_roi_heads
from .checkpoint import CheckpointError, latest_checkpoint, load_checkpoint
from .config import TrainConfig, TrainResult
from .datasets import ConsecutiveBatchSampler, WindowDataset
from .distributed import cleanup_distributed, init_distributed
from .eeg_only import EEGPrediction, predict_eeg
from .experiment_config import RIDGE_ALPHAS, ExperimentConfig, load_experiment_config
from .experiments import ridge_chunks, run_experiment
from .inference import predict, predict_scan, record_training_rois
from .roi_specific import Fig2aResult, fig2a_config, run_fig2a
from .trainer import Trainer, lr_factor, train_model
from .volumetric import VolumetricConfig, VolumetricTrainResult, train_volumetric
from .volumetric_predict import predict_volumes
from .volumetric_run import VolumetricRun, load_volumetric_run, run_volumetric
