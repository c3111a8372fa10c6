"""``ganrestore apply --in DIR --out DIR``: restore a whole folder, safely."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ganrestore.cli.apply_report import (
    ApplyInterrupted,
    print_start,
    print_summary,
    run_with_progress,
)
from ganrestore.cli.choices import (
    BUNDLED_NAMES,
    PRECISION_HELP,
    SELF_ENSEMBLE_HELP,
    TASK_NAMES_HELP,
    TRUST_TORCHSCRIPT_HELP,
    DeviceChoice,
    PrecisionChoice,
)
from ganrestore.cli.entry import INTERRUPTED_EXIT_CODE
from ganrestore.cli.errors import user_errors

if TYPE_CHECKING:
    import torch

    from ganrestore.inference import ApplyOptions, Restorer

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
    "auto (default): widen by 2 pixels each hole whose outline shows a removed object's soft "
    "edge (a halo), so that it goes too, and fill the other holes exactly as masked. N: widen "
    "every hole by N pixels; 0 fills every hole exactly as masked."
)


def parse_grow_mask(text: str | None) -> int | None:
    """``--grow-mask``: None for ``auto`` (or not given), else pixels 0 to 64.

    Raises:
        typer.BadParameter: anything else, with what is accepted.
    """
    from ganrestore.tasks import MAX_GROW

    if text is None or text.strip().lower() == "auto":
        return None
    try:
        pixels = int(text)
    except ValueError:
        pixels = -1
    if not 0 <= pixels <= MAX_GROW:
        raise typer.BadParameter(
            f"{text!r} is not auto or a whole number of pixels from 0 to {MAX_GROW}",
            param_hint="--grow-mask",
        )
    return pixels


TEXTURE_HELP = (
    "Inpainting: give the network's smooth fill the photo's own fine detail, copied from the "
    "known patches whose colours match (on by default); --no-texture keeps the network's fill "
    "alone."
)
STRENGTH_HELP = (
    "How much of each correction is applied, from 0 (the input unchanged; upscaling: its "
    "bicubic upscale) to 1 (all of it), e.g. 0.5 to keep some film grain. Not for inpainting."
)
NOISE_SIGMA_HELP = (
    "Denoising: the noise level (sigma, 0-255 scale) the network is told every image holds, "
    "instead of the one it measures per image: lower leaves more of the noise, higher smooths "
    "harder."
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
        "else its alpha channel (transparent = hole). Holes whose outline shows a removed object's "
        "soft edge are grown by 2 pixels (--grow-mask), so that it goes too; the other pixels "
        "are kept exactly. "
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
        "Under torchrun (several GPUs or machines: torchrun --nproc_per_node=N -m ganrestore "
        "apply ...), each process restores its share of the files, on the GPU of its "
        "LOCAL_RANK, and rank 0 prints one summary (docs/apply.md).",
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
            "--in",
            help="Folder of images to restore, or one image file; never written to.",
            readable=False,  # checked by check_folders, which says what to do
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
            "generator.safetensors file, a file of `ganrestore export` (.onnx, .pt), or a "
            f"bundled model name ({BUNDLED_NAMES}). "
            "Default: the bundled model of the task.",
            show_default=False,
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help=f"{TASK_NAMES_HELP}. Default: the model's task; without "
            "--model, inpaint when masks are given or found (sidecars, transparent pixels), "
            "else denoise.",
            show_default=False,
        ),
    ] = None,
    masks: Annotated[
        Path | None, typer.Option(help=MASK_HELP, show_default=False, readable=False)
    ] = None,
    tile: Annotated[
        int,
        typer.Option(
            help="Largest tile side in pixels; a forward pass holds at most tile x tile "
            "pixels, which bounds memory (about 0.6 GB per megapixel on a CPU). An image with "
            "fewer pixels runs whole; a larger one is cut into the fewest even tiles. 0: never "
            "tile.",
            min=0,
        ),
    ] = 1024,
    overlap: Annotated[
        int, typer.Option(help="Pixels shared by neighbouring tiles, blended smoothly.", min=0)
    ] = 32,
    batch_size: Annotated[
        int,
        typer.Option(
            help="Same-size images (or tiles) per forward pass, within tile x tile pixels.",
            min=1,
        ),
    ] = 4,
    device: Annotated[
        DeviceChoice, typer.Option(help="auto: CUDA, then Apple MPS, then CPU.")
    ] = DeviceChoice.auto,
    self_ensemble: Annotated[
        bool, typer.Option("--self-ensemble", help=SELF_ENSEMBLE_HELP)
    ] = False,
    precision: Annotated[PrecisionChoice, typer.Option(help=PRECISION_HELP)] = PrecisionChoice.auto,
    trust_torchscript: Annotated[
        bool, typer.Option("--trust-torchscript", help=TRUST_TORCHSCRIPT_HELP)
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
            "decoding) fail; the others go on. For an upscaling model the limit holds for the "
            "result. 0: no limit.",
            min=0,
        ),
    ] = 100_000_000,
    invert_mask: Annotated[bool, typer.Option("--invert-mask", help=INVERT_MASK_HELP)] = False,
    grow_mask: Annotated[
        str | None,
        typer.Option("--grow-mask", help=GROW_MASK_HELP, metavar="auto|N", show_default=False),
    ] = None,
    feather: Annotated[
        int | None, typer.Option(help=FEATHER_HELP, min=0, show_default=False)
    ] = None,
    texture: Annotated[bool, typer.Option("--texture/--no-texture", help=TEXTURE_HELP)] = True,
    strength: Annotated[
        float | None,
        typer.Option(help=STRENGTH_HELP, min=0.0, max=1.0, metavar="S", show_default=False),
    ] = None,
    noise_sigma: Annotated[
        float | None,
        typer.Option(
            "--noise-sigma",
            help=NOISE_SIGMA_HELP,
            min=0.0,
            max=255.0,
            metavar="N",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Restore every image in --in into --out (see docs/apply.md)."""
    if "torch" not in sys.modules:
        # Idle OpenMP threads sleep instead of spinning, leaving the CPU to the threads that
        # decode and encode images meanwhile (read when torch loads; set it to override).
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    request = ApplyRequest(
        input_dir,
        output_dir,
        model,
        task,
        masks,
        tile,
        overlap,
        batch_size,
        device.value,
        self_ensemble,
        recursive,
        overwrite,
        output_format.value,
        max_pixels,
        invert_mask,
        parse_grow_mask(grow_mask),
        feather,
        texture,
        strength,
        noise_sigma,
        trust_torchscript,
        precision.value,
    )
    from ganrestore.distributed import torchrun_world_size

    if torchrun_world_size() > 1:  # started by torchrun: this process restores its share
        from ganrestore.cli.apply_ranks import apply_on_ranks

        apply_on_ranks(request)
        return
    with user_errors():
        from ganrestore.data.io import pillow_pixel_limit
        from ganrestore.inference import plan_folder

        prepared = prepare(request, request.device)
        plan = plan_folder(prepared.options, prepared.restorer.takes_masks)
        console = Console(stderr=True)
        print_start(console, prepared, plan)
        try:
            with pillow_pixel_limit(None):  # the runner checks each header against --max-pixels
                summary = run_with_progress(console, prepared.restorer, plan, prepared.options)
        except KeyboardInterrupt as interrupted:
            said = str(interrupted) if isinstance(interrupted, ApplyInterrupted) else ""
            console.print(said or "Interrupted: every output written so far is complete.")
            raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
    print_summary(summary, routed=prepared.restorer.mask_optional)
    if summary.exit_code:
        raise typer.Exit(FAILED_EXIT_CODE)


@dataclass(frozen=True)
class ApplyRequest:
    """The options of one ``ganrestore apply`` command, as given (enums as their values)."""

    input_dir: Path
    output_dir: Path
    model: str | None
    task: str | None
    masks: Path | None
    tile: int
    overlap: int
    batch_size: int
    device: str
    self_ensemble: bool
    recursive: bool
    overwrite: bool
    output_format: str
    max_pixels: int
    invert_mask: bool
    grow_mask: int | None
    feather: int | None
    texture: bool = True
    strength: float | None = None
    noise_sigma: float | None = None
    trust_torchscript: bool = False
    precision: str = "auto"


@dataclass(frozen=True)
class PreparedApply:
    """What a request turned into: checked options, the model, and the notes for the user on
    hole edges, strength and number format (empty when there is nothing to say)."""

    options: ApplyOptions
    restorer: Restorer
    edges: str | None
    strength: str = ""
    precision: str = ""


def prepare(request: ApplyRequest, device: str | torch.device) -> PreparedApply:
    """Check the options and load the model on ``device``, before any image is read.

    Raises:
        GanrestoreError: a usage error (bad folders, model, task or mask options).
    """
    from ganrestore.cpu_memory import keep_freed_memory_on_cpu
    from ganrestore.devices import resolve_device
    from ganrestore.errors import GanrestoreError
    from ganrestore.inference import ApplyOptions, TileSettings, guess_route, resolve_model
    from ganrestore.inference.bundled import (
        installed_bundled_models,
        masked_settings,
        set_precision,
        set_strength,
    )
    from ganrestore.inference.folder import check_folders
    from ganrestore.tasks import checked_task_name, routed_task, set_hole_edges, task_model

    options = ApplyOptions(
        request.input_dir,
        request.output_dir,
        request.masks,
        request.recursive,
        request.overwrite,
        request.output_format,
        max_pixels=request.max_pixels,
        invert_mask=request.invert_mask,
    )
    check_folders(options)
    try:
        tiling = TileSettings(
            tile=request.tile, overlap=request.overlap, batch_size=request.batch_size
        )
    except ValueError as exc:
        raise GanrestoreError(
            f"--tile {request.tile} --overlap {request.overlap}: {exc}; give a larger --tile or "
            "a smaller --overlap"
        ) from None
    wanted = checked_task_name(request.task) if request.task is not None else None
    if request.model is None and wanted is None and len(installed_bundled_models()) < 2:
        route = guess_route(request.input_dir, request.recursive, request.masks, request.max_pixels)
        wanted = routed_task(route)
    # With neither --model nor --task: both bundled models, chosen per image by its mask.
    restorer = resolve_model(
        request.model,
        wanted,
        device,
        tiling,
        request.self_ensemble,
        trust_torchscript=request.trust_torchscript,
    )
    keep_freed_memory_on_cpu(resolve_device(device))  # each tile reuses the last one's memory
    if request.masks is not None and not restorer.takes_masks:
        raise GanrestoreError(
            f"--masks given, but {restorer.description} is {task_model(restorer.task)}; "
            "drop --masks or pass an inpaint model with --model"
        )
    for flag, given in (
        ("--invert-mask", request.invert_mask),
        ("--grow-mask", request.grow_mask is not None),
        ("--feather", request.feather is not None),
        ("--no-texture", not request.texture),
    ):
        if given and not restorer.takes_masks:
            raise GanrestoreError(
                f"{flag} given, but {restorer.description} is "
                f"{task_model(restorer.task)}, which takes no mask; drop {flag}"
            )
    edges = set_hole_edges(
        masked_settings(restorer), request.grow_mask, request.feather, request.texture
    )
    strength = set_strength(restorer, request.strength, request.noise_sigma)
    precision = set_precision(restorer, request.precision)
    return PreparedApply(options, restorer, edges, strength, precision)
