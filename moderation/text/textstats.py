"""Cheap measurements of a comment's text: links, shouting, repeated characters."""

from __future__ import annotations

import re

LINK = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9][a-z0-9-]{0,62}\.(?:com|net|org|info|biz|io|co|ru|cn|xyz|top|site|online|ly|me|tk|us|uk)\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
REPEATED = re.compile(r"(.)\1{2,}", re.DOTALL)
# Every link LINK finds contains one of these; most comments contain none, and this search is
# a fast scan for a literal where LINK itself tries its alternatives at every position.
_LINK_HINT = re.compile(
    r"://|www\.|\.(?:com|net|org|info|biz|io|co|ru|cn|xyz|top|site|online|ly|me|tk|us|uk)\b", re.IGNORECASE
)
_ASCII_UPPER = bytes(range(ord("A"), ord("Z") + 1))
_ASCII_NOT_LETTER = bytes(c for c in range(128) if not chr(c).isalpha())


def links(text: str) -> list[tuple[int, int]]:
    """Spans of the links (URLs and bare domains) in ``text``."""
    if not _LINK_HINT.search(text):
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
