"""Limits on credential checks that cost a scrypt: per key id and per client address, so a flood of wrong secrets
is answered 429 at once instead of taking the CPU from everyone else.

Each key id and each client address has a token bucket of `limit` tokens refilled evenly over `window_s`. A check
that must hash (credentials not already verified) takes a token from both buckets first, and gets it back when
the secret turns out right; so only failures drain a bucket, and an empty bucket answers 429 with Retry-After
before any hashing, after a short delay that costs the server nothing (REFUSAL_DELAY_S). Unknown key ids are
counted exactly like known ones (no oracle in the limit either). Already verified credentials never reach the
limiter, so a legitimate client keeps working while its key id is attacked.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from diffuserve.errors import RateLimited

MAX_TRACKED = 10_000  # buckets kept per limiter; a full bucket is the same as none, so the oldest go first
# A refusal is answered after this long (or its Retry-After, if sooner), costing nothing meanwhile: a flooding
# client that waits for its answers then sends about one request a second per connection instead of hundreds.
REFUSAL_DELAY_S = 1.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FailureBuckets:
    """Token buckets by name (a key id, an address): `limit` tokens, refilled at limit/window_s per second."""

    def __init__(self, *, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.rate = limit / window_s
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _refilled(self, name: str, now: float) -> _Bucket:
        bucket = self._buckets.get(name)
        if bucket is None:
            return _Bucket(float(self.limit), now)
        bucket.tokens = min(float(self.limit), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def wait_s(self, name: str) -> float:
        """0 when a token is there; otherwise the seconds until one is."""
        bucket = self._refilled(name, self.clock())
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, name: str) -> None:
        now = self.clock()
        bucket = self._refilled(name, now)
        bucket.tokens -= 1
        self._buckets[name] = bucket
        self._buckets.move_to_end(name)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)

    def give_back(self, name: str) -> None:
        bucket = self._buckets.get(name)
        if bucket is not None:
            bucket.tokens = min(float(self.limit), bucket.tokens + 1)


class AuthLimiter:
    """The two limits together: per key id and per client address (None when the server cannot tell)."""

    def __init__(
        self,
        *,
        per_key: int,
        per_address: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.by_key = FailureBuckets(limit=per_key, window_s=window_s, clock=clock)
        self.by_address = FailureBuckets(limit=per_address, window_s=window_s, clock=clock)
        self._lock = threading.Lock()

    def attempt(self, key_id: str, address: str | None) -> None:
        """Takes a token for a check that will hash; RateLimited (nothing taken) when either bucket is empty."""
        with self._lock:
            waits = [self.by_key.wait_s(key_id)]
            if address is not None:
                waits.append(self.by_address.wait_s(address))
            wait = max(waits)
            if wait > 0:
                raise RateLimited(
                    f"too many failed authentications for this key or from this address; retry in {math.ceil(wait)} s",
                    retry_after_s=wait,
                    reason="too_many_failed_authentications",
                )
            self.by_key.take(key_id)
            if address is not None:
                self.by_address.take(address)

    def succeeded(self, key_id: str, address: str | None) -> None:
        """The secret was right: the token taken by `attempt` goes back."""
        with self._lock:
            self.by_key.give_back(key_id)
            if address is not None:
                self.by_address.give_back(address)
