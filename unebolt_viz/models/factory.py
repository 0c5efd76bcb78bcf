"""Build any model of the package by name, and rebuild one from its config."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from ..conventions import PAPER_CHANNELS
from .base import EEGModelMixin
from .baselines import BIOTUnified, LaBraMUnified
from .e2fnet import E2fNet
from .neurobolt import NeuroBOLT, ROISpecificNeuroBOLT
from .presets import MODEL_NAMES, VOLUMETRIC_MODEL_NAMES
from .spec2vol import Spec2VolCAMUNet
from .table1_spectrogram import CNNTransformerUnified, FFCLUnified
from .table1_temporal import BEIRAUnified, STTransformerUnified
from .unebolt import UnEBOLT

#: The model class of each name of :data:`MODEL_NAMES`.
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    model_class.name: model_class
    for model_class in (UnEBOLT, ROISpecificNeuroBOLT, NeuroBOLT, BIOTUnified, LaBraMUnified,
                        STTransformerUnified, CNNTransformerUnified, FFCLUnified, BEIRAUnified,
                        E2fNet, Spec2VolCAMUNet)
}


def build_model(
    name: str,
    *,
    n_outputs: int,
    ch_names: Sequence[str] = PAPER_CHANNELS,
    preset: str = "paper",
    seed: int | None = None,
    **overrides: Any,
) -> nn.Module:
    """Build a freshly initialised model.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`: ``"unebolt"``; ``"neurobolt"`` (one network per ROI);
        ``"neurobolt_unified"``, ``"biot_unified"``, ``"labram_unified"``,
        ``"st_transformer_unified"``, ``"cnn_transformer_unified"``, ``"ffcl_unified"``,
        ``"beira_unified"`` (Table 1's baselines, one last layer to all ROIs; see
        :mod:`unebolt_viz.models.table1_baselines`). Or one of :data:`VOLUMETRIC_MODEL_NAMES`,
        ``"e2fnet"`` and ``"spec2volcamunet"``: spectra (batch, 20, n_chans, 249) to volumes
        (batch, D, 64, 64), see :mod:`unebolt_viz.models.volumetric_base`.
    n_outputs : int
        Number of ROIs P; for the volumetric models, D, the slices of each volume (30).
    ch_names : sequence of str
        EEG channels in input order; any subset of LaBraM's channel list (default: the 26
        channels of the paper).
    preset : str
        ``"paper"`` (full size), ``"compact"`` (CPU teaching) or ``"tiny"`` (unit tests).
    seed : int, optional
        Seed of the initialisation; the global torch generator is left untouched.
    **overrides
        ``n_times``, ``sfreq`` or any hyperparameter of the preset, e.g. the UnEBOLT ablation
        switches ``use_gaf``, ``use_roi_lut``, ``use_roi_embedder``, ``use_roi_specific_head``.

    Returns
    -------
    torch.nn.Module
        With attributes ``n_chans``, ``n_outputs``, ``n_times``, ``sfreq``, ``ch_names``,
        ``name`` and ``preset``; ``forward`` maps microvolt windows (batch, n_chans, n_times)
        to (batch, n_outputs).

    Examples
    --------
    >>> model = build_model("unebolt", n_outputs=64, preset="tiny", seed=0)
    >>> model.n_chans, model.n_times
    (26, 3200)
    """
    if name not in MODEL_CLASSES:
        raise ValueError(
            f"Unknown model {name!r}; choose one of {MODEL_NAMES + VOLUMETRIC_MODEL_NAMES}")
    return MODEL_CLASSES[name](
        n_outputs=n_outputs, ch_names=ch_names, preset=preset, seed=seed, **overrides
    )


def model_from_config(config: dict[str, Any]) -> nn.Module:
    """Rebuild a model (fresh weights) from the dict of its ``get_config()``."""
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError("config must be a dict from model.get_config(), with a 'name' entry")
    return EEGModelMixin.from_config(config)
