"""What ``ganrestore apply`` tells the user: the first lines, the progress, the summary.

Shared by a single process (:mod:`ganrestore.cli.apply`) and by ``torchrun``'s rank 0
(:mod:`ganrestore.cli.apply_ranks`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ganrestore.cli.errors import printable
from ganrestore.cli.progress import ApplyProgress

if TYPE_CHECKING:
    from ganrestore.cli.apply import PreparedApply
    from ganrestore.inference import ApplyOptions, ApplySummary, Restorer
    from ganrestore.inference.folder import FolderPlan


def print_start(
    console: Console, prepared: PreparedApply, plan: FolderPlan, processes: int = 1
) -> None:
    """The first line(s): what is restored where, with which model (and on how many processes),
    then how holes are treated (only when an image of ``plan`` may have a hole), the strength
    and the number format networks run in, when they are not the defaults."""
    options, restorer = prepared.options, prepared.restorer
    total = plan.total
    on = f" on {processes} processes" if processes > 1 else ""
    _say(
        console,
        f"{restorer.task}: {total} image(s) in {options.input_dir} -> {options.output_dir} "
        f"with {restorer.description}{on}",
    )
    if total == 0:
        from ganrestore.data.io import IMAGE_SUFFIX_LIST

        nothing = f"nothing to restore: no image files ({IMAGE_SUFFIX_LIST}) in {options.input_dir}"
        _say(console, nothing)
        return
    edges = prepared.edges if prepared.edges and _may_have_holes(prepared, plan) else ""
    for note in (edges, prepared.strength, prepared.precision):
        if note:
            _say(console, note)


def _say(console: Console, message: str) -> None:
    """One line on ``console`` as it is written: no markup, no highlighting, no control
    character from a file name."""
    console.print(printable(message), highlight=False, markup=False, soft_wrap=True)


def _echo(message: str) -> None:
    """One line of the summary on stdout, without control characters from file names."""
    typer.echo(printable(message))


def _may_have_holes(prepared: PreparedApply, plan: FolderPlan) -> bool:
    """Whether an image of ``plan`` may go to the model that fills holes.

    A model that only fills holes gets every image. The bundled pair (``mask_optional``)
    routes each image by its mask: an image has one when it has a mask file (``--masks``, a
    sidecar) or when its header says it has alpha (transparent pixels are holes; the header is
    read, not the pixels, so an opaque alpha channel counts too).
    """
    if not prepared.restorer.mask_optional:
        return True
    if any(job.mask_file is not None for job in plan.jobs):
        return True
    from ganrestore.inference.masks import ALPHA_SUFFIXES, header_has_alpha

    return any(
        job.source.suffix.lower() in ALPHA_SUFFIXES and header_has_alpha(job.source)
        for job in plan.jobs
    )


def run_with_progress(
    console: Console,
    restorer: Restorer,
    plan: FolderPlan,
    options: ApplyOptions,
    remove_stale: bool = True,
) -> ApplySummary:
    """Run ``plan``, showing its progress and naming each skipped / failed file on ``console``.

    ``remove_stale``: remove temporaries left by killed runs first (see ``run_plan``).
    """
    from ganrestore.inference import run_plan

    def log(message: str) -> None:
        _say(console, message)

    with ApplyProgress(console, plan.total) as progress:
        try:
            return run_plan(
                restorer, plan, options, log, progress.files, progress.tiles,
                remove_stale=remove_stale,
            )  # fmt: skip
        except KeyboardInterrupt:
            done = progress.done
    raise ApplyInterrupted(done, plan.total)


class ApplyInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run, with how far it got: ``done`` of ``total`` images finished."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(done, total)
        self.done, self.total = done, total

    def __str__(self) -> str:
        return (
            f"Interrupted after {self.done} of {self.total} image(s): every output written so "
            "far is complete; the same command without --overwrite restores the rest (outputs "
            "that exist are skipped)"
        )


def print_summary(summary: ApplySummary, routed: bool = False) -> None:
    """The closing lines; ``routed``: say how many images each model restored."""
    _echo(
        f"restored {len(summary.restored)}, skipped {len(summary.skipped)}, "
        f"failed {len(summary.failed)} in {summary.seconds:.1f} s "
        f"({summary.images_per_second:.2f} images/s, "
        f"{summary.megapixels_per_second:.2f} megapixels/s)"
    )
    reasons: dict[str, int] = {}
    for _, reason in summary.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        _echo(f"  skipped {count}: {reason}")
    _print_notes(summary, routed)
    # Each failed file was named, with its reason, as it failed: not repeated here.


def _print_notes(summary: ApplySummary, routed: bool, listed: int = 10) -> None:
    """Which model restored what, images without a mask in --masks, ignored files, warnings."""
    if routed and summary.by_task:
        counts = (
            f"{task}: {len(paths)} image(s)" for task, paths in sorted(summary.by_task.items())
        )
        _echo(f"  {', '.join(counts)}")
        _print_hole_sources(summary, listed)
    if summary.without_mask:
        _echo(f"  no mask in --masks: {len(summary.without_mask)} image(s)")
        for path, outcome in summary.without_mask[:listed]:
            _echo(f"    {path}: {outcome}")
        if len(summary.without_mask) > listed:
            _echo(f"    and {len(summary.without_mask) - listed} more (named above)")
    from ganrestore.data.listing import NOT_AN_IMAGE

    ignored: dict[str, list[Path]] = {}
    for path, reason in summary.ignored:
        ignored.setdefault(reason, []).append(path)
    for reason, paths in ignored.items():
        # Files that are no images at all were not named as the run began: name a few here.
        named = f": {_some_names(paths)}" if reason == NOT_AN_IMAGE else ""
        _echo(f"  ignored {len(paths)}: {reason}{named}")
    if summary.warnings:
        _echo(f"  {len(summary.warnings)} warning(s), shown above")


def _print_hole_sources(summary: ApplySummary, listed: int) -> None:
    """Where the holes of each image filled came from: chosen by what was found, so said."""
    for path, source in sorted(summary.hole_sources)[:listed]:
        found = "its transparent pixels" if source == "alpha" else f"the mask {source}"
        _echo(f"    {path}: holes from {found}")
    if len(summary.hole_sources) > listed:
        _echo(f"    and {len(summary.hole_sources) - listed} more with holes")


def _some_names(paths: list[Path], shown: int = 3) -> str:
    """``a.txt, b.xmp, c.json and 4 more``: the first ``shown`` paths, then a count."""
    names = ", ".join(str(path) for path in paths[:shown])
    return names + (f" and {len(paths) - shown} more" if len(paths) > shown else "")
