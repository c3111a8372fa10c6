"""Who may talk to the server: requests for another Host, from another Origin or without the
token are refused.

A page on any web site can make the browser send requests to ``127.0.0.1``; two checks keep it
out of this server:

* **Host**: a site that points its own name at ``127.0.0.1`` (DNS rebinding) gets its name in
  the ``Host`` header, so only this server's own names are accepted: the loopback names, the
  ``--host`` given and, when listening on every interface (``0.0.0.0``, ``::``), this machine's
  names and any IP address (an address typed by hand cannot be rebound).
* **Origin**: a browser names the page that made a request in ``Origin`` (every POST, and
  cross-site fetches); it must be this server itself. ``Sec-Fetch-Site`` must say so too, except
  for a page the user opens by hand (a link or the address bar: ``navigate``).

* **Token**: a server that other machines can reach (``--host`` other than a loopback address)
  asks every request for its secret token, as Jupyter does: the address printed at start
  carries it (``/?token=...``); the page opened with it answers with a cookie that carries it
  from then on (and sends the browser to the address without it). A script sends it as
  ``?token=`` or an ``Authorization: token ...`` header. ``--token`` asks for one on loopback too.

Refused requests get ``403`` (``401`` for a missing or wrong token) with a message that says
why. Every response carries headers that keep other sites from framing the page or the browser
from guessing content types.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ganrestore.web.errors import quoted

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
            f"Host {quoted(host)} is not this server's: ganrestore serve answers only requests "
            "for its own address (this protects it from DNS rebinding). Open the address it "
            "printed."
        )
    origin = headers.get("origin")
    if origin is not None and origin.lower() != f"http://{host.strip().lower()}":
        return (
            f"requests from the page of {quoted(origin)} are refused: only the ganrestore page "
            "itself may use this server"
        )
    site = headers.get("sec-fetch-site")
    navigation = headers.get("sec-fetch-mode") == "navigate" and method in ("GET", "HEAD")
    if site not in (None, "same-origin", "none") and not navigation:
        return f"a {site} request is refused: only the ganrestore page itself may use this server"
    return None


#: The query parameter that carries the token (the address printed at start).
TOKEN_PARAMETER = "token"
TOKEN_MISSING = (
    "this ganrestore serve needs its token: open the address it printed when it started "
    "(http://...:PORT/?token=...); a script sends it as ?token=... or an "
    "'Authorization: token ...' header"
)
TOKEN_WRONG = (
    "wrong token: open the address ganrestore serve printed when it started (a restarted server "
    "has a new token)"
)


def new_token() -> str:
    """A fresh secret token: 48 hex digits (192 random bits), as Jupyter makes."""
    return secrets.token_hex(24)


def token_cookie(port: int) -> str:
    """The cookie holding the token, per port (a browser shares cookies between ports)."""
    return f"ganrestore-token-{port}"


def given_token(headers: dict[str, str], query: str, port: int) -> tuple[str | None, bool]:
    """``(token, in_query)``: the token a request carries (query, then header, then cookie)."""
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == TOKEN_PARAMETER:
            return value, True
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip(), False
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return None, False
    morsel = cookies.get(token_cookie(port))
    return (None if morsel is None else morsel.value), False


def same_token(given: str, token: str) -> bool:
    """Whether ``given`` is ``token``, compared in constant time."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())


class LocalOnly:
    """ASGI middleware: refuse requests by :func:`refusal` and, with a ``token``, those that do
    not carry it; add :data:`SECURITY_HEADERS` (and the token's cookie) to the answers."""

    def __init__(self, app: ASGIApp, policy: HostPolicy, token: str | None = None) -> None:
        self.app = app
        self.policy = policy
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the app has no websockets: they are closed anyway
            await self.app(scope, receive, send)
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", [])
        }
        method = scope.get("method", "GET")
        reason = refusal(self.policy, method, headers)
        if reason is not None:
            await _send_json(send, 403, {"detail": reason})
            return
        extra: list[tuple[bytes, bytes]] = []
        if self.token is not None:
            answered, extra = await self._check_token(scope, headers, send)
            if answered:
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", [])}
                added = [
                    (key.encode(), value.encode())
                    for key, value in SECURITY_HEADERS.items()
                    if key.encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *added, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _check_token(
        self, scope: Scope, headers: dict[str, str], send: Send
    ) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """``(answered, headers to add)``: 401 without the token; the printed address (the
        page with ``?token=``) sets the cookie and sends the browser to the page without it."""
        token = self.token or ""
        query = scope.get("query_string", b"").decode("latin-1")
        given, in_query = given_token(headers, query, self.policy.port)
        if given is None or not same_token(given, token):
            await _send_json(send, 401, {"detail": TOKEN_MISSING if given is None else TOKEN_WRONG})
            return True, []
        if not in_query:
            return False, []
        cookie = f"{token_cookie(self.policy.port)}={token}; Path=/; HttpOnly; SameSite=Strict"
        extra = [(b"set-cookie", cookie.encode())]
        if scope.get("method") in ("GET", "HEAD") and scope.get("path") == "/":
            rest = [(key, value) for key, value in parse_qsl(query) if key != TOKEN_PARAMETER]
            location = f"/?{urlencode(rest)}" if rest else "/"
            moved = [(b"location", location.encode()), *extra]
            await _send_json(send, 303, {"detail": f"see {location}"}, moved)
            return True, []
        return False, extra


async def _send_json(
    send: Send, status: int, body: dict[str, str], more: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    headers += [(key.encode(), value.encode()) for key, value in SECURITY_HEADERS.items()]
    headers += more or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
