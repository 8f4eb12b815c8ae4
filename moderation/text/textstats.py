"""Cheap measurements of a comment's text: links, shouting, repeated characters."""

from __future__ import annotations

import re

_TLDS = "com|net|org|info|biz|io|co|ru|cn|xyz|top|site|online|ly|me|tk|us|uk"
LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    rf"|\b[a-z0-9][a-z0-9-]{{0,62}}\.(?:{_TLDS})\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
REPEATED = re.compile(r"(.)\1{2,}", re.DOTALL)
# Every link LINK finds contains one of these; most comments contain none, and this search is
# a fast scan for a literal where LINK itself tries its alternatives at every position.
_LINK_HINT = re.compile(rf"://|www\.|\.(?:{_TLDS})\b", re.IGNORECASE)
# The same for an ASCII text in lower case: matching case by case is four times slower than
# lowering the text first, and on ASCII the two agree.
_LINK_HINT_LOWER = re.compile(_LINK_HINT.pattern)
_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_NOT_LETTER = bytes(c for c in range(128) if not chr(c).isalpha())


def links(text: str) -> list[tuple[int, int]]:
    """Spans of the links (URLs and bare domains) in ``text``."""
    hint = _LINK_HINT_LOWER.search(text.lower()) if text.isascii() else _LINK_HINT.search(text)
    if not hint:
        return []
    return [m.span() for m in LINK.finditer(text)]


def caps_ratio(text: str) -> tuple[float, int]:
    """Share of upper-case letters among the letters, and the number of letters."""
    if text.isascii():
        ascii_letters = text.encode("ascii").translate(None, _ASCII_NOT_LETTER)
        if not ascii_letters:
            return 0.0, 0
        upper = len(ascii_letters) - len(ascii_letters.translate(None, _ASCII_UPPER))
        return upper / len(ascii_letters), len(ascii_letters)
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0, 0
    upper = sum(1 for c in letters if c.isupper())
    return upper / len(letters), len(letters)


def repeated_runs(text: str, minimum: int) -> list[tuple[int, int]]:
    """Spans of runs of one character repeated at least ``minimum`` times."""
    return [m.span() for m in REPEATED.finditer(text) if m.end() - m.start() >= minimum]
