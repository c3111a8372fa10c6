"""Who may talk to the server: requests for another Host or from another Origin are refused.

A page on any web site can make the browser send requests to ``127.0.0.1``; two checks keep it
out of this server:

* **Host**: a site that points its own name at ``127.0.0.1`` (DNS rebinding) gets its name in
  the ``Host`` header, so only this server's own names are accepted: the loopback names, the
  ``--host`` given and, when listening on every interface (``0.0.0.0``, ``::``), this machine's
  names and any IP address (an address typed by hand cannot be rebound).
* **Origin**: a browser names the page that made a request in ``Origin`` (every POST, and
  cross-site fetches); it must be this server itself. ``Sec-Fetch-Site`` must say so too, except
  for a page the user opens by hand (a link or the address bar: ``navigate``).

Refused requests get ``403`` with a message that says why. Every response carries headers that
keep other sites from framing the page or the browser from guessing content types.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
#: Sent with every response: no framing, no sniffing, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_port(name: str, port: int) -> str:
    """``name:port`` as a ``Host`` header writes it (IPv6 in brackets), lower case."""
    name = name.strip("[]").lower()
    return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"


class HostPolicy:
    """The ``Host`` values a server listening on ``host``:``port`` accepts.

    Args:
        host: the address it listens on.
        port: its port (the real one, when 0 was asked).
        extra_names: more names to accept (e.g. a name in ``/etc/hosts``).
    """

    def __init__(self, host: str, port: int, extra_names: Iterable[str] = ()) -> None:
        self.port = port
        self.any_address = host in WILDCARD_HOSTS
        names = {*LOOPBACK_NAMES, host, *extra_names}
        if self.any_address:
            names |= {socket.gethostname(), socket.getfqdn()}
        names.discard("")
        self.allowed = frozenset(host_port(name, port) for name in names)

    def accepts(self, host_header: str) -> bool:
        value = host_header.strip().lower()
        if ":" not in value.rsplit("]", 1)[-1]:  # no port: the default port of http
            value = f"{value}:80"
        if value in self.allowed:
            return True
        if not self.any_address:
            return False
        name, _, port = value.rpartition(":")
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            return False
        return port == str(self.port)


def refusal(policy: HostPolicy, method: str, headers: dict[str, str]) -> str | None:
    """Why a request with these (lower-case) ``headers`` is refused, or None to serve it."""
    host = headers.get("host", "")
    if not policy.accepts(host):
        return (
            f"Host '{host}' is not this server's: ganrestore serve answers only requests for "
            "its own address (this protects it from DNS rebinding). Open the address it printed."
        )
    origin = headers.get("origin")
    if origin is not None and origin.lower() != f"http://{host.strip().lower()}":
        return (
            f"requests from the page of '{origin}' are refused: only the ganrestore page itself "
            "may use this server"
        )
    site = headers.get("sec-fetch-site")
    navigation = headers.get("sec-fetch-mode") == "navigate" and method in ("GET", "HEAD")
    if site not in (None, "same-origin", "none") and not navigation:
        return f"a {site} request is refused: only the ganrestore page itself may use this server"
    return None


class LocalOnly:
    """ASGI middleware: refuse requests by :func:`refusal`, add :data:`SECURITY_HEADERS`."""

    def __init__(self, app: ASGIApp, policy: HostPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the app has no websockets: they are closed anyway
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }
        reason = refusal(self.policy, scope.get("method", "GET"), headers)
        if reason is not None:
            await _send_json(send, 403, {"detail": reason})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                extra = [
                    (key.encode(), value.encode())
                    for key, value in SECURITY_HEADERS.items()
                    if key.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _send_json(send: Send, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += [(key.encode(), value.encode()) for key, value in SECURITY_HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
