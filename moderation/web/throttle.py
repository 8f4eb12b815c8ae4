"""Counters in time windows, shared between processes through Redis when it is configured: limits
on failed log-ins here, per-key API rate limits in ``ratelimit``."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Counter(Protocol):
    """Counts events per key inside a time window."""

    def hit(self, key: str, window: float) -> int:
        """Count one event; return how many happened in the current window."""
        ...

    def hit_window(self, key: str, window: float) -> tuple[int, float]:
        """Count one event; return how many happened in the current window and the seconds it
        has left (a window starts with its first event)."""
        ...

    def count(self, key: str) -> int:
        """Events in the current window."""
        ...

    def reset(self, key: str) -> None:
        """Forget the key."""
        ...


class MemoryCounter:
    """Per-process counts: enough for one process; use Redis for several."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: float) -> int:
        return self.hit_window(key, window)[0]

    def hit_window(self, key: str, window: float) -> tuple[int, float]:
        now = time.monotonic()
        with self._lock:
            expires, count = self._counts.get(key, (now + window, 0))
            if expires <= now:
                expires, count = now + window, 0
            self._counts[key] = (expires, count + 1)
            return count + 1, expires - now

    def count(self, key: str) -> int:
        expires, count = self._counts.get(key, (0.0, 0))
        return count if expires > time.monotonic() else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisCounter:
    """Counts kept in Redis, so every process sees the same numbers."""

    def __init__(self, url: str, prefix: str = "moderation:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix

    def hit(self, key: str, window: float) -> int:
        return self.hit_window(key, window)[0]

    def hit_window(self, key: str, window: float) -> tuple[int, float]:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.pexpire(name, max(int(window * 1000), 1), nx=True)
        pipe.pttl(name)
        count, _, left_ms = pipe.execute()
        return int(count), max(int(left_ms), 0) / 1000

    def count(self, key: str) -> int:
        return int(self._redis.get(self._prefix + key) or 0)

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


class LoginThrottle:
    """At most ``limit`` failed log-ins per username and address within ``window`` seconds."""

    def __init__(self, counter: Counter, limit: int = 5, window: float = 900) -> None:
        self.counter, self.limit, self.window = counter, limit, window

    @staticmethod
    def _key(username: str, address: str) -> str:
        return f"login:{username.lower()}:{address}"

    def blocked(self, username: str, address: str) -> bool:
        """Whether this pair has used up its attempts."""
        return self.counter.count(self._key(username, address)) >= self.limit

    def failed(self, username: str, address: str) -> None:
        """Record a failed attempt."""
        self.counter.hit(self._key(username, address), self.window)

    def succeeded(self, username: str, address: str) -> None:
        """A good log-in clears the count."""
        self.counter.reset(self._key(username, address))


def make_throttle(redis_url: str, limit: int, window: float) -> LoginThrottle:
    """Redis-backed when a URL is configured, per-process otherwise."""
    counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    return LoginThrottle(counter, limit, window)
