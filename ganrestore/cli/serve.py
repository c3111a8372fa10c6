"""``ganrestore serve``: a local web page to paint masks, restore photos and compare."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from ganrestore.cli.choices import TRUST_TORCHSCRIPT_HELP, DeviceChoice
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
        "requests made for another address or from another web site. On another address every "
        "request needs a secret token, as in Jupyter: one is made and printed in the address "
        "to open (http://HOST:PORT/?token=...), or given with --token.",
        "Memory: the open photos (every kept version) and the work in progress (decoding, "
        "restoring, encoding, receiving uploads) stay under --memory-mb together, the models "
        "themselves aside. The least recently used photos are closed to make room; a request "
        "that does not fit beside the others is refused (HTTP 429: wait and try again). Needs "
        'the web extra: pip install "ganrestore\\[web]".',
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
            "baseline:NAME. Default: the bundled model of every installed task.",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port to listen on (0: any free port).", min=0, max=65535)
    ] = 8080,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on. Another than 127.0.0.1 lets other machines use the "
            "page (and read --in, write --out) with its token: only on a network you trust."
        ),
    ] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="GANRESTORE_SERVE_TOKEN",
            help="Secret every request must carry (16 to 256 letters, digits or -._~). "
            "Default: none on 127.0.0.1; on another --host one is made and printed in the "
            "address to open. The environment keeps it out of the process list.",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        DeviceChoice, typer.Option(help="auto: CUDA, then Apple MPS, then CPU.")
    ] = DeviceChoice.auto,
    max_pixels: Annotated[
        int,
        typer.Option(
            "--max-pixels",
            help="Photos and masks (found or painted) with more pixels (read from the header "
            "before decoding) are refused. 0: no limit.",
            min=0,
        ),
    ] = 100_000_000,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", help="Larger uploads are refused.", min=0.001)
    ] = 200.0,
    memory_mb: Annotated[
        float | None,
        typer.Option(
            "--memory-mb",
            help="Memory for the open photos and the requests in progress together (the "
            "models aside); a 12 MP photo takes about 36 MB a version open, 770 MB to decode "
            "and 2.8 GB to restore. Default: half of this machine's memory.",
            min=1,
            show_default=False,
        ),
    ] = None,
    trust_torchscript: Annotated[
        bool, typer.Option("--trust-torchscript", help=TRUST_TORCHSCRIPT_HELP)
    ] = False,
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
        from ganrestore.web.budget import default_budget, megabytes
        from ganrestore.web.config import ServeConfig, check_config
        from ganrestore.web.models import ModelCache
        from ganrestore.web.security import is_loopback, new_token
        from ganrestore.web.server import open_socket, page_address, serve

        if token is None and not is_loopback(host):
            token = new_token()
        budget = default_budget() if memory_mb is None else int(memory_mb * 1e6)
        config = ServeConfig(
            input_dir,
            output_dir,
            host,
            port,
            max_pixels=max_pixels,
            max_upload_bytes=int(max_upload_mb * 1e6),
            memory_budget_bytes=budget,
            token=token,
        )
        check_config(config)
        models = ModelCache(device=device.value, trust_torchscript=trust_torchscript)
        if model is not None:
            restorer = models.use_model(model)
            typer.echo(f"{restorer.task}: {restorer.description}")
        sock = open_socket(host, port)
        config = replace(config, port=sock.getsockname()[1])
        web_app = create_app(config, models)
    if not is_loopback(host):
        typer.secho(
            f"Warning: --host {host}: other machines that can reach this one can use the page, "
            "read the images of --in and write into --out, with the token of the address "
            "below. Use it only on a network you trust, and give the address only to people who "
            "may use the page.",
            err=True,
            fg=typer.colors.YELLOW,
        )
    typer.echo(f"ganrestore serve: memory budget {megabytes(budget)} (--memory-mb)")
    address = page_address(host, config.port, token)
    typer.echo(f"ganrestore serve: open {address} (Ctrl+C stops it)")
    try:
        with pillow_pixel_limit(None):  # each header is checked against --max-pixels first
            serve(web_app, sock)
    except KeyboardInterrupt:  # uvicorn hands Ctrl+C on once it has stopped: the way to stop
        pass
    typer.echo("ganrestore serve: stopped")
