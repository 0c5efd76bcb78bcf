"""Data-parallel training with ``torch.distributed``: one process per GPU (or CPU worker).

Launch any training command under ``torchrun``; the trainer reads the environment that
``torchrun`` sets (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``)
and wraps the model in :class:`torch.nn.parallel.DistributedDataParallel`. The backend is NCCL
on GPUs and Gloo on CPUs.

One machine, 4 GPUs::

    torchrun --standalone --nproc_per_node=4 -m unebolt_viz train --config exp.yaml

Two machines with 8 GPUs each (run on both, ``--node_rank`` 0 and 1)::

    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 \\
        --rdzv_backend=c10d --rdzv_endpoint=HOST_OF_NODE0:29500 \\
        -m unebolt_viz train --config exp.yaml

CPU only (testing), two processes::

    torchrun --standalone --nproc_per_node=2 -m unebolt_viz train --config exp.yaml --device cpu

How the batch is shared. ``batch_size`` is the *global* batch: a block of consecutive TRs is cut
into equal slices, one per process. Every process predicts its slice, the predictions are
gathered (differentiably) and the loss is computed on the whole block, so the temporal and
spatial correlation terms see exactly the batch a single process would. DDP then averages the
gradients; because every process computes the same loss and the gather sums the gradients
flowing back to each slice, the averaged gradient equals the single-process gradient of that
loss. With dropout switched off, N processes and one process therefore follow the same
trajectory up to floating-point summation order. Dropout masks are drawn per process (seeded by
``seed + rank``), so with dropout on, runs agree in distribution, not bit for bit. Only rank 0
writes logs and checkpoints; validation runs on every rank (on the whole validation set).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "init_distributed", "distributed_info", "gather_cat", "barrier",
           "cleanup_distributed"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes logs and checkpoints."""
        return self.rank == 0


def distributed_info() -> DistInfo:
    """The current process group (rank 0 of 1 when ``torch.distributed`` is not initialised)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(),
                        int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistInfo()


def init_distributed(backend: str | None = None) -> DistInfo:
    """Join the process group described by ``torchrun``'s environment, if there is one.

    Parameters
    ----------
    backend : {"nccl", "gloo"}, optional
        Default: NCCL when CUDA is available, else Gloo.

    Returns
    -------
    DistInfo
        Rank 0 of 1 (and nothing initialised) outside ``torchrun``.
    """
    if dist.is_available() and dist.is_initialized():
        return distributed_info()
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("This PyTorch build has no torch.distributed; run a single process.")
    missing = [v for v in ("RANK", "MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
    if missing:
        raise RuntimeError(
            f"WORLD_SIZE={world_size} but {missing} are not set: launch with torchrun "
            "(see unebolt_viz.training.distributed)."
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return distributed_info()


def cleanup_distributed() -> None:
    """Leave the process group (no-op when none)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every process (no-op outside a distributed run)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()


class _GatherCat(torch.autograd.Function):
    """All-gather along dim 0; backward sums the incoming gradients over ranks."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ctx.rank, ctx.n = dist.get_rank(), tensor.shape[0]
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: D102
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def gather_cat(tensor: torch.Tensor, differentiable: bool = True) -> torch.Tensor:
    """Concatenate every rank's ``tensor`` along dim 0, in rank order.

    All ranks must pass tensors of the same shape. With ``differentiable=True`` the gradient
    that reaches each rank's slice is the sum over ranks of the gradients of its copies: when
    every rank computes the same loss from the gathered tensor, that is ``world_size`` times
    the gradient of the loss, which DDP's averaging turns back into exactly the gradient of the
    loss on the whole batch.
    """
    info = distributed_info()
    if not info.is_distributed:
        return tensor
    if differentiable:
        return _GatherCat.apply(tensor)
    parts = [torch.empty_like(tensor) for _ in range(info.world_size)]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)
