"""Listening and serving: the socket is bound first, so the address printed is the real one.

Binding before uvicorn starts means a port in use is a clear error instead of a log line, and
``--port 0`` picks a free port that the Host check (:mod:`.security`) then knows.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ganrestore.errors import GanrestoreError
from ganrestore.web.security import TOKEN_PARAMETER

if TYPE_CHECKING:
    from fastapi import FastAPI

#: Requests served at once; more wait in the socket's queue or get ``503``.
MAX_CONNECTIONS = 64


def open_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (0: a free port), ready for uvicorn.

    Raises:
        GanrestoreError: the port is in use or the address is not this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GanrestoreError(
                f"--port {port}: another program listens on it already; pass another --port "
                "(0: any free port)"
            ) from None
        raise GanrestoreError(f"--host {host} --port {port}: cannot listen there: {exc}") from None
    sock.listen(128)  # from now on a browser waits for uvicorn instead of being refused
    sock.set_inheritable(True)
    return sock


def page_address(host: str, port: int, token: str | None = None) -> str:
    """The address to open in a browser (with ``?token=`` when the server asks for one)."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    address = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
    return address if token is None else f"{address}?{urlencode({TOKEN_PARAMETER: token})}"


def serve(app: FastAPI, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl+C (uvicorn's own log: warnings only).

    HTTP is parsed by h11, which refuses a request line or headers above 16 KB, and at most
    :data:`MAX_CONNECTIONS` requests are served at once (``503`` beyond): what a request holds
    before it reaches the routes is bounded too.
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=3,
        http="h11",
        limit_concurrency=MAX_CONNECTIONS,
    )
    uvicorn.Server(config).run(sockets=[sock])
