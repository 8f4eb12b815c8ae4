"""Word and phrase lists compiled into one disguise-tolerant pattern.

Each entry is compiled against the folded text (see ``normalize``). A letter
also matches its usual leetspeak stand-ins ("sh1t", "a$$", "@ss"), may be
stretched ("fuuuck"), and inner letters may be masked with ``*`` or ``#``
("f*ck", "sh#t"). A single word may also be spelled out with separators
("f u c k", "f.u.c.k"). Whole-word matching (the default) is what keeps
"Scunthorpe", "assassination" and "cockpit" clean; allow-lists exempt the
innocent words that contain an entry when prefix or substring matching is
asked for.

The generated patterns are built from fixed character classes with no
nested quantifiers, so they run in linear time with Python's ``re``; the
entries of a list are merged into a trie so a long list costs little more
than a short one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from .normalize import Normalized

LEET: dict[str, str] = {
    "a": "a4@^",
    "b": "b8",
    "e": "e3",
    "g": "g9",
    "i": "i1!|",
    "l": "l1|",
    "o": "o0",
    "s": "s5$",
    "t": "t7+",
    "u": "uv",
    "z": "z2",
}
MASKS = "*#"
SEPARATORS = r"[\s.\-_,/~]"
_WORD_CHAR = "a-z0-9"


class MatchMode(StrEnum):
    """Where an entry may sit inside a word."""

    WORD = "word"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    SUBSTRING = "substring"


def _char_class(char: str, masked: bool) -> str:
    """Return a regex character class matching ``char`` and its disguises."""
    members = LEET.get(char, char) + (MASKS if masked else "")
    return "[" + "".join(re.escape(c) for c in dict.fromkeys(members)) + "]"


_Trie = dict[str, "_Trie"]
_END = ""


def _insert(trie: _Trie, atoms: Iterable[str]) -> None:
    node = trie
    for atom in atoms:
        node = node.setdefault(atom, {})
    node[_END] = {}


def _render(node: _Trie) -> str:
    """Render a trie of regex atoms as one alternation with shared prefixes."""
    branches = [atom + _render(child) for atom, child in sorted(node.items()) if atom != _END]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if _END in node:
        return "(?:" + body + ")?"
    return body


def _compact_atoms(entry: str) -> list[str]:
    """Atoms for an entry written normally, possibly stretched, masked or leet."""
    atoms = []
    letters = [c for c in entry if not c.isspace()]
    inner = range(1, len(letters) - 1)
    position = 0
    for char in entry:
        if char.isspace():
            atoms.append(r"[\W_]+")
            continue
        if char.isalnum():
            atoms.append(_char_class(char, position in inner) + "+")
        else:
            atoms.append(re.escape(char))
        position += 1
    return atoms


def _spaced_atoms(entry: str) -> list[str]:
    """Atoms for a single word spelled with a separator between every letter."""
    atoms = []
    for index, char in enumerate(entry):
        if index:
            atoms.append(SEPARATORS + "+")
        atoms.append(_char_class(char, False))
    return atoms


def fold_entry(entry: str) -> str:
    """Fold a list entry the way comment text is folded."""
    from .normalize import normalize

    return " ".join(normalize(entry).text.split())


@dataclass(frozen=True, slots=True)
class Hit:
    """One match: offsets in the folded text."""

    start: int
    end: int


@dataclass
class WordMatcher:
    """A compiled word/phrase list with its match mode and allow-list."""

    entries: tuple[str, ...]
    mode: MatchMode = MatchMode.WORD
    allow: frozenset[str] = frozenset()
    allow_prefixes: tuple[str, ...] = ()
    plurals: bool = True
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        entries = [fold_entry(e) for e in self.entries if e.strip()]
        if not entries:
            raise ValueError("the word list is empty")
        trie: _Trie = {}
        spaced: _Trie = {}
        for entry in entries:
            _insert(trie, _compact_atoms(entry))
            if " " not in entry and len(entry) >= 3 and entry.isalpha():
                _insert(spaced, _spaced_atoms(entry))
        body = _render(trie)
        if spaced:
            body = f"(?:{body}|{_render(spaced)})"
        before = f"(?<![{_WORD_CHAR}])" if self.mode in (MatchMode.WORD, MatchMode.PREFIX) else ""
        after = f"(?![{_WORD_CHAR}])" if self.mode in (MatchMode.WORD, MatchMode.SUFFIX) else ""
        plural = "(?:e?s)?" if self.plurals and self.mode is MatchMode.WORD else ""
        self.pattern = re.compile(before + body + plural + after)

    def finditer(self, folded: str) -> Iterator[Hit]:
        """Yield the hits in folded text, skipping allow-listed words and bare numbers."""
        for match in self.pattern.finditer(folded):
            start, end = match.span()
            if not any(c.isalpha() for c in match.group()):
                continue  # "455" is a number, not "ass"
            if self._allowed(folded, start, end):
                continue
            yield Hit(start, end)

    def _allowed(self, folded: str, start: int, end: int) -> bool:
        if not self.allow and not self.allow_prefixes:
            return False
        while start > 0 and folded[start - 1].isalnum():
            start -= 1
        while end < len(folded) and folded[end].isalnum():
            end += 1
        word = folded[start:end]
        return word in self.allow or word.startswith(self.allow_prefixes)


def build_matcher(
    entries: Iterable[str],
    mode: MatchMode | str = MatchMode.WORD,
    allow: Iterable[str] = (),
    plurals: bool = True,
) -> WordMatcher:
    """Compile a word list. Allow-list entries ending in ``*`` exempt every word they start."""
    folded_allow = [fold_entry(a) for a in allow if a.strip()]
    return WordMatcher(
        entries=tuple(entries),
        mode=MatchMode(mode),
        allow=frozenset(a for a in folded_allow if not a.endswith("*")),
        allow_prefixes=tuple(a[:-1] for a in folded_allow if a.endswith("*")),
        plurals=plurals,
    )


def original_spans(normalized: Normalized, hits: Iterable[Hit]) -> list[tuple[int, int]]:
    """Translate hits in the folded text into spans of the original text."""
    return [normalized.span(h.start, h.end) for h in hits]
