"""Errors a request can meet, each with the HTTP status the page receives and a message for it."""

from __future__ import annotations

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
    """Too many restorations waiting already."""

    status = 429
