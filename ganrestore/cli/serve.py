"""``ganrestore serve``: a local web page to paint masks, restore photos and compare."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ganrestore.cli.choices import DeviceChoice
from ganrestore.cli.errors import USER_ERROR_EXIT_CODE, user_errors

app = typer.Typer(help="A local web page to paint masks, restore photos and compare.")

COMMAND_HELP = "\n\n".join(
    [
        "Start a web page on this machine to open a photo, paint over what to remove (or "
        "denoise it), compare before and after, undo, and download or save the result. Open "
        "the address it prints; Ctrl+C stops it.",
        "Photos come from uploads (button or drag and drop) or from the images of --in, which "
        "is only read. Results keep the photo's format, bit depth, alpha, EXIF and colour "
        "profile, as `ganrestore apply` writes them; with --out they are saved there under "
        "the photo's name, never replacing a file. Restorations run one at a time, through "
        "the same code as apply: large photos are tiled, large holes filled coarse to fine.",
        "It listens on 127.0.0.1 (this machine only) unless --host says otherwise, and refuses "
        "requests made for another address or from another web site. Needs the web extra: "
        'pip install "ganrestore\\[web]".',
    ]
)


@app.command("serve", help=COMMAND_HELP)
def serve_command(
    input_dir: Annotated[
        Path | None,
        typer.Option("--in", help="Folder whose images the page lists to pick from; only read."),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder the page saves results into (not inside --in); an existing file is "
            "never replaced. Without it, results are downloaded.",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="The model for its task (usually inpaint): a run directory from `ganrestore "
            "train`, a checkpoint folder, a generator.safetensors file, a bundled name or "
            "baseline:NAME. Default: the bundled inpaint and denoise models.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).", min=0)] = 8080,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. Another than 127.0.0.1 lets other machines use the "
            "page (and read --in, write --out): only on a network you trust."
        ),
    ] = "127.0.0.1",
    device: Annotated[
        DeviceChoice, typer.Option(help="auto: CUDA, then Apple MPS, then CPU.")
    ] = DeviceChoice.auto,
    max_pixels: Annotated[
        int,
        typer.Option(
            "--max-pixels",
            help="Photos with more pixels (read from the header before decoding) are refused. "
            "0: no limit.",
            min=0,
        ),
    ] = 100_000_000,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", help="Larger uploads are refused.", min=0.001)
    ] = 200.0,
) -> None:
    """Serve the page (see docs/serve.md)."""
    from ganrestore.web import install_hint, missing_modules

    missing = missing_modules()
    if missing:
        typer.secho(f"Error: {install_hint(missing)}", err=True, fg=typer.colors.RED)
        raise typer.Exit(USER_ERROR_EXIT_CODE)
    with user_errors():
        from ganrestore.data.io import pillow_pixel_limit
        from ganrestore.web.app import create_app
        from ganrestore.web.config import ServeConfig, check_config
        from ganrestore.web.models import ModelCache
        from ganrestore.web.security import is_loopback
        from ganrestore.web.server import open_socket, page_address, serve

        config = ServeConfig(
            input_dir,
            output_dir,
            host,
            port,
            max_pixels=max_pixels,
            max_upload_bytes=int(max_upload_mb * 1e6),
        )
        check_config(config)
        models = ModelCache(device=device.value)
        if model is not None:
            restorer = models.use_model(model)
            typer.echo(f"{restorer.task}: {restorer.description}")
        sock = open_socket(host, port)
        config = replace(config, port=sock.getsockname()[1])
        web_app = create_app(config, models)
    if not is_loopback(host):
        typer.secho(
            f"Warning: --host {host}: other machines that can reach this one can use the page, "
            "read the images of --in and write into --out. Use it only on a network you trust.",
            err=True,
            fg=typer.colors.YELLOW,
        )
    typer.echo(f"ganrestore serve: open {page_address(host, config.port)} (Ctrl+C stops it)")
    try:
        with pillow_pixel_limit(None):  # each header is checked against --max-pixels first
            serve(web_app, sock)
    except KeyboardInterrupt:  # uvicorn hands Ctrl+C on once it has stopped: the way to stop
        pass
    typer.echo("ganrestore serve: stopped")
