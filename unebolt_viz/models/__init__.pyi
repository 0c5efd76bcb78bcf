__all__ = [
    "BEIRAUnified",
    "BIOTUnified",
    "CNNTransformerUnified",
    "E2fNet",
    "FFCLUnified",
    "LOSS_VARIANTS",
    "LaBraMUnified",
    "LabramLoadReport",
    "MODEL_CLASSES",
    "MODEL_NAMES",
    "ModelFileError",
    "ModelFileNotFoundError",
    "MultiObjectiveLoss",
    "MultiScaleSpectralEncoder",
    "NeuroBOLT",
    "OMITTED_BASELINES",
    "PRESETS",
    "PretrainedModelError",
    "ROISpecificNeuroBOLT",
    "RidgeBaseline",
    "STTransformerUnified",
    "Spec2VolCAMUNet",
    "SpatiotemporalEncoder",
    "TABLE1_BASELINES",
    "UnEBOLT",
    "VOLUMETRIC_MODEL_NAMES",
    "VolumetricModelMixin",
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
    "slices_to_xyz",
    "xyz_to_slices",
]

from ._files import ModelFileError, ModelFileNotFoundError, read_config
from .baselines import BIOTUnified, LaBraMUnified
from .e2fnet import E2fNet
from .factory import MODEL_CLASSES, build_model, model_from_config
from .io import load_labram_checkpoint, load_model, save_labram_checkpoint, save_model
from .labram import SpatiotemporalEncoder, labram_channel_rows
from .labram_weights import LabramLoadReport
from .loss import LOSS_VARIANTS, MultiObjectiveLoss, pearson_r
from .neurobolt import NeuroBOLT, ROISpecificNeuroBOLT
from .presets import MODEL_NAMES, PRESETS, VOLUMETRIC_MODEL_NAMES, preset_hparams
from .pretrained import (
    PretrainedModelError,
    load_pretrained,
    model_card,
    pretrained,
    shipped_predictions,
)
from .ridge import RidgeBaseline
from .spec2vol import Spec2VolCAMUNet
from .spectral import MultiScaleSpectralEncoder
from .table1_baselines import OMITTED_BASELINES, TABLE1_BASELINES
from .table1_spectrogram import CNNTransformerUnified, FFCLUnified
from .table1_temporal import BEIRAUnified, STTransformerUnified
from .transfer import select_channels
from .unebolt import UnEBOLT
from .volumetric_base import VolumetricModelMixin, slices_to_xyz, xyz_to_slices
