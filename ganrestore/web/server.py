"""Listening and serving: the socket is bound first, so the address printed is the real one.

Binding before uvicorn starts means a port in use is a clear error instead of a log line, and
``--port 0`` picks a free port that the Host check (:mod:`.security`) then knows.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError

if TYPE_CHECKING:
    from fastapi import FastAPI


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


def page_address(host: str, port: int) -> str:
    """The address to open in a browser."""
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(app: FastAPI, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until Ctrl+C (uvicorn's own log: warnings only)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
