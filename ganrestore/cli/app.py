"""The root ``ganrestore`` command: joins the command groups and handles ``--version``."""

from __future__ import annotations

from typing import Annotated

import typer

from ganrestore.cli import apply, eval, export, plugins, serve, train
from ganrestore.cli.errors import show_own_warnings_plainly
from ganrestore.cli.readable_help import use_readable_help

app = typer.Typer(
    name="ganrestore",
    help="Restore images (denoise, inpaint, upscale) with conditional GANs: train, apply, "
    "evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Listed in --help in this order: the order a user meets them.
app.add_typer(train.app)
app.add_typer(apply.app)
app.add_typer(eval.app)
app.add_typer(serve.app)
app.add_typer(export.app)
app.add_typer(plugins.app, name="plugins")
# Every command's --help without Typer's type placeholders (<bool>, <list[str]>, {task}), and
# one clear line for a flag given a value (--overwrite true).
use_readable_help(app)


def _print_version(value: bool) -> None:
    if value:
        import ganrestore

        typer.echo(f"ganrestore {ganrestore.__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Restore images (denoise, inpaint, upscale) with conditional GANs: train, apply, evaluate."""
    show_own_warnings_plainly()


def main() -> None:
    """Console-script entry point."""
    app()
