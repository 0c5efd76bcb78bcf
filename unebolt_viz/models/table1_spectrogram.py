"""Unified CNN-Transformer and FFCL: Table 1 baselines built on a spectrogram CNN.

Both run a stack of four residual 2-D convolution blocks over each channel's STFT magnitude
(channels as input planes), the form both take in the BIOT repository's baseline collection,
which BIOT and LaBraM benchmark; sources are listed in :mod:`unebolt_viz.models.table1_baselines`
(no code copied). Each is made "unified" as in the UnEBOLT paper: the last layer maps to all P
ROIs. braindecode is not used: its model code needs torchaudio, which does not load against our
torch, and it has neither architecture. EEG comes in microvolts and is divided by 100 first.

Parameter counts at the ``paper`` preset for 26 channels, 3200 samples and P = 64 (asserted in
``tests/test_table1_baselines.py``): CNN-Transformer 3,176,352; FFCL 2,564,000.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from .base import EEGModelMixin
from .spectral import sinusoidal_position_encoding

#: State-dict tensors of :class:`SpectrogramCNN` (under ``cnn.``) indexed by input channel,
#: and their channel axes (for channel subsets).
_CNN_INPUT_CHANNEL_AXES: dict[str, tuple[int, ...]] = {
    "cnn.blocks.0.conv1.weight": (1,), "cnn.blocks.0.shortcut.0.weight": (1,),
}


class ResBlock2d(nn.Module):
    """Two 3x3 convolutions with batch norm, a strided conv shortcut, max-pool and dropout.

    ``conv(stride) -> BN -> ReLU -> conv -> BN``, plus ``conv(stride) -> BN`` of the input, then
    a 3x3 max-pool with the same stride and dropout: each block shrinks both axes about 4-fold.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.norm1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.norm2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1),
            nn.BatchNorm2d(out_channels),
        )
        self.pool = nn.MaxPool2d(3, stride=stride, padding=1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, freq, frames) -> (batch, out_channels, ~freq/4, ~frames/4)."""
        out = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))
        return self.dropout(self.pool(out + self.shortcut(x)))


class SpectrogramCNN(nn.Module):
    """STFT magnitude of every channel, four :class:`ResBlock2d`, average over what is left.

    The STFT has a rectangular window of ``n_fft`` samples, hop ``hop``, centred (reflect
    padding) and normalised, as the BIOT repository's baselines compute it. The block widths are
    ``width * (1, 2, 4, 8)`` (32 ... 256 at the paper preset). The public versions squeeze a
    1 x 1 map, which the 2-s windows they were written for leave; the map left by other window
    lengths (1 x 2 for FFCL's 16 s) is averaged here instead.
    """

    def __init__(self, n_chans: int, width: int, n_fft: int, hop: int, dropout: float) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.ones(n_fft), persistent=False)
        widths = (n_chans, width, 2 * width, 4 * width, 8 * width)
        self.blocks = nn.Sequential(*(
            ResBlock2d(widths[i], widths[i + 1], 2, dropout) for i in range(4)
        ))
        self.out_features = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_chans, n_samples) -> (batch, 8 * width)."""
        b, c, t = x.shape
        spectrum = torch.stft(
            x.reshape(b * c, t), n_fft=self.n_fft, hop_length=self.hop, window=self.window,
            center=True, normalized=True, onesided=True, return_complex=True,
        ).abs()
        features = self.blocks(spectrum.reshape(b, c, *spectrum.shape[1:]))
        return features.mean(dim=(2, 3))


def _check_stft(n_fft: int, hop: int, n_samples: int, what: str) -> None:
    """Raise a ValueError unless the STFT settings fit ``n_samples`` (centred, reflect-padded)."""
    if not 0 < hop <= n_fft:
        raise ValueError(f"hop={hop} must be between 1 and n_fft={n_fft}")
    if n_fft // 2 >= n_samples:
        raise ValueError(
            f"n_fft={n_fft} is too long for {what} of {n_samples} samples (reflect padding needs "
            f"n_fft // 2 < {n_samples}); lower n_fft"
        )


class CNNTransformerUnified(EEGModelMixin, nn.Module):
    """CNN-Transformer (Peh et al., 2022) with its last layer mapped to all ROIs.

    The window is cut into segments of ``cnnt_segment`` samples; each segment's multi-channel
    spectrogram goes through :class:`SpectrogramCNN`, giving one token of width ``8 * cnn_width``
    per segment; a sinusoidal position encoding (dropout 0.1) is added, ``cnnt_depth``
    post-norm transformer layers (GELU feed-forward of ``cnnt_ff``, dropout ``drop_rate``) encode
    the tokens, and their mean goes through ELU and a linear layer to the P ROIs. Paper preset
    (the BIOT repository's sizes): widths 32-256, 4 layers, 4 heads, feed-forward 256, dropout
    0.2, residual-block dropout 0.5, STFT 200 samples with hop 10. The public version cuts a
    10-s window into 5 segments of 2 s; we use 1-s segments (16 tokens for 16 s), which every
    window length the package allows divides evenly. 3,176,352 parameters for 26 channels, 3200
    samples and P = 64 (PyTorch's default initialisation).
    """

    name = "cnn_transformer_unified"
    input_channel_axes: ClassVar[dict[str, tuple[int, ...]]] = _CNN_INPUT_CHANNEL_AXES

    def _build(self, hp: dict[str, Any]) -> None:
        segment = hp["cnnt_segment"]
        if segment < 1 or self.n_times % segment:
            raise ValueError(
                f"n_times={self.n_times} must be a multiple of cnnt_segment={segment}"
            )
        _check_stft(hp["n_fft"], hp["hop"], segment, "a segment")
        self.cnn = SpectrogramCNN(
            self.n_chans, hp["cnn_width"], hp["n_fft"], hp["hop"], hp["cnn_dropout"]
        )
        width = self.cnn.out_features
        if width % hp["cnnt_heads"]:
            raise ValueError(f"8 * cnn_width = {width} must be divisible by cnnt_heads")
        n_segments = self.n_times // segment
        self.register_buffer(
            "position_encoding", sinusoidal_position_encoding(n_segments, width), persistent=False
        )
        self.position_dropout = nn.Dropout(hp["cnnt_pe_dropout"])
        layer = nn.TransformerEncoderLayer(
            width, hp["cnnt_heads"], dim_feedforward=hp["cnnt_ff"], dropout=hp["drop_rate"],
            activation="gelu", batch_first=True,
        )
        self.transformer = nn.TransformerEncoder(
            layer, num_layers=hp["cnnt_depth"], enable_nested_tensor=False
        )
        self.head = nn.Linear(width, self.n_outputs)
        self.segment = segment

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        x = self.scale_input(x)
        b, c, t = x.shape
        n_segments = t // self.segment
        segments = x.reshape(b, c, n_segments, self.segment).transpose(1, 2)
        tokens = self.cnn(segments.reshape(b * n_segments, c, self.segment))
        tokens = self.position_dropout(tokens.reshape(b, n_segments, -1) + self.position_encoding)
        return self.head(F.elu(self.transformer(tokens).mean(dim=1)))


class FFCLUnified(EEGModelMixin, nn.Module):
    """FFCL, the CNN-LSTM feature-fusion network (Li et al., 2022), mapped to all ROIs.

    Two branches read the whole window: :class:`SpectrogramCNN` (width ``8 * cnn_width``) and a
    ``ffcl_lstm_layers``-layer LSTM (hidden ``ffcl_lstm_hidden``, dropout ``drop_rate`` between
    layers) over the window decimated by ``ffcl_shrink``: the ``ffcl_shrink`` phase-shifted
    sub-sampled copies of every channel are the steps of the sequence, each step a vector of
    ``n_times / ffcl_shrink`` samples, as the BIOT repository's version arranges it; its last
    output is kept. Both features are concatenated and go through ELU and a linear layer to the
    P ROIs. Paper preset (the BIOT repository's sizes): widths 32-256, LSTM 2 x 256, shrink 20,
    dropout 0.5, STFT 200 samples with hop 10. 2,564,000 parameters for 26 channels, 3200
    samples and P = 64 (PyTorch's default initialisation).
    """

    name = "ffcl_unified"
    input_channel_axes: ClassVar[dict[str, tuple[int, ...]]] = _CNN_INPUT_CHANNEL_AXES

    def _build(self, hp: dict[str, Any]) -> None:
        shrink = hp["ffcl_shrink"]
        if shrink < 1 or self.n_times % shrink:
            raise ValueError(f"n_times={self.n_times} must be a multiple of ffcl_shrink={shrink}")
        _check_stft(hp["n_fft"], hp["hop"], self.n_times, "a window")
        self.cnn = SpectrogramCNN(
            self.n_chans, hp["cnn_width"], hp["n_fft"], hp["hop"], hp["cnn_dropout"]
        )
        layers = hp["ffcl_lstm_layers"]
        self.lstm = nn.LSTM(
            self.n_times // shrink, hp["ffcl_lstm_hidden"], num_layers=layers,
            batch_first=True, dropout=hp["drop_rate"] if layers > 1 else 0.0,
        )
        self.head = nn.Linear(self.cnn.out_features + hp["ffcl_lstm_hidden"], self.n_outputs)
        self.shrink = shrink

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """EEG windows in microvolts (batch, n_chans, n_times) -> (batch, n_outputs)."""
        x = self.scale_input(x)
        b, c, t = x.shape
        # Step i * n_chans + ch holds x[:, ch, i::shrink].
        decimated = x.reshape(b, c, t // self.shrink, self.shrink).permute(0, 3, 1, 2)
        sequence = decimated.reshape(b, self.shrink * c, t // self.shrink)
        recurrent = self.lstm(sequence)[0][:, -1]
        return self.head(F.elu(torch.cat([self.cnn(x), recurrent], dim=1)))

