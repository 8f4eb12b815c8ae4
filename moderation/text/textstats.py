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
LINK_HINT = rf"://|www\.|\.(?:{_TLDS})\b"
_LINK_HINT = re.compile(LINK_HINT, re.IGNORECASE)
# The same for an ASCII text in lower case: matching case by case is four times slower than
# lowering the text first, and on ASCII the two agree (and RE2 agrees with both).
_LINK_HINT_LOWER = re.compile(LINK_HINT)
_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]+")
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
    # ASCII letters are counted on bytes, in C; only characters beyond ASCII one at a time.
    ascii_letters = text.encode("ascii", "ignore").translate(None, _ASCII_NOT_LETTER)
    letters = len(ascii_letters)
    upper = letters - len(ascii_letters.translate(None, _ASCII_UPPER))
    if not text.isascii():
        for char in "".join(_BEYOND_ASCII.findall(text)):
            if char.isalpha():
                letters += 1
                upper += char.isupper()
    if not letters:
        return 0.0, 0
    return upper / letters, letters


def repeated_runs(text: str, minimum: int) -> list[tuple[int, int]]:
    """Spans of runs of one character repeated at least ``minimum`` times."""
    return [m.span() for m in REPEATED.finditer(text) if m.end() - m.start() >= minimum]
