"""Splitting a comment into sentences, as offsets into the text as sent."""

from __future__ import annotations

import re

# After . ! ? (and closing quotes or brackets) followed by space, or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


try:  # the same spans in one pass over the characters, built by `make setup`
    from ._sentences import sentence_spans as _sentence_spans_c
except ImportError:  # pragma: no cover - a checkout where `make setup` has not run
    _sentence_spans_c = None  # type: ignore[assignment]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, white space trimmed; empty pieces are left out."""
    if _sentence_spans_c is not None:
        return _sentence_spans_c(text)
    return sentence_spans_re(text)


def sentence_spans_re(text: str) -> list[tuple[int, int]]:
    """:func:`sentence_spans` by the regular expression (without the C module)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for boundary in [*_BOUNDARY.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if boundary:
            start = boundary.end()
    return spans
