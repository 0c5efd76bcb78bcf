"""Mamba's S6 selective scan in pure PyTorch, and the 2-D selective-scan block (SS2D) of VMamba.

The selective scan is the recurrence of "Mamba: Linear-Time Sequence Modeling with Selective
State Spaces" (Gu and Dao, 2023), per channel ``d`` and state ``n``::

    delta_t = softplus(delta_t + delta_bias)
    h_t     = exp(delta_t * A[d, n]) * h_{t-1} + delta_t * B_t[n] * u_t
    y_t     = sum_n C_t[n] * h_t[n] + D[d] * u_t

:func:`selective_scan_torch` computes it with a loop over the sequence whose body is two
element-wise tensor operations (everything else is vectorised), so it runs on any device;
the sequences of the VM-UNet decoder are short (256, 64, 16 and 4 tokens at 64 x 64 volumes).
:func:`selective_scan` uses the CUDA kernel of the ``mamba_ssm`` package instead when that
package is installed and the tensors are on a GPU.

SS2D ("VMamba: Visual State Space Model", Liu et al., NeurIPS 2024, as used by "VM-UNet:
Vision Mamba UNet for Medical Image Segmentation", Ruan et al., 2024) reads a feature map in
four orders (row-major, column-major and both reversed), scans each with its own projections,
and sums the four results back on the grid.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .labram import DropPath

#: Backends of :func:`selective_scan`.
SCAN_BACKENDS: tuple[str, ...] = ("auto", "torch", "mamba_ssm")
#: Number of scan orders of SS2D.
N_DIRECTIONS = 4


@functools.lru_cache(maxsize=1)
def mamba_ssm_scan() -> Callable[..., torch.Tensor] | None:
    """The ``selective_scan_fn`` of the ``mamba_ssm`` package, or None when it is absent."""
    if importlib.util.find_spec("mamba_ssm") is None:
        return None
    try:
        module = importlib.import_module("mamba_ssm.ops.selective_scan_interface")
    except (ImportError, OSError):  # installed without its compiled CUDA extension
        return None
    return getattr(module, "selective_scan_fn", None)


class LinearRecurrence(torch.autograd.Function):
    """``h_t = decay_t * h_{t-1} + drive_t`` along dim 0 from ``h_{-1} = 0``; returns all h_t.

    A loop of two in-place operations per step each way; the backward pass is the same
    recurrence run in reverse (``g_t = dL/dh_t + decay_{t+1} * g_{t+1}``, so that
    ``dL/ddrive_t = g_t`` and ``dL/ddecay_t = g_t * h_{t-1}``), without an autograd graph per
    step.
    """

    @staticmethod
    def forward(ctx: Any, decay: torch.Tensor, drive: torch.Tensor) -> torch.Tensor:
        decay, drive = decay.contiguous(), drive.contiguous()
        states = torch.empty_like(drive)
        states[0] = drive[0]
        for t in range(1, drive.shape[0]):
            torch.mul(decay[t], states[t - 1], out=states[t])
            states[t].add_(drive[t])
        ctx.save_for_backward(decay, states)
        return states

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_states: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        decay, states = ctx.saved_tensors
        grad_states = grad_states.contiguous()
        grad_drive = torch.empty_like(grad_states)
        last = grad_states.shape[0] - 1
        grad_drive[last] = grad_states[last]
        for t in range(last - 1, -1, -1):
            torch.mul(decay[t + 1], grad_drive[t + 1], out=grad_drive[t])
            grad_drive[t].add_(grad_states[t])
        grad_decay = torch.zeros_like(decay)
        torch.mul(grad_drive[1:], states[:-1], out=grad_decay[1:])
        return grad_decay, grad_drive


def selective_scan_torch(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    D: torch.Tensor | None = None, delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = True,
) -> torch.Tensor:
    """The S6 selective scan in PyTorch (same arguments and result as ``mamba_ssm``'s).

    Parameters
    ----------
    u, delta : torch.Tensor
        Input and step size, (batch, G * d, L): G groups of d channels, L steps.
    A : torch.Tensor
        State matrix (diagonal), (G * d, N); negative for a stable scan.
    B, C : torch.Tensor
        Input-dependent input and output projections, (batch, G, N, L), shared by the d
        channels of a group.
    D : torch.Tensor, optional
        Skip weight per channel, (G * d,).
    delta_bias : torch.Tensor, optional
        Added to ``delta`` before the softplus, (G * d,).
    delta_softplus : bool
        Apply softplus to ``delta``.

    Returns
    -------
    torch.Tensor
        y, (batch, G * d, L), in float32.
    """
    batch, channels, length = u.shape
    groups, n_state = B.shape[1], A.shape[1]
    if channels % groups:
        raise ValueError(f"{channels} channels cannot be split into {groups} groups of B and C")
    per = channels // groups
    u, delta = u.float(), delta.float()
    if delta_bias is not None:
        delta = delta + delta_bias.float()[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    # Steps first, so that the loop reads contiguous slices: (L, batch, G, d, N).
    delta_g = delta.view(batch, groups, per, length).permute(3, 0, 1, 2).contiguous()
    u_g = u.view(batch, groups, per, length).permute(3, 0, 1, 2).contiguous()
    decay = torch.exp(delta_g.unsqueeze(-1) * A.float().view(groups, per, n_state))
    drive = (delta_g * u_g).unsqueeze(-1) * B.float().permute(3, 0, 1, 2).unsqueeze(3)
    states = LinearRecurrence.apply(decay, drive)
    c_steps = C.float().permute(3, 0, 1, 2).unsqueeze(-1)  # (L, batch, G, N, 1)
    y = torch.matmul(states, c_steps).squeeze(-1)  # (L, batch, G, d)
    y = y.permute(1, 2, 3, 0).reshape(u.shape)
    if D is not None:
        y = y + D.float()[:, None] * u
    return y


def selective_scan(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    D: torch.Tensor | None = None, delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = True, backend: str = "auto",
) -> torch.Tensor:
    """The selective scan by ``backend`` (arguments as :func:`selective_scan_torch`).

    ``"auto"`` uses ``mamba_ssm``'s CUDA kernel for GPU tensors when the package is installed
    and :func:`selective_scan_torch` otherwise; ``"torch"`` always the latter; ``"mamba_ssm"``
    always the former (an ImportError when it is not installed).
    """
    if backend not in SCAN_BACKENDS:
        raise ValueError(f"Unknown scan backend {backend!r}; choose one of {SCAN_BACKENDS}")
    kernel = mamba_ssm_scan() if backend != "torch" else None
    if backend == "mamba_ssm" and kernel is None:
        raise ImportError(
            "scan_backend='mamba_ssm' needs the mamba_ssm package with its CUDA kernel "
            "(pip install mamba-ssm on a CUDA machine); use scan_backend='torch' or 'auto'."
        )
    if kernel is not None and (backend == "mamba_ssm" or u.is_cuda):
        return kernel(u.contiguous(), delta.contiguous(), A.float().contiguous(),
                      B.float().contiguous(), C.float().contiguous(),
                      None if D is None else D.float(), z=None,
                      delta_bias=None if delta_bias is None else delta_bias.float(),
                      delta_softplus=delta_softplus)
    return selective_scan_torch(u, delta, A, B, C, D, delta_bias, delta_softplus)


class SS2D(nn.Module):
    """VMamba's 2-D selective scan on a channels-last feature map (batch, H, W, d_model).

    Parameters
    ----------
    d_model : int
        Channels in and out.
    d_state : int
        State size N of the scan (16 in VM-UNet).
    expand : int
        Inner width ``expand * d_model`` (2).
    d_conv : int
        Kernel of the depthwise convolution before the scan (3).
    dt_min, dt_max, dt_init_floor : float
        Range of the initial step sizes (log-uniform in [0.001, 0.1], as in Mamba).
    scan_backend : str
        One of :data:`SCAN_BACKENDS`.
    """

    def __init__(
        self, d_model: int, d_state: int = 16, expand: int = 2, d_conv: int = 3,
        dt_min: float = 1e-3, dt_max: float = 0.1, dt_init_floor: float = 1e-4,
        scan_backend: str = "auto",
    ) -> None:
        super().__init__()
        if scan_backend not in SCAN_BACKENDS:
            raise ValueError(f"Unknown scan_backend {scan_backend!r}; choose one of {SCAN_BACKENDS}")
        inner = int(expand * d_model)
        self.d_state, self.d_inner = int(d_state), inner
        self.dt_rank = math.ceil(d_model / 16)
        self.scan_backend = scan_backend
        self.in_proj = nn.Linear(d_model, 2 * inner, bias=False)
        self.conv2d = nn.Conv2d(inner, inner, d_conv, padding=(d_conv - 1) // 2, groups=inner)
        k = N_DIRECTIONS
        bound = 1.0 / math.sqrt(inner)  # nn.Linear's default init, per direction
        self.x_proj_weight = nn.Parameter(
            torch.empty(k, self.dt_rank + 2 * d_state, inner).uniform_(-bound, bound))
        dt_bound = self.dt_rank**-0.5
        self.dt_projs_weight = nn.Parameter(
            torch.empty(k, inner, self.dt_rank).uniform_(-dt_bound, dt_bound))
        dt = torch.exp(torch.rand(k, inner) * (math.log(dt_max) - math.log(dt_min))
                       + math.log(dt_min)).clamp(min=dt_init_floor)
        self.dt_projs_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1
        a = torch.arange(1, d_state + 1, dtype=torch.float32)
        self.A_logs = nn.Parameter(torch.log(a).repeat(k * inner, 1))
        self.Ds = nn.Parameter(torch.ones(k * inner))
        self.out_norm = nn.LayerNorm(inner)
        self.out_proj = nn.Linear(inner, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, H, W, d_model) -> (batch, H, W, d_model)."""
        x, z = self.in_proj(x).chunk(2, dim=-1)
        x = F.silu(self.conv2d(x.permute(0, 3, 1, 2)))
        y = self.scan_four_ways(x).permute(0, 2, 3, 1)
        return self.out_proj(self.out_norm(y) * F.silu(z))

    def scan_four_ways(self, x: torch.Tensor) -> torch.Tensor:
        """Scan (batch, d, H, W) along rows, columns and both reversed; sum on the grid."""
        batch, d, height, width = x.shape
        length = height * width
        rows, cols = x.flatten(2), x.transpose(2, 3).flatten(2)
        xs = torch.stack([rows, cols, rows.flip(-1), cols.flip(-1)], dim=1)  # (b, 4, d, L)
        proj = torch.einsum("bkdl,kcd->bkcl", xs, self.x_proj_weight)
        dts, bs, cs = torch.split(proj, [self.dt_rank, self.d_state, self.d_state], dim=2)
        dts = torch.einsum("bkrl,kdr->bkdl", dts, self.dt_projs_weight)
        ys = selective_scan(
            xs.reshape(batch, -1, length), dts.reshape(batch, -1, length),
            -torch.exp(self.A_logs.float()), bs, cs, self.Ds, self.dt_projs_bias.reshape(-1),
            delta_softplus=True, backend=self.scan_backend,
        ).view(batch, N_DIRECTIONS, d, length)
        by_rows = ys[:, 0] + ys[:, 2].flip(-1)
        by_cols = (ys[:, 1] + ys[:, 3].flip(-1)).view(batch, d, width, height).transpose(2, 3)
        return (by_rows.view(batch, d, height, width) + by_cols).to(x.dtype)


class VSSBlock(nn.Module):
    """Visual state-space block: ``x + DropPath(SS2D(LayerNorm(x)))`` on channels-last maps."""

    def __init__(self, dim: int, drop_path: float = 0.0, **ss2d: Any) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.ss2d = SS2D(dim, **ss2d)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.ss2d(self.norm(x)))
