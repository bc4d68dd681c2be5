"""A cap on request bodies, as pure ASGI middleware: 413 {"reason": "body_too_large"} before a large body is read.

A declared Content-Length over the cap is refused at once; a body sent without one (chunked) is counted as it
arrives and refused as soon as it passes the cap, whatever the route does with it.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024 * 1024  # the same cap as the MCP endpoint's


class _BodyTooLarge(Exception):
    """Raised into the app from `receive` to stop it reading; the middleware has answered already."""


class BodySizeLimit:
    """Answers 413 to any HTTP request whose body is larger than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        # The length check first: int() refuses strings of more than 4300 digits.
        if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not started:
                        refused = True
                        await self._refuse(send)
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:  # the app answering the error it got from receive; the 413 has gone out instead
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not refused:
                raise

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"reason": "body_too_large", "message": f"the request body is larger than {self.max_bytes} bytes"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
