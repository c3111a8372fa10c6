"""``ganrestore apply --in DIR --out DIR``: restore a whole folder, safely."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ganrestore.cli.choices import SELF_ENSEMBLE_HELP, DeviceChoice
from ganrestore.cli.errors import user_errors
from ganrestore.cli.progress import ApplyProgress

if TYPE_CHECKING:
    from ganrestore.inference import ApplyOptions, ApplySummary, Restorer
    from ganrestore.inference.folder import FolderPlan

app = typer.Typer(help="Restore a folder of images with a trained or bundled model.")

MASK_HELP = (
    "Folder of masks matched to images by file stem (any format). Masks are white / non-zero "
    "= hole (values above 127; see --invert-mask). Without it, a sidecar NAME_mask.* beside "
    "the image or the image's transparent pixels are the holes."
)
INVERT_MASK_HELP = (
    "Mask files (--masks and sidecars) are black = hole instead: for masks that mark the "
    "pixels to keep in white. Transparent pixels stay holes."
)
GROW_MASK_HELP = (
    "Widen every hole by N pixels before it is filled, so that the soft outline of a removed "
    "object goes too and leaves no halo. Default 2; 0 fills exactly the mask (for masks that "
    "mark exactly the missing pixels)."
)
FEATHER_HELP = (
    "Blend the fill into the N known pixels around each (grown) hole. Default 0: every pixel "
    "outside the grown holes is kept exactly."
)
FAILED_EXIT_CODE = 1
COMMAND_HELP = "\n\n".join(
    [
        "Restore every image in --in (a folder, or one image file; PNG, JPEG, WebP, TIFF, "
        "BMP) into --out.",
        "Masks (inpainting): white / non-zero = hole, thresholded at 127 (black = hole with "
        "--invert-mask; a mask with no hole or over 90 % holes is warned about). Each image's mask "
        "is the file with its stem in --masks DIR (any format; resized with nearest neighbour "
        "and a warning if the size differs), else a sidecar NAME_mask.* beside the image, "
        "else its alpha channel (transparent = hole). Holes are grown by 2 pixels (--grow-mask), "
        "so the soft outline of a removed object goes too; the other pixels are kept exactly. "
        "Without "
        "--model and --task, images with a mask go to the bundled inpaint model and the others "
        "to the bundled denoise model; in an inpaint run, an image without a mask is reported "
        "and skipped.",
        "Any size up to --max-pixels works: large images are tiled with blended overlaps. "
        "Gray, RGBA and 16-bit images keep their kind, EXIF and colour profile. What is no "
        "image to restore (GIF, HEIC, RAW, broken links, sub-folders without --recursive) is "
        "named as ignored; animated images fail. --in and --masks are never written to. "
        "Existing outputs are skipped without --overwrite, also one that appears while the "
        "run goes on; unreadable files are reported and skipped; every output is written to a "
        "temporary file and renamed into place. Exit code: 1 when any file failed, 2 on a "
        "usage error.",
    ]
)


class FormatChoice(str, Enum):
    keep = "keep"
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"


@app.command("apply", help=COMMAND_HELP, no_args_is_help=True)
def apply_command(
    input_dir: Annotated[
        Path,
        typer.Option(
            "--in", help="Folder of images to restore, or one image file; never written to."
        ),
    ],
    output_dir: Annotated[
        Path,
        typer.Option("--out", help="Output folder (not inside --in or --masks); mirrors --in."),
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
        str | None,
        typer.Option(
            help="denoise, inpaint or a plugin's task. Default: the model's task; without "
            "--model, inpaint when masks are given or found (sidecars, transparent pixels), "
            "else denoise.",
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
    max_pixels: Annotated[
        int,
        typer.Option(
            "--max-pixels",
            help="Images with more pixels (width x height, read from the file header before "
            "decoding) fail; the others go on. 0: no limit.",
            min=0,
        ),
    ] = 100_000_000,
    invert_mask: Annotated[bool, typer.Option("--invert-mask", help=INVERT_MASK_HELP)] = False,
    grow_mask: Annotated[
        int | None,
        typer.Option("--grow-mask", help=GROW_MASK_HELP, min=0, show_default=False),
    ] = None,
    feather: Annotated[
        int | None, typer.Option(help=FEATHER_HELP, min=0, show_default=False)
    ] = None,
) -> None:
    """Restore every image in --in into --out (see docs/apply.md)."""
    if "torch" not in sys.modules:
        # Idle OpenMP threads sleep instead of spinning, leaving the CPU to the threads that
        # decode and encode images meanwhile (read when torch loads; set it to override).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    with user_errors():
        from ganrestore.data.io import pillow_pixel_limit
        from ganrestore.errors import GanrestoreError
        from ganrestore.inference import (
            ApplyOptions,
            TileSettings,
            guess_route,
            plan_folder,
            resolve_model,
        )
        from ganrestore.inference.bundled import installed_bundled_models, set_hole_edges
        from ganrestore.inference.folder import check_folders
        from ganrestore.tasks import checked_task_name, routed_task, task_model

        options = ApplyOptions(
            input_dir,
            output_dir,
            masks,
            recursive,
            overwrite,
            output_format.value,
            max_pixels=max_pixels,
            invert_mask=invert_mask,
        )
        check_folders(options)
        try:
            tiling = TileSettings(tile=tile, overlap=overlap, batch_size=batch_size)
        except ValueError as exc:
            raise GanrestoreError(f"--tile/--overlap: {exc}") from None
        wanted = checked_task_name(task) if task is not None else None
        if model is None and wanted is None and len(installed_bundled_models()) < 2:
            wanted = routed_task(guess_route(input_dir, recursive, masks))
        # With neither --model nor --task: both bundled models, chosen per image by its mask.
        restorer = resolve_model(model, wanted, device.value, tiling, self_ensemble)
        if masks is not None and not restorer.uses_mask:
            raise GanrestoreError(
                f"--masks given, but {restorer.description} is {task_model(restorer.task)}; "
                "drop --masks or pass an inpaint model with --model"
            )
        for flag, given in (
            ("--invert-mask", invert_mask),
            ("--grow-mask", grow_mask is not None),
            ("--feather", feather is not None),
        ):
            if given and not restorer.uses_mask:
                raise GanrestoreError(
                    f"{flag} given, but {restorer.description} is "
                    f"{task_model(restorer.task)}, which takes no mask; drop {flag}"
                )
        edges = set_hole_edges(restorer, grow_mask, feather)
        plan = plan_folder(options, restorer.uses_mask)
        console = Console(stderr=True)
        console.print(
            f"{restorer.task}: {plan.total} image(s) in {input_dir} -> {output_dir} "
            f"with {restorer.description}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        if edges:
            console.print(edges, highlight=False, markup=False, soft_wrap=True)
        try:
            with pillow_pixel_limit(None):  # the runner checks each header against --max-pixels
                summary = _run_with_progress(console, restorer, plan, options)
        except KeyboardInterrupt:
            console.print("Interrupted: every output written so far is complete.")
            raise typer.Exit(130) from None
    _print_summary(summary, routed=restorer.mask_optional)
    if summary.exit_code:
        raise typer.Exit(FAILED_EXIT_CODE)


def _run_with_progress(
    console: Console, restorer: Restorer, plan: FolderPlan, options: ApplyOptions
) -> ApplySummary:
    from ganrestore.inference import run_plan

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    with ApplyProgress(console, plan.total) as progress:
        return run_plan(restorer, plan, options, log, progress.files, progress.tiles)


def _print_summary(summary: ApplySummary, routed: bool = False) -> None:
    """The closing lines; ``routed``: say how many images each model restored."""
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
    _print_notes(summary, routed)
    # Each failed file was named, with its reason, as it failed: not repeated here.


def _print_notes(summary: ApplySummary, routed: bool, listed: int = 10) -> None:
    """Which model restored what, images without a mask in --masks, ignored files, warnings."""
    if routed and summary.by_task:
        counts = (
            f"{task}: {len(paths)} image(s)" for task, paths in sorted(summary.by_task.items())
        )
        typer.echo(f"  {', '.join(counts)}")
    if summary.without_mask:
        typer.echo(f"  no mask in --masks: {len(summary.without_mask)} image(s)")
        for path, outcome in summary.without_mask[:listed]:
            typer.echo(f"    {path}: {outcome}")
        if len(summary.without_mask) > listed:
            typer.echo(f"    and {len(summary.without_mask) - listed} more (named above)")
    ignored: dict[str, int] = {}
    for _, reason in summary.ignored:
        ignored[reason] = ignored.get(reason, 0) + 1
    for reason, count in ignored.items():
        typer.echo(f"  ignored {count}: {reason}")
    if summary.warnings:
        typer.echo(f"  {len(summary.warnings)} warning(s), shown above")
