"""Keeps a process's rules current: reloads changed files, keeps the old rules on error."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from .limits import RuleLimits
from .loader import RulesError, load_rules
from .ruleset import RuleSet

log = logging.getLogger(__name__)


class RulesReloader:
    """Serves the current RuleSet, checking the files' mtimes at most every ``interval`` s."""

    def __init__(self, path: str | Path, interval: float = 2.0, limits: RuleLimits | None = None) -> None:
        self.path = Path(path)
        self.interval = interval
        self.limits = limits or RuleLimits.from_env()
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._rules = load_rules(self.path, self.limits)  # the first load must succeed
        self._stamp = self._stamps(self._rules)
        self._checked = time.monotonic()

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
        """The current rules, reloading first if the files changed."""
        now = time.monotonic()
        if now - self._checked >= self.interval:
            self.check()
        return self._rules

    def check(self) -> bool:
        """Reload now if the files changed; True when new rules were taken."""
        with self._lock:
            self._checked = time.monotonic()
            stamp = self._stamps(self._rules)
            if stamp == self._stamp:
                return False
            self._stamp = stamp
            try:
                rules = load_rules(self.path, self.limits)
            except RulesError as exc:
                self.last_error = str(exc)
                log.error("rules reload failed, keeping version %s: %s", self._rules.version, exc)
                return False
            self._stamp = self._stamps(rules)
            self.last_error = None
            if rules.version != self._rules.version:
                log.info("rules reloaded: %s -> %s", self._rules.version, rules.version)
            self._rules = rules
            return True
