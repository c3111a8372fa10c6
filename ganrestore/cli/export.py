"""``ganrestore export MODEL --out FILE``: a model as an ONNX or TorchScript file."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ganrestore.cli.choices import BUNDLED_NAMES
from ganrestore.cli.errors import user_errors

app = typer.Typer(help="Export a model to ONNX or TorchScript.")

COMMAND_HELP = "\n\n".join(
    [
        f"Export MODEL (a bundled name: {BUNDLED_NAMES}; a run directory, a "
        "checkpoint folder or a .safetensors model file; third-party networks too) to --out as "
        "ONNX (.onnx) or TorchScript (.pt, .ts).",
        "Batch, height and width stay free; height and width must be multiples of the "
        "network's size multiple (printed; ganrestore pads other sizes outside the graph). The "
        "model's record (task, generator, training) is kept in the file's metadata, so "
        "`ganrestore apply --model FILE` and `ganrestore.load_restorer(FILE)` run it with "
        "tiling, masks and every other option as the original model (ONNX files need "
        "onnxruntime: the onnx extra of ganrestore). Prefer ONNX: it holds data only, while "
        "opening a TorchScript file runs code it holds, so apply opens one only with "
        "--trust-torchscript.",
        "Right after the export, the file is run on random images of two other sizes and must "
        "match PyTorch within 1e-3, else nothing is written. An existing --out is never "
        "replaced without --overwrite; the file is written to a temporary and renamed into "
        "place. See docs/export.md.",
    ]
)


class FormatChoice(str, Enum):
    onnx = "onnx"
    torchscript = "torchscript"


@app.command("export", help=COMMAND_HELP, no_args_is_help=True)
def export_command(
    model: Annotated[
        str,
        typer.Argument(
            help=f"A bundled model name ({BUNDLED_NAMES}), a run directory, a checkpoint "
            "folder or a .safetensors model file.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="The file to write: .onnx (ONNX) or .pt / .ts (TorchScript).",
            show_default=False,
        ),
    ],
    output_format: Annotated[
        FormatChoice | None,
        typer.Option(
            "--format",
            help="onnx or torchscript. Default: from the suffix of --out.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace --out if it exists (else: refused).")
    ] = False,
) -> None:
    """Export MODEL to --out (see docs/export.md)."""
    with user_errors():
        from ganrestore.export.exporter import FORMATS, export_model

        fmt = output_format.value if output_format else None
        report = export_model(
            model, out, fmt, overwrite=overwrite, announce=lambda line: typer.echo(line, err=True)
        )
    opset = f", opset {report.opset}" if report.opset is not None else ""
    sizes = ", ".join(f"{batch}x{height}x{width}" for batch, height, width in report.checked)
    typer.echo(
        f"wrote {report.file}: {FORMATS[report.format]}{opset}, {report.bytes / 1e6:.1f} MB, "
        f"the {report.task} model ({report.generator}) of {report.source}"
    )
    typer.echo(
        f"  checked against PyTorch on random images (batch x height x width: {sizes}): max "
        f"abs difference {report.max_abs_difference:.2g} (allowed {report.tolerance:g})"
    )
    typer.echo(f"  {report.describe_io()}")
    trust = " --trust-torchscript" if report.format == "torchscript" else ""
    typer.echo(f"  run it: ganrestore apply --model {report.file}{trust} --in DIR --out DIR")
