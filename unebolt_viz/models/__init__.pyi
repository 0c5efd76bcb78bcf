__all__ = [
    "BIOTUnified",
    "LOSS_VARIANTS",
    "LaBraMUnified",
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "ModelFileError",
    "ModelFileNotFoundError",
    "MultiObjectiveLoss",
    "MultiScaleSpectralEncoder",
    "NeuroBOLT",
    "PRESETS",
    "PretrainedModelError",
    "ROISpecificNeuroBOLT",
    "RidgeBaseline",
    "SpatiotemporalEncoder",
    "UnEBOLT",
    "build_model",
    "labram_channel_rows",
    "load_labram_checkpoint",
    "load_model",
    "load_pretrained",
    "model_card",
    "model_from_config",
    "pearson_r",
    "preset_hparams",
    "pretrained",
    "read_config",
    "save_labram_checkpoint",
    "save_model",
    "select_channels",
    "shipped_predictions",
]

from ._files import ModelFileError, ModelFileNotFoundError, read_config
from .baselines import BIOTUnified, LaBraMUnified
from .factory import MODEL_CLASSES, build_model, model_from_config
from .io import load_labram_checkpoint, load_model, save_labram_checkpoint, save_model
from .labram import SpatiotemporalEncoder, labram_channel_rows
from .loss import LOSS_VARIANTS, MultiObjectiveLoss, pearson_r
from .neurobolt import NeuroBOLT, ROISpecificNeuroBOLT
from .presets import MODEL_NAMES, PRESETS, preset_hparams
from .pretrained import (
    PretrainedModelError,
    load_pretrained,
    model_card,
    pretrained,
    shipped_predictions,
)
from .ridge import RidgeBaseline
from .spectral import MultiScaleSpectralEncoder
from .transfer import select_channels
from .unebolt import UnEBOLT
