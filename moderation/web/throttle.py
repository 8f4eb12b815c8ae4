"""Counters in time windows, shared between processes through Redis when it is configured: limits
on failed log-ins here, per-key API rate limits in ``ratelimit``."""

from __future__ import annotations

import re
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

    def matching(self, prefix: str) -> dict[str, int]:
        """Counts in the current window of every key starting with ``prefix``."""
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

    def matching(self, prefix: str) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            return {
                k: n for k, (expires, n) in self._counts.items() if k.startswith(prefix) and expires > now
            }


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

    def matching(self, prefix: str) -> dict[str, int]:
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix + prefix) + "*"
        names = list(self._redis.scan_iter(match=pattern, count=500))
        values = self._redis.mget(names) if names else []
        start = len(self._prefix)
        return {name.decode()[start:]: int(v) for name, v in zip(names, values, strict=True) if v is not None}


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

    def locked(self, username: str) -> bool:
        """Whether the username is locked out from any address."""
        return any(n >= self.limit for n in self.counter.matching(self._key(username, "")).values())

    def unlock(self, username: str) -> int:
        """Forget the username's failed log-ins from every address (an admin's unlock); how many."""
        found = self.counter.matching(self._key(username, ""))
        for key in found:
            self.counter.reset(key)
        return len(found)


def make_throttle(redis_url: str, limit: int, window: float) -> LoginThrottle:
    """Redis-backed when a URL is configured, per-process otherwise."""
    counter: Counter = RedisCounter(redis_url) if redis_url else MemoryCounter()
    return LoginThrottle(counter, limit, window)
