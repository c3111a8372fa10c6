"""``ganrestore eval``: score models and classical baselines on the same degraded images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ganrestore.cli.choices import (
    PRECISION_HELP,
    SELF_ENSEMBLE_HELP,
    TASK_NAMES_HELP,
    TRUST_TORCHSCRIPT_HELP,
    DeviceChoice,
    PrecisionChoice,
)
from ganrestore.cli.errors import user_errors
from ganrestore.cli.eval_conditions import eval_conditions, numbers
from ganrestore.cli.eval_table import print_table
from ganrestore.errors import GanrestoreError

if TYPE_CHECKING:
    from ganrestore.evaluation import EvalReport

app = typer.Typer(help="Score models and classical baselines on your images.")

COMMAND_HELP = "\n\n".join(
    [
        "Compare models with each other and with classical baselines on a folder of clean "
        "images, or score outputs you already have.",
        "With --data: every image is degraded deterministically as the task says (Gaussian "
        "noise of each --sigma, holes from --mask-kind / --masks, or the task's own "
        "degradation: an upscaling task's bicubic downscale; the same files and --seed give "
        "the same inputs on any machine), restored by every --model and scored: PSNR (all "
        "pixels; data range 255 for 8-bit), SSIM (scikit-image), PSNR over the holes and the "
        "detail ratio (the output's fine detail over the photo's, 1.0 = as much: over the holes "
        "at three scales, or for upscaling over the whole image) and LPIPS when its weights are "
        "installed; upscaling cuts a border of the scale first. The row 'input' scores the "
        "degraded input at the output's size.",
        "With --data DIR holding clean/ beside the task's pair folder (degraded/ or noisy/, "
        "masks/, small/: the layout ganrestore train reads): the real pairs are scored as they "
        "are, under one condition 'real-pairs'; --sigma, --peak, --jpeg, --mask-kind, --masks, "
        "--hole-ratio and --seed are refused.",
        "--model (repeatable): a run directory, checkpoint or bundled name; baseline:NAME "
        "(denoise: bm3d, nlm, tv, wavelet; inpaint: telea, ns, biharmonic, fsr_fast, shiftmap; "
        "upscale-x2, upscale-x4: bicubic, lanczos); or 'baselines' for every baseline of the "
        "task.",
        "With --restored DIR --reference DIR: score existing outputs against references matched "
        "by file stem (add --masks DIR for the PSNR over holes, --task to score as that task's "
        "eval does).",
        "Writes a table to the terminal, per-image scores to --csv, means to --json "
        "(and the CSV beside it), a side-by-side picture to --grid; existing files are replaced "
        "only with --overwrite. See docs/evaluation.md.",
    ]
)


@app.command("eval", help=COMMAND_HELP, no_args_is_help=True)
def eval_command(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Folder of clean images to degrade and restore, or of real pairs: clean/ "
            "beside the task's pair folder, as ganrestore train reads them.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Model to evaluate (repeatable): run dir, bundled name, baseline:NAME or "
            "baselines.",
            show_default=False,
        ),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help=f"An installed task: {TASK_NAMES_HELP}. "
            "Default: the task of the first --model. With --restored/--reference: score as "
            "the task's eval does (upscaling: the border cut, the detail ratio).",
            show_default=False,
        ),
    ] = None,
    sigma: Annotated[
        str | None,
        typer.Option(help="Denoise: noise levels on the 0-255 scale (default: 15,25,50)."),
    ] = None,
    peak: Annotated[
        str | None,
        typer.Option(
            help="Denoise: also add shot noise first (a camera's signal-dependent noise), with "
            "these photon counts at white, e.g. 30,100; 'none' keeps a Gaussian-only set.",
            show_default=False,
        ),
    ] = None,
    jpeg: Annotated[
        str | None,
        typer.Option(
            help="Denoise: save the noisy inputs as JPEG of these qualities (4:2:0), e.g. "
            "none,90,75; 'none' keeps the PNG set beside them.",
            show_default=False,
        ),
    ] = None,
    mask_kind: Annotated[
        str | None,
        typer.Option(help="Inpaint: generated masks, box / free / mixed (default: box,free)."),
    ] = None,
    masks: Annotated[
        Path | None,
        typer.Option(
            help="Folder of masks matched by file stem (white = hole) instead of generated ones.",
            show_default=False,
        ),
    ] = None,
    hole_ratio: Annotated[
        str | None,
        typer.Option(
            help="Inpaint: share of hole pixels of generated masks, LOW,HIGH (default: 0.05,0.4)."
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of every degradation (default: 0).")
    ] = None,
    restored: Annotated[
        Path | None,
        typer.Option(
            help="Folder of restored images to score (with --reference).", show_default=False
        ),
    ] = None,
    reference: Annotated[
        Path | None,
        typer.Option(help="Folder of clean references, matched by file stem.", show_default=False),
    ] = None,
    json_file: Annotated[
        Path | None, typer.Option("--json", help="Write the means as JSON.", show_default=False)
    ] = None,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Write per-image scores as CSV (default with --json: beside it, .csv).",
            show_default=False,
        ),
    ] = None,
    save_outputs: Annotated[
        Path | None,
        typer.Option(
            help="Save degraded inputs, masks and outputs as DIR/MODEL/CONDITION/NAME.png.",
            show_default=False,
        ),
    ] = None,
    grid: Annotated[
        Path | None,
        typer.Option(
            help="Write a PNG: degraded input (at the output's size) | each model | reference.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace existing --json, --csv and --grid files and the files eval writes in "
            "--save-outputs (else: refused before anything is scored).",
        ),
    ] = False,
    device: Annotated[
        DeviceChoice, typer.Option(help="Where networks run: auto (CUDA, MPS, CPU), cpu, ...")
    ] = DeviceChoice.auto,
    no_lpips: Annotated[
        bool, typer.Option("--no-lpips", help="Skip LPIPS even when its weights are installed.")
    ] = False,
    self_ensemble: Annotated[
        bool, typer.Option("--self-ensemble", help=SELF_ENSEMBLE_HELP)
    ] = False,
    precision: Annotated[PrecisionChoice, typer.Option(help=PRECISION_HELP)] = PrecisionChoice.auto,
    texture: Annotated[
        bool,
        typer.Option(
            "--texture/--no-texture",
            help="Inpainting networks copy the photo's own detail into their fills, as apply "
            "does (default); --no-texture scores their fills alone (labels end in +smooth).",
        ),
    ] = True,
    trust_torchscript: Annotated[
        bool, typer.Option("--trust-torchscript", help=TRUST_TORCHSCRIPT_HELP)
    ] = False,
    max_pixels: Annotated[
        int,
        typer.Option(
            "--max-pixels",
            help="Images and masks with more pixels (width x height, read from the file header "
            "before decoding) are not scored, and named; the clean images are the outputs' "
            "size, so an upscaling task's outputs stay within it; 0: no limit.",
            min=0,
        ),
    ] = 100_000_000,
) -> None:
    """Score models and baselines on --data, or score --restored against --reference."""
    console = Console(stderr=True)

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    request = EvalRequest(
        data=data,
        models=model or [],
        task=task,
        sigma=sigma,
        peak=peak,
        jpeg=jpeg,
        mask_kind=mask_kind,
        masks=masks,
        hole_ratio=hole_ratio,
        seed=seed,
        restored=restored,
        reference=reference,
        save_outputs=save_outputs,
        grid=grid,
        device=device.value,
        lpips=not no_lpips,
        self_ensemble=self_ensemble,
        texture=texture,
        trust_torchscript=trust_torchscript,
        max_pixels=max_pixels,
        precision=precision.value,
    )
    with user_errors():
        from ganrestore.data.io import ImageTooLargeError
        from ganrestore.evaluation.report import (
            check_writable_outputs,
            checked_output_paths,
            write_outputs,
        )

        json_file, csv_file = checked_output_paths(json_file, csv_file, overwrite)
        check_writable_outputs(grid, save_outputs, overwrite)
        try:
            if restored is not None or reference is not None:
                report = _score_mode(request, log)
            else:
                report = _eval_mode(request, log)
        except ImageTooLargeError as exc:
            raise GanrestoreError(
                f"{exc}; raise the limit with --max-pixels (0: no limit) if this machine has "
                "the memory (about 40 bytes per pixel)"
            ) from None
        except OSError as exc:  # a disk filled up, or a folder changed, while evaluating
            raise GanrestoreError(
                f"{exc.filename or 'a file'}: {exc.strerror or exc}; check the path, its "
                "permissions and the free space (--grid, --save-outputs)"
            ) from None
        print_table(report)
        write_outputs(report, json_file, csv_file, log)


@dataclass(frozen=True)
class EvalRequest:
    """The options of one ``ganrestore eval`` call, as typed on the command line.

    Attributes:
        data: folder of clean images to degrade and restore (evaluation mode).
        models: the --model values in order: run dirs, checkpoints, bundled names,
            ``baseline:NAME`` or ``baselines``.
        task: the name of an installed task, or None for the task of the first model.
        sigma: comma-separated noise levels (0-255 scale), or None for the default.
        peak: comma-separated photon counts of shot noise (``none`` = Gaussian only), or None.
        jpeg: comma-separated JPEG qualities of the noisy inputs (``none`` = PNG), or None.
        mask_kind: comma-separated generated mask kinds, or None for the default.
        masks: folder of masks matched by file stem, instead of generated ones.
        hole_ratio: ``LOW,HIGH`` share of hole pixels of generated masks, or None for the
            default.
        seed: seed of every degradation, or None for the default (0).
        restored: folder of restored images to score (scoring mode, with ``reference``).
        reference: folder of clean references (scoring mode).
        save_outputs: where to save degraded inputs, masks and outputs, or None.
        grid: where to write the comparison picture, or None.
        device: ``auto``, ``cpu``, ``cuda``, ...
        lpips: score LPIPS when its weights are installed.
        self_ensemble: networks average over 8 rotated / mirrored views (labels end in +x8).
        texture: inpainting networks copy the photo's detail into their fills (False: their
            fills alone; labels end in +smooth).
        trust_torchscript: open TorchScript models (``.pt``, ``.ts``), which run code they
            hold when opened.
        max_pixels: images and masks above this many pixels are not decoded (0: no limit).
        precision: the number format networks run in (``auto``, ``fp32``, ``bf16``, ``fp16``).
    """

    data: Path | None
    models: list[str]
    task: str | None
    sigma: str | None
    peak: str | None
    jpeg: str | None
    mask_kind: str | None
    masks: Path | None
    hole_ratio: str | None
    seed: int | None
    restored: Path | None
    reference: Path | None
    save_outputs: Path | None
    grid: Path | None
    device: str
    lpips: bool
    self_ensemble: bool = False
    texture: bool = True
    trust_torchscript: bool = False
    max_pixels: int = 100_000_000
    precision: str = "auto"


Log = Callable[[str], None]
#: ``--hole-ratio`` when not given.
DEFAULT_HOLE_RATIO = "0.05,0.4"


def _score_mode(request: EvalRequest, log: Log) -> EvalReport:
    """Score --restored against --reference; refuse the options that only evaluation uses."""
    from ganrestore.evaluation import score_folders

    if request.restored is None or request.reference is None:
        raise GanrestoreError("--restored and --reference go together: pass both folders")
    clashing = [
        name
        for name, value in (
            ("--data", request.data),
            ("--model", request.models),
            ("--sigma", request.sigma),
            ("--peak", request.peak),
            ("--jpeg", request.jpeg),
            ("--mask-kind", request.mask_kind),
            ("--self-ensemble", request.self_ensemble),
            ("--precision", request.precision != "auto"),
        )
        if value
    ]
    if clashing:
        raise GanrestoreError(
            f"{', '.join(clashing)} cannot be used with --restored/--reference, which only scores"
        )
    task = None
    if request.task is not None:
        from ganrestore.tasks import build_task, checked_task_name

        task = build_task(checked_task_name(request.task))
    return score_folders(
        request.restored,
        request.reference,
        request.masks,
        lpips=request.lpips,
        log=log,
        max_pixels=request.max_pixels,
        task=task,
    )


def _eval_mode(request: EvalRequest, log: Log) -> EvalReport:
    """Degrade --data under every condition, restore with every --model and score."""
    from ganrestore.cpu_memory import keep_freed_memory_on_cpu
    from ganrestore.devices import resolve_device
    from ganrestore.evaluation import EvalSettings, evaluate, model_task, resolve_models

    if request.data is None:
        raise GanrestoreError("pass --data DIR (clean images), or --restored DIR --reference DIR")
    if not request.models:
        raise GanrestoreError("pass --model (repeatable): a run dir, baseline:NAME or baselines")
    from ganrestore.tasks import build_task, checked_task_name

    if request.task is not None:
        task_name = checked_task_name(request.task)
    else:
        task_name = model_task(request.models[0], request.device, request.trust_torchscript)
    conditions = eval_conditions(request, build_task(task_name))
    hole_ratio = request.hole_ratio if request.hole_ratio is not None else DEFAULT_HOLE_RATIO
    low_high = numbers(hole_ratio, "--hole-ratio")
    if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1] <= 1:
        raise GanrestoreError(f"--hole-ratio {hole_ratio}: expected LOW,HIGH with 0<=LOW<=HIGH<=1")
    resolved = resolve_models(
        request.models,
        task_name,
        request.device,
        request.self_ensemble,
        request.texture,
        trust_torchscript=request.trust_torchscript,
        precision=request.precision,
    )
    keep_freed_memory_on_cpu(resolve_device(request.device))  # each image reuses the memory
    for note in resolved.notes:
        log(note)
    settings = EvalSettings(
        task=task_name,
        data=request.data,
        conditions=conditions,
        seed=request.seed if request.seed is not None else 0,
        hole_ratio=(low_high[0], low_high[1]),
        save_outputs=request.save_outputs,
        grid=request.grid,
        lpips=request.lpips,
        max_pixels=request.max_pixels,
        extra={"hole_ratio": low_high} if any(c.makes_holes for c in conditions) else {},
    )
    labels = ", ".join(m.label for m in resolved.models)
    names = ", ".join(c.name for c in settings.conditions)
    log(f"{task_name}: {request.data} under {names} with {labels}")
    return evaluate(settings, resolved.models, log)
