"""A background thread that calls ``check()`` every few seconds, one per process.

The rules reloader and the live model both follow something outside the process (files, a
database row) this way. The thread holds only a weak reference, so it ends with its owner;
after a fork the child starts its own (threads do not survive a fork, and a lock one of them
held would stay held in the child).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)


class Poller:
    """Base for objects whose ``check()`` a background thread calls every ``interval`` seconds."""

    interval: float
    thread_name = "poller"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()  # one check at a time
        self._start_lock = threading.Lock()  # one polling thread per process
        self._watcher: tuple[int, threading.Event, threading.Thread] | None = None  # pid, stop, thread
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))

    def check(self) -> bool:
        """Look once; True when something new was taken."""
        raise NotImplementedError

    def ensure_watching(self) -> None:
        """Start the polling thread in this process (again after a fork); cheap when running."""
        if self.interval <= 0:
            return
        watcher = self._watcher
        if watcher is not None and watcher[0] == os.getpid():
            return
        with self._start_lock:
            if self._watcher is not None and self._watcher[0] == os.getpid():
                return
            stop = threading.Event()
            thread = threading.Thread(
                target=_watch,
                args=(weakref.ref(self), stop, self.interval),
                name=self.thread_name,
                daemon=True,
            )
            self._watcher = (os.getpid(), stop, thread)
            thread.start()

    def close(self, wait: float = 10.0) -> None:
        """Stop the polling thread, waiting up to ``wait`` seconds for a check in progress."""
        watcher = self._watcher
        if watcher is None or watcher[0] != os.getpid():
            return
        watcher[1].set()
        if watcher[2] is not threading.current_thread():
            watcher[2].join(wait)


def _after_fork(ref: weakref.ref[Poller]) -> Callable[[], None]:
    def reset() -> None:
        poller = ref()
        if poller is not None:
            poller._lock = threading.Lock()
            poller._start_lock = threading.Lock()
            poller._watcher = None

    return reset


def _watch(ref: weakref.ref[Poller], stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        poller = ref()
        if poller is None:
            return
        try:
            poller.check()
        except Exception:  # a bug here must not end the thread: the next round tries again
            log.exception("%s check failed", poller.thread_name)
        del poller
