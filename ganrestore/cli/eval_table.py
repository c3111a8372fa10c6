"""The table ``ganrestore eval`` prints: one row per model and condition."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ganrestore.evaluation import EvalReport


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return "inf" if value == float("inf") else f"{value:.{digits}f}"


def print_table(report: EvalReport) -> None:
    from ganrestore.evaluation.report import short_labels

    holes = report.has_holes
    details = report.detail_fields
    what = report.task or "saved outputs"
    table = Table(title=f"ganrestore eval: {what} against {report.source}")
    columns = ["model", "condition", "images", "PSNR dB", "SSIM"]
    columns += ["PSNR holes dB"] if holes else []
    if details:  # "detail" alone: the whole image's finest level; "detail 0/1/2": the holes'
        columns += ["detail " + "/".join(f[-1] for f in details) if len(details) > 1 else "detail"]
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
        cells += [_fmt(row.psnr_hole, 2)] if holes else []
        cells += ["/".join(_fmt(getattr(row, field), 2) for field in details)] if details else []
        cells += [_fmt(row.lpips, 4), _fmt(row.seconds_per_image, 3)]
        table.add_row(*cells)
    console = Console(width=max(Console().width, 100))
    console.print(table)
    if report.lpips_reason:
        typer.echo(f"LPIPS unavailable: {report.lpips_reason}")
