"""One process or several in training: the torch.distributed set-up for torchrun.

``torchrun --nproc_per_node=N -m ganrestore train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set; each trains on its share of every batch and gradients are
averaged by DistributedDataParallel. Rank 0 alone logs, validates and writes checkpoints.
Each process's device is what ``--device`` means for its ``LOCAL_RANK``
(:func:`ganrestore.devices.resolve_device`).

The set-up itself lives in the leaf :mod:`ganrestore.distributed`, shared with ``apply`` (which
must not import the engine); its names are re-exported here.
"""

from __future__ import annotations

from ganrestore.distributed import (
    ProcessContext,
    all_true,
    barrier,
    setup_processes,
    teardown_processes,
)

__all__ = ["ProcessContext", "all_true", "barrier", "setup_processes", "teardown_processes"]
