"""A token bucket in the sender: shape a link to a bandwidth on one machine (no netns, no root).

Sending N bytes through a bucket of rate r takes about (N - B) / r, B being the tokens saved up
(at most the burst). The burst is about 100 us of traffic at the current rate (at least one
byte), so an idle link never lends a transfer more than that: a fixed floor in bytes would be
41 ms of free traffic at 0.05 Mbps, and a 375-byte tensor would look three times faster than the
link. Bytes are paid a chunk at a time (one burst, at least 256 bytes), so Python's per-chunk
cost and sleep granularity do not slow the link below r. Tokens may go negative (debt), so a
sleep that overshoots is paid back on the next chunk instead of lowering the rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MIN_CHUNK = 256
CHUNK_SECONDS = 1e-4


def _burst_for(rate: float) -> int:
    """About CHUNK_SECONDS of traffic at `rate` bytes/s, at least one byte."""
    return max(1, int(rate * CHUNK_SECONDS))


class TokenBucket:
    """`rate` bytes/s with a burst of `burst` bytes; thread-safe (a link shared by connections)."""

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"rate must be a finite number > 0, got {rate!r}")
        self.rate = float(rate)
        self._follows_rate = burst is None
        self.burst = burst if burst is not None else _burst_for(rate)
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1 byte, got {self.burst}")
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._stamp = clock()
        self._lock = threading.Lock()

    def set_rate(self, rate: float) -> None:
        """Retune the bucket live (a link whose rate changes mid-run): tokens earned so far at
        the old rate are kept, up to the burst, which follows the new rate unless it was given."""
        if not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"rate must be a finite number > 0, got {rate!r}")
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self.rate = float(rate)
            if self._follows_rate:
                self.burst = _burst_for(rate)
                self._tokens = min(self._tokens, float(self.burst))

    @property
    def chunk(self) -> int:
        """Bytes to send per wait: one burst, at least MIN_CHUNK."""
        return max(MIN_CHUNK, self.burst)

    def consume(self, n: int) -> float:
        """Take `n` tokens, sleeping until they are earned; returns the seconds slept."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait


def pay(bucket: TokenBucket | None, n: int) -> None:
    """Pay `n` bytes to `bucket` (when there is one) a burst at a time, so other senders on the
    same bucket (queries beside an upload) interleave with this one."""
    if bucket is None:
        return
    for start in range(0, n, bucket.chunk):
        bucket.consume(min(bucket.chunk, n - start))
