"""Request bodies, bounded: no request can make the server hold more than a few bytes of it.

A route that takes a file (an upload, a painted mask) streams it into a private file, refused
as soon as it passes ``--max-upload-mb`` (:func:`.uploads.receive`). Every other body (the JSON
of opening a photo; other routes take none) is read here, whole, before the route runs: above
:data:`SMALL_BODY_BYTES` it is refused with ``413`` at once, whatever ``Content-Length`` says. A
client that goes away while sending gets no answer and leaves nothing in the log.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from ganrestore.web.security import SECURITY_HEADERS, ASGIApp, Message, Receive, Scope, Send

#: The largest body of a route that takes no file (a JSON object naming a photo).
SMALL_BODY_BYTES = 64 * 1024
TOO_LARGE = (
    f"a request body above {SMALL_BODY_BYTES // 1024} KB where a few bytes of JSON are expected: "
    "refused"
)


class BoundedBodies:
    """ASGI middleware: bodies of routes that take no file read whole, up to
    :data:`SMALL_BODY_BYTES`.

    Args:
        app: the app.
        streamed: ``streamed(method, path)``: whether the route streams its body itself.
    """

    def __init__(self, app: ASGIApp, streamed: Callable[[str, str], bool]) -> None:
        self.app = app
        self.streamed = streamed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.streamed(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > SMALL_BODY_BYTES:
            await _refuse(send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            body += message.get("body", b"")
            if len(body) > SMALL_BODY_BYTES:
                await _refuse(send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # only a disconnect is left to come
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)


async def _refuse(send: Send) -> None:
    data = json.dumps({"detail": TOO_LARGE}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
        *((key.encode(), value.encode()) for key, value in SECURITY_HEADERS.items()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": data})
