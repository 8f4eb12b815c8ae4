"""Keeps a process's rules current: reloads changed files, keeps the old rules on error.

Reloading (reading, validating and compiling the word lists into automata) runs in a
background thread, never in a request: requests keep the rules in force until the new
ones are ready, then take them in one attribute read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from .limits import RuleLimits
from .loader import RulesError, load_rules
from .ruleset import RuleSet

log = logging.getLogger(__name__)


class RulesReloader:
    """Serves the current RuleSet; a background thread checks the files every ``interval`` s.

    With ``interval=0`` there is no thread: every read of ``rules`` checks the files
    and reloads in the caller's thread (for tests and one-off tools, not for serving).
    """

    def __init__(self, path: str | Path, interval: float = 2.0, limits: RuleLimits | None = None) -> None:
        self.path = Path(path)
        self.interval = interval
        self.limits = limits or RuleLimits.from_env()
        self.last_error: str | None = None
        self._lock = threading.Lock()  # one reload at a time
        self._start_lock = threading.Lock()  # one watching thread per process
        self._rules = load_rules(self.path, self.limits)  # the first load must succeed
        self._stamp = self._stamps(self._rules)
        self._watcher: tuple[int, threading.Event] | None = None  # (process id, stop signal)
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))

    def _stamps(self, rules: RuleSet) -> tuple[tuple[str, int, int], ...]:
        stamps = []
        for name in (str(self.path), *rules.files):
            try:
                st = os.stat(name)
                stamps.append((name, st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append((name, -1, -1))
        return tuple(stamps)

    @property
    def rules(self) -> RuleSet:
        """The rules in force now; never waits for a reload (unless ``interval`` is 0)."""
        if self.interval <= 0:
            self.check()
        else:
            self._ensure_watcher()
        return self._rules

    def check(self) -> bool:
        """Reload now if the files changed; True when new rules were taken."""
        with self._lock:
            stamp = self._stamps(self._rules)
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            started = time.monotonic()
            try:
                rules = load_rules(self.path, self.limits)
            except RulesError as exc:
                self.last_error = str(exc)
                log.error("rules reload failed, keeping version %s: %s", self._rules.version, exc)
                return False
            self._stamp = self._stamps(rules)
            self.last_error = None
            if rules.version != self._rules.version:
                log.info(
                    "rules reloaded in %.0f ms: %s -> %s",
                    (time.monotonic() - started) * 1000,
                    self._rules.version,
                    rules.version,
                )
            self._rules = rules
            return True

    def _ensure_watcher(self) -> None:
        """Start the watching thread in this process (again after a fork: threads do not survive it)."""
        watcher = self._watcher
        if watcher is not None and watcher[0] == os.getpid():
            return
        with self._start_lock:
            if self._watcher is not None and self._watcher[0] == os.getpid():
                return
            stop = threading.Event()
            self._watcher = (os.getpid(), stop)
            thread = threading.Thread(
                target=_watch,
                args=(weakref.ref(self), stop, self.interval),
                name="rules-reloader",
                daemon=True,
            )
            thread.start()

    def close(self) -> None:
        """Stop the watching thread (it also stops by itself once the reloader is gone)."""
        if self._watcher is not None:
            self._watcher[1].set()


def _after_fork(ref: weakref.ref[RulesReloader]) -> Callable[[], None]:
    def reset() -> None:
        # The child has none of the parent's threads: a lock one of them held would stay held.
        reloader = ref()
        if reloader is not None:
            reloader._lock = threading.Lock()
            reloader._start_lock = threading.Lock()
            reloader._watcher = None

    return reset


def _watch(ref: weakref.ref[RulesReloader], stop: threading.Event, interval: float) -> None:
    """Check the files every ``interval`` seconds while the reloader exists."""
    while not stop.wait(interval):
        reloader = ref()
        if reloader is None:
            return
        try:
            reloader.check()
        except Exception:  # a bug here must not end the thread: the next round tries again
            log.exception("rules reload check failed")
        del reloader
