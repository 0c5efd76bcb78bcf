"""The spatiotemporal branch: a LaBraM-base compatible transformer over 1-s EEG patches.

Parameter names and shapes follow LaBraM's fine-tuning model (``patch_embed``, ``cls_token``,
``pos_embed``, ``time_embed``, ``blocks.<k>``, ``fc_norm``) so that the student weights of
``labram-base.pth`` load strictly (see :func:`unebolt_viz.models.io.load_labram_checkpoint`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..conventions import (
    LABRAM_CHANNELS,
    LABRAM_EMBEDDABLE_CHANNELS,
    N_LABRAM_EMBEDDING_ROWS,
    canonical_channel_name,
)

#: Samples per patch (1 s at 200 Hz) and the most patches the time embedding holds.
PATCH_SIZE = 200
MAX_PATCHES = 16
#: Length of a patch after the strided first convolution (200 -> 25).
PATCH_TOKEN_STEPS = 25
LAYER_NORM_EPS = 1e-6


def labram_channel_rows(ch_names: Sequence[str]) -> tuple[tuple[str, ...], list[int]]:
    """Map channel names to rows of LaBraM's channel-embedding table.

    Parameters
    ----------
    ch_names : sequence of str
        Channel names; legacy 10-20 names (T3, T4, T5, T6) and decorations such as
        ``"EEG Fp1-REF"`` are mapped by :func:`unebolt_viz.conventions.canonical_channel_name`.

    Returns
    -------
    names : tuple of str
        The canonical names, in the given order.
    rows : list of int
        ``[0] + [position in LaBraM's list + 1 for each channel]``; row 0 is the cls token.

    Raises
    ------
    ValueError
        If a name is unknown to LaBraM, has no embedding row, or appears twice.
    """
    if isinstance(ch_names, str):
        raise TypeError("ch_names must be a sequence of channel names, not a single string")
    lookup = {name.upper(): row for row, name in enumerate(LABRAM_EMBEDDABLE_CHANNELS, start=1)}
    names = tuple(canonical_channel_name(str(name)) for name in ch_names)
    if not names:
        raise ValueError("ch_names is empty: give at least one EEG channel name")
    unknown = [orig for orig, name in zip(ch_names, names) if name.upper() not in lookup]
    if unknown:
        without_row = [n for n in unknown if canonical_channel_name(n) in LABRAM_CHANNELS]
        hint = (
            f" ({without_row} are in LaBraM's list but beyond its {N_LABRAM_EMBEDDING_ROWS - 1} "
            "embedding rows)"
            if without_row
            else ""
        )
        raise ValueError(
            f"Unknown EEG channel name(s) {unknown}{hint}. Allowed: the 10-10 names of LaBraM's "
            "standard_1020 list, unebolt_viz.models._labram_channels.LABRAM_EMBEDDABLE_CHANNELS "
            "(legacy T3/T4/T5/T6 are accepted). Rename or drop these channels."
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"Channel name(s) {duplicates} appear more than once in ch_names")
    return names, [0] + [lookup[name.upper()] for name in names]


def drop_path(x: torch.Tensor, prob: float, training: bool) -> torch.Tensor:
    """Stochastic depth: zero whole samples of a residual branch with probability ``prob``."""
    if prob == 0.0 or not training:
        return x
    keep = 1.0 - prob
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    return x * mask / keep


class DropPath(nn.Module):
    """Module form of :func:`drop_path`."""

    def __init__(self, prob: float = 0.0) -> None:
        super().__init__()
        self.prob = float(prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.prob, self.training)

    def extra_repr(self) -> str:
        return f"p={self.prob}"


class TemporalConv(nn.Module):
    """Patch encoder: three conv -> GroupNorm -> GELU stages, 200 samples -> 25 x ``out_chans``.

    The output token is flattened time-major (time step outer, conv channel inner).
    """

    def __init__(self, out_chans: int = 8) -> None:
        super().__init__()
        groups = math.gcd(4, out_chans)
        self.conv1 = nn.Conv2d(1, out_chans, kernel_size=(1, 15), stride=(1, 8), padding=(0, 7))
        self.norm1 = nn.GroupNorm(groups, out_chans)
        self.conv2 = nn.Conv2d(out_chans, out_chans, kernel_size=(1, 3), padding=(0, 1))
        self.norm2 = nn.GroupNorm(groups, out_chans)
        self.conv3 = nn.Conv2d(out_chans, out_chans, kernel_size=(1, 3), padding=(0, 1))
        self.norm3 = nn.GroupNorm(groups, out_chans)

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """(batch, n_chans, n_patches, 200) -> (batch, n_chans * n_patches, 25 * out_chans)."""
        batch = patches.shape[0]
        x = patches.reshape(batch, 1, -1, patches.shape[-1])
        x = F.gelu(self.norm1(self.conv1(x)))
        x = F.gelu(self.norm2(self.conv2(x)))
        x = F.gelu(self.norm3(self.conv3(x)))
        # (B, conv_ch, tokens, steps) -> (B, tokens, steps * conv_ch), time-major
        return x.permute(0, 2, 3, 1).reshape(batch, x.shape[2], -1)


class Mlp(nn.Module):
    """Transformer MLP; dropout after the second linear only, as LaBraM has it."""

    def __init__(self, dim: int, hidden: int, drop: float) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """``drop(fc2(GELU(fc1(x))))``, times ``scale`` (per feature) when given.

        The scale is folded into ``fc2``'s weight and bias (a (dim, hidden) product) rather
        than applied to the (batch, tokens, dim) output: one pass over the activations less in
        the forward and in the backward. Dropout commutes with the per-feature scale.
        """
        return self.drop(_scaled_linear(self.fc2, F.gelu(self.fc1(x)), scale))


class Attention(nn.Module):
    """Multi-head self-attention without qkv bias, with LayerNorm on q and k per head."""

    def __init__(self, dim: int, num_heads: int, attn_drop: float, proj_drop: float) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} is not divisible by {num_heads} heads")
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.q_norm = nn.LayerNorm(head_dim, eps=LAYER_NORM_EPS)
        self.k_norm = nn.LayerNorm(head_dim, eps=LAYER_NORM_EPS)
        self.attn_drop = float(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
        """Attention output ``(batch, tokens, dim)``, times ``scale`` (per feature) when given."""
        batch, n_tokens, dim = x.shape
        qkv = self.qkv(x).reshape(batch, n_tokens, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        # unbind, not qkv[0], qkv[1], qkv[2]: its backward stacks the three gradients once
        # instead of filling three zero tensors of the whole qkv size and adding them up
        q, k, v = qkv.unbind(0)
        out = F.scaled_dot_product_attention(
            self.q_norm(q), self.k_norm(k), v, dropout_p=self.attn_drop if self.training else 0.0
        )
        out = out.transpose(1, 2).reshape(batch, n_tokens, dim)
        return self.proj_drop(_scaled_linear(self.proj, out, scale))


def _scaled_linear(layer: nn.Linear, x: torch.Tensor, scale: torch.Tensor | None) -> torch.Tensor:
    """``scale * layer(x)`` computed as a linear map with the scale folded into its parameters."""
    if scale is None:
        return layer(x)
    bias = None if layer.bias is None else layer.bias * scale
    return F.linear(x, layer.weight * scale[:, None], bias)


class Block(nn.Module):
    """Pre-norm transformer block with layer scale (``gamma_1``, ``gamma_2``) and drop-path."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float,
        drop: float,
        attn_drop: float,
        drop_path_prob: float,
        layer_scale_init: float,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(dim, num_heads, attn_drop, drop)
        self.drop_path = DropPath(drop_path_prob)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop)
        self.gamma_1 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))
        self.gamma_2 = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # layer scale folded into the last linear map of each branch (see Mlp.forward)
        x = x + self.drop_path(self.attn(self.norm1(x), self.gamma_1))
        return x + self.drop_path(self.mlp(self.norm2(x), self.gamma_2))


class SpatiotemporalEncoder(nn.Module):
    """LaBraM-base style encoder of (channel, 1-s patch) tokens, pooled to one vector.

    Parameters
    ----------
    ch_names : sequence of str
        Channels in input order; each selects its row of the 129-row channel embedding.
    embed_dim : int
        Token width; a multiple of 25 (the patch encoder gives 25 steps x ``embed_dim / 25``
        conv channels). LaBraM-base: 200.
    depth, num_heads, mlp_ratio : int, int, float
        Transformer size. LaBraM-base: 12, 10, 4.
    drop_rate, attn_drop_rate, drop_path_rate : float
        Dropout after the attention projection, MLP and embeddings; dropout on attention
        weights; stochastic depth, rising linearly from 0 to ``drop_path_rate`` over depth.
    layer_scale_init : float
        Initial value of the per-channel layer-scale parameters.

    Notes
    -----
    Token order is channel-major with the cls token first; the channel embedding is added to
    every token (row 0 to the cls token), the time embedding to patch tokens only. The output
    is the LayerNorm (``fc_norm``) of the mean over patch tokens (cls excluded).
    """

    def __init__(
        self,
        ch_names: Sequence[str],
        *,
        embed_dim: int = 200,
        depth: int = 12,
        num_heads: int = 10,
        mlp_ratio: float = 4.0,
        drop_rate: float = 0.1,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.1,
        layer_scale_init: float = 0.1,
    ) -> None:
        super().__init__()
        if embed_dim % PATCH_TOKEN_STEPS:
            raise ValueError(
                f"embed_dim={embed_dim} must be a multiple of {PATCH_TOKEN_STEPS} (the patch "
                "encoder yields 25 time steps x embed_dim/25 conv channels); LaBraM-base uses 200"
            )
        self.ch_names, rows = labram_channel_rows(ch_names)
        self.embed_dim = embed_dim
        self.depth = depth
        self.register_buffer("channel_rows", torch.tensor(rows, dtype=torch.long), persistent=False)

        self.patch_embed = TemporalConv(out_chans=embed_dim // PATCH_TOKEN_STEPS)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, N_LABRAM_EMBEDDING_ROWS, embed_dim))
        self.time_embed = nn.Parameter(torch.zeros(1, MAX_PATCHES, embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            Block(
                embed_dim, num_heads, mlp_ratio, drop_rate, attn_drop_rate, rate, layer_scale_init
            )
            for rate in rates
        )
        self.fc_norm = nn.LayerNorm(embed_dim, eps=LAYER_NORM_EPS)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """LaBraM's initialisation (convolutions keep PyTorch's default)."""
        for param in (self.pos_embed, self.time_embed, self.cls_token):
            trunc_normal_(param, std=0.02)
        for module in self.modules():
            init_linear_and_norm(module)
        for layer_id, block in enumerate(self.blocks, start=1):
            block.attn.proj.weight.div_(math.sqrt(2.0 * layer_id))
            block.mlp.fc2.weight.div_(math.sqrt(2.0 * layer_id))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        """Encode ``(batch, n_chans, n_patches, 200)`` patches into ``(batch, embed_dim)``."""
        batch, n_chans, n_patches, _ = patches.shape
        channel_embed = self.pos_embed[:, self.channel_rows]
        # time + channel embedding of every (channel, patch) token, channel-major, built once
        # at (tokens, dim) and added to the batch in one pass
        token_embed = channel_embed[:, 1:, None] + self.time_embed[:, None, :n_patches]
        tokens = self.patch_embed(patches) + token_embed.reshape(1, n_chans * n_patches, -1)
        cls = self.cls_token + channel_embed[:, :1]
        x = torch.cat((cls.expand(batch, -1, -1), tokens), dim=1)
        x = self.pos_drop(x)
        for block in self.blocks:
            x = block(x)
        return self.fc_norm(x[:, 1:].mean(dim=1))


@torch.no_grad()
def trunc_normal_(tensor: torch.Tensor, std: float = 0.02, bound: float = 2.0) -> torch.Tensor:
    """Normal(0, std) truncated to [-bound, bound], as timm's ``trunc_normal_`` (LaBraM's init).

    With std 0.02 the bound of 2 lies 100 standard deviations out, so drawing a normal and
    clipping gives the same distribution as inverse-CDF sampling (``nn.init.trunc_normal_``),
    about 30 times faster on CPU.
    """
    return tensor.normal_(0.0, std).clamp_(-bound, bound)


@torch.no_grad()
def init_linear_and_norm(module: nn.Module) -> None:
    """Truncated-normal (std 0.02) linear weights with zero bias; LayerNorm to (1, 0)."""
    if isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
