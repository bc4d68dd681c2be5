"""SafeHttp on its own: addresses that wrap a private IPv4 address are refused; fetch_timeout_s bounds a whole fetch."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from diffuserve.errors import InvalidRequest
from diffuserve.service.fetch import SafeHttp


@pytest.mark.parametrize(
    "host",
    [
        "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "[2002:c0a8:1::]",  # 6to4 of 192.168.0.1
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo of 127.0.0.1
        "[::ffff:127.0.0.1]",  # IPv4-mapped
        "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "[64:ff9b::c0a8:101]",  # NAT64 of 192.168.1.1
    ],
)
def test_ipv6_addresses_wrapping_a_private_ipv4_address_are_refused(host: str) -> None:
    http = SafeHttp(allow_private=False, max_bytes=1024, timeout_s=1)
    with pytest.raises(InvalidRequest) as caught:
        http.check(f"http://{host}/x.png", field="init_image")
    assert caught.value.reason == "url_not_allowed"


@pytest.mark.parametrize("url", ["http://example.com:99999/x", "http://[::1/x", "http://[zz]/x"])
def test_malformed_urls_are_refused(url: str) -> None:
    http = SafeHttp(allow_private=True, max_bytes=1024, timeout_s=1)
    with pytest.raises(InvalidRequest) as caught:
        http.check(url, field="webhook")
    assert caught.value.reason == "url_not_allowed" and caught.value.field == "webhook"


@pytest.fixture()
def trickle() -> Iterator[str]:
    """A local server that sends a byte every 50 ms for 10 s: no single read ever times out."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "200")
            self.end_headers()
            try:
                for _ in range(200):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slow.png"
    server.shutdown()


def test_fetch_timeout_is_a_deadline_for_the_whole_fetch(trickle: str) -> None:
    http = SafeHttp(allow_private=True, max_bytes=1024, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(http.fetch(trickle, field="init_image"))
    assert time.monotonic() - started < 2
    assert caught.value.reason == "url_fetch_failed"
