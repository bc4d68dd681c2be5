"""Outbound HTTP for the imagepipeline API (image URLs in, webhooks out), guarded against SSRF.

http(s) only; every address the host name resolves to must be public unless `fetch_allow_private`; the
connection goes to the address that was checked (no second DNS answer); redirects are re-checked; bodies are
capped at `fetch_max_bytes`; each exchange, redirects included, ends by `fetch_timeout_s`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from diffuserve.errors import InvalidRequest

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


class SafeHttp:
    """Fetches and posts to user-given URLs within the configured limits."""

    def __init__(self, *, allow_private: bool, max_bytes: int, timeout_s: float) -> None:
        self.allow_private = allow_private
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    def check(self, url: str, *, field: str) -> Target:
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
        host = parts.hostname
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise InvalidRequest(
                f"{field}: host {host!r} does not resolve", field=field, reason="url_not_resolvable"
            ) from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not addresses:
            raise InvalidRequest(f"{field}: host {host!r} does not resolve", field=field, reason="url_not_resolvable")
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

    def _request(self, method: str, url: str, *, field: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        # timeout_s bounds the whole exchange, redirects included, not each read: a server trickling a byte at
        # a time would otherwise hold the thread for as long as it likes.
        deadline = time.monotonic() + self.timeout_s
        for _ in range(MAX_REDIRECTS + 1):
            target = self.check(url, field=field)
            sni = urlsplit(url).hostname or ""
            timeout = self._left(deadline)
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
                request = client.build_request(
                    method,
                    target.pinned_url,
                    headers={"Host": target.host},
                    extensions={"sni_hostname": sni},
                    **kwargs,
                )
                response = client.send(request, stream=True)
                try:
                    if response.is_redirect and method == "GET":
                        url = urljoin(url, response.headers.get("location", ""))
                        continue
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        self._left(deadline)
                        body.extend(chunk)
                        if len(body) > self.max_bytes:
                            raise InvalidRequest(
                                f"{field}: the response is larger than {self.max_bytes} bytes",
                                field=field,
                                reason="url_too_large",
                            )
                    return response, bytes(body)
                finally:
                    response.close()
        raise InvalidRequest(f"{field}: more than {MAX_REDIRECTS} redirects", field=field, reason="url_redirects")

    def _left(self, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpx.TimeoutException(f"no complete answer within {self.timeout_s:g} s")
        return left

    def fetch(self, url: str, *, field: str) -> bytes:
        """The body of a GET; InvalidRequest on any refusal or failure."""
        try:
            response, body = self._request("GET", url, field=field)
        except httpx.HTTPError as exc:
            raise InvalidRequest(
                f"{field}: could not fetch {url[:100]!r} ({type(exc).__name__})",
                field=field,
                reason="url_fetch_failed",
            ) from exc
        if response.status_code != 200:
            raise InvalidRequest(
                f"{field}: fetching {url[:100]!r} gave HTTP {response.status_code}",
                field=field,
                reason="url_fetch_failed",
            )
        return body

    def post_json(self, url: str, payload: dict[str, Any], *, field: str = "webhook") -> int:
        """POSTs JSON and returns the status code; raises InvalidRequest or httpx.HTTPError."""
        response, _ = self._request("POST", url, field=field, json=payload)
        return response.status_code
