"""Unified baselines of Table 1: a LaBraM-only model and a BIOT-style model.

Both map their pooled EEG representation to all P ROIs with one last linear layer, which is
how the paper turns these single-output encoders into whole-brain ("unified") models.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .base import EEGModelMixin
from .labram import PATCH_SIZE
from .neurobolt import build_spatiotemporal, scaled_linear_head
from .spectral import LinearAttentionEncoder, sinusoidal_position_encoding


class LaBraMUnified(EEGModelMixin, nn.Module):
    """The spatiotemporal (LaBraM-base) branch alone with a linear head to all ROIs.

    Parameters are those of :class:`unebolt_viz.models.neurobolt.NeuroBOLT` (without the
    spectral ``sp_*`` options).
    """

    name = "labram_unified"

    def _build(self, hp: dict[str, Any]) -> None:
        self.spatiotemporal = build_spatiotemporal(self.ch_names, hp)
        self.head = scaled_linear_head(hp["embed_dim"], self.n_outputs, hp["head_init_scale"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        x = self.scale_input(x)
        return self.head(self.spatiotemporal(x.reshape(x.shape[0], x.shape[1], -1, PATCH_SIZE)))


class BIOTEncoder(nn.Module):
    """BIOT-style encoder: one overlapping STFT per channel, linear-attention transformer.

    Each channel's magnitude spectrogram (rectangular window of ``n_fft`` samples, hop
    ``hop``, no centering) is projected frame by frame to ``embed_dim``, a learned channel
    embedding and a sinusoidal position encoding (restarting per channel) are added, all
    channels' tokens are encoded together and averaged.
    """

    def __init__(
        self,
        n_chans: int,
        *,
        embed_dim: int = 256,
        n_fft: int = 200,
        hop: int = 100,
        depth: int = 4,
        heads: int = 8,
        ff_mult: int = 4,
        attn_dropout: float = 0.2,
        pe_dropout: float = 0.1,
        max_frames: int = 1024,
    ) -> None:
        super().__init__()
        self.n_fft, self.hop, self.embed_dim = n_fft, hop, embed_dim
        self.frequency_embed = nn.Linear(n_fft // 2 + 1, embed_dim)
        self.channel_embed = nn.Embedding(n_chans, embed_dim)
        self.register_buffer(
            "position_encoding",
            sinusoidal_position_encoding(max_frames, embed_dim),
            persistent=False,
        )
        self.pe_dropout = nn.Dropout(pe_dropout)
        self.encoder = LinearAttentionEncoder(embed_dim, depth, heads, ff_mult, attn_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_chans, n_times) -> (batch, embed_dim)."""
        frames = x.unfold(-1, self.n_fft, self.hop)  # (B, C, n_frames, n_fft)
        spectrum = torch.fft.rfft(frames, dim=-1).abs()
        tokens = self.frequency_embed(spectrum) + self.channel_embed.weight[None, :, None, :]
        tokens = self.pe_dropout(tokens + self.position_encoding[: tokens.shape[2]])
        return self.encoder(tokens.reshape(x.shape[0], -1, self.embed_dim)).mean(dim=1)


class BIOTUnified(EEGModelMixin, nn.Module):
    """BIOT-style encoder with BIOT's head (ELU then linear) to all ROIs.

    Sizes come from the ``biot_*`` options of the preset (paper: width 256, 4 layers, 8 heads,
    ``n_fft`` 200 with hop 100). BIOT keeps PyTorch's default initialisation.
    """

    name = "biot_unified"

    def _build(self, hp: dict[str, Any]) -> None:
        if hp["biot_n_fft"] > self.n_times:
            raise ValueError(f"biot_n_fft={hp['biot_n_fft']} exceeds n_times={self.n_times}")
        self.encoder = BIOTEncoder(
            self.n_chans,
            embed_dim=hp["biot_embed_dim"],
            n_fft=hp["biot_n_fft"],
            hop=hp["biot_hop"],
            depth=hp["biot_depth"],
            heads=hp["biot_heads"],
            ff_mult=hp["biot_ff_mult"],
            attn_dropout=hp["sp_attn_dropout"],
            pe_dropout=hp["sp_pe_dropout"],
            max_frames=(self.n_times - hp["biot_n_fft"]) // hp["biot_hop"] + 1,
        )
        self.head = nn.Linear(hp["biot_embed_dim"], self.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        return self.head(F.elu(self.encoder(self.scale_input(x))))
