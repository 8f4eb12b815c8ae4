"""Text normalisation that keeps a map back to the original offsets.

Matching runs on a folded copy of the comment: Unicode NFKD with accents
dropped, case folded, look-alike letters from other scripts mapped to Latin,
zero-width and other invisible characters removed. Every folded character
remembers which original characters it came from, so a match in the folded
text becomes a span in the text the reader wrote.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

# Invisible characters used to split words past filters.
_INVISIBLE = frozenset(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),  # zero-width space/joiners, LRM/RLM
        *range(0x202A, 0x202F),  # bidi embeddings
        *range(0x2060, 0x2070),  # word joiner, invisible operators
        *range(0xFE00, 0xFE10),  # variation selectors
    ]
)


@cache
def _confusables() -> dict[str, str]:
    """Map single non-ASCII look-alike characters to the ASCII letter or digit they imitate."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    table: dict[str, str] = {}
    # Digits first so that letters win where a glyph imitates both (a Cyrillic capital O vs zero).
    targets = "0123456789" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "abcdefghijklmnopqrstuvwxyz"
    for target in targets:
        for glyph in data.get(target, ()):
            char = glyph["c"]
            if len(char) == 1 and not char.isascii():
                # Unicode lists the look-alikes of a capital I (fullwidth, mathematical, Greek iota,
                # Cyrillic) under "l", as a capital I looks like a small L: a capital imitates an I.
                table[char] = "i" if target == "l" and char.isupper() else target.lower()
    return table


# Bounded: an attacker could send each of Unicode's million code points once.
@lru_cache(maxsize=1 << 16)
def fold_char(char: str) -> str:
    """Return the folded form of one character ('' for invisible characters)."""
    if ord(char) in _INVISIBLE:
        return ""
    if char.isascii():
        return char.lower()
    confusable = _confusables().get(char)
    if confusable is not None:
        return confusable
    out = []
    for part in unicodedata.normalize("NFKD", char).casefold():
        if unicodedata.combining(part):
            continue
        out.append(_confusables().get(part, part) if not part.isascii() else part)
    return "".join(out)


# Not frozen, for speed (see the note in moderation.pipeline.context).
@dataclass(slots=True)
class Normalized:
    """A folded text with, for each folded character, its span in the original."""

    original: str
    text: str
    starts: tuple[int, ...] | None  # None: folded text is aligned with the original
    ends: tuple[int, ...] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Translate a span [start, end) of the folded text into the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        if end <= start:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _fold_aligned(text: str) -> str | None:
    """The folded text when each character folds to exactly one (most accented letters,
    look-alikes, emoji), so that it stays aligned with the original; else None.

    ASCII folds as ``str.lower`` does, in C; only the runs beyond ASCII are folded one character
    at a time. ``lower`` keeps the length of every text but one with "İ", whose lower case is two
    characters: that one goes the long way.
    """
    lowered = text.lower()
    if len(lowered) != len(text):
        return None
    pieces: list[str] = []
    last = 0
    for run in _NON_ASCII.finditer(text):
        start, end = run.span()
        folded = [fold_char(char) for char in text[start:end]]
        for one in folded:
            if len(one) != 1:
                return None
        pieces += (lowered[last:start], *folded)
        last = end
    pieces.append(lowered[last:])
    return "".join(pieces)


def fold(text: str) -> str:
    """``normalize(text).text`` without the offsets (an ASCII text is only lowered)."""
    return text.lower() if text.isascii() else normalize(text).text


def normalize(text: str) -> Normalized:
    """Fold ``text`` for matching, keeping offsets into the original."""
    if text.isascii():
        return Normalized(text, text.lower(), None, None)
    aligned = _fold_aligned(text)
    if aligned is not None:
        return Normalized(text, aligned, None, None)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        folded = fold_char(char)
        if not folded:
            # A combining mark that stands alone belongs to the letter before it.
            if ends and ends[-1] == index and unicodedata.combining(char):
                ends[-1] = index + 1
            continue
        for part in folded:
            chars.append(part)
            starts.append(index)
            ends.append(index + 1)
    return Normalized(text, "".join(chars), tuple(starts), tuple(ends))
