"""Errors a request can meet, each with the HTTP status the page receives and a message for it."""

from __future__ import annotations

import unicodedata

from ganrestore.errors import GanrestoreError


class RequestError(GanrestoreError):
    """A request the server refuses; ``message`` is shown on the page as it is.

    Attributes:
        status: the HTTP status code (4xx).
    """

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFound(RequestError):
    """No such photo, version, job or listed input."""

    status = 404


class Unauthorized(RequestError):
    """A request without the server's token (``--token``, needed off this machine)."""

    status = 401


class Forbidden(RequestError):
    """A path outside the folders the server may use, or a request from another site."""

    status = 403


class TooLarge(RequestError):
    """An upload above the byte limit, or an image above the pixel limit."""

    status = 413


class Unreadable(RequestError):
    """Bytes that are no image ganrestore reads (garbage, truncated, unsupported)."""

    status = 422


class Conflict(RequestError):
    """The output file exists already: ganrestore never replaces a file."""

    status = 409


class Busy(RequestError):
    """Too many restorations waiting already, or the memory budget in use by other requests."""

    status = 429


class StorageError(RequestError):
    """The file system failed to take a file (no space, read-only, no permission...)."""

    status = 500


class OutOfRoom(StorageError):
    """The disk (or the user's quota) is full."""

    status = 507


#: The longest name a message repeats whole; longer ones are shortened in the middle.
SHOWN_NAME_LENGTH = 80


def quoted(name: str) -> str:
    """``name`` in quotes for a message: control characters escaped, a long one shortened.

    A request may carry a name of megabytes; a message repeats at most
    :data:`SHOWN_NAME_LENGTH` characters of it (its start and end) and says how long it was.
    """
    if len(name) <= SHOWN_NAME_LENGTH:
        return f"'{_escaped(name)}'"
    head, tail = name[: SHOWN_NAME_LENGTH - 20], name[-16:]
    return f"'{_escaped(head)}…{_escaped(tail)}' ({len(name)} characters)"


def _escaped(text: str) -> str:
    return "".join(repr(c)[1:-1] if unicodedata.category(c).startswith("C") else c for c in text)
