"""``resunet-gui train`` (DistributedDataParallel) and ``predict`` (a share of the folder per
rank) under ``torchrun --nproc_per_node=N``.

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT; without them
training runs in one process. gloo on CPU, nccl on CUDA. Every rank draws different
random crops (seed + rank); DDP averages gradients; rank 0 alone scores and writes the
checkpoint, so the file format is the same as a single-process run.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

T = TypeVar("T")


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""
    device: str = "cpu"  # where collective tensors live (nccl needs CUDA tensors)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def init_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the process group when launched by torchrun; returns the context and this
    rank's device (``cuda:LOCAL_RANK`` on GPU machines)."""
    if not launched_by_torchrun():
        return DistContext(), device
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    ctx = DistContext(dist.get_rank(), dist.get_world_size(), local_rank, backend, str(device))
    return ctx, device


def wrap_model(model: nn.Module, ctx: DistContext, device: torch.device) -> nn.Module:
    """DDP wrapper for the forward/backward pass (the raw model stays what is saved)."""
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def all_mean(value: float, ctx: DistContext) -> float:
    """Mean of a scalar over ranks (for logging the loss)."""
    if not ctx.enabled:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def all_sum(value: int, ctx: DistContext) -> int:
    """Sum of an integer over ranks (e.g. masks written)."""
    if not ctx.enabled:
        return value
    t = torch.tensor([value], dtype=torch.int64, device=ctx.device)
    dist.all_reduce(t)
    return int(t.item())


def shard(items: Sequence[T], ctx: DistContext) -> list[T]:
    """This rank's share of ``items``: every ``world_size``-th item from ``rank``. The shares
    are disjoint, cover ``items`` and depend only on its order, so every rank that lists the
    same folder the same way takes the same share every time."""
    return list(items[ctx.rank::ctx.world_size])


def any_rank(flag: bool, ctx: DistContext) -> bool:
    """True on every rank when it is True on any (e.g. one rank ran out of time)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([1 if flag else 0], dtype=torch.int64, device=ctx.device)
    dist.all_reduce(t)
    return bool(t.item())


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled and dist.is_initialized():
        dist.destroy_process_group()
