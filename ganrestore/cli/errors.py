"""Turn ganrestore's user-facing errors into one clear line and exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
        typer.secho(f"Error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(USER_ERROR_EXIT_CODE) from None
