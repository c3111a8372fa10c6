"""One process or several: the torch.distributed set-up for torchrun, and each process's device.

``torchrun --nproc_per_node=N -m ganrestore train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set; each trains on its share of every batch and gradients are
averaged by DistributedDataParallel. Rank 0 alone logs, validates and writes checkpoints.
Each process's device is what ``--device`` means for its ``LOCAL_RANK``
(:func:`ganrestore.devices.resolve_device`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ganrestore.devices import resolve_device


@dataclass(frozen=True)
class ProcessContext:
    """Where this process trains and which share of the work is its own."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_processes(device_preference: str) -> ProcessContext:
    """Join the process group when started by torchrun, else run as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return ProcessContext(device=resolve_device(device_preference, local_rank=0))
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    device = resolve_device(device_preference, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return ProcessContext(device=device, rank=rank, world_size=world_size)


def teardown_processes(context: ProcessContext) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def barrier(context: ProcessContext) -> None:
    if context.distributed:
        dist.barrier()


def all_true(flag: bool, context: ProcessContext) -> bool:
    """True when ``flag`` is true on every process (so all of them take the same branch)."""
    if not context.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=context.device)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value.item() > 0.5)
