"""Unified ST-Transformer and BEIRA: Table 1 baselines that read the raw EEG waveform.

Both are rebuilt from public descriptions (no code copied; sources in
:mod:`unebolt_viz.models.table1_baselines`) and made "unified" as in the UnEBOLT paper: their last
layer maps to all P ROIs. braindecode is not used: its model code needs torchaudio, which does
not load against our torch, and it has neither architecture (its ``EEGConformer`` is Song et
al.'s 2022 model, not the 2021 ST-Transformer). Like every model of the package they take EEG
in microvolts and divide it by 100 first (NeuroBOLT's and LaBraM's input scaling).

Parameter counts at the ``paper`` preset for 26 channels, 3200 samples and P = 64 (asserted in
``tests/test_table1_baselines.py``): ST-Transformer 2,665,558; BEIRA 320,608.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .base import EEGModelMixin

#: BEIRA's three down-sampling conv blocks (kernel size, max-pool stride), as configured in the
#: authors' training notebook (channels 128 throughout).
BEIRA_DOWNSAMPLING: tuple[tuple[int, int], ...] = ((5, 8), (5, 8), (3, 4))


class ChannelAttention(nn.Module):
    """ST-Transformer's attention across EEG channels ("spatial transforming").

    Queries and keys are per-channel projections (linear over channels, LayerNorm, dropout) of
    the time-normalised EEG, average-pooled over time in blocks of ``pool`` samples; each output
    channel is the softmax-weighted sum of all input channels, followed by a channel projection.
    The softmax scale is the square root of the pooled length. This follows the paper's
    attention equation; the BIOT repository's version contracts the scores away (its output
    equals its input, leaving the query and key layers without gradient), which we do not copy.
    """

    def __init__(self, n_chans: int, n_times: int, pool: int, dropout: float) -> None:
        super().__init__()
        if not 0 < pool <= n_times:
            raise ValueError(f"stt_pool={pool} must be between 1 and n_times={n_times}")
        self.pool = pool
        self.scale = math.sqrt(n_times // pool)
        self.query, self.key, self.projection = (
            nn.Sequential(nn.Linear(n_chans, n_chans), nn.LayerNorm(n_chans), nn.Dropout(dropout))
            for _ in range(3)
        )
        for branch in (self.query, self.key, self.projection):
            nn.init.xavier_normal_(branch[0].weight)
            nn.init.zeros_(branch[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_chans, n_times) -> same shape."""
        by_time = x.transpose(1, 2)  # (B, T, C)
        query = F.avg_pool1d(self.query(by_time).transpose(1, 2), self.pool)
        key = F.avg_pool1d(self.key(by_time).transpose(1, 2), self.pool)
        weights = torch.softmax(query @ key.transpose(1, 2) / self.scale, dim=-1)  # (B, C, C)
        mixed = weights @ x
        return self.projection(mixed.transpose(1, 2)).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate q/k/v maps, scaled by sqrt(embed_dim).

    The scale is the full width, not the head width, as in the BIOT repository's ST-Transformer.
    """

    def __init__(self, embed_dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if embed_dim % heads:
            raise ValueError(f"stt_embed_dim={embed_dim} must be divisible by stt_heads={heads}")
        self.heads, self.scale = heads, math.sqrt(embed_dim)
        self.query, self.key, self.value, self.projection = (
            nn.Linear(embed_dim, embed_dim) for _ in range(4)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, embed_dim) -> same shape."""
        b, n, d = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        attention = self.dropout(torch.softmax(q @ k.transpose(-2, -1) / self.scale, dim=-1))
        return self.projection((attention @ v).transpose(1, 2).reshape(b, n, d))


class PreNormBlock(nn.Module):
    """Pre-norm transformer block: attention and a GELU feed-forward, each with dropout."""

    def __init__(self, embed_dim: int, heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(embed_dim), nn.LayerNorm(embed_dim)
        self.attention = SelfAttention(embed_dim, heads, dropout)
        self.feed_forward = nn.Sequential(
            nn.Linear(embed_dim, ff_mult * embed_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(ff_mult * embed_dim, embed_dim),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, embed_dim) -> same shape."""
        x = x + self.dropout(self.attention(self.norm1(x)))
        return x + self.dropout(self.feed_forward(self.norm2(x)))


class STTransformerUnified(EEGModelMixin, nn.Module):
    """ST-Transformer (Song et al., 2021) with its last layer mapped to all ROIs.

    Channel attention (with a LayerNorm over each channel's whole window, dropout and a residual
    connection), then a two-layer strided temporal convolution (``stt_conv_channels`` filters,
    batch norm, LeakyReLU 0.2, then ``stt_embed_dim`` filters; kernel ``stt_kernel``, stride
    ``stt_stride``: 49 tokens for 3200 samples), ``stt_depth`` pre-norm transformer blocks, a
    mean over tokens, ELU and a linear layer to the P ROIs. Paper preset (the BIOT repository's
    defaults): width 256, 3 blocks, 8 heads, feed-forward 4x, dropout 0.5 (``drop_rate``),
    channel-attention dropout 0.3, pooling 100 samples. 2,665,558 parameters for 26 channels,
    3200 samples and P = 64. PyTorch's default initialisation except the channel attention's
    linear layers (Xavier normal, zero bias).
    """

    name = "st_transformer_unified"
    #: State-dict tensors indexed by input channel, and their channel axes (for channel subsets).
    input_channel_axes: ClassVar[dict[str, tuple[int, ...]]] = {
        **{f"channel_attention.{part}.0.weight": (0, 1)
           for part in ("query", "key", "projection")},
        **{f"channel_attention.{part}.{layer}.{kind}": (0,)
           for part in ("query", "key", "projection")
           for layer, kind in ((0, "bias"), (1, "weight"), (1, "bias"))},
        "patch_embed.0.weight": (1,),
    }

    def _build(self, hp: dict[str, Any]) -> None:
        width, kernel, stride = hp["stt_embed_dim"], hp["stt_kernel"], hp["stt_stride"]
        tokens = (((self.n_times - kernel) // stride + 1) - kernel) // stride + 1
        if tokens < 1:
            raise ValueError(
                f"n_times={self.n_times} is too short for ST-Transformer's two convolutions "
                f"(kernel {kernel}, stride {stride}); use a longer window or smaller stt_stride"
            )
        self.time_norm = nn.LayerNorm(self.n_times)
        self.channel_attention = ChannelAttention(
            self.n_chans, self.n_times, hp["stt_pool"], hp["stt_channel_dropout"]
        )
        self.attention_dropout = nn.Dropout(hp["drop_rate"])
        conv_channels = hp["stt_conv_channels"]
        self.patch_embed = nn.Sequential(
            nn.Conv1d(self.n_chans, conv_channels, kernel, stride),
            nn.BatchNorm1d(conv_channels),
            nn.LeakyReLU(0.2),
            nn.Conv1d(conv_channels, width, kernel, stride),
        )
        self.blocks = nn.Sequential(*(
            PreNormBlock(width, hp["stt_heads"], hp["stt_ff_mult"], hp["drop_rate"])
            for _ in range(hp["stt_depth"])
        ))
        self.head = nn.Linear(width, self.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        x = self.scale_input(x)
        x = x + self.attention_dropout(self.channel_attention(self.time_norm(x)))
        tokens = self.patch_embed(x).transpose(1, 2)  # (B, tokens, width)
        return self.head(F.elu(self.blocks(tokens).mean(dim=1)))


class BEIRAFeatureBlock(nn.Module):
    """BEIRA's interpretable front end: spatial unmixing, band-pass, rectification, envelope.

    A 1x1 convolution unmixes the electrodes into ``hidden`` virtual sources (batch-normalised
    without affine terms); each source gets its own learned FIR band-pass filter (no bias),
    batch norm, ReLU, and its own low-pass filter that extracts the envelope ("same" padding).
    """

    def __init__(self, n_chans: int, hidden: int, filter_size: int, envelope_size: int) -> None:
        super().__init__()
        self.unmixing = nn.Conv1d(n_chans, hidden, 1)
        self.unmixed_norm = nn.BatchNorm1d(hidden, affine=False)
        self.band_pass = nn.Conv1d(
            hidden, hidden, filter_size, groups=hidden, bias=False, padding="same"
        )
        self.band_norm = nn.BatchNorm1d(hidden, affine=False)
        self.envelope = nn.Conv1d(hidden, hidden, envelope_size, groups=hidden, padding="same")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_chans, n_times) -> (batch, hidden, n_times)."""
        x = self.unmixed_norm(self.unmixing(x))
        return self.envelope(F.relu(self.band_norm(self.band_pass(x))))


class BEIRAConvBlock(nn.Module):
    """Convolution (no bias, "same" padding), LayerNorm over channels, GELU, dropout, max-pool."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, pool: int,
                 dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, bias=False, padding="same")
        self.norm = nn.LayerNorm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, time) -> (batch, out_channels, time // pool)."""
        x = self.norm(self.conv(x).transpose(1, 2)).transpose(1, 2)
        x = self.dropout(F.gelu(x))
        return F.max_pool1d(x, self.pool) if self.pool > 1 else x


class BEIRAUnified(EEGModelMixin, nn.Module):
    """BEIRA's encoder (Kovalev et al., 2022) with a linear projection to all ROIs.

    BEIRA is a sequence-to-sequence autoencoder; as NeuroBOLT did for its EEG-to-fMRI
    baselines, its encoder is kept and a final projection makes it sequence-to-one (here to all
    P ROIs): the interpretable feature block (``beira_hidden`` sources, band-pass of
    ``beira_filter`` and envelope of ``beira_envelope`` taps), a kernel-3 conv block to
    ``beira_channels``, three down-sampling conv blocks (kernels 5, 5, 3; pools 8, 8, 4), then
    the flattened (channels x 12 steps for 3200 samples) encoding through one linear layer.
    The up-sampling decoder of the original is dropped (it rebuilds a time series, not one
    value per window). The filter lengths are the published tap counts; BEIRA ran at 100 Hz,
    so at our 200 Hz they span half the time. Paper preset (the authors' configuration): 16
    sources, 51-tap filters, 128 channels, dropout 0.3 (``drop_rate``). 320,608 parameters for
    26 channels, 3200 samples and P = 64.
    """

    name = "beira_unified"
    #: State-dict tensors indexed by input channel, and their channel axes (for channel subsets).
    input_channel_axes: ClassVar[dict[str, tuple[int, ...]]] = {"features.unmixing.weight": (1,)}

    def _build(self, hp: dict[str, Any]) -> None:
        steps = self.n_times
        for _, pool in BEIRA_DOWNSAMPLING:
            steps //= pool
        if steps < 1:
            raise ValueError(
                f"n_times={self.n_times} is too short for BEIRA's down-sampling by 8 x 8 x 4; "
                "use at least 256 samples (400 or more: n_times is a multiple of 200)"
            )
        hidden, channels = hp["beira_hidden"], hp["beira_channels"]
        self.features = BEIRAFeatureBlock(
            self.n_chans, hidden, hp["beira_filter"], hp["beira_envelope"]
        )
        self.reduce = BEIRAConvBlock(hidden, channels, 3, 1, hp["drop_rate"])
        self.encoder = nn.Sequential(*(
            BEIRAConvBlock(channels, channels, kernel, pool, hp["drop_rate"])
            for kernel, pool in BEIRA_DOWNSAMPLING
        ))
        self.head = nn.Linear(channels * steps, self.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        encoded = self.encoder(self.reduce(self.features(self.scale_input(x))))
        return self.head(encoded.flatten(1))
