"""Exact, resumable, distributed-ready sampling of ``(index, sample_seed)`` pairs.

Training is a sequence of steps. Step ``s`` consumes a global batch of ``batch_size *
world_size`` positions of an endless stream; rank ``r`` takes positions ``[r * batch_size,
(r + 1) * batch_size)`` of it. The stream walks through one permutation of the dataset per
epoch. Everything is a pure function of ``(seed, step, position)`` computed with our own
64-bit hash, so a run restarted at ``start_step`` sees exactly what an uninterrupted run would
have seen, on any machine and with any number of DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import numpy as np
from torch.utils.data import Sampler

_MASK64 = (1 << 64) - 1
_PERMUTATION_STREAM = 1
_SEED_STREAM = 2


def _splitmix64(values: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer on a uint64 array (wrapping arithmetic)."""
    values = values + np.uint64(0x9E3779B97F4A7C15)
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def mix64(*parts: int | np.ndarray) -> np.ndarray:
    """Hashes integers (or integer arrays, broadcast together) into uint64 values.

    Stable across numpy versions and platforms, unlike library random streams.
    """
    state = np.zeros(1, dtype=np.uint64)
    for part in parts:
        if isinstance(part, np.ndarray):
            part = part.astype(np.uint64)
        else:
            part = np.array([int(part) & _MASK64], dtype=np.uint64)
        state = _splitmix64(state ^ part)
    return state


class StepSampler(Sampler[tuple[int, int]]):
    """Endless stream of ``(index, sample_seed)`` for a DataLoader with ``batch_size``.

    Args:
        num_items: Dataset length, ``>= 1``.
        batch_size: Samples per step on this rank (the DataLoader's batch_size).
        seed: Run seed; any integer.
        start_step: First step to yield; resuming at step ``s`` yields exactly what an
            uninterrupted stream yields from step ``s`` on.
        rank: This process's rank in ``[0, world_size)``.
        world_size: Number of processes sharing each global batch.

    Yields:
        ``(index, sample_seed)``: a dataset index in ``[0, num_items)`` and a 63-bit seed
        for ``numpy.random.default_rng``, ``batch_size`` items per step, forever.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        seed: int,
        start_step: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if num_items < 1:
            raise ValueError(f"num_items must be >= 1, got {num_items}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if start_step < 0:
            raise ValueError(f"start_step must be >= 0, got {start_step}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank}, {world_size=}")
        self.num_items = num_items
        self.batch_size = batch_size
        self.seed = seed
        self.start_step = start_step
        self.rank = rank
        self.world_size = world_size
        self._permutations: dict[int, np.ndarray] = {}

    @property
    def global_batch_size(self) -> int:
        """Positions consumed per step by all ranks together."""
        return self.batch_size * self.world_size

    def epoch_at(self, step: int) -> float:
        """Passes over the dataset completed before ``step`` (for logging)."""
        return step * self.global_batch_size / self.num_items

    def _permutation(self, epoch: int) -> np.ndarray:
        """The dataset order of ``epoch``: indices sorted by a hash of (seed, epoch, index)."""
        if epoch not in self._permutations:
            if len(self._permutations) >= 2:  # keep the latest two: a step rarely spans more
                self._permutations.pop(min(self._permutations))
            keys = mix64(self.seed, _PERMUTATION_STREAM, epoch, np.arange(self.num_items))
            self._permutations[epoch] = np.argsort(keys, kind="stable")
        return self._permutations[epoch]

    def items_for_step(self, step: int) -> list[tuple[int, int]]:
        """This rank's ``batch_size`` items of ``step``, in order."""
        first = self.rank * self.batch_size
        slots = np.arange(first, first + self.batch_size, dtype=np.int64)
        positions = step * self.global_batch_size + slots
        epochs, offsets = np.divmod(positions, self.num_items)
        indices = [int(self._permutation(int(e))[o]) for e, o in zip(epochs, offsets, strict=True)]
        seeds = mix64(self.seed, _SEED_STREAM, step, slots) >> np.uint64(1)
        return [(index, int(seed)) for index, seed in zip(indices, seeds, strict=True)]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for step in count(self.start_step):
            yield from self.items_for_step(step)
