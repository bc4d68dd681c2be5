"""Outbound HTTP for the imagepipeline API (image URLs in, webhooks out), guarded against SSRF and slow servers.

http(s) only; every address the host name resolves to must be public unless `fetch_allow_private`; the
connection goes to the address that was checked (no second DNS answer); redirects are re-checked; bodies are
capped at `fetch_max_bytes`; each exchange, redirects included, ends by `fetch_timeout_s`.

Fetches are asynchronous (they hold no request thread) and at most `max_concurrent` run at once across all
requests; a fetch that finds no free slot within `fetch_timeout_s` is refused with Unavailable (503), so a flood
of URLs that trickle a byte a second delays no other request and cannot queue without end.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from diffuserve.errors import InvalidRequest, Unavailable

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 3


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect and what to send as Host / SNI."""

    url: str
    host: str
    pinned_url: str


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Public, and so is every IPv4 address it carries (IPv4-mapped, 6to4, both ends of Teredo, NAT64)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_public(ip.ipv4_mapped)
        embedded = [ip.sixtofour, *(ip.teredo or ())]
        if ip in _NAT64:  # the well-known prefix 64:ff9b::/96 ends in the IPv4 address it reaches
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if not all(_is_public(v4) for v4 in embedded if v4 is not None):
            return False
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


AddressInfo = list[tuple[Any, ...]]


class SafeHttp:
    """Fetches and posts to user-given URLs within the configured limits."""

    def __init__(self, *, allow_private: bool, max_bytes: int, timeout_s: float, max_concurrent: int = 16) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.max_concurrent = max_concurrent
        self._slots: asyncio.Semaphore | None = None  # made on the serving loop, at the first fetch
        # Loading the CA bundle takes tens of milliseconds: once here, not on the event loop for every fetch.
        self._tls = httpx.create_ssl_context()

    def check(self, url: str, *, field: str) -> Target:
        """The checked target of `url` (DNS on this thread); InvalidRequest when it is not allowed."""
        host, port = self._parts(url, field=field)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise _unresolvable(host, field) from exc
        return self._target(url, infos, field=field)

    async def acheck(self, url: str, *, field: str) -> Target:
        """As `check`, with DNS resolved without blocking the event loop."""
        host, port = self._parts(url, field=field)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise _unresolvable(host, field) from exc
        return self._target(url, list(infos), field=field)

    def _parts(self, url: str, *, field: str) -> tuple[str, int]:
        not_allowed = InvalidRequest(
            f"{field} must be a valid http or https URL, got {url[:100]!r}", field=field, reason="url_not_allowed"
        )
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # an unclosed "[", a bad IPv6 literal, a port out of range
            raise not_allowed from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise not_allowed
        return parts.hostname, port

    def _target(self, url: str, infos: AddressInfo, *, field: str) -> Target:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise _unresolvable(host, field)
        if not self.allow_private:
            bad = [str(a) for a in addresses if not _is_public(a)]
            if bad:
                raise InvalidRequest(
                    f"{field}: {host!r} resolves to a private, loopback or link-local address ({bad[0]}); "
                    "only public addresses are allowed",
                    field=field,
                    reason="url_not_allowed",
                )
        ip = addresses[0]
        netloc = f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        return Target(url=url, host=parts.netloc.rsplit("@", 1)[-1], pinned_url=pinned)

    async def _request(
        self, method: str, url: str, *, field: str, content: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of one exchange, redirects followed for GET; the caller bounds its time."""
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self.timeout_s, verify=self._tls
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                target = await self.acheck(url, field=field)
                request = client.build_request(
                    method,
                    target.pinned_url,
                    headers={**(headers or {}), "Host": target.host},
                    content=content,
                    extensions={"sni_hostname": urlsplit(url).hostname or ""},
                )
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect and method == "GET":
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise InvalidRequest(
                                f"{field}: the response is larger than {self.max_bytes} bytes",
                                field=field,
                                reason="url_too_large",
                            )
                    return response.status_code, bytes(body)
                finally:
                    await response.aclose()
        raise InvalidRequest(f"{field}: more than {MAX_REDIRECTS} redirects", field=field, reason="url_redirects")

    async def fetch(self, url: str, *, field: str) -> bytes:
        """The body of a GET within `timeout_s` (waiting for a free slot included); InvalidRequest on any refusal
        or failure, Unavailable when every slot stayed busy."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise Unavailable(
                f"{field}: {self.max_concurrent} image URLs are being fetched already; retry shortly",
                reason="fetches_busy",
            ) from None
        try:
            async with asyncio.timeout_at(deadline):
                status, body = await self._request("GET", url, field=field)
        except (httpx.HTTPError, TimeoutError) as exc:
            kind = "no complete answer within the time limit" if isinstance(exc, TimeoutError) else type(exc).__name__
            raise InvalidRequest(
                f"{field}: could not fetch {url[:100]!r} ({kind})", field=field, reason="url_fetch_failed"
            ) from exc
        finally:
            self._slots.release()
        if status != 200:
            raise InvalidRequest(
                f"{field}: fetching {url[:100]!r} gave HTTP {status}", field=field, reason="url_fetch_failed"
            )
        return body

    def post(self, url: str, body: bytes, headers: dict[str, str], *, field: str = "webhook") -> int:
        """POSTs `body` within `timeout_s` from a thread of its own (webhook delivery) and returns the status
        code; raises InvalidRequest, httpx.HTTPError or TimeoutError."""

        async def exchange() -> int:
            async with asyncio.timeout(self.timeout_s):
                status, _ = await self._request("POST", url, field=field, content=body, headers=headers)
                return status

        return asyncio.run(exchange())


def _unresolvable(host: str, field: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: host {host!r} does not resolve", field=field, reason="url_not_resolvable")
