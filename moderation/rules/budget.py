"""A comment's time budget: how long the rules may work on it before it is held for review."""

from __future__ import annotations

import time


class TimeBudget:
    """The CPU time the evaluating thread may spend on one comment.

    CPU time, not wall time, so that a comment waiting for the processor (other
    threads, other processes) is not held for what it did not spend. The wall clock,
    cheap to read, is looked at first; the thread's CPU clock only once the wall
    clock says the budget may be spent.
    """

    __slots__ = ("_cpu_deadline", "_wall_deadline", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._wall_deadline = time.monotonic() + seconds
        self._cpu_deadline = time.thread_time() + seconds

    def expired(self) -> bool:
        """Whether the thread has spent the budget since it was made."""
        if time.monotonic() < self._wall_deadline:
            return False
        remaining = self._cpu_deadline - time.thread_time()
        if remaining <= 0:
            return True
        self._wall_deadline = time.monotonic() + remaining  # it waited: look again later
        return False
