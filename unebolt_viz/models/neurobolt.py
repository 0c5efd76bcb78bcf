"""NeuroBOLT: the dual-branch encoder, its ROI-specific form and its unified form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .base import EEGModelMixin
from .labram import PATCH_SIZE, SpatiotemporalEncoder, init_linear_and_norm
from .spectral import MultiScaleSpectralEncoder


class DualBranchEncoder(nn.Module):
    """The spatiotemporal (LaBraM) and multi-scale spectral branches side by side.

    Parameters
    ----------
    ch_names : sequence of str
        Channels in input order.
    n_times : int
        Samples per window.
    hparams : dict
        The ``embed_dim``, ``st_*`` and ``sp_*`` entries of a preset.
    """

    def __init__(self, ch_names: Sequence[str], n_times: int, hparams: dict[str, Any]) -> None:
        super().__init__()
        self.spatiotemporal = build_spatiotemporal(ch_names, hparams)
        self.spectral = MultiScaleSpectralEncoder(
            len(self.spatiotemporal.ch_names),
            n_times,
            embed_dim=hparams["embed_dim"],
            levels=hparams["sp_levels"],
            base_window=hparams["sp_base_window"],
            depth=hparams["sp_depth"],
            heads=hparams["sp_heads"],
            ff_mult=hparams["sp_ff_mult"],
            attn_dropout=hparams["sp_attn_dropout"],
            pe_dropout=hparams["sp_pe_dropout"],
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scaled EEG (batch, n_chans, n_times) -> (r_st, r_sp), each (batch, embed_dim)."""
        patches = x.reshape(x.shape[0], x.shape[1], -1, PATCH_SIZE)
        return self.spatiotemporal(patches), self.spectral(x)


def build_spatiotemporal(ch_names: Sequence[str], hparams: dict[str, Any]) -> SpatiotemporalEncoder:
    """A :class:`SpatiotemporalEncoder` sized by a preset's hyperparameters."""
    return SpatiotemporalEncoder(
        ch_names,
        embed_dim=hparams["embed_dim"],
        depth=hparams["st_depth"],
        num_heads=hparams["st_heads"],
        mlp_ratio=hparams["mlp_ratio"],
        drop_rate=hparams["drop_rate"],
        attn_drop_rate=hparams["attn_drop_rate"],
        drop_path_rate=hparams["drop_path_rate"],
        layer_scale_init=hparams["layer_scale_init"],
    )


def scaled_linear_head(in_features: int, out_features: int, init_scale: float) -> nn.Linear:
    """Linear head, truncated-normal 0.02 initialisation times ``init_scale`` (NeuroBOLT: 0.001)."""
    head = nn.Linear(in_features, out_features)
    init_linear_and_norm(head)
    with torch.no_grad():
        head.weight.mul_(init_scale)
        head.bias.mul_(init_scale)
    return head


class NeuroBOLT(EEGModelMixin, nn.Module):
    """One NeuroBOLT network: ``head(GELU(r_st + r_sp))``.

    With ``n_outputs=1`` it is one ROI-specific network of the paper; with ``n_outputs=P`` it is
    the "unified" baseline of UnEBOLT's Table 1 (last layer mapped to all ROIs). The
    constructor's parameters are those of :class:`~unebolt_viz.models.base.EEGModelMixin`; its
    options are the preset's hyperparameters (see :mod:`unebolt_viz.models.presets`).
    """

    name = "neurobolt_unified"

    def _build(self, hp: dict[str, Any]) -> None:
        self.encoder = DualBranchEncoder(self.ch_names, self.n_times, hp)
        self.head = scaled_linear_head(hp["embed_dim"], self.n_outputs, hp["head_init_scale"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        r_st, r_sp = self.encoder(self.scale_input(x))
        return self.head(F.gelu(r_st + r_sp))


class ROISpecificNeuroBOLT(EEGModelMixin, nn.Module):
    """NeuroBOLT as published: one independent network per ROI, each with a 1-output head.

    The forward pass runs every network on the same input and stacks their outputs, so it is
    interchangeable with the unified models (but ``n_outputs`` times as costly). Parameters are
    those of :class:`NeuroBOLT`.
    """

    name = "neurobolt"

    def _build(self, hp: dict[str, Any]) -> None:
        # The networks draw their weights one after the other from this model's seeded stream.
        self.nets = nn.ModuleList(
            NeuroBOLT(
                n_outputs=1, ch_names=self.ch_names, n_times=self.n_times, preset=self.preset, **hp
            )
            for _ in range(self.n_outputs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        self.check_input(x)
        return torch.cat([net(x) for net in self.nets], dim=1)
