"""Logging helpers shared by the service and its workers."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

LOG_INTERVAL_SECONDS = 10.0


class RateLimitedLog:
    """At most one log line per kind of failure every ``interval`` seconds, counting the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.interval, self.clock = logger, interval, clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def __call__(self, level: int, kind: str, message: str, *, exc_info: BaseException | None = None) -> bool:
        """Log ``message`` unless ``kind`` was logged within the interval; True when logged."""
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.interval:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return False
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            message += f" ({suppressed} more since the last report)"
        self.logger.log(level, "%s", message, exc_info=exc_info)
        return True
