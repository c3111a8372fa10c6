"""``torchrun --nproc_per_node=N -m ganrestore apply ...``: each process restores its share.

Under torchrun (``WORLD_SIZE`` above 1) every process:

1. joins the process group with gloo (only small Python objects travel between the processes,
   so GPU runs need no NCCL), takes its device (``--device`` for its ``LOCAL_RANK``) and loads
   the model. A usage error on any process stops them all with exit code 2, said once, by
   rank 0;
2. rank 0 plans the run, removes the temporaries that killed runs left in ``--out`` (before
   any process writes: the others wait for the plan), and sends every process its share
   (:mod:`ganrestore.inference.ranks`), so they all work from one listing of ``--in``;
3. restores its share exactly as a single ``apply`` would, and adds each file it finishes to
   a count that all processes share (:class:`ganrestore.inference.ranks.SharedCount`). Rank 0
   shows the progress of the whole run from that count (``6/10`` counts every process's
   files, as the summary does) and names its own skipped / failed files as they happen; the
   others print nothing;
4. sends its summary and its lines to rank 0, which prints the other processes' lines and one
   summary of the whole run. Every process exits with 1 when any file failed on any of them.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ganrestore.cli.apply import FAILED_EXIT_CODE, ApplyRequest, PreparedApply, prepare
from ganrestore.cli.apply_report import print_start, print_summary
from ganrestore.cli.entry import INTERRUPTED_EXIT_CODE
from ganrestore.cli.errors import USER_ERROR_EXIT_CODE

if TYPE_CHECKING:
    from ganrestore.distributed import ProcessContext
    from ganrestore.inference.plan import FolderPlan
    from ganrestore.inference.ranks import SharedCount
    from ganrestore.inference.summary import ApplySummary

#: How long a process waits for the others: the finished ones wait for the slowest one's share.
WAIT_FOR_OTHERS = timedelta(hours=24)
#: How often rank 0 reads the shared count while the others still work (seconds).
COUNT_READ_SECONDS = 0.25


def apply_on_ranks(request: ApplyRequest) -> None:
    """Run this process's share of ``request`` (see the module's docstring).

    Raises:
        typer.Exit: 1 when any file failed on any process, 2 on a usage error, 130 on Ctrl-C.
    """
    import torch

    from ganrestore.distributed import ProcessContext, join_process_group, teardown_processes

    rank, world_size = join_process_group("gloo", WAIT_FOR_OTHERS)
    context = ProcessContext(torch.device("cpu"), rank, world_size)  # where the objects travel
    try:
        _apply_share(request, context)
    except KeyboardInterrupt:
        if context.is_main:
            typer.echo("Interrupted: every output written so far is complete.", err=True)
        raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    finally:
        teardown_processes(context)


def _apply_share(request: ApplyRequest, context: ProcessContext) -> None:
    from ganrestore.data.io import pillow_pixel_limit
    from ganrestore.distributed import gather_objects
    from ganrestore.inference import run_plan
    from ganrestore.inference.ranks import SharedCount, merge_summaries, process_group_store

    console = Console(stderr=True)
    prepared = _prepare_everywhere(request, context)
    shares, run_key = _shares_from_main(console, prepared, context)
    count = SharedCount(process_group_store(), run_key)
    share = shares[context.rank]
    lines: list[str] = []  # the other processes' lines, printed by rank 0 at the end
    with pillow_pixel_limit(None):  # the runner checks each header against --max-pixels
        if context.is_main:
            whole_run = sum(plan.total for plan in shares)
            summary = _run_main_share(console, prepared, share, whole_run, count, context)
        else:
            summary = run_plan(
                prepared.restorer,
                share,
                prepared.options,
                lines.append,
                count.add,
                remove_stale=False,
            )
            count.finish()
    results = gather_objects((summary, lines), context)
    merged = merge_summaries([summary for summary, _ in results])
    if context.is_main:
        for _, others in results[1:]:
            for line in others:
                console.print(line, highlight=False, markup=False, soft_wrap=True)
        print_summary(merged, routed=prepared.restorer.mask_optional)
    if merged.exit_code:
        raise typer.Exit(FAILED_EXIT_CODE)


def _run_main_share(
    console: Console,
    prepared: PreparedApply,
    share: FolderPlan,
    whole_run: int,
    count: SharedCount,
    context: ProcessContext,
) -> ApplySummary:
    """Rank 0 restores its share while its progress counts every process's files.

    The bar (or the ``progress:`` lines) goes over the ``whole_run`` files, as the summary
    does; when rank 0's share is done it goes on showing the others' files until the last
    process has finished.
    """
    from ganrestore.cli.progress import ApplyProgress
    from ganrestore.inference import run_plan

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    with ApplyProgress(console, whole_run) as progress:
        last_read = time.monotonic()

        def show_the_whole_run() -> None:
            nonlocal last_read
            last_read = time.monotonic()
            progress.files(count.files() - progress.done)

        def files(finished: int) -> None:
            count.add(finished)
            show_the_whole_run()

        def tiles(done: int, total: int) -> None:
            progress.tiles(done, total)
            if time.monotonic() - last_read >= COUNT_READ_SECONDS:
                show_the_whole_run()  # the others' files, while a large photo is tiled here

        summary = run_plan(
            prepared.restorer, share, prepared.options, log, files, tiles, remove_stale=False
        )
        count.finish()
        while count.finished() < context.world_size:
            time.sleep(COUNT_READ_SECONDS)
            show_the_whole_run()
        show_the_whole_run()
    return summary


def _prepare_everywhere(request: ApplyRequest, context: ProcessContext) -> PreparedApply:
    """Every process checks the options and loads the model on its own device."""
    import torch

    from ganrestore.devices import resolve_device
    from ganrestore.distributed import gather_objects, local_rank
    from ganrestore.errors import GanrestoreError

    prepared, error = None, None
    try:
        device = resolve_device(request.device, local_rank())
        if device.type == "cuda":
            torch.cuda.set_device(device)
        prepared = prepare(request, device)
    except GanrestoreError as exc:
        error = str(exc)
    _stop_on_error(gather_objects(error, context), context)
    assert prepared is not None  # else every process stopped above
    return prepared


def _shares_from_main(
    console: Console, prepared: PreparedApply, context: ProcessContext
) -> tuple[list[FolderPlan], str]:
    """Rank 0 plans and splits the run; every process gets every share (one ``FolderPlan`` per
    rank) and the key of this run's counts in the shared store (:class:`SharedCount`)."""
    from ganrestore.data.io import pillow_pixel_limit
    from ganrestore.distributed import broadcast_from_main
    from ganrestore.errors import GanrestoreError
    from ganrestore.inference import plan_folder
    from ganrestore.inference.folder import remove_stale_outputs
    from ganrestore.inference.ranks import file_costs, split_plan

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    shares: list[FolderPlan] | str | None = None
    run_key = f"ganrestore-apply-{uuid.uuid4().hex}"
    if context.is_main:
        options = prepared.options
        try:
            plan = plan_folder(options, prepared.restorer.takes_masks)
            print_start(console, prepared, plan, context.world_size)
            remove_stale_outputs(options, log)  # before the others have their shares
            with pillow_pixel_limit(None):
                costs = file_costs(plan.jobs, options.max_pixels, options.workers)
            shares = split_plan(plan, costs, context.world_size)
        except GanrestoreError as exc:
            shares = str(exc)
    shares, run_key = broadcast_from_main((shares, run_key), context)
    if isinstance(shares, str):
        _stop_on_error([shares], context)
    assert shares is not None  # else every process stopped above
    return shares, run_key


def _stop_on_error(errors: list[str | None], context: ProcessContext) -> None:
    """Stop every process (exit code 2) when any had a usage error; rank 0 says it, once.

    ``errors`` holds each process's error (None: none), the same list on every process.
    """
    rank, message = next(
        ((rank, error) for rank, error in enumerate(errors) if error is not None), (0, None)
    )
    if message is None:
        return
    if context.is_main:
        where = f"rank {rank} of {context.world_size} processes: " if rank else ""
        typer.secho(f"Error: {where}{message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(USER_ERROR_EXIT_CODE)
