"""``torchrun --nproc_per_node=N -m ganrestore apply ...``: each process restores its share.

Under torchrun (``WORLD_SIZE`` above 1) every process:

1. joins the process group with gloo (only small Python objects travel between the processes,
   so GPU runs need no NCCL), takes its device (``--device`` for its ``LOCAL_RANK``) and loads
   the model. A usage error on any process stops them all with exit code 2, said once, by
   rank 0;
2. rank 0 plans the run, removes the temporaries that killed runs left in ``--out`` (before
   any process writes: the others wait for the plan), and sends every process its share
   (:mod:`ganrestore.inference.ranks`), so they all work from one listing of ``--in``;
3. restores its share exactly as a single ``apply`` would. Rank 0 shows the progress of its
   own share and names its skipped / failed files as they happen; the others print nothing;
4. sends its summary and its lines to rank 0, which prints the other processes' lines and one
   summary of the whole run. Every process exits with 1 when any file failed on any of them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ganrestore.cli.apply import (
    FAILED_EXIT_CODE,
    ApplyRequest,
    PreparedApply,
    prepare,
    print_start,
    print_summary,
    run_with_progress,
)
from ganrestore.cli.errors import USER_ERROR_EXIT_CODE

if TYPE_CHECKING:
    from ganrestore.distributed import ProcessContext
    from ganrestore.inference.plan import FolderPlan

#: How long a process waits for the others: the finished ones wait for the slowest one's share.
WAIT_FOR_OTHERS = timedelta(hours=24)
INTERRUPTED_EXIT_CODE = 130


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
    from ganrestore.inference.ranks import merge_summaries

    console = Console(stderr=True)
    prepared = _prepare_everywhere(request, context)
    share = _share_from_main(console, prepared, context)
    lines: list[str] = []  # the other processes' lines, printed by rank 0 at the end
    with pillow_pixel_limit(None):  # the runner checks each header against --max-pixels
        if context.is_main:
            summary = run_with_progress(
                console, prepared.restorer, share, prepared.options, remove_stale=False
            )
        else:
            summary = run_plan(
                prepared.restorer, share, prepared.options, lines.append, remove_stale=False
            )
    results = gather_objects((summary, lines), context)
    merged = merge_summaries([summary for summary, _ in results])
    if context.is_main:
        for _, others in results[1:]:
            for line in others:
                console.print(line, highlight=False, markup=False, soft_wrap=True)
        print_summary(merged, routed=prepared.restorer.mask_optional)
    if merged.exit_code:
        raise typer.Exit(FAILED_EXIT_CODE)


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


def _share_from_main(
    console: Console, prepared: PreparedApply, context: ProcessContext
) -> FolderPlan:
    """Rank 0 plans and splits the run; every process gets its own share (a ``FolderPlan``)."""
    from ganrestore.data.io import pillow_pixel_limit
    from ganrestore.distributed import broadcast_from_main
    from ganrestore.errors import GanrestoreError
    from ganrestore.inference import plan_folder
    from ganrestore.inference.folder import remove_stale_outputs
    from ganrestore.inference.ranks import file_costs, split_plan

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    shares: list[FolderPlan] | str | None = None
    if context.is_main:
        options = prepared.options
        try:
            plan = plan_folder(options, prepared.restorer.uses_mask)
            print_start(console, prepared, plan.total, context.world_size)
            remove_stale_outputs(options, log)  # before the others have their shares
            with pillow_pixel_limit(None):
                costs = file_costs(plan.jobs, options.max_pixels, options.workers)
            shares = split_plan(plan, costs, context.world_size)
        except GanrestoreError as exc:
            shares = str(exc)
    shares = broadcast_from_main(shares, context)
    if isinstance(shares, str):
        _stop_on_error([shares], context)
    return shares[context.rank]


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
