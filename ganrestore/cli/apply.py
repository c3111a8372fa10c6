"""``ganrestore apply --in DIR --out DIR``: restore a whole folder, safely."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ganrestore.cli.choices import SELF_ENSEMBLE_HELP, DeviceChoice, TaskChoice
from ganrestore.cli.errors import user_errors

if TYPE_CHECKING:
    from ganrestore.inference import ApplyOptions, ApplySummary, Restorer
    from ganrestore.inference.folder import FolderPlan

app = typer.Typer(help="Restore a folder of images with a trained or bundled model.")

MASK_HELP = (
    "Folder of masks matched to images by file stem (any format). Masks are white / non-zero "
    "= hole (values above 127). Without it, a sidecar NAME_mask.* beside the image or the "
    "image's transparent pixels are the holes."
)
FAILED_EXIT_CODE = 1
COMMAND_HELP = "\n\n".join(
    [
        "Restore every image in --in (PNG, JPEG, WebP, TIFF, BMP) into --out.",
        "Masks (inpainting): white / non-zero = hole, thresholded at 127. Each image's mask "
        "is the file with its stem in --masks DIR (any format; resized with nearest neighbour "
        "and a warning if the size differs), else a sidecar NAME_mask.* beside the image, "
        "else its alpha channel (transparent = hole). Known pixels are kept exactly. Without "
        "--model and --task, images with a mask go to the bundled inpaint model and the others "
        "to the bundled denoise model; in an inpaint run, an image without a mask is reported "
        "and skipped.",
        "Any size works: large images are tiled with blended overlaps. Gray, RGBA and 16-bit "
        "images keep their kind. Existing outputs are skipped without --overwrite; unreadable "
        "files are reported and skipped; every output is written to a temporary file and "
        "renamed into place. Exit code: 1 when any file failed, 2 on a usage error.",
    ]
)


class FormatChoice(str, Enum):
    keep = "keep"
    png = "png"
    jpg = "jpg"
    webp = "webp"


@app.command("apply", help=COMMAND_HELP, no_args_is_help=True)
def apply_command(
    input_dir: Annotated[
        Path, typer.Option("--in", help="Folder of images to restore; it is never written to.")
    ],
    output_dir: Annotated[
        Path, typer.Option("--out", help="Output folder (not inside --in); mirrors --in.")
    ],
    model: Annotated[
        str | None,
        typer.Option(
            help="A run directory from `ganrestore train`, one of its checkpoint folders, a "
            "generator.safetensors file, or a bundled model name (denoise, inpaint). "
            "Default: the bundled model of the task.",
            show_default=False,
        ),
    ] = None,
    task: Annotated[
        TaskChoice | None,
        typer.Option(
            help="Default: the model's task; without --model, inpaint when masks are given or "
            "found (sidecars, transparent pixels), else denoise.",
            show_default=False,
        ),
    ] = None,
    masks: Annotated[Path | None, typer.Option(help=MASK_HELP, show_default=False)] = None,
    tile: Annotated[
        int,
        typer.Option(help="Tile side in pixels for large images (0: never tile).", min=0),
    ] = 512,
    overlap: Annotated[
        int, typer.Option(help="Pixels shared by neighbouring tiles, blended smoothly.", min=0)
    ] = 64,
    batch_size: Annotated[
        int, typer.Option(help="Same-size images (or tiles) per forward pass.", min=1)
    ] = 4,
    device: Annotated[
        DeviceChoice, typer.Option(help="auto: CUDA, then Apple MPS, then CPU.")
    ] = DeviceChoice.auto,
    self_ensemble: Annotated[
        bool, typer.Option("--self-ensemble", help=SELF_ENSEMBLE_HELP)
    ] = False,
    recursive: Annotated[
        bool, typer.Option("--recursive", help="Include sub-folders (mirrored under --out).")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing outputs (else: skipped).")
    ] = False,
    output_format: Annotated[
        FormatChoice,
        typer.Option("--format", help="Output format; keep: the input's (JPEG quality 95)."),
    ] = FormatChoice.keep,
) -> None:
    """Restore every image in --in into --out (see docs/apply.md)."""
    if "torch" not in sys.modules:
        # Idle OpenMP threads sleep instead of spinning, leaving the CPU to the threads that
        # decode and encode images meanwhile (read when torch loads; set it to override).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with user_errors():
        from ganrestore.errors import GanrestoreError
        from ganrestore.inference import (
            ApplyOptions,
            TileSettings,
            guess_task,
            plan_folder,
            resolve_model,
        )
        from ganrestore.inference.bundled import installed_bundled_models
        from ganrestore.inference.folder import check_folders

        options = ApplyOptions(
            input_dir, output_dir, masks, recursive, overwrite, output_format.value
        )
        check_folders(options)
        try:
            tiling = TileSettings(tile=tile, overlap=overlap, batch_size=batch_size)
        except ValueError as exc:
            raise GanrestoreError(f"--tile/--overlap: {exc}") from None
        wanted = task.value if task is not None else None
        if model is None and wanted is None and len(installed_bundled_models()) < 2:
            wanted = guess_task(input_dir, recursive, masks)
        # With neither --model nor --task: both bundled models, chosen per image by its mask.
        restorer = resolve_model(model, wanted, device.value, tiling, self_ensemble)
        if masks is not None and not restorer.uses_mask:
            raise GanrestoreError(
                f"--masks given, but {restorer.description} is a denoise model; drop --masks "
                "or pass an inpaint model with --model"
            )
        plan = plan_folder(options, restorer.uses_mask)
        console = Console(stderr=True)
        console.print(
            f"{restorer.task}: {plan.total} image(s) in {input_dir} -> {output_dir} "
            f"with {restorer.description}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        try:
            summary = _run_with_progress(console, restorer, plan, options)
        except KeyboardInterrupt:
            console.print("Interrupted: every output written so far is complete.")
            raise typer.Exit(130) from None
    _print_summary(summary)
    if summary.exit_code:
        raise typer.Exit(FAILED_EXIT_CODE)


def _run_with_progress(
    console: Console, restorer: Restorer, plan: FolderPlan, options: ApplyOptions
) -> ApplySummary:
    from ganrestore.inference import run_plan

    progress = Progress(
        TextColumn("restoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        bar = progress.add_task("apply", total=plan.total)

        def log(message: str) -> None:
            console.print(message, highlight=False, markup=False, soft_wrap=True)

        return run_plan(restorer, plan, options, log, lambda n: progress.advance(bar, n))


def _print_summary(summary: ApplySummary) -> None:
    typer.echo(
        f"restored {len(summary.restored)}, skipped {len(summary.skipped)}, "
        f"failed {len(summary.failed)} in {summary.seconds:.1f} s "
        f"({summary.images_per_second:.2f} images/s, "
        f"{summary.megapixels_per_second:.2f} megapixels/s)"
    )
    reasons: dict[str, int] = {}
    for _, reason in summary.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        typer.echo(f"  skipped {count}: {reason}")
    for path, reason in summary.failed:
        typer.echo(f"  failed {path}: {reason}", err=True)
