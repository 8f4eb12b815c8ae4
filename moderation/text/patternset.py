"""Which of many RE2 patterns match somewhere in a text, found in one pass.

Most comments break no rule, and each pattern searched on its own reads the whole text once: an
RE2 ``Set`` reads it once for all of them and says which ones match, so only those are searched
again for their spans. A pattern the set says does not match has no match anywhere in the text.

RE2's ``Set`` has no fallback when its automaton runs out of memory: it then reports no match at
all, and the Python binding cannot tell that from a text nothing matches. A sentinel pattern
that matches every text (``\\z``, the empty end) tells them apart: a result without it is no
answer, and the caller then searches every pattern as if there were no set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import re2

# Room for the automaton of several word lists at once (one list may take 16 MiB, see wordmatch).
MAX_MEM = 64 << 20


class PatternSet:
    """RE2 patterns compiled together, for finding which of them match a text."""

    def __init__(self, patterns: Sequence[str], max_mem: int = MAX_MEM) -> None:
        options = re2.Options()
        options.log_errors = False
        options.max_mem = max_mem
        self.size = len(patterns)
        self._set: Any = re2.Set.SearchSet(options)
        try:
            for pattern in patterns:
                self._set.Add(pattern)
            self._sentinel = self._set.Add(r"\z")
            self._set.Compile()
        except re2.error:
            self._set = None  # too large to compile together: every pattern is searched on its own

    @property
    def usable(self) -> bool:
        """Whether the patterns compiled together (otherwise every pattern always may match)."""
        return self._set is not None

    def matching(self, data: bytes) -> int:
        """The patterns that match somewhere in the UTF-8 ``data``, as bits (bit i: pattern i).

        When the set cannot tell, every bit is set: each pattern then may match.
        """
        found = self._set.Match(data) if self._set is not None else None
        if not found or self._sentinel not in found:
            return (1 << self.size) - 1  # no set, or its automaton ran out of memory
        bits = 0
        for index in found:
            bits |= 1 << index
        return bits & ~(1 << self._sentinel)
