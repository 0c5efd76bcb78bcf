"""Spec2VolCAMU-Net: a time-frequency attention encoder and a Vision-Mamba U-Net decoder.

After "Spec2VolCAMU-Net: A Spectrogram-to-Volume Model for EEG-to-fMRI Reconstruction based
on Multi-directional Time-Frequency Convolutional Attention Encoder and Vision-Mamba U-Net",
with the layer sizes of the authors' public code:

- Encoder (MD-TF-CAE): Conv 3x3 (20 -> 256), SiLU; two blocks of [three parallel convolutions
  to 32 channels with kernels (3, 1), (1, 3) and 3x3, each with SiLU; concatenated; 1x1 to 256
  with SiLU; residual; LayerNorm over channels] then [8-head self-attention along the frequency
  axis of each electrode row; residual; LayerNorm] then Conv (1, 3) with stride (1, 2), so the
  249 bins become 125 then 63. The (C, 63) map is zero-padded to 64 x 64 (C <= 64).
- Decoder: VM-UNet ("VM-UNet: Vision Mamba UNet for Medical Image Segmentation", Ruan et al.):
  4 x 4 patches to 96 channels; stages of 96, 192, 384 and 768 channels with 2, 2, 9 and 2
  visual state-space blocks (:class:`~unebolt_viz.models._mamba.VSSBlock`), patch merging
  between them; a decoder of 2, 9, 2 and 2 blocks with patch expansion and the encoder's stage
  inputs added as skips; a final 4x patch expansion to 24 channels and a 1x1 convolution to
  D slices, without a sigmoid. Stochastic depth rises linearly to 0.2.

45,927,230 parameters (45.93 M) for D = 30 at the paper size. The selective scans run in pure
PyTorch (any device) or with the ``mamba_ssm`` CUDA kernel (``scan_backend``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._mamba import VSSBlock
from .labram import init_linear_and_norm
from .volumetric_base import IMAGE_SIZE, VolumetricModelMixin


def _channels_last_norm(norm: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the channels of a (batch, channels, H, W) map."""
    return norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class MultiDirectionalConv(nn.Module):
    """Convolutions along electrodes (3, 1), frequencies (1, 3) and both (3, 3), fused by 1x1."""

    def __init__(self, channels: int, branch_channels: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Conv2d(channels, branch_channels, kernel, padding=pad)
            for kernel, pad in (((3, 1), (1, 0)), ((1, 3), (0, 1)), ((3, 3), (1, 1)))
        ])
        self.fusion = nn.Conv2d(3 * branch_channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.fusion(torch.cat([F.silu(b(x)) for b in self.branches], dim=1)))


class EncoderBlock(nn.Module):
    """Multi-directional convolution and frequency-axis self-attention, then a 2x stride."""

    def __init__(self, channels: int, heads: int, branch_channels: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"enc_heads={heads} must divide enc_width={channels}")
        self.conv = MultiDirectionalConv(channels, branch_channels)
        self.norm1 = nn.LayerNorm(channels)
        self.attn = nn.MultiheadAttention(channels, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(channels)
        self.downsample = nn.Conv2d(channels, channels, (1, 3), stride=(1, 2), padding=(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _channels_last_norm(self.norm1, x + self.conv(x))
        batch, channels, rows, freqs = x.shape
        seq = x.permute(0, 2, 3, 1).reshape(batch * rows, freqs, channels)
        attended, _ = self.attn(seq, seq, seq, need_weights=False)
        x = x + attended.reshape(batch, rows, freqs, channels).permute(0, 3, 1, 2)
        return self.downsample(_channels_last_norm(self.norm2, x))


class PatchMerging(nn.Module):
    """2 x 2 neighbours concatenated (4C), LayerNorm, linear to 2C: half the resolution."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                      dim=-1)
        return self.reduction(self.norm(x))


class PatchExpand(nn.Module):
    """Linear from ``c_in`` to ``scale**2 * c_out`` channels, rearranged into ``scale`` x
    ``scale`` pixels of ``c_out`` channels, then LayerNorm."""

    def __init__(self, c_in: int, c_out: int, scale: int) -> None:
        super().__init__()
        self.scale, self.c_out = scale, c_out
        self.expand = nn.Linear(c_in, scale * scale * c_out, bias=False)
        self.norm = nn.LayerNorm(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = x.shape
        s = self.scale
        x = self.expand(x).view(batch, height, width, s, s, self.c_out)
        x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, height * s, width * s, self.c_out)
        return self.norm(x)


class VMUNet(nn.Module):
    """Vision-Mamba U-Net on a (batch, c_in, 64, 64) map -> (batch, c_out, 64, 64)."""

    def __init__(self, c_in: int, c_out: int, hparams: dict[str, Any]) -> None:
        super().__init__()
        dims = [int(d) for d in hparams["dims"]]
        depths = [int(d) for d in hparams["depths"]]
        depths_up = [int(d) for d in hparams["depths_decoder"]]
        patch = int(hparams["patch_size"])
        if not len(dims) == len(depths) == len(depths_up) or any(
                b != 2 * a for a, b in zip(dims, dims[1:])):
            raise ValueError(f"dims {dims} must double from stage to stage, with one depth "
                             f"per stage in depths {depths} and depths_decoder {depths_up}")
        if IMAGE_SIZE % (patch * 2 ** (len(dims) - 1)):
            raise ValueError(f"{IMAGE_SIZE} pixels cannot be cut into {patch}-pixel patches "
                             f"and halved {len(dims) - 1} times")
        ss2d = dict(d_state=int(hparams["d_state"]), expand=int(hparams["ssm_expand"]),
                    scan_backend=hparams["scan_backend"])
        rate = float(hparams["drop_path_rate"])
        rates = torch.linspace(0, rate, sum(depths)).tolist()
        rates_up = torch.linspace(0, rate, sum(depths_up)).tolist()[::-1]
        self.patch_embed = nn.Conv2d(c_in, dims[0], patch, stride=patch)
        self.patch_norm = nn.LayerNorm(dims[0])
        self.stages = nn.ModuleList()
        self.merges = nn.ModuleList()
        for i, (dim, depth) in enumerate(zip(dims, depths)):
            first = sum(depths[:i])
            self.stages.append(nn.Sequential(*[VSSBlock(dim, rates[first + j], **ss2d)
                                               for j in range(depth)]))
            self.merges.append(PatchMerging(dim) if i < len(dims) - 1 else nn.Identity())
        self.expands = nn.ModuleList()
        self.stages_up = nn.ModuleList()
        for i, (dim, depth) in enumerate(zip(dims[::-1], depths_up)):
            first = sum(depths_up[:i])
            self.expands.append(PatchExpand(2 * dim, dim, 2) if i else nn.Identity())
            self.stages_up.append(nn.Sequential(*[VSSBlock(dim, rates_up[first + j], **ss2d)
                                                  for j in range(depth)]))
        self.final_expand = PatchExpand(dims[0], dims[0] // patch, patch)
        self.final_conv = nn.Conv2d(dims[0] // patch, c_out, 1)
        self.apply(init_linear_and_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_norm(self.patch_embed(x).permute(0, 2, 3, 1))  # channels last
        skips = []
        for stage, merge in zip(self.stages, self.merges):
            skips.append(x)
            x = merge(stage(x))
        for i, (expand, stage) in enumerate(zip(self.expands, self.stages_up)):
            x = stage(expand(x + skips[-i] if i else x))
        return self.final_conv(self.final_expand(x).permute(0, 3, 1, 2))


class Spec2VolCAMUNet(VolumetricModelMixin, nn.Module):
    """Spec2VolCAMU-Net: spectra (batch, 20, C, 249) -> volumes (batch, D, 64, 64).

    Build it with ``build_model("spec2volcamunet", n_outputs=D, ch_names=...)`` (at most 64
    channels); the constructor arguments are those of
    :class:`~unebolt_viz.models.volumetric_base.VolumetricModelMixin` and the preset's
    hyperparameters (:mod:`unebolt_viz.models.volumetric_presets`). The output is not squashed
    (no sigmoid), as in the authors' code.
    """

    name = "spec2volcamunet"

    def _build(self, hparams: dict[str, Any]) -> None:
        if self.n_chans > IMAGE_SIZE:
            raise ValueError(
                f"spec2volcamunet pads the electrode axis to {IMAGE_SIZE} rows, so it takes at "
                f"most {IMAGE_SIZE} channels; got {self.n_chans}. Select {IMAGE_SIZE} channels.")
        if -(-self.n_freqs // 4) > IMAGE_SIZE:
            raise ValueError(f"n_freqs={self.n_freqs} shrinks to more than {IMAGE_SIZE} columns; "
                             f"use at most {4 * IMAGE_SIZE} bins")
        width = int(hparams["enc_width"])
        self.stem = nn.Conv2d(self.n_windows, width, 3, padding=1)
        self.blocks = nn.ModuleList([
            EncoderBlock(width, int(hparams["enc_heads"]), int(hparams["enc_branch_channels"]))
            for _ in range(2)
        ])
        self.decoder = VMUNet(width, self.n_outputs, hparams)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Spectra (batch, n_windows, C, n_freqs) -> features (batch, enc_width, 64, 64)."""
        self.check_input(x)
        x = F.silu(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return F.pad(x, (0, IMAGE_SIZE - x.shape[-1], 0, IMAGE_SIZE - x.shape[-2]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Spectra (batch, n_windows, C, n_freqs) -> volumes (batch, D, 64, 64), slices first."""
        return self.decoder(self.encode(x))
