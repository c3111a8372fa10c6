"""``ganrestore eval``: score models and classical baselines on the same degraded images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ganrestore.cli.choices import DeviceChoice, TaskChoice
from ganrestore.cli.errors import user_errors
from ganrestore.errors import GanrestoreError

if TYPE_CHECKING:
    from ganrestore.evaluation import EvalReport

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
        "data range 255 for 8-bit), SSIM (scikit-image), PSNR over the holes (inpainting) and "
        "LPIPS when its weights are installed. The row 'input' scores the degraded input.",
        "--model (repeatable): a run directory, checkpoint or bundled name; baseline:NAME "
        "(denoise: bm3d, nlm, tv, wavelet; inpaint: telea, ns, biharmonic); or 'baselines' for "
        "every baseline of the task.",
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
        TaskChoice | None,
        typer.Option(help="Default: the task of the first --model.", show_default=False),
    ] = None,
    sigma: Annotated[
        str | None,
        typer.Option(help=f"Denoise: noise levels on the 0-255 scale (default: {DEFAULT_SIGMAS})."),
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
) -> None:
    """Score models and baselines on --data, or score --restored against --reference."""
    console = Console(stderr=True)

    def log(message: str) -> None:
        console.print(message, highlight=False, markup=False, soft_wrap=True)

    with user_errors():
        if restored is not None or reference is not None:
            report = _score_mode(
                restored, reference, masks, data, model, sigma, mask_kind, log, not no_lpips
            )
        else:
            report = _eval_mode(
                data,
                model,
                task,
                sigma,
                mask_kind,
                masks,
                hole_ratio,
                seed,
                save_outputs,
                grid,
                device.value,
                not no_lpips,
                log,
            )
        _print_table(report)
        _write_files(report, json_file, csv_file, log)


def _score_mode(restored, reference, masks, data, model, sigma, mask_kind, log, lpips):
    from ganrestore.evaluation import score_folders

    if restored is None or reference is None:
        raise GanrestoreError("--restored and --reference go together: pass both folders")
    clashing = [
        name
        for name, value in (
            ("--data", data),
            ("--model", model),
            ("--sigma", sigma),
            ("--mask-kind", mask_kind),
        )
        if value
    ]
    if clashing:
        raise GanrestoreError(
            f"{', '.join(clashing)} cannot be used with --restored/--reference, which only scores"
        )
    return score_folders(restored, reference, masks, lpips=lpips, log=log)


def _eval_mode(
    data,
    model,
    task,
    sigma,
    mask_kind,
    masks,
    hole_ratio,
    seed,
    save_outputs,
    grid,
    device,
    lpips,
    log,
):
    from ganrestore.evaluation import (
        EvalSettings,
        evaluate,
        mask_condition,
        model_task,
        noise_condition,
        resolve_models,
    )
    from ganrestore.evaluation.degrade import Condition

    if data is None:
        raise GanrestoreError("pass --data DIR (clean images), or --restored DIR --reference DIR")
    if not model:
        raise GanrestoreError("pass --model (repeatable): a run dir, baseline:NAME or baselines")
    task_name = task.value if task is not None else model_task(model[0], device)
    if task_name == "denoise":
        if masks is not None or mask_kind is not None:
            raise GanrestoreError("--masks/--mask-kind are for --task inpaint; use --sigma")
        conditions = [noise_condition(s) for s in _numbers(sigma or DEFAULT_SIGMAS, "--sigma")]
    else:
        if sigma is not None:
            raise GanrestoreError("--sigma is for --task denoise; use --mask-kind or --masks")
        if masks is not None and mask_kind is not None:
            raise GanrestoreError("pass --masks DIR or --mask-kind, not both")
        if masks is not None:
            conditions = [Condition(name="masks", masks_dir=masks)]
        else:
            kinds = [k.strip() for k in (mask_kind or DEFAULT_MASK_KINDS).split(",") if k.strip()]
            conditions = [mask_condition(kind) for kind in dict.fromkeys(kinds)]
    low_high = _numbers(hole_ratio, "--hole-ratio")
    if len(low_high) != 2 or not 0 <= low_high[0] <= low_high[1] <= 1:
        raise GanrestoreError(f"--hole-ratio {hole_ratio}: expected LOW,HIGH with 0<=LOW<=HIGH<=1")
    resolved = resolve_models(model, task_name, device)
    for note in resolved.notes:
        log(note)
    settings = EvalSettings(
        task=task_name,
        data=data,
        conditions=list(dict.fromkeys(conditions)),
        seed=seed,
        hole_ratio=(low_high[0], low_high[1]),
        save_outputs=save_outputs,
        grid=grid,
        lpips=lpips,
        extra={"hole_ratio": low_high} if task_name == "inpaint" else {},
    )
    labels = ", ".join(m.label for m in resolved.models)
    log(f"{task_name}: {data} under {', '.join(c.name for c in settings.conditions)} with {labels}")
    return evaluate(settings, resolved.models, log)


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return "inf" if value == float("inf") else f"{value:.{digits}f}"


def _print_table(report: EvalReport) -> None:
    holes = report.has_holes
    what = report.task or "saved outputs"
    table = Table(title=f"ganrestore eval: {what} against {report.source}")
    columns = ["model", "condition", "images", "PSNR dB", "SSIM"]
    columns += ["PSNR holes dB"] if holes else []
    columns += ["LPIPS", "s/image"]
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "condition") else "right")
    for row in report.summary():
        cells = [row.model, row.condition, str(row.images), _fmt(row.psnr, 2), _fmt(row.ssim, 4)]
        cells += [_fmt(row.psnr_hole, 2)] if holes else []
        cells += [_fmt(row.lpips, 4), _fmt(row.seconds_per_image, 3)]
        table.add_row(*cells)
    console = Console(width=max(Console().width, 100))
    console.print(table)
    if report.lpips_reason:
        typer.echo(f"LPIPS unavailable: {report.lpips_reason}")


def _write_files(report: EvalReport, json_file, csv_file, log) -> None:
    from ganrestore.evaluation import write_csv, write_json

    if csv_file is None and json_file is not None:
        csv_file = json_file.with_suffix(".csv")
    if csv_file is not None:
        write_csv(report, csv_file)
        report.extra["per_image_csv"] = str(csv_file)
        log(f"per-image scores: {csv_file}")
    if json_file is not None:
        write_json(report, json_file)
        log(f"means: {json_file}")
