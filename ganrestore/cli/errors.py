"""Turn ganrestore's user-facing errors into one clear line and exit code 2, and its warnings
into one plain ``warning: ...`` line each."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TextIO

import typer

from ganrestore.errors import GanrestoreError

USER_ERROR_EXIT_CODE = 2


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a :class:`GanrestoreError` as ``Error: ...`` on stderr and exit with code 2.

    Bugs (any other exception) still show their traceback: hiding them helps nobody.
    """
    try:
        yield
    except GanrestoreError as exc:
        print_error(str(exc))
        raise typer.Exit(USER_ERROR_EXIT_CODE) from None


def printable(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\n``, ``\\x1b``...).

    File names may hold a newline or a terminal escape sequence; printed as they are, one
    message would split into two lines, or recolour or rewrite the user's terminal.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def print_error(message: str) -> None:
    """Print ``Error: MESSAGE`` on stderr, in red where the terminal shows colours."""
    typer.secho(f"Error: {printable(message)}", err=True, fg=typer.colors.RED)


def show_own_warnings_plainly() -> None:
    """Print ganrestore's own warnings as ``warning: MESSAGE``, without the source line.

    Python's default shows the file and line of the code that warned (``fetch.py:54:
    BadImageWarning: ...`` and a line of torch's source), which reads like a crash. Warnings of
    other packages keep the default format. Data-loader workers started by fork inherit this.
    """
    default = warnings.showwarning
    if getattr(default, "ganrestore_plain", False):
        return

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if not category.__module__.startswith("ganrestore"):
            default(message, category, filename, lineno, file, line)
            return
        stream = file if file is not None else sys.stderr
        with suppress(OSError):  # stderr closed: lost, as Python's own warning would be
            stream.write(f"warning: {printable(str(message))}\n")

    show.ganrestore_plain = True  # type: ignore[attr-defined]
    warnings.showwarning = show
