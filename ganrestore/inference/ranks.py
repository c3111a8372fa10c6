"""One ``apply`` run over several processes (torchrun): who restores which file, and the sum.

Rank 0 plans the run (:func:`ganrestore.inference.plan.plan_folder`) and cuts the plan into one
share per process with :func:`split_plan`; the shares are sent to the other processes, so every
process works from the same plan even when the machines would list ``--in`` differently. Each
file is in exactly one share. Files already skipped or failed while planning, and what ``--in``
holds besides images, stay in rank 0's share, so they are reported once. While the processes
work, :class:`SharedCount` adds up the files they have finished, so that rank 0 shows the
progress of the whole run; at the end, :func:`merge_summaries` adds up the processes' summaries
into the summary of the whole run.

Shares are balanced by the work they hold: each file costs its pixels (from its header) plus
:data:`FILE_COST_PIXELS` for opening, decoding and writing it; the costliest file goes first, to
the process with the least work so far (longest processing time first).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ganrestore.data.io import ImageReadError, image_size
from ganrestore.inference.plan import FolderPlan, Job
from ganrestore.inference.summary import ApplySummary

if TYPE_CHECKING:
    from torch.distributed import Store

#: What a file costs besides its pixels (opening, decoding, encoding, writing), in pixels.
FILE_COST_PIXELS = 65_536


def file_costs(jobs: Sequence[Job], max_pixels: int = 0, workers: int = 8) -> list[int]:
    """The work of each job: its pixels, read from its header, plus :data:`FILE_COST_PIXELS`.

    A file whose header cannot be read, or with more than ``max_pixels`` pixels (when
    ``max_pixels`` is not 0), fails as soon as it is looked at: it costs only the per-file part.
    """

    def cost(job: Job) -> int:
        try:
            height, width = image_size(job.source)
        except ImageReadError:
            return FILE_COST_PIXELS
        pixels = height * width
        return FILE_COST_PIXELS + (0 if max_pixels and pixels > max_pixels else pixels)

    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="ganrestore-headers") as pool:
        return list(pool.map(cost, jobs))


def share_by_cost(costs: Sequence[int], world_size: int) -> list[list[int]]:
    """Indices of ``costs`` for each of ``world_size`` processes, balanced by their sum.

    Deterministic (equal costs go in index order, equal loads to the lowest rank), disjoint and
    covering: every index is in exactly one share. Each share is sorted.

    Args:
        costs: the work of each item (non-negative).
        world_size: the number of processes (at least 1).

    Returns:
        ``world_size`` lists of indices; the largest sum exceeds the smallest by at most the
        largest single cost.
    """
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, not {world_size}")
    shares: list[list[int]] = [[] for _ in range(world_size)]
    loads = [(0, 0, rank) for rank in range(world_size)]  # (work, files, rank): a min-heap
    for index in sorted(range(len(costs)), key=lambda i: (-costs[i], i)):
        work, files, rank = heapq.heappop(loads)
        shares[rank].append(index)
        heapq.heappush(loads, (work + costs[index], files + 1, rank))
    return [sorted(share) for share in shares]


def split_plan(plan: FolderPlan, costs: Sequence[int], world_size: int) -> list[FolderPlan]:
    """One plan per process: the jobs shared by ``costs`` (one per job, see :func:`file_costs`).

    Rank 0's plan also keeps what planning skipped, failed and ignored, so that each of these
    files is reported once.
    """
    if len(costs) != len(plan.jobs):
        raise ValueError(f"{len(costs)} costs for {len(plan.jobs)} jobs")
    plans = [
        FolderPlan(jobs=[plan.jobs[i] for i in share]) for share in share_by_cost(costs, world_size)
    ]
    first = plans[0]
    first.skipped, first.failed, first.ignored = (
        list(plan.skipped),
        list(plan.failed),
        list(plan.ignored),
    )
    return plans


def merge_summaries(summaries: Sequence[ApplySummary]) -> ApplySummary:
    """The summary of the whole run from each process's (in rank order).

    Lists are joined; ``seconds`` is the slowest process's (they start together, so it is the
    run's time), and ``megapixels`` the sum, so the speeds are those of the whole run.
    """
    merged = ApplySummary()
    for summary in summaries:
        merged.restored += summary.restored
        merged.skipped += summary.skipped
        merged.failed += summary.failed
        merged.ignored += summary.ignored
        merged.warnings += summary.warnings
        merged.without_mask += summary.without_mask
        merged.megapixels += summary.megapixels
        merged.seconds = max(merged.seconds, summary.seconds)
        for task, paths in summary.by_task.items():
            merged.by_task.setdefault(task, []).extend(paths)
    merged.without_mask.sort()
    return merged


class SharedCount:
    """The files finished by every process of one run, added up in a store they all reach.

    Each process adds the files it finishes (:meth:`add`: the runner's ``progress`` callback,
    called with any outcome: restored, skipped or failed) and says when its whole share is done
    (:meth:`finish`). Rank 0 reads :meth:`files` to show the progress of the whole run, the same
    run its summary counts (:func:`merge_summaries`), and :meth:`finished` to know when the
    last process is done.

    Args:
        store: a ``torch.distributed.Store`` every process reaches: the process group's
            (:func:`process_group_store`) in a run, a ``HashStore`` in one process.
        key: names this run's counts, different for every run (the store of torchrun outlives
            a run that it restarts).
    """

    def __init__(self, store: Store, key: str) -> None:
        self.store = store
        self.files_key, self.finished_key = f"{key}/files", f"{key}/finished"

    def add(self, count: int) -> None:
        """``count`` more files are finished on this process."""
        if count > 0:
            self.store.add(self.files_key, count)

    def finish(self) -> None:
        """This process has finished its share."""
        self.store.add(self.finished_key, 1)

    def files(self) -> int:
        """The files finished so far by all processes together."""
        return int(self.store.add(self.files_key, 0))

    def finished(self) -> int:
        """How many processes have finished their share."""
        return int(self.store.add(self.finished_key, 0))


def process_group_store() -> Store:
    """The key-value store through which torchrun's processes met (every process reaches it).

    torch offers it only under a private name; it has been the same since torch 1.x.
    """
    from torch.distributed import distributed_c10d

    return distributed_c10d._get_default_store()
