"""One comment, prepared once for every condition of a rule set, and screened in one pass.

The text conditions search one of three texts: the comment as sent (``regex`` with ``field:
original``), the folded text (other regexes, ``regex`` word lists) or the folded text read in a
word list's alphabet (``words``). A :class:`Screen` compiles the patterns that search each text
into one :class:`~moderation.text.patternset.PatternSet`, and gives each pattern a bit, and each
score test that rules start with (``score: {toxicity: {gte: 0.87}}``) another. Per comment, a
:class:`Scan` asks each set once which patterns match anywhere, and runs the score tests, setting
their bits in ``found``.

A rule's gate (see ``conditions.gate``) is the bits one of which it needs to hold: a rule whose
gate finds nothing set is not evaluated, and inside a rule a pattern that matches nowhere is not
searched. What is evaluated runs as before, so spans and reasons are the same. The scan also
keeps what several conditions read: the UTF-8 bytes of each text and the links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import re2

from ..text.normalize import Normalized
from ..text.patternset import PatternSet
from ..text.textstats import LINK_HINT, links
from ..text.wordmatch import WordMatcher

ORIGINAL = "original"
FOLDED = "folded"
READ = "read"

Span = tuple[int, int]
# A category, a comparison and a bound (("toxicity", operator.ge, 0.87)): a rule that starts with
# this test holds only when the category's score passes it.
ScoreTest = tuple[str, Callable[[float, float], bool], float]


@dataclass(frozen=True, slots=True)
class Search:
    """One pattern a condition searches, and the text it searches."""

    pattern: Any  # a compiled RE2 pattern
    text: str  # ORIGINAL, FOLDED or READ
    reader: WordMatcher | None = None  # READ: the list whose alphabet reads the folded text


# Every link of an ASCII text matches this in the folded text (the text in lower case): on a text
# where it matches nowhere, ``links`` finds nothing, so it need not look. The ``links``
# conditions add it to the screen (see ``conditions.text_searches``).
LINKS = Search(re2.compile(LINK_HINT), FOLDED)


class Screen:
    """The patterns of a rule set's text conditions, compiled together for each text they search,
    and its score tests: each has a bit, set in a comment's scan when it matches or passes."""

    def __init__(
        self, conditions: Iterable[tuple[object, list[Search]]], score_tests: Iterable[ScoreTest] = ()
    ) -> None:
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
        self.score_bits: dict[ScoreTest, int] = {}
        next_bit = 1 << sum(map(len, patterns))
        for test in score_tests:
            if test not in self.score_bits:
                self.score_bits[test] = next_bit
                next_bit <<= 1
        self.score_tests = [(*test, bit) for test, bit in self.score_bits.items()]
        self.link_hint = self.mask([LINKS])

    def mask(self, signals: Iterable[object]) -> int:
        """The bits of ``signals`` (text conditions and score tests); 0 when one has no bit, so that
        a gate the screen cannot watch in full is no gate."""
        mask = 0
        for signal in signals:
            bits = self.score_bits.get(signal) if isinstance(signal, tuple) else self.bits.get(id(signal))
            if not bits:
                return 0
            for bit in (bits,) if isinstance(bits, int) else bits:
                mask |= bit
        return mask

    def scan(self, text: str, normalized: Normalized, scores: Mapping[str, float] | None = None) -> Scan:
        """A comment, screened."""
        return Scan(text, normalized, self, scores)


class Scan:
    """One comment for the conditions: bytes, links and screening, each computed once.

    ``found`` has the bit of every pattern that matches the text somewhere (and of every pattern
    of a text whose set could not tell) and of every score test that passes.
    """

    __slots__ = ("_folded", "_links", "_original", "found", "normalized", "screen", "text")

    def __init__(
        self,
        text: str,
        normalized: Normalized,
        screen: Screen | None = None,
        scores: Mapping[str, float] | None = None,
    ) -> None:
        self.text = text
        self.normalized = normalized
        self.screen = screen
        self._original: bytes | None = None
        self._folded: bytes | None = None
        self._links: list[Span] | None = None
        found = 0
        if screen is not None:
            for search, patterns, first in screen.channels:
                if search.reader is not None:
                    data = search.reader.read(normalized.text)
                else:
                    data = self.data(search.text)
                found |= patterns.matching(data) << first
            if scores is not None:
                for category, compare, bound, bit in screen.score_tests:
                    value = scores.get(category)
                    if value is not None and compare(value, bound):
                        found |= bit
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
            hint = self.screen.link_hint if self.screen else 0
            if hint and not hint & self.found and self.text.isascii():
                self._links = []  # on ASCII, the folded text is the text in lower case
            else:
                self._links = links(self.text)
        return self._links
