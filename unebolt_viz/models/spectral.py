"""The multi-scale spectral branch of NeuroBOLT, with an efficient linear-attention encoder.

Each channel is described by STFT magnitudes at several window lengths (0.5, 1, 2, 4 s for the
paper); every level is embedded over frequency then over time to the same (frames x width)
grid, the levels are summed, a channel embedding and a sinusoidal position encoding are added,
and all channels' tokens go through a linear-attention transformer, then a mean over tokens.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..conventions import N_TIMES
from .labram import init_linear_and_norm


def stft_magnitude(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    """STFT magnitude with a rectangular window, hop = ``n_fft`` and no centering.

    Equal to ``torch.stft(x, n_fft, hop_length=n_fft, center=False, return_complex=True).abs()``
    (see the tests), computed as an rfft of non-overlapping frames.

    Parameters
    ----------
    x : Tensor, shape (..., n_times)
    n_fft : int

    Returns
    -------
    Tensor, shape (..., n_fft // 2 + 1, n_times // n_fft)
        Frequency bins by frames, as ``torch.stft`` orders them; a trailing partial frame
        is dropped.
    """
    n_frames = x.shape[-1] // n_fft
    frames = x[..., : n_frames * n_fft].reshape(*x.shape[:-1], n_frames, n_fft)
    return torch.fft.rfft(frames, dim=-1).abs().transpose(-1, -2)


def sinusoidal_position_encoding(length: int, dim: int) -> torch.Tensor:
    """The transformer's sine/cosine table, shape (length, dim): sin on even, cos on odd."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    inv_freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * inv_freq)
    table[:, 1::2] = torch.cos(position * inv_freq)[:, : dim // 2]
    return table


class LinearSelfAttention(nn.Module):
    """Efficient (non-causal) linear attention: softmax(q) over features, softmax(k) over tokens.

    ``out = (softmax_feat(q) * head_dim**-0.5) @ (softmax_seq(k)^T v)``: cost linear in the
    number of tokens. No qkv bias; output projection with bias, then dropout.
    """

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(dim, dim, bias=False)
        self.to_v = nn.Linear(dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n_tokens, dim = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(batch, n_tokens, self.heads, -1).transpose(1, 2)

        q, k, v = split(self.to_q(x)), split(self.to_k(x)), split(self.to_v(x))
        q = q.softmax(dim=-1) * q.shape[-1] ** -0.5
        k = k.softmax(dim=-2)
        context = k.transpose(-1, -2) @ v  # (B, H, head_dim, head_dim)
        out = (q @ context).transpose(1, 2).reshape(batch, n_tokens, dim)
        return self.dropout(self.to_out(out))


class FeedForward(nn.Module):
    """Linear -> GELU -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class LinearAttentionLayer(nn.Module):
    """Pre-norm residual layer: x + Attn(LN(x)), then x + FF(LN(x))."""

    def __init__(self, dim: int, heads: int, ff_mult: int, attn_dropout: float) -> None:
        super().__init__()
        self.attn_norm = nn.LayerNorm(dim)
        self.attn = LinearSelfAttention(dim, heads, attn_dropout)
        self.ff_norm = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, ff_mult * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.attn_norm(x))
        return x + self.ff(self.ff_norm(x))


class LinearAttentionEncoder(nn.Module):
    """A stack of :class:`LinearAttentionLayer` (no final norm)."""

    def __init__(self, dim: int, depth: int, heads: int, ff_mult: int, attn_dropout: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            LinearAttentionLayer(dim, heads, ff_mult, attn_dropout) for _ in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MultiScaleSpectralEncoder(nn.Module):
    """NeuroBOLT's multi-scale spectral branch.

    Parameters
    ----------
    n_chans : int
        Number of EEG channels (rows of the learned channel embedding).
    n_times : int
        Samples per window; a multiple of the longest STFT window.
    embed_dim : int
        Width (200 in the paper; must equal the spatiotemporal width for fusion).
    levels : int
        Number of STFT scales; level ``n`` uses ``n_fft = hop = base_window * 2**n``.
    base_window : int
        Shortest STFT window in samples (100 = 0.5 s at 200 Hz).
    depth, heads, ff_mult : int
        Linear-attention encoder size (4 layers, 8 heads, 200 -> 800 -> 200 in the paper).
    attn_dropout, pe_dropout : float
        Dropout after attention (0.2) and after the position encoding (0.1).

    Notes
    -----
    ``index`` holds the channel positions ``0..n_chans-1`` as a non-trainable integer
    parameter, as NeuroBOLT's code has it; it is what makes the published parameter count
    (7,907,011 for one ROI) include ``n_chans`` extra entries.
    """

    def __init__(
        self,
        n_chans: int,
        n_times: int = N_TIMES,
        *,
        embed_dim: int = 200,
        levels: int = 4,
        base_window: int = 100,
        depth: int = 4,
        heads: int = 8,
        ff_mult: int = 4,
        attn_dropout: float = 0.2,
        pe_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        longest = base_window * 2 ** (levels - 1)
        if n_times % longest:
            raise ValueError(
                f"n_times={n_times} must be a multiple of the longest STFT window ({longest} "
                f"samples = base_window {base_window} x 2**{levels - 1})"
            )
        self.n_chans = n_chans
        self.embed_dim = embed_dim
        self.windows = tuple(base_window * 2**level for level in range(levels))
        self.n_frames = n_times // base_window
        self.frequency_embed = nn.ModuleList(nn.Linear(w // 2 + 1, embed_dim) for w in self.windows)
        self.frame_embed = nn.ModuleList(
            nn.Linear(n_times // w, self.n_frames) for w in self.windows
        )
        self.channel_embed = nn.Embedding(n_chans, embed_dim)
        self.index = nn.Parameter(torch.arange(n_chans), requires_grad=False)
        self.register_buffer(
            "position_encoding",
            sinusoidal_position_encoding(self.n_frames, embed_dim),
            persistent=False,
        )
        self.pe_dropout = nn.Dropout(pe_dropout)
        self.encoder = LinearAttentionEncoder(embed_dim, depth, heads, ff_mult, attn_dropout)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Linear layers truncated-normal 0.02 as in NeuroBOLT; the embedding stays N(0, 1)."""
        for module in self.modules():
            init_linear_and_norm(module)
        nn.init.normal_(self.channel_embed.weight)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, n_chans, n_times) -> tokens (batch, n_chans * n_frames, embed_dim)."""
        summed = 0
        for window, freq_embed, frame_embed in zip(
            self.windows, self.frequency_embed, self.frame_embed
        ):
            spectrum = stft_magnitude(x, window)  # (B, C, bins, frames)
            per_frame = freq_embed(spectrum.transpose(-1, -2))  # (B, C, frames, D)
            summed = summed + frame_embed(per_frame.transpose(-1, -2)).transpose(-1, -2)
        tokens = summed + self.channel_embed(self.index)[None, :, None, :]
        tokens = self.pe_dropout(tokens + self.position_encoding)
        return tokens.reshape(x.shape[0], -1, self.embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode ``(batch, n_chans, n_times)`` into ``(batch, embed_dim)``."""
        return self.encoder(self.embed(x)).mean(dim=1)
