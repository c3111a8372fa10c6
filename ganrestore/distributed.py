"""One process or several: the torch.distributed set-up under torchrun, and each process's device.

``torchrun --nproc_per_node=N -m ganrestore COMMAND ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set. :func:`setup_processes` joins them into one process group
(gloo on the CPU, NCCL on CUDA) and gives each its device: what ``--device`` means for its
``LOCAL_RANK`` (:func:`ganrestore.devices.resolve_device`). Without torchrun (no ``WORLD_SIZE``
above 1) nothing is set up and the command runs as one process. ``apply``, which sends only
Python objects between its processes, joins with gloo whatever its device
(:func:`join_process_group`).

A leaf, like :mod:`ganrestore.devices`: it imports only torch and that module, so training
(:mod:`ganrestore.engine.distributed`) and ``apply`` (which must not import the engine) share it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from ganrestore.devices import resolve_device


@dataclass(frozen=True)
class ProcessContext:
    """Where this process runs and which share of the work is its own."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def torchrun_world_size() -> int:
    """How many processes torchrun started (``WORLD_SIZE``); 1 without torchrun."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def local_rank() -> int:
    """This process's index on its machine (``LOCAL_RANK``; its GPU); 0 without torchrun."""
    return int(os.environ.get("LOCAL_RANK", os.environ.get("RANK", "0")))


def join_process_group(backend: str, timeout: timedelta | None = None) -> tuple[int, int]:
    """Join torchrun's process group (once) and return ``(rank, world_size)``.

    Args:
        backend: ``"gloo"`` (CPU tensors and Python objects) or ``"nccl"`` (CUDA tensors).
        timeout: how long a collective may wait for the slowest process; None: torch's
            default (10 to 30 minutes depending on the backend).
    """
    if not dist.is_initialized():
        if timeout is None:
            dist.init_process_group(backend=backend)
        else:
            dist.init_process_group(backend=backend, timeout=timeout)
    return dist.get_rank(), dist.get_world_size()


def setup_processes(device_preference: str) -> ProcessContext:
    """Join the process group when started by torchrun, else run as a single process.

    The backend follows the device: NCCL on CUDA, gloo otherwise.

    Args:
        device_preference: ``--device`` (``auto``, ``cpu``, ``cuda``, ...), resolved for this
            process's ``LOCAL_RANK``.

    Raises:
        GanrestoreError: the device is not there (e.g. more processes than GPUs).
    """
    if torchrun_world_size() <= 1:
        return ProcessContext(device=resolve_device(device_preference, local_rank=0))
    device = resolve_device(device_preference, local_rank())
    if device.type == "cuda":
        torch.cuda.set_device(device)
    rank, world_size = join_process_group("nccl" if device.type == "cuda" else "gloo")
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


def gather_objects(value: Any, context: ProcessContext) -> list[Any]:
    """Every process's ``value`` (picklable), in rank order, on every process."""
    if not context.distributed:
        return [value]
    values: list[Any] = [None] * context.world_size
    dist.all_gather_object(values, value)
    return values


def broadcast_from_main(value: Any, context: ProcessContext) -> Any:
    """Rank 0's ``value`` (picklable) on every process; the others' ``value`` is ignored."""
    if not context.distributed:
        return value
    box = [value if context.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
