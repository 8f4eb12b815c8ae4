"""Splitting a comment into sentences, as offsets into the text as sent."""

from __future__ import annotations

import re

# After . ! ? (and closing quotes or brackets) followed by space, or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, white space trimmed; empty pieces are left out."""
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
