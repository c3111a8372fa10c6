"""ganrestore.data.sampler: exact resume, rank partition, worker independence."""

from __future__ import annotations

from itertools import chain, islice

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from ganrestore.data.sampler import StepSampler


def take(sampler: StepSampler, steps: int) -> list[tuple[int, int]]:
    return list(islice(iter(sampler), steps * sampler.batch_size))


class KeyEcho(Dataset):
    """Returns the sampler's key as a tensor, so batches show exactly what was sampled."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, key: tuple[int, int]) -> torch.Tensor:
        return torch.tensor(key, dtype=torch.int64)


def test_resuming_at_a_step_equals_the_uninterrupted_stream():
    full = take(StepSampler(num_items=13, batch_size=4, seed=7), steps=20)

    for start in (1, 3, 10, 19):
        resumed = take(StepSampler(13, 4, seed=7, start_step=start), steps=20 - start)
        assert resumed == full[start * 4 :]


def test_every_epoch_is_a_permutation_and_epochs_differ():
    items = take(StepSampler(num_items=12, batch_size=4, seed=1), steps=6)
    indices = [index for index, _ in items]

    assert sorted(indices[:12]) == sorted(indices[12:]) == list(range(12))
    assert indices[:12] != indices[12:]


def test_ranks_are_disjoint_and_together_form_the_global_batch():
    world = [StepSampler(24, 4, seed=3, rank=rank, world_size=3) for rank in range(3)]
    single = StepSampler(24, 12, seed=3)

    for step in range(6):
        per_rank = [sampler.items_for_step(step) for sampler in world]
        assert list(chain(*per_rank)) == single.items_for_step(step)
    epoch = [index for step in (0, 1) for s in world for index, _ in s.items_for_step(step)]
    assert sorted(epoch) == list(range(24))  # one epoch: each item exactly once over all ranks


def test_sample_seeds_are_distinct_63_bit_and_depend_on_the_run_seed():
    items = take(StepSampler(5, 8, seed=0), steps=50)
    seeds = [seed for _, seed in items]

    assert len(set(seeds)) == len(seeds)
    assert all(0 <= seed < 2**63 for seed in seeds)
    assert take(StepSampler(5, 8, seed=1), steps=50) != items
    assert take(StepSampler(5, 8, seed=0), steps=50) == items


def test_batch_spanning_many_epochs_of_a_tiny_dataset():
    items = take(StepSampler(num_items=1, batch_size=6, seed=0), steps=2)

    assert [index for index, _ in items] == [0] * 12


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_batches_do_not_depend_on_worker_count(workers):
    expected = take(StepSampler(10, 3, seed=5, start_step=2), steps=5)

    loader = DataLoader(
        KeyEcho(),
        batch_size=3,
        sampler=StepSampler(10, 3, seed=5, start_step=2),
        num_workers=workers,
    )
    batches = list(islice(loader, 5))

    assert [tuple(row) for batch in batches for row in batch.tolist()] == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_items": 0}, "num_items"),
        ({"batch_size": 0}, "batch_size"),
        ({"start_step": -1}, "start_step"),
        ({"rank": 2, "world_size": 2}, "rank"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    arguments = {"num_items": 4, "batch_size": 2, "seed": 0} | kwargs
    with pytest.raises(ValueError, match=message):
        StepSampler(**arguments)
