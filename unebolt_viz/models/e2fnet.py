"""E2fNet: EEG spectra to an fMRI volume through a convolutional encoder, a U-Net and a decoder.

After "From Brainwaves to Brain Scans: A Robust Neural Network for EEG-to-fMRI Synthesis"
(Roos et al.), with the layer sizes of the authors' public code:

- Encoder: Conv (20 -> 32, kernel (1, 5), stride (1, 2), padding (0, 3)), BatchNorm, ReLU; the
  same to 64; Conv 3x3 to 128, BatchNorm, ReLU; Conv 3x3 to 256. The electrode axis is kept and
  the 249 bins shrink to 64; the (C, 64) map is then resized to 64 x 64 (bicubic).
- U-Net: the authors use ``diffusers``' ``UNet2DModel`` with 256 -> 256 channels, one ResNet
  layer per block, block channels (256, 256), two down and two up blocks (one 2x down- and
  one 2x up-sampling), a middle block with self-attention (heads of 8 channels), GroupNorm 32
  and SiLU, and the diffusion timestep fixed at 0 (so its embedding is a learned constant).
  :class:`UNet` below is our own implementation of exactly that network, with the same
  parameter names (``conv_in``, ``time_embedding.linear_1``, ``down_blocks.0.resnets.0.conv1``
  ...), so that no dependency on ``diffusers`` is needed; the tests check it against
  ``diffusers`` when that package is installed.
- Decoder: Conv 3x3 256 -> 128 -> 64 -> 32 (BatchNorm, ReLU each), Conv 3x3 -> D, sigmoid.

19,152,030 parameters (19.15 M) for D = 30 at the paper size. The output is in [0, 1], like
the min-max scaled target volumes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .volumetric_base import IMAGE_SIZE, VolumetricModelMixin


def _conv_bn_relu(c_in: int, c_out: int, kernel: Any = 3, stride: Any = 1,
                  padding: Any = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


def timestep_embedding(timesteps: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of diffusion timesteps, cosines first (``flip_sin_to_cos``)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=timesteps.device) / half)
    angles = timesteps.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class TimestepEmbedding(nn.Module):
    """Linear, SiLU, Linear: the timestep's sinusoid to the ResNet blocks' embedding."""

    def __init__(self, dim: int, embed_dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(dim, embed_dim)
        self.linear_2 = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock(nn.Module):
    """GroupNorm, SiLU, Conv 3x3, + projected embedding, GroupNorm, SiLU, Conv 3x3; residual."""

    def __init__(self, c_in: int, c_out: int, embed_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in, eps=1e-5)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time_emb_proj = nn.Linear(embed_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out, eps=1e-5)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.conv_shortcut is None else self.conv_shortcut(x)) + h


class AttentionBlock(nn.Module):
    """GroupNorm then multi-head self-attention over all pixels; residual."""

    def __init__(self, channels: int, head_dim: int, groups: int) -> None:
        super().__init__()
        if channels % head_dim:
            raise ValueError(f"attention_head_dim={head_dim} must divide the width {channels}")
        self.heads = channels // head_dim
        self.group_norm = nn.GroupNorm(groups, channels, eps=1e-5)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        h = self.group_norm(x).flatten(2).transpose(1, 2)  # (b, HW, c)

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, -1, self.heads, channels // self.heads).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.to_q(h)), heads(self.to_k(h)),
                                             heads(self.to_v(h)))
        out = self.to_out[0](out.transpose(1, 2).reshape(batch, height * width, channels))
        return x + out.transpose(1, 2).reshape(batch, channels, height, width)


class _Block(nn.Module):
    """A U-Net stage: ResNet layers, then an optional 2x down- or up-sampling convolution."""

    def __init__(self, resnets: list[ResnetBlock], resample: str | None, channels: int) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(resnets)
        self.resample = resample
        stride = 2 if resample == "down" else 1
        conv = nn.ModuleDict({"conv": nn.Conv2d(channels, channels, 3, stride=stride, padding=1)})
        if resample == "down":
            self.downsamplers = nn.ModuleList([conv])
        elif resample == "up":
            self.upsamplers = nn.ModuleList([conv])


class _MidBlock(nn.Module):
    def __init__(self, width: int, embed_dim: int, groups: int, head_dim: int) -> None:
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock(width, width, embed_dim, groups)
                                      for _ in range(2)])
        self.attentions = nn.ModuleList([AttentionBlock(width, head_dim, groups)])

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        x = self.resnets[0](x, emb)
        return self.resnets[1](self.attentions[0](x), emb)


class UNet(nn.Module):
    """The two-level U-Net of E2fNet (``diffusers``' ``UNet2DModel`` in the authors' code).

    Parameters
    ----------
    width : int
        Channels in, out and of every block (256).
    groups : int
        GroupNorm groups (32).
    head_dim : int
        Channels per attention head in the middle block (8).
    """

    def __init__(self, width: int, groups: int, head_dim: int) -> None:
        super().__init__()
        embed_dim = 4 * width
        self.width = width
        self.conv_in = nn.Conv2d(width, width, 3, padding=1)
        self.time_embedding = TimestepEmbedding(width, embed_dim)
        self.down_blocks = nn.ModuleList([
            _Block([ResnetBlock(width, width, embed_dim, groups)], "down", width),
            _Block([ResnetBlock(width, width, embed_dim, groups)], None, width),
        ])
        self.mid_block = _MidBlock(width, embed_dim, groups, head_dim)
        self.up_blocks = nn.ModuleList([
            _Block([ResnetBlock(2 * width, width, embed_dim, groups) for _ in range(2)], "up",
                   width),
            _Block([ResnetBlock(2 * width, width, embed_dim, groups) for _ in range(2)], None,
                   width),
        ])
        self.conv_norm_out = nn.GroupNorm(groups, width, eps=1e-5)
        self.conv_out = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, width, H, W) -> the same shape; H and W must be even."""
        zero = torch.zeros(x.shape[0], device=x.device)
        emb = self.time_embedding(timestep_embedding(zero, self.width).to(x.dtype))
        x = self.conv_in(x)
        skips = [x]
        for block in self.down_blocks:
            for resnet in block.resnets:
                x = resnet(x, emb)
                skips.append(x)
            if block.resample == "down":
                x = block.downsamplers[0]["conv"](x)
                skips.append(x)
        x = self.mid_block(x, emb)
        for block in self.up_blocks:
            for resnet in block.resnets:
                x = resnet(torch.cat([x, skips.pop()], dim=1), emb)
            if block.resample == "up":
                x = block.upsamplers[0]["conv"](F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class E2fNet(VolumetricModelMixin, nn.Module):
    """E2fNet: spectra (batch, 20, C, 249) -> volumes (batch, D, 64, 64) in [0, 1].

    Build it with ``build_model("e2fnet", n_outputs=D, ch_names=...)``; the constructor
    arguments are those of :class:`~unebolt_viz.models.volumetric_base.VolumetricModelMixin`
    and the preset's hyperparameters (:mod:`unebolt_viz.models.volumetric_presets`).
    """

    name = "e2fnet"

    def _build(self, hparams: dict[str, Any]) -> None:
        c1, c2, c3 = (int(c) for c in hparams["enc_channels"])
        width, groups = int(hparams["width"]), int(hparams["norm_groups"])
        d1, d2, d3 = (int(c) for c in hparams["dec_channels"])
        if width % groups or (2 * width) % groups:
            raise ValueError(f"norm_groups={groups} must divide width={width}")
        strided = dict(kernel=(1, 5), stride=(1, 2), padding=(0, 3))
        self.encoder = nn.Sequential(
            _conv_bn_relu(self.n_windows, c1, **strided), _conv_bn_relu(c1, c2, **strided),
            _conv_bn_relu(c2, c3), nn.Conv2d(c3, width, 3, padding=1),
        )
        self.unet = UNet(width, groups, int(hparams["attention_head_dim"]))
        self.decoder = nn.Sequential(
            _conv_bn_relu(width, d1), _conv_bn_relu(d1, d2), _conv_bn_relu(d2, d3),
            nn.Conv2d(d3, self.n_outputs, 3, padding=1), nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Spectra (batch, n_windows, C, n_freqs) -> features (batch, width, 64, 64)."""
        self.check_input(x)
        h = self.encoder(x)
        if tuple(h.shape[-2:]) != (IMAGE_SIZE, IMAGE_SIZE):
            h = F.interpolate(h, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bicubic")
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spectra (batch, n_windows, C, n_freqs) -> volumes (batch, D, 64, 64), slices first."""
        return self.decoder(self.unet(self.encode(x)))
