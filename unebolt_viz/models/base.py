"""The contract every model of :mod:`unebolt_viz.models` keeps (after braindecode's mixin).

A model knows its input (``n_chans``, ``ch_names``, ``n_times``, ``sfreq``) and output
(``n_outputs`` ROIs), can describe itself as a JSON-serialisable config and be rebuilt from it,
and hands AdamW its parameter groups with LaBraM's layer-wise learning-rate decay.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import nn

from ..conventions import INPUT_SCALE_UV, N_TIMES, PAPER_CHANNELS, SFREQ
from ..data.identity import check_provenance, provenance_config
from ._mixin_common import ModelMixinCommon, check_overrides
from .labram import MAX_PATCHES, PATCH_SIZE, labram_channel_rows
from .presets import MODEL_NAMES, preset_hparams

#: Parameter names (last component) of LaBraM's tokens and embedding tables.
_EMBEDDING_PARAM_NAMES = frozenset({"cls_token", "pos_embed", "time_embed", "roi_lut"})
_SPATIOTEMPORAL_PREFIX = "spatiotemporal"


class EEGModelMixin(ModelMixinCommon):
    """The constructor, attributes, config and optimiser groups of all torch models.

    A model class derives from ``EEGModelMixin`` and ``nn.Module`` (in that order), sets the
    class attribute ``name`` (a key of ``MODEL_NAMES``, which also registers the class for
    :meth:`from_config`) and implements ``_build(hparams)``, which creates its layers, and
    ``forward``. The constructor below is shared by all of them.

    Parameters
    ----------
    n_outputs : int
        Number of ROIs P predicted (64, 128 or 256 DiFuMo modes in the paper).
    ch_names : sequence of str
        EEG channels in input order; any subset of LaBraM's channel list (default: the 26
        channels of the paper).
    n_times : int
        Samples per window (3200: 16 s); a multiple of 200 up to 3200.
    sfreq : float
        Sampling rate; must be 200 Hz.
    preset : str
        Size: ``"paper"``, ``"compact"`` or ``"tiny"`` (see :mod:`unebolt_viz.models.presets`).
    seed : int or None
        Seed of the weight initialisation; the global torch generator is left untouched.
    roi_names : sequence of str, optional
        The ROIs the outputs stand for, in output order (set by training from the BOLD it was
        trained on; :func:`unebolt_viz.training.predict` refuses scans of other ROIs).
    atlas : str, optional
        Name of the atlas of those ROIs.
    training_data_source : str, optional
        ``data_source`` of the training scans (simulated, semi-synthetic or real).
    labram_init : dict, optional
        How the LaBraM (spatiotemporal) branch was initialised, kept in the config: set by
        :func:`~unebolt_viz.models.load_labram_checkpoint` (``pretrained``, the file's
        ``sha256``, ...); ``{"pretrained": False}`` (random) by default for models with the
        branch; None for models without one.
    **overrides
        Any hyperparameter of the model's preset, by name.
    """

    name: ClassVar[str] = ""
    _known_names: ClassVar[tuple[str, ...]] = MODEL_NAMES
    #: Training objective and selection score by default (TrainConfig ``loss`` / ``select_on``
    #: left unset): MSE and validation MSE, as the baselines' own code trains them; UnEBOLT
    #: overrides both with its multi-objective loss.
    default_loss: ClassVar[str] = "mse_only"
    default_select_on: ClassVar[str] = "val_mse"
    n_outputs: int
    n_times: int
    sfreq: float
    ch_names: tuple[str, ...]
    preset: str
    seed: int | None
    hparams: dict[str, Any]
    roi_names: tuple[str, ...] | None
    atlas: str | None
    training_data_source: str | None

    def __init__(
        self,
        *,
        n_outputs: int,
        ch_names: Sequence[str] = PAPER_CHANNELS,
        n_times: int = N_TIMES,
        sfreq: float = SFREQ,
        preset: str = "paper",
        seed: int | None = None,
        roi_names: Sequence[str] | None = None,
        atlas: str | None = None,
        training_data_source: str | None = None,
        labram_init: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__()
        hparams = resolve_hparams(self.name, preset, overrides)
        _check_sizes(n_outputs, n_times, sfreq)
        self.roi_names, self.atlas, self.training_data_source = check_provenance(
            n_outputs, roi_names, atlas, training_data_source)
        self.ch_names, _ = labram_channel_rows(ch_names)
        self.n_outputs = n_outputs
        self.n_times = int(n_times)
        self.sfreq = float(sfreq)
        self.preset = preset
        self.seed = seed
        self.hparams = dict(hparams)
        with seeded(seed):
            self._build(hparams)
        has_branch = any(m.__class__.__name__ == "SpatiotemporalEncoder" for m in self.modules())
        self.labram_init = (dict(labram_init) if labram_init is not None
                            else {"pretrained": False} if has_branch else None)

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild the model (not its weights), JSON-serialisable."""
        return {
            **self._common_config(n_times=self.n_times, sfreq=self.sfreq),
            **provenance_config(self),
            **({"labram_init": self.labram_init} if self.labram_init is not None else {}),
        }

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError unless ``x`` is a float tensor (batch, n_chans, n_times)."""
        self._check_tensor(x, (self.n_chans, self.n_times),
                           f"EEG windows of shape (batch, {self.n_chans}, {self.n_times}) "
                           "in microvolts")

    def scale_input(self, x: torch.Tensor) -> torch.Tensor:
        """Check ``x`` (microvolts) and return it divided by 100, as the models are trained."""
        self.check_input(x)
        return x / INPUT_SCALE_UV

    def param_groups(
        self, lr: float, weight_decay: float, layer_decay: float = 0.65
    ) -> list[dict[str, Any]]:
        """Parameter groups for ``torch.optim.AdamW`` with LaBraM's layer-wise lr decay.

        Parameters
        ----------
        lr : float
            Base learning rate.
        weight_decay : float
            Weight decay of weight matrices.
        layer_decay : float
            With ``L`` spatiotemporal blocks, the embeddings and patch encoder of that branch
            get ``lr * layer_decay ** (L + 1)``, block ``k`` (0-based) gets
            ``lr * layer_decay ** (L - k)``, and every other parameter ``lr``: 0.65**13 and
            0.65**(12 - k) for LaBraM-base.

        Returns
        -------
        list of dict
            Each with ``params``, ``lr`` (already scaled), ``lr_scale``, ``weight_decay`` and
            ``group_name``. Biases, norms, layer-scale vectors, tokens and embedding tables get no
            weight decay, as in LaBraM. Frozen parameters are left out.
        """
        embedding_params = {
            id(module.weight) for module in self.modules() if isinstance(module, nn.Embedding)
        }
        groups: dict[tuple[float, float], dict[str, Any]] = {}
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            parts = name.split(".")
            no_decay = (
                param.ndim <= 1
                or parts[-1] == "bias"
                or parts[-1] in _EMBEDDING_PARAM_NAMES
                or id(param) in embedding_params
            )
            scale = float(layer_decay ** _decay_exponent(parts, self._spatiotemporal_depth()))
            decay = 0.0 if no_decay else float(weight_decay)
            key = (scale, decay)
            if key not in groups:
                groups[key] = {
                    "params": [],
                    "lr": lr * scale,
                    "lr_scale": scale,
                    "weight_decay": decay,
                    "group_name": f"lr_scale_{scale:.3g}_{'decay' if decay else 'no_decay'}",
                }
            groups[key]["params"].append(param)
        return sorted(groups.values(), key=lambda g: (g["lr_scale"], g["weight_decay"]))

    def _spatiotemporal_depth(self) -> int:
        for module in self.modules():
            if module.__class__.__name__ == "SpatiotemporalEncoder":
                return len(module.blocks)
        return 0


def _decay_exponent(parts: list[str], depth: int) -> int:
    """How many times ``layer_decay`` multiplies the lr of a parameter named by ``parts``."""
    if _SPATIOTEMPORAL_PREFIX not in parts:
        return 0
    local = parts[parts.index(_SPATIOTEMPORAL_PREFIX) + 1 :]
    if local[0] in ("cls_token", "pos_embed", "time_embed", "patch_embed"):
        return depth + 1
    if local[0] == "blocks":
        return depth - int(local[1])
    return 0


def _check_sizes(n_outputs: int, n_times: int, sfreq: float) -> None:
    """Raise a ValueError unless the output count and window fit every model."""
    if not isinstance(n_outputs, int) or isinstance(n_outputs, bool) or n_outputs < 1:
        raise ValueError(f"n_outputs must be a positive int (number of ROIs), got {n_outputs!r}")
    if float(sfreq) != SFREQ:
        raise ValueError(
            f"sfreq={sfreq}: the models take EEG at {SFREQ:g} Hz (LaBraM's 1-s patches of "
            f"{PATCH_SIZE} samples); resample the recording first"
        )
    if n_times % PATCH_SIZE or not 0 < n_times // PATCH_SIZE <= MAX_PATCHES:
        raise ValueError(
            f"n_times={n_times} must be a multiple of {PATCH_SIZE} with at most "
            f"{MAX_PATCHES} patches (16 s); the paper uses {N_TIMES}"
        )


def resolve_hparams(model_name: str, preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset's hyperparameters of ``model_name`` updated by ``overrides`` (checked by name)."""
    hparams = preset_hparams(model_name, preset)
    check_overrides(model_name, hparams, overrides, "n_times, sfreq")
    hparams.update(overrides)
    return hparams


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Seed torch's CPU generator inside the block, leaving the global state as it was."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield
