"""``ganrestore eval``: score models and classical baselines on the same degraded images."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ganrestore.cli.choices import SELF_ENSEMBLE_HELP, TRUST_TORCHSCRIPT_HELP, DeviceChoice
from ganrestore.cli.errors import user_errors
from ganrestore.errors import GanrestoreError

if TYPE_CHECKING:
    from ganrestore.evaluation import EvalReport
    from ganrestore.evaluation.degrade import Condition

app = typer.Typer(help="Score models and classical baselines on your images.")

DEFAULT_SIGMAS = "15,25,50"
DEFAULT_MASK_KINDS = "box,free"
COMMAND_HELP = "\n\n".join(
    [
        "Compare models with each other and with classical baselines on a folder of clean "
        "images, or score outputs you already have.",
        "With --data: every image is degraded deterministically (Gaussian noise of each "
        "--sigma, or holes from --mask-kind / --masks; the same files and --seed give the "
        "same inputs on any machine), restored by every --model and scored: PSNR (all pixels; "
        "data range 255 for 8-bit), SSIM (scikit-image), PSNR over the holes and the detail ratio "
        "(inpainting: the fill's fine detail over the photo's, 1.0 = as much, at three scales) "
        "and LPIPS when its weights are installed. The row 'input' scores the degraded input.",
        "--model (repeatable): a run directory, checkpoint or bundled name; baseline:NAME "
        "(denoise: bm3d, nlm, tv, wavelet; inpaint: telea, ns, biharmonic, fsr_fast, shiftmap); "
        "or 'baselines' for every baseline of the task.",
        "With --restored DIR --reference DIR: score existing outputs against references matched "
        "by file stem (add --masks DIR for the PSNR over holes).",
        "Writes a table to the terminal, per-image scores to --csv, means to --json "
        "(and the CSV beside it), a side-by-side picture to --grid. See docs/evaluation.md.",
    ]
)


def _numbers(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GanrestoreError(f"{option} {text}: expected numbers separated by commas") from None
    if not values:
        raise GanrestoreError(f"{option}: give at least one value")
    return values


@app.command("eval", help=COMMAND_HELP, no_args_is_help=True)
def eval_command(
    data: Annotated[
        Path | None,
        typer.Option(help="Folder of clean images to degrade and restore.", show_default=False),
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
            help="denoise, inpaint or a plugin's task. Default: the task of the first --model.",
            show_default=False,
        ),
    ] = None,
    sigma: Annotated[
        str | None,
        typer.Option(help=f"Denoise: noise levels on the 0-255 scale (default: {DEFAULT_SIGMAS})."),
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
        typer.Option(
            help=f"Inpaint: generated masks, box / free / mixed (default: {DEFAULT_MASK_KINDS})."
        ),
    ] = None,
    masks: Annotated[
        Path | None,
        typer.Option(
            help="Folder of masks matched by file stem (white = hole) instead of generated ones.",
            show_default=False,
        ),
    ] = None,
    hole_ratio: Annotated[
        str, typer.Option(help="Inpaint: share of hole pixels of generated masks, LOW,HIGH.")
    ] = "0.05,0.4",
    seed: Annotated[int, typer.Option(help="Seed of every degradation.")] = 0,
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
        typer.Option(help="Write a PNG: degraded | each model | reference.", show_default=False),
    ] = None,
    device: Annotated[
        DeviceChoice, typer.Option(help="Where networks run: auto (CUDA, MPS, CPU), cpu, ...")
    ] = DeviceChoice.auto,
    no_lpips: Annotated[
        bool, typer.Option("--no-lpips", help="Skip LPIPS even when its weights are installed.")
    ] = False,
    self_ensemble: Annotated[
        bool, typer.Option("--self-ensemble", help=SELF_ENSEMBLE_HELP)
    ] = False,
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
            "before decoding) are not scored, and named; 0: no limit.",
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
    )
    with user_errors():
        from ganrestore.data.io import ImageTooLargeError
        from ganrestore.evaluation.report import (
            check_writable_outputs,
            checked_output_paths,
            write_outputs,
        )

        json_file, csv_file = checked_output_paths(json_file, csv_file)
        check_writable_outputs(grid, save_outputs)
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
        _print_table(report)
        write_outputs(report, json_file, csv_file, log)


@dataclass(frozen=True)
class EvalRequest:
    """The options of one ``ganrestore eval`` call, as typed on the command line.

    Attributes:
        data: folder of clean images to degrade and restore (evaluation mode).
        models: the --model values in order: run dirs, checkpoints, bundled names,
            ``baseline:NAME`` or ``baselines``.
        task: ``denoise`` / ``inpaint``, or None for the task of the first model.
        sigma: comma-separated noise levels (0-255 scale), or None for the default.
        peak: comma-separated photon counts of shot noise (``none`` = Gaussian only), or None.
        jpeg: comma-separated JPEG qualities of the noisy inputs (``none`` = PNG), or None.
        mask_kind: comma-separated generated mask kinds, or None for the default.
        masks: folder of masks matched by file stem, instead of generated ones.
        hole_ratio: ``LOW,HIGH`` share of hole pixels of generated masks.
        seed: seed of every degradation.
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
    """

    data: Path | None
    models: list[str]
    task: str | None
    sigma: str | None
    peak: str | None
    jpeg: str | None
    mask_kind: str | None
    masks: Path | None
    hole_ratio: str
    seed: int
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


Log = Callable[[str], None]


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
        )
        if value
    ]
    if clashing:
        raise GanrestoreError(
            f"{', '.join(clashing)} cannot be used with --restored/--reference, which only scores"
        )
    return score_folders(
        request.restored,
        request.reference,
        request.masks,
        lpips=request.lpips,
        log=log,
        max_pixels=request.max_pixels,
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
    from ganrestore.tasks import checked_task_name

    if request.task is not None:
        task_name = checked_task_name(request.task)
    else:
        task_name = model_task(request.models[0], request.device, request.trust_torchscript)
    conditions = _conditions(request, task_name)
    low_high = _numbers(request.hole_ratio, "--hole-ratio")
    if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1] <= 1:
        raise GanrestoreError(
            f"--hole-ratio {request.hole_ratio}: expected LOW,HIGH with 0<=LOW<=HIGH<=1"
        )
    resolved = resolve_models(
        request.models,
        task_name,
        request.device,
        request.self_ensemble,
        request.texture,
        trust_torchscript=request.trust_torchscript,
    )
    keep_freed_memory_on_cpu(resolve_device(request.device))  # each image reuses the memory
    for note in resolved.notes:
        log(note)
    settings = EvalSettings(
        task=task_name,
        data=request.data,
        conditions=conditions,
        seed=request.seed,
        hole_ratio=(low_high[0], low_high[1]),
        save_outputs=request.save_outputs,
        grid=request.grid,
        lpips=request.lpips,
        max_pixels=request.max_pixels,
        extra={"hole_ratio": low_high} if _evaluation(task_name) == "holes" else {},
    )
    labels = ", ".join(m.label for m in resolved.models)
    names = ", ".join(c.name for c in settings.conditions)
    log(f"{task_name}: {request.data} under {names} with {labels}")
    return evaluate(settings, resolved.models, log)


def _conditions(request: EvalRequest, task_name: str) -> list[Condition]:
    """The degradations asked for: noise levels (and JPEG, shot noise), mask kinds or a mask
    folder, or the task's own degradation, as the task says (``Task.evaluation``)."""
    from ganrestore.evaluation import mask_condition, noise_condition, task_condition
    from ganrestore.evaluation.degrade import Condition

    evaluation = _evaluation(task_name)
    if evaluation == "own":
        given = [
            option
            for option, value in (
                ("--sigma", request.sigma),
                ("--peak", request.peak),
                ("--jpeg", request.jpeg),
                ("--mask-kind", request.mask_kind),
                ("--masks", request.masks),
            )
            if value is not None
        ]
        if given:
            raise GanrestoreError(
                f"{', '.join(given)}: the {task_name} task degrades images its own way; "
                "drop these options"
            )
        return [task_condition(task_name)]
    if evaluation == "noise":
        if request.masks is not None or request.mask_kind is not None:
            raise GanrestoreError(
                f"--masks/--mask-kind make holes, but the {task_name} task removes noise; "
                "use --sigma"
            )
        sigmas = _numbers(request.sigma or DEFAULT_SIGMAS, "--sigma")
        peaks = _optional_numbers(request.peak, "--peak")
        qualities = _optional_numbers(request.jpeg, "--jpeg")
        if any(quality is not None and quality != int(quality) for quality in qualities):
            raise GanrestoreError(f"--jpeg {request.jpeg}: JPEG qualities are whole numbers")
        conditions = [
            noise_condition(sigma, peak, None if quality is None else int(quality))
            for peak in peaks
            for quality in qualities
            for sigma in sigmas
        ]
    else:
        for option, value in (
            ("--sigma", request.sigma),
            ("--peak", request.peak),
            ("--jpeg", request.jpeg),
        ):
            if value is not None:
                raise GanrestoreError(
                    f"{option} adds noise, but the {task_name} task fills holes; use --mask-kind "
                    "or --masks"
                )
        if request.masks is not None and request.mask_kind is not None:
            raise GanrestoreError("pass --masks DIR or --mask-kind, not both")
        if request.masks is not None:
            return [Condition(name="masks", masks_dir=request.masks)]
        kinds = (kind.strip() for kind in (request.mask_kind or DEFAULT_MASK_KINDS).split(","))
        conditions = [mask_condition(kind) for kind in kinds if kind]
    return list(dict.fromkeys(conditions))


def _evaluation(task_name: str) -> str:
    """How ``eval`` degrades images for the task ``task_name``: noise, holes or its own way."""
    from ganrestore.tasks import build_task

    return build_task(task_name).evaluation


def _optional_numbers(text: str | None, option: str) -> list[float | None]:
    """``"none,90,75"`` -> ``[None, 90.0, 75.0]``; no option -> ``[None]``."""
    if text is None:
        return [None]
    parts = [part.strip() for part in text.split(",") if part.strip()]
    values: list[float | None] = []
    for part in parts:
        values.append(None if part.lower() == "none" else _numbers(part, option)[0])
    if not values:
        raise GanrestoreError(f"{option} {text!r}: expected comma-separated numbers or none")
    return list(dict.fromkeys(values))


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return "inf" if value == float("inf") else f"{value:.{digits}f}"


def _print_table(report: EvalReport) -> None:
    from ganrestore.evaluation.report import DETAIL_FIELDS, short_labels

    holes = report.has_holes
    what = report.task or "saved outputs"
    table = Table(title=f"ganrestore eval: {what} against {report.source}")
    columns = ["model", "condition", "images", "PSNR dB", "SSIM"]
    columns += ["PSNR holes dB", "detail 0/1/2"] if holes else []
    columns += ["LPIPS", "s/image"]
    for column in columns:
        table.add_column(
            column,
            justify="left" if column in ("model", "condition") else "right",
            overflow="fold",  # wrap long model paths instead of cutting them
        )
    rows = report.summary()
    shown = short_labels([row.model for row in rows])
    for row in rows:
        cells = [
            shown[row.model],
            row.condition,
            str(row.images),
            _fmt(row.psnr, 2),
            _fmt(row.ssim, 4),
        ]
        details = "/".join(_fmt(getattr(row, field), 2) for field in DETAIL_FIELDS)
        cells += [_fmt(row.psnr_hole, 2), details] if holes else []
        cells += [_fmt(row.lpips, 4), _fmt(row.seconds_per_image, 3)]
        table.add_row(*cells)
    console = Console(width=max(Console().width, 100))
    console.print(table)
    if report.lpips_reason:
        typer.echo(f"LPIPS unavailable: {report.lpips_reason}")
