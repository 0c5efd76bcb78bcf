"""UnEBOLT: one network predicting all ROIs (Li et al., MIDL 2026, section 2.2).

Encoder (NeuroBOLT's two branches) -> Gated Adaptive Fusion -> for each ROI ``i`` the input
``e_i = [r_fused; roi_i]`` (learnable ROI lookup table) -> ROI Representation Embedder (a
LoRA-like bottleneck with a learnable scale and a residual) -> ROI-specific linear heads.

Choices where the paper is silent (each can be changed by an override):

- the gate is a vector, one value per feature (``g`` in R^d), and the MLP's hidden width is the
  encoder width (``gaf_hidden=None``);
- the ROI table is initialised N(0, 1) (``nn.Embedding``'s default);
- the RRE is shared by all ROIs, with dropout 0.1 and ``alpha`` initialised at 0.1 so that
  training starts close to the identity;
- heads are initialised like NeuroBOLT's (truncated normal 0.02 times 0.001).

Ablations of Table 1: ``use_gaf=False`` fuses by ``r_st + r_sp`` (NeuroBOLT's sum);
``use_roi_lut=False`` gives every ROI the same input ``e_i = r_fused``;
``use_roi_embedder=False`` passes ``e_i`` straight to the heads; ``use_roi_specific_head=False``
replaces the P heads by one linear map shared by all ROIs (ROIs then differ only through the
table and the embedder).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .base import EEGModelMixin
from .labram import init_linear_and_norm, trunc_normal_
from .neurobolt import DualBranchEncoder, scaled_linear_head


class GatedAdaptiveFusion(nn.Module):
    """``g = sigmoid(W2 GELU(W1 [r_st; r_sp]))``, ``r = g * r_st + (1 - g) * r_sp``."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(2 * dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.act = nn.GELU()

    def gate(self, r_st: torch.Tensor, r_sp: torch.Tensor) -> torch.Tensor:
        """The gate values in (0, 1), shape (batch, dim)."""
        return torch.sigmoid(self.fc2(self.act(self.fc1(torch.cat((r_st, r_sp), dim=-1)))))

    def forward(self, r_st: torch.Tensor, r_sp: torch.Tensor) -> torch.Tensor:
        g = self.gate(r_st, r_sp)
        return g * r_st + (1.0 - g) * r_sp


class ROIRepresentationEmbedder(nn.Module):
    """``out = alpha * up(dropout(ReLU(down(e)))) + e`` with a learnable scalar ``alpha``."""

    def __init__(self, dim: int, bottleneck: int, dropout: float, alpha_init: float) -> None:
        super().__init__()
        self.down = nn.Linear(dim, bottleneck)
        self.up = nn.Linear(bottleneck, dim)
        self.dropout = nn.Dropout(dropout)
        self.alpha = nn.Parameter(torch.tensor(float(alpha_init)))

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.alpha * self.up(self.dropout(torch.relu(self.down(e)))) + e


class ROISpecificHeads(nn.Module):
    """P independent linear maps R^D -> R, one per ROI, evaluated as one einsum."""

    def __init__(self, n_rois: int, dim: int, init_scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_rois, dim))
        self.bias = nn.Parameter(torch.zeros(n_rois))
        with torch.no_grad():
            trunc_normal_(self.weight, std=0.02)
            self.weight.mul_(init_scale)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        """(batch, P, D) -> (batch, P)."""
        return torch.einsum("bpd,pd->bp", e, self.weight) + self.bias


class UnEBOLT(EEGModelMixin, nn.Module):
    """Unified EEG-to-BOLD model predicting all ``n_outputs`` ROIs at once.

    The constructor's parameters are those of :class:`~unebolt_viz.models.base.EEGModelMixin`.
    Its options (``**overrides``) are the hyperparameters of the preset, including the ablation
    switches ``use_gaf``, ``use_roi_lut``, ``use_roi_embedder`` and ``use_roi_specific_head``
    (all True by default) and ``roi_embed_dim`` (d_r, default P), ``rre_bottleneck`` (128),
    ``rre_dropout``, ``rre_alpha_init``, ``gaf_hidden``.

    Examples
    --------
    >>> model = UnEBOLT(n_outputs=64, preset="tiny", seed=0)
    >>> model.n_chans, model.n_outputs
    (26, 64)
    """

    name = "unebolt"
    #: The paper's multi-objective loss (MSE + temporal + spatial correlation), selected on it.
    default_loss = "full"
    default_select_on = "val_loss"

    def _build(self, hp: dict[str, Any]) -> None:
        dim = hp["embed_dim"]
        roi_dim = self.n_outputs if hp["roi_embed_dim"] is None else int(hp["roi_embed_dim"])
        self.roi_input_dim = dim + roi_dim if hp["use_roi_lut"] else dim
        self.encoder = DualBranchEncoder(self.ch_names, self.n_times, hp)
        self.gaf = GatedAdaptiveFusion(dim, hp["gaf_hidden"] or dim) if hp["use_gaf"] else None
        if self.gaf is not None:
            self.gaf.apply(init_linear_and_norm)
        self.roi_lut = (
            nn.Parameter(torch.randn(self.n_outputs, roi_dim)) if hp["use_roi_lut"] else None
        )
        self.roi_embedder = (
            ROIRepresentationEmbedder(
                self.roi_input_dim, hp["rre_bottleneck"], hp["rre_dropout"], hp["rre_alpha_init"]
            )
            if hp["use_roi_embedder"]
            else None
        )
        if self.roi_embedder is not None:
            self.roi_embedder.apply(init_linear_and_norm)
        if hp["use_roi_specific_head"]:
            self.head: nn.Module = ROISpecificHeads(
                self.n_outputs, self.roi_input_dim, hp["head_init_scale"]
            )
        else:
            self.head = scaled_linear_head(self.roi_input_dim, 1, hp["head_init_scale"])

    def fuse(self, r_st: torch.Tensor, r_sp: torch.Tensor) -> torch.Tensor:
        """Fused EEG representation r (batch, embed_dim): gated, or summed without GAF."""
        return self.gaf(r_st, r_sp) if self.gaf is not None else r_st + r_sp

    def roi_embeddings(self, x: torch.Tensor) -> torch.Tensor:
        """The per-ROI representations fed to the heads, (batch, P, D), for microvolt input."""
        r = self.fuse(*self.encoder(self.scale_input(x)))
        e = r.unsqueeze(1).expand(-1, self.n_outputs, -1)
        if self.roi_lut is not None:
            e = torch.cat((e, self.roi_lut.unsqueeze(0).expand(r.shape[0], -1, -1)), dim=-1)
        if self.roi_embedder is not None:
            e = self.roi_embedder(e)
        return e

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        e = self.roi_embeddings(x)
        if isinstance(self.head, ROISpecificHeads):
            return self.head(e)
        return self.head(e).squeeze(-1)
