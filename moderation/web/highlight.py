"""Splitting a comment into plain and highlighted pieces for display (escaped by the template)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of the text, and the rules whose spans cover it."""

    text: str
    rules: tuple[str, ...] = ()


def pieces(text: str, matches: Iterable[Mapping[str, Any]]) -> list[Piece]:
    """Cut ``text`` at every span boundary; overlapping spans share a piece."""
    spans = [
        (m["start"], m["end"], m["rule"])
        for m in matches
        if m.get("start") is not None and m.get("end") is not None and 0 <= m["start"] < m["end"] <= len(text)
    ]
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out = []
    for start, end in pairwise(cuts):
        rules = tuple(sorted({rule for s, e, rule in spans if s <= start and end <= e}))
        out.append(Piece(text[start:end], rules))
    return out
