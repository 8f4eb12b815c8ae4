"""One comment's text, prepared once for every condition of a rule set, and screened in one pass.

The text conditions search one of three texts: the comment as sent (``regex`` with ``field:
original``), the folded text (other regexes, ``regex`` word lists) or the folded text read in a
word list's alphabet (``words``). A :class:`Screen` compiles the patterns that search each text
into one :class:`~moderation.text.patternset.PatternSet`; per comment, a :class:`Scan` asks each
set once, when a condition first needs it, which patterns match anywhere. A condition whose
patterns match nowhere holds nothing, without a search of its own; one whose patterns match is
searched as before, so its spans are the same. The scan also keeps what several conditions
read: the UTF-8 bytes of each text and the links.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..text.normalize import Normalized
from ..text.patternset import PatternSet
from ..text.textstats import links
from ..text.wordmatch import WordMatcher

ORIGINAL = "original"
FOLDED = "folded"
READ = "read"

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Search:
    """One pattern a condition searches, and the text it searches."""

    pattern: Any  # a compiled RE2 pattern
    text: str  # ORIGINAL, FOLDED or READ
    reader: WordMatcher | None = None  # READ: the list whose alphabet reads the folded text


class Screen:
    """The patterns of a rule set's text conditions, compiled together for each text they search.

    Every pattern has a bit; a comment's scan sets the bits of the patterns that match it.
    """

    def __init__(self, conditions: Iterable[tuple[object, list[Search]]]) -> None:
        channels: dict[tuple[str, frozenset[str]], int] = {}
        readers: list[Search] = []  # per channel: a search that says how to read its text
        patterns: list[list[str]] = []
        slots: dict[int, list[tuple[int, int]]] = {}  # id(condition) -> (channel, index) per pattern
        self.conditions: list[object] = []  # kept alive, so that their ids stay theirs
        for condition, searches in conditions:
            if id(condition) in slots or not searches:
                continue
            slots[id(condition)] = []
            for search in searches:
                key = (search.text, search.reader.alphabet if search.reader else frozenset())
                channel = channels.setdefault(key, len(channels))
                if channel == len(patterns):
                    patterns.append([])
                    readers.append(search)
                slots[id(condition)].append((channel, len(patterns[channel])))
                patterns[channel].append(search.pattern.pattern)
            self.conditions.append(condition)
        firsts = [sum(map(len, patterns[:channel])) for channel in range(len(patterns))]
        self.channels = [
            (reader, PatternSet(found), first)
            for reader, found, first in zip(readers, patterns, firsts, strict=True)
        ]
        self.bits = {
            key: tuple(1 << (firsts[channel] + index) for channel, index in found)
            for key, found in slots.items()
        }

    def mask(self, conditions: Iterable[object]) -> int:
        """The bits of every pattern of ``conditions``."""
        mask = 0
        for condition in conditions:
            for bit in self.bits.get(id(condition), ()):
                mask |= bit
        return mask

    def scan(self, text: str, normalized: Normalized) -> Scan:
        """A comment's text, screened."""
        return Scan(text, normalized, self)


class Scan:
    """One comment's text for the conditions: bytes, links and screening, each computed once.

    ``found`` has the bit of every pattern that matches the text somewhere (and of every pattern
    of a text whose set could not tell).
    """

    __slots__ = ("_folded", "_links", "_original", "found", "normalized", "screen", "text")

    def __init__(self, text: str, normalized: Normalized, screen: Screen | None = None) -> None:
        self.text = text
        self.normalized = normalized
        self.screen = screen
        self._original: bytes | None = None
        self._folded: bytes | None = None
        self._links: list[Span] | None = None
        found = 0
        for search, patterns, first in screen.channels if screen else ():
            if search.reader is not None:
                data = search.reader.read(normalized.text)
            else:
                data = self.data(search.text)
            found |= patterns.matching(data) << first
        self.found = found

    def may_match(self, condition: object, position: int = 0) -> bool:
        """Whether the ``position``-th pattern of ``condition`` may match (False: it matches nowhere)."""
        bits = self.screen.bits.get(id(condition)) if self.screen else None
        return bits is None or bool(bits[position] & self.found)

    def data(self, which: str) -> bytes:
        """The UTF-8 bytes of the ORIGINAL or the FOLDED text."""
        if which == ORIGINAL:
            if self._original is None:
                self._original = self.text.encode()
            return self._original
        if self._folded is None:
            self._folded = self.normalized.text.encode()
        return self._folded

    def links(self) -> list[Span]:
        """Spans of the links in the original text."""
        if self._links is None:
            self._links = links(self.text)
        return self._links
