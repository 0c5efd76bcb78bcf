"""EEG-to-fMRI models: UnEBOLT, NeuroBOLT (ROI-specific and unified), unified baselines, ridge.

All torch models share one contract (:class:`~unebolt_viz.models.base.EEGModelMixin`):
attributes ``n_chans``, ``n_outputs``, ``n_times`` (3200), ``sfreq`` (200.0), ``ch_names``,
``name`` and ``preset``; ``forward`` maps EEG windows in microvolts, (batch, n_chans, n_times),
to (batch, n_outputs) ROI values; ``get_config`` / ``from_config``; ``param_groups`` for AdamW.

Torch is imported only when a torch-backed name is first used, so
``from unebolt_viz.models import RidgeBaseline, MODEL_NAMES, PRESETS`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from .presets import PRESETS

MODEL_NAMES: tuple[str, ...] = (
    "unebolt", "neurobolt", "neurobolt_unified", "biot_unified", "labram_unified",
)  # fmt: skip

_LAZY = {
    "build_model": "factory",
    "model_from_config": "factory",
    "MODEL_CLASSES": "factory",
    "save_model": "io",
    "load_model": "io",
    "read_config": "_files",
    "load_labram_checkpoint": "io",
    "save_labram_checkpoint": "io",
    "MultiObjectiveLoss": "loss",
    "pearson_r": "loss",
    "LOSS_VARIANTS": "loss",
    "RidgeBaseline": "ridge",
    "UnEBOLT": "unebolt",
    "NeuroBOLT": "neurobolt",
    "ROISpecificNeuroBOLT": "neurobolt",
    "BIOTUnified": "baselines",
    "LaBraMUnified": "baselines",
    "SpatiotemporalEncoder": "labram",
    "MultiScaleSpectralEncoder": "spectral",
    "labram_channel_rows": "labram",
    "preset_hparams": "presets",
    "select_channels": "transfer",
}

__all__ = ["MODEL_NAMES", "PRESETS", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
