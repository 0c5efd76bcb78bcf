"""The contract of the volumetric models (E2fNet, Spec2VolCAMU-Net): spectra in, volumes out.

Input
    A float tensor ``(batch, n_windows, n_chans, n_freqs)`` = (batch, 20, C, 249): for each of
    20 consecutive TR windows, the FFT magnitude spectrum of every electrode (249 bins, DC
    dropped), z-scored across channels per (bin, window), as "From Brainwaves to Brain Scans:
    A Robust Neural Network for EEG-to-fMRI Synthesis" (E2fNet) prepares its inputs. The 20
    windows are the image channels of a C x 249 image.

Output
    ``(batch, D, 64, 64)``: one volume per sample with its D axial slices as image channels,
    as both papers treat them (their SSIM is 2-D with the slices as channels). Axis 1 is the
    volume's ``z`` (slice) axis, axes 2 and 3 its ``x`` and ``y`` axes. The package's volume
    containers hold BOLD as ``("time", "x", "y", "z")``: :func:`slices_to_xyz` turns a batch
    of model outputs into ``(batch, x, y, z)`` (one volume per time point, ready to stack along
    ``time``), and :func:`xyz_to_slices` turns such volumes into training targets. ``D`` is the
    model's ``n_outputs`` (also available as ``depth``): 30 for the NODDI and CN-EPFL volumes,
    32 for the oddball ones, 30 by default for the simulated ones.

Like :class:`~unebolt_viz.models.base.EEGModelMixin`, a model class sets ``name`` (which
registers it for :func:`~unebolt_viz.models.build_model` and
:func:`~unebolt_viz.models.model_from_config`) and implements ``_build(hparams)``, called
under the seed; ``get_config`` / ``from_config`` rebuild it and
:func:`~unebolt_viz.models.save_model` / :func:`~unebolt_viz.models.load_model` save it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from ..conventions import PAPER_CHANNELS, canonical_channel_name
from ._mixin_common import ModelMixinCommon, check_overrides
from .base import seeded
from .volumetric_presets import VOLUMETRIC_NAMES, volumetric_hparams

#: Consecutive TR windows stacked as input channels (E2fNet's ``interval_eeg``).
N_WINDOWS = 20
#: FFT magnitude bins per window and channel (the first 250 bins, DC dropped).
N_FREQS = 249
#: In-plane size of the predicted volumes (x and y).
IMAGE_SIZE = 64


def slices_to_xyz(volumes: torch.Tensor) -> torch.Tensor:
    """Model outputs ``(batch, z, x, y)`` as volumes ``(batch, x, y, z)``."""
    if volumes.ndim != 4:
        raise ValueError(f"expected (batch, z, x, y) volumes, got shape {tuple(volumes.shape)}")
    return volumes.permute(0, 2, 3, 1)


def xyz_to_slices(volumes: torch.Tensor) -> torch.Tensor:
    """Volumes ``(batch, x, y, z)`` as model targets ``(batch, z, x, y)`` (slices first)."""
    if volumes.ndim != 4:
        raise ValueError(f"expected (batch, x, y, z) volumes, got shape {tuple(volumes.shape)}")
    return volumes.permute(0, 3, 1, 2)


class VolumetricModelMixin(ModelMixinCommon):
    """Constructor, attributes and config of the volumetric models.

    A model class derives from ``VolumetricModelMixin`` and ``nn.Module`` (in that order).

    Parameters
    ----------
    n_outputs : int
        D, the number of slices of each predicted volume (30 in both papers' NODDI and CN-EPFL
        runs, 32 for the oddball dataset).
    ch_names : sequence of str
        EEG channels in input order (the rows of the input spectra); names are matched as
        :func:`~unebolt_viz.conventions.canonical_channel_name` spells them.
    n_windows : int
        TR windows per input (20).
    n_freqs : int
        Frequency bins per window (249).
    preset : str
        ``"paper"``, ``"compact"`` or ``"tiny"`` (see
        :mod:`unebolt_viz.models.volumetric_presets`).
    seed : int or None
        Seed of the weight initialisation; the global torch generator is left untouched.
    training_data_source : str, optional
        ``data_source`` of the training scans (simulated, semi-synthetic or real).
    **overrides
        Any hyperparameter of the model's preset, by name.
    """

    name: ClassVar[str] = ""
    _known_names: ClassVar[tuple[str, ...]] = VOLUMETRIC_NAMES
    n_outputs: int
    n_windows: int
    n_freqs: int
    ch_names: tuple[str, ...]
    preset: str
    seed: int | None
    hparams: dict[str, Any]
    training_data_source: str | None
    #: Volumetric models predict voxels, not ROIs (kept for code that reads them off any model).
    roi_names: None = None
    atlas: None = None

    def __init__(
        self,
        *,
        n_outputs: int,
        ch_names: Sequence[str] = PAPER_CHANNELS,
        n_windows: int = N_WINDOWS,
        n_freqs: int = N_FREQS,
        preset: str = "paper",
        seed: int | None = None,
        training_data_source: str | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__()
        hparams = _resolve(self.name, preset, overrides)
        for label, value in (("n_outputs", n_outputs), ("n_windows", n_windows),
                             ("n_freqs", n_freqs)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{label} must be a positive int, got {value!r}")
        self.ch_names = check_channel_names(ch_names)
        self.n_outputs, self.n_windows, self.n_freqs = n_outputs, n_windows, n_freqs
        self.preset, self.seed, self.hparams = preset, seed, hparams
        self.training_data_source = None if training_data_source is None else str(
            training_data_source)
        with seeded(seed):
            self._build(hparams)

    @property
    def depth(self) -> int:
        """D, the number of slices of a predicted volume (same as ``n_outputs``)."""
        return self.n_outputs

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """Shape of one input: (n_windows, n_chans, n_freqs)."""
        return (self.n_windows, self.n_chans, self.n_freqs)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """Shape of one output: (D, 64, 64), slices first."""
        return (self.n_outputs, IMAGE_SIZE, IMAGE_SIZE)

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild the model (not its weights), JSON-serialisable."""
        return {
            **self._common_config(n_windows=self.n_windows, n_freqs=self.n_freqs),
            "training_data_source": self.training_data_source,
        }

    def check_input(self, x: torch.Tensor) -> None:
        """Raise unless ``x`` is a float tensor (batch, n_windows, n_chans, n_freqs)."""
        self._check_tensor(x, self.in_shape,
                           f"spectra of shape (batch, {self.n_windows} windows, "
                           f"{self.n_chans} channels, {self.n_freqs} bins)")

    def param_groups(
        self, lr: float, weight_decay: float, layer_decay: float = 1.0
    ) -> list[dict[str, Any]]:
        """Parameter groups for ``torch.optim.AdamW``: weight matrices decay, the rest not.

        ``layer_decay`` is accepted for the trainer's sake and ignored (both papers train all
        layers at one learning rate, AdamW 1e-3). Frozen parameters are left out.
        """
        decay, no_decay = [], []
        for param in self.parameters():  # type: ignore[attr-defined]
            if param.requires_grad:
                (no_decay if param.ndim <= 1 else decay).append(param)
        groups = [("decay", decay, float(weight_decay)), ("no_decay", no_decay, 0.0)]
        return [{"params": params, "lr": lr, "lr_scale": 1.0, "weight_decay": wd,
                 "group_name": f"lr_scale_1_{label}"} for label, params, wd in groups if params]


def check_channel_names(ch_names: Sequence[str]) -> tuple[str, ...]:
    """Channel names in canonical spelling; a ValueError for none, empty or repeated ones."""
    if isinstance(ch_names, str) or not len(ch_names):
        raise ValueError(f"ch_names must be a non-empty sequence of names, got {ch_names!r}")
    names = tuple(canonical_channel_name(str(c)) for c in ch_names)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates or not all(names):
        raise ValueError(f"Channel names must be distinct and non-empty; repeated: {duplicates}")
    return names


def _resolve(model_name: str, preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset's hyperparameters updated by ``overrides`` (checked by name)."""
    hparams = volumetric_hparams(model_name, preset)
    check_overrides(model_name, hparams, overrides, "n_windows, n_freqs, training_data_source")
    hparams.update({k: list(v) if isinstance(v, tuple) else v for k, v in overrides.items()})
    return hparams
