"""Keeps a process's rules current: reloads changed files, keeps the old rules on error.

Reloading (reading, validating and compiling the word lists into automata) runs in a
background thread, never in a request: requests keep the rules in force until the new
ones are ready, then take them in one attribute read.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from ..polling import Poller
from .limits import RuleLimits
from .loader import RulesError, load_rules
from .ruleset import RuleSet

log = logging.getLogger(__name__)


class RulesReloader(Poller):
    """Serves the current RuleSet; a background thread checks the files every ``interval`` s.

    With ``interval=0`` there is no thread: every read of ``rules`` checks the files
    and reloads in the caller's thread (for tests and one-off tools, not for serving).
    """

    thread_name = "rules-reloader"

    def __init__(self, path: str | Path, interval: float = 2.0, limits: RuleLimits | None = None) -> None:
        super().__init__(interval)
        self.path = Path(path)
        self.limits = limits or RuleLimits.from_env()
        self.last_error: str | None = None
        self._rules = load_rules(self.path, self.limits)  # the first load must succeed
        self._stamp = self._stamps(self._rules)

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
            self.ensure_watching()
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
