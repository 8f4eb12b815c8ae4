"""Word and phrase lists compiled into one disguise-tolerant RE2 pattern.

Each entry is compiled against the folded text (see ``normalize``). A letter
also matches its usual leetspeak stand-ins ("sh1t", "a$$", "@ss"), may be
stretched ("fuuuck"), and inner letters may be masked with ``*`` or ``#``
("f*ck", "sh#t"). A single word may also be spelled out with separators
("f u c k", "f.u.c.k"). Whole-word matching (the default) is what keeps
"Scunthorpe", "assassination" and "cockpit" clean; allow-lists exempt the
innocent words that contain an entry when prefix or substring matching is
asked for.

The pattern runs on RE2, a finite-automaton engine: one search takes time
linear in the text whatever the entries, where a backtracking engine
(Python's ``re``) took cubic time on a stretched letter such as
``"x" * 800 + "a"`` against the entry "xxx". Finding every hit takes one more
search after each hit; a caller's time budget is checked between searches.
RE2 has no lookarounds, so word boundaries are written as ``\\b`` or ``\\B``
next to the first and the last character of each entry, whose word/non-word
class is known when the pattern is built. The entries of a list are merged
into a trie so a long list costs little more than a short one.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any

import re2

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
SEPARATORS = " .-_,/~"  # and any other whitespace: between the letters of "f u c k"
# A hit must not touch one of these on a bounded side (RE2's \b agrees once "_" is replaced).
WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")

# The matcher reads the folded text through a small alphabet, so that its classes stay
# short ASCII ranges: every whitespace character reads as " ", "_" (a word character
# for RE2's \b, a separator here) as _UNDERSCORE, and other punctuation beyond ASCII as
# _PUNCTUATION. Each stand-in behaves in every class exactly like what it replaces.
_UNDERSCORE = "\x1f"
_PUNCTUATION = "\x00"
_SEPARATOR = SEPARATORS.replace("_", _UNDERSCORE)
# Between the words of a phrase: any run of the matcher's spaces and punctuation.
_GAP = r"\x{0}-\x{2f}\x{3a}-\x{40}\x{5b}-\x{60}\x{7b}-\x{7f}"
_PYTHON_SPECIAL = frozenset("()[]{}?*+-|^$\\.&~# \t\n\r\v\f")  # what re.escape escapes
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = 16 << 20  # room for the automaton of the longest list allowed (the default is 8 MiB)


class MatchMode(StrEnum):
    """Where an entry may sit inside a word."""

    WORD = "word"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    SUBSTRING = "substring"


class WordListError(ValueError):
    """A word list cannot be compiled."""


class OutOfTime(Exception):
    """Matching stopped because the caller's time budget ran out."""


@lru_cache(maxsize=4096)
def _stand_in(char: str) -> str:
    """The matcher's reading of one folded character."""
    if char == "_":
        return _UNDERSCORE
    if char.isspace():
        return " "
    if not char.isascii() and not char.isalnum():
        return _PUNCTUATION
    return char


class _Alphabet(dict[int, int]):
    """A ``str.translate`` table into the matcher's alphabet, keeping the entries' own characters."""

    def __init__(self, keep: frozenset[str]) -> None:
        super().__init__()
        self.keep = keep
        for code in range(128):
            self[code] = self._map(code)

    def _map(self, code: int) -> int:
        char = chr(code)
        return code if char in self.keep else ord(_stand_in(char))

    def __missing__(self, code: int) -> int:
        return self._map(code)  # not stored: an attacker could otherwise grow it to all of Unicode


@lru_cache(maxsize=64)
def _alphabet(keep: frozenset[str]) -> _Alphabet:
    return _Alphabet(keep)


# ASCII reads alike in every alphabet (an alphabet only keeps punctuation beyond ASCII), so an
# ASCII text is read through one bytes table, in C, where str.translate looks each character up.
_ASCII_READ = bytes(ord(_stand_in(chr(code))) for code in range(128)) + bytes(range(128, 256))


@lru_cache(maxsize=16)
def _read(folded: str, keep: frozenset[str]) -> tuple[str, bytes]:
    """The folded text in the matcher's alphabet, and its UTF-8 bytes (once for all the lists)."""
    if folded.isascii():
        data = folded.encode().translate(_ASCII_READ)
        return data.decode(), data
    read = folded.translate(_alphabet(keep))
    return read, read.encode()


def _escape(char: str) -> str:
    """One character in RE2 syntax, inside or outside a class."""
    if char.isalnum() or not char.isascii():
        return char
    return "\\" + char if char.isprintable() and char != " " else f"\\x{{{ord(char):x}}}"


@cache
def _class(chars: str) -> str:
    """An RE2 character class (or a single character) matching any of ``chars``."""
    if len(chars) == 1:
        return _escape(chars)
    return "[" + "".join(_escape(c) for c in chars) + "]"


class _Kind(StrEnum):
    LETTER = "letter"  # a letter or digit of a compact entry: itself and its stand-ins, stretched
    SPELLED = "spelled"  # a letter of a spelled-out entry ("f u c k"): once
    LITERAL = "literal"  # punctuation written in the entry: itself, once
    GAP = "gap"  # between the words of a phrase
    SEPARATOR = "separator"  # between the letters of a spelled-out entry


@dataclass(frozen=True, slots=True)
class _Atom:
    """One position of an entry: the characters it accepts, once or repeated.

    ``key`` is the atom as the backtracking pattern before RE2 spelled it: it orders a
    trie's branches, so alternatives are tried in the same order as before and every
    hit stays where it was. ``text`` is the atom in RE2 syntax.
    """

    kind: _Kind
    chars: str
    repeat: bool
    key: str
    text: str

    def split(self) -> tuple[str, str]:
        """The word characters and the other characters of this position."""
        word = "".join(c for c in self.chars if c in WORD_CHARS)
        other = "".join(c for c in self.chars if c not in WORD_CHARS)
        return word, other


@cache
def _atom(kind: _Kind, chars: str = "") -> _Atom:
    repeat = kind in (_Kind.LETTER, _Kind.GAP, _Kind.SEPARATOR)
    plain = "".join("\\" + c if c in _PYTHON_SPECIAL else c for c in chars.replace(_UNDERSCORE, "_"))
    if kind is _Kind.GAP:  # chars: punctuation beyond ASCII that the entries keep
        key, text = r"[\W_]+", "[" + _GAP + "".join(_escape(c) for c in chars) + "]+"
    elif kind is _Kind.SEPARATOR:
        key, text = r"[\s.\-_,/~]+", r"[\x1f ,-/~]+"  # _SEPARATOR
    elif kind is _Kind.LITERAL:
        key, text = plain, _class(chars)
    else:
        key, text = f"[{plain}]" + ("+" if repeat else ""), _class(chars) + ("+" if repeat else "")
    return _Atom(kind, chars, repeat, key, text)


_SEPARATOR_ATOM = _atom(_Kind.SEPARATOR, _SEPARATOR)


@cache
def _letter(char: str, masked: bool) -> _Atom:
    members = LEET.get(char, char) + (MASKS if masked else "")
    return _atom(_Kind.LETTER, "".join(dict.fromkeys(members)))


def _compact_atoms(entry: str, keep: str) -> list[_Atom]:
    """Atoms for an entry written normally, possibly stretched, masked or leet."""
    gap = _atom(_Kind.GAP, keep)
    atoms = []
    letters = [c for c in entry if not c.isspace()]
    inner = range(1, len(letters) - 1)
    position = 0
    for char in entry:
        if char.isspace():
            atoms.append(gap)
            continue
        if char.isalnum():
            atoms.append(_letter(char, position in inner))
        else:
            atoms.append(_atom(_Kind.LITERAL, _UNDERSCORE if char == "_" else char))
        position += 1
    return atoms


@cache
def _spelled(char: str) -> _Atom:
    return _atom(_Kind.SPELLED, LEET.get(char, char))


def _spaced_atoms(entry: str) -> list[_Atom]:
    """Atoms for a single word spelled with a separator between every letter."""
    atoms = []
    for index, char in enumerate(entry):
        if index:
            atoms.append(_SEPARATOR_ATOM)
        atoms.append(_spelled(char))
    return atoms


@dataclass(frozen=True, slots=True)
class _Bounds:
    """What a mode asks of the characters around a hit."""

    before: bool
    after: bool
    plural: bool

    def lead(self, word: bool) -> str:
        """Before a first character: the previous one is not a word character."""
        return (r"\b" if word else r"\B") if self.before else ""

    def tail(self, word: bool) -> str:
        """After a last character: an optional plural, then no word character."""
        if not self.after:
            return ""
        boundary = r"\b" if word else r"\B"
        return rf"(?:e?s\b|{boundary})" if self.plural else boundary


def _by_kind(atom: _Atom, render: Callable[[str, bool], str]) -> str:
    """One alternative per kind of character of ``atom`` (word, then other)."""
    word, other = atom.split()
    options = [render(chars, is_word) for chars, is_word in ((word, True), (other, False)) if chars]
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


def _bounded(atoms: list[_Atom], bounds: _Bounds) -> list[str]:
    """Render atoms with the mode's boundaries written into the first and the last one.

    ``\\b`` next to a word character and ``\\B`` next to any other one both say "the
    character beyond is not a word character". Each end of an entry is split into
    its word and other characters, keeping the order the old lookaround pattern tried
    things in (longest stretch first, plural before none), so the hits stay the same.
    """
    if not (bounds.before or bounds.after):
        return [a.text for a in atoms]
    if len(atoms) == 1:
        return [_only(atoms[0], bounds)]
    rendered = [a.text for a in atoms]
    if bounds.before:
        rendered[0] = _first(atoms[0], bounds)
    if bounds.after:
        rendered[-1] = _last(atoms[-1], bounds)
    return rendered


@cache
def _first(atom: _Atom, bounds: _Bounds) -> str:
    rest = _class(atom.chars) + "*" if atom.repeat else ""
    return _by_kind(atom, lambda c, w: bounds.lead(w) + _class(c)) + rest


@cache
def _last(atom: _Atom, bounds: _Bounds) -> str:
    rest = _class(atom.chars) + "*" if atom.repeat else ""
    return rest + _by_kind(atom, lambda c, w: _class(c) + bounds.tail(w))


@cache
def _only(atom: _Atom, bounds: _Bounds) -> str:
    """An entry of one atom, bounded on both sides as the mode asks."""
    if atom.repeat and bounds.after:
        # Two or more characters (the last decides what may follow), else just the first.
        longer = _last(atom, bounds)
        return _by_kind(atom, lambda c, w: f"{bounds.lead(w)}{_class(c)}(?:{longer}|{bounds.tail(w)})")
    rest = _class(atom.chars) + "*" if atom.repeat else ""
    return _by_kind(atom, lambda c, w: f"{bounds.lead(w)}{_class(c)}{rest}{bounds.tail(w)}")


_Trie = dict[tuple[str, str], "_Trie"]
_END = ("", "")


def _insert(trie: _Trie, atoms: list[_Atom], rendered: list[str]) -> None:
    node = trie
    for atom, text in zip(atoms, rendered, strict=True):
        key = (atom.key, text)
        child = node.get(key)
        if child is None:
            child = node[key] = {}
        node = child
    node[_END] = {}


def _render(node: _Trie) -> str:
    """Render a trie of regex atoms as one alternation with shared prefixes.

    Branches are tried in the order of their atoms as the old pattern spelled them;
    where one entry ends and another goes on, the longer is tried first, as before.
    """
    chain = []
    while len(node) == 1 and _END not in node:  # a run of single branches: no alternation
        ((key, child),) = node.items()
        chain.append(key[1])
        node = child
    children = sorted(
        (k for k in node if k != _END), key=lambda k: (k[0], len(node[k]) == 1 and _END in node[k], k[1])
    )
    branches = [text + _render(node[(key, text)]) for key, text in children]
    if not branches:
        return "".join(chain)
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if _END in node:
        body = "(?:" + body + ")?"
    return "".join(chain) + body


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
    pattern: Any = field(init=False)  # a compiled RE2 pattern
    _longest_allowed: int = field(init=False, repr=False)
    _keep: frozenset[str] = field(init=False, repr=False)
    _spelled: bool = field(init=False, repr=False)  # whether group 1 (spelled-out forms) exists

    def __post_init__(self) -> None:
        entries = [folded for folded in map(fold_entry, self.entries) if folded]
        if not entries:
            raise WordListError("the word list is empty")
        # Punctuation beyond ASCII written in an entry is matched as itself.
        self._longest_allowed = max(map(len, self.allow), default=0)
        self._keep = frozenset(c for e in entries for c in e if _stand_in(c) == _PUNCTUATION)
        bounds = _Bounds(
            before=self.mode in (MatchMode.WORD, MatchMode.PREFIX),
            after=self.mode in (MatchMode.WORD, MatchMode.SUFFIX),
            plural=self.plurals and self.mode is MatchMode.WORD,
        )
        compact: _Trie = {}
        spaced: _Trie = {}
        for entry in entries:
            atoms = _compact_atoms(entry, "".join(sorted(self._keep)))
            _insert(compact, atoms, _bounded(atoms, bounds))
            if " " not in entry and len(entry) >= 3 and entry.isalpha():
                atoms = _spaced_atoms(entry)
                _insert(spaced, atoms, _bounded(atoms, bounds))
        body = _render(compact)
        self._spelled = bool(spaced)
        if spaced:
            # The spelled-out forms are group 1, so a hit says which form it is.
            body = f"(?:{body}|({_render(spaced)}))"
        try:
            self.pattern = re2.compile(body, options=_OPTIONS)
        except re2.error as exc:
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise WordListError(f"the word list cannot be compiled: {detail}") from None

    def finditer(self, folded: str, expired: Callable[[], bool] | None = None) -> Iterator[Hit]:
        """Yield the hits in folded text, skipping allow-listed words and bare numbers.

        Each RE2 search takes time linear in the text; there is one per match found.
        Between searches, OutOfTime is raised once ``expired()`` says so.
        """
        read, data = _read(folded, self._keep)
        to_char: Callable[[int], int] | None = _same if len(data) == len(read) else None
        words = _WordFinder(folded)
        for match in self.pattern.finditer(data):
            if expired is not None and expired():
                raise OutOfTime
            if to_char is None:
                to_char = _char_offsets(read)
            start, end = to_char(match.start()), to_char(match.end())
            if not any(c.isalpha() for c in folded[start:end]):
                continue  # "455" is a number, not "ass"
            if self._spelled and match.start(1) >= 0 and _inside_spelling(read, start, end):
                continue  # "a.s.s" inside "T.A.S.S." or "b a s s" is not the word spelled out
            if (self.allow or self.allow_prefixes) and self._allowed(folded, *words.around(start, end)):
                continue
            yield Hit(start, end)

    @property
    def alphabet(self) -> frozenset[str]:
        """The characters beyond ASCII punctuation that this list reads as themselves."""
        return self._keep

    def read(self, folded: str) -> bytes:
        """The bytes of folded text that ``pattern`` searches (lists of one alphabet share them)."""
        return _read(folded, self._keep)[1]

    def _allowed(self, folded: str, start: int, end: int) -> bool:
        """Whether the word folded[start:end] is exempt (without copying a long word)."""
        if folded.startswith(self.allow_prefixes, start, end):
            return True
        return end - start <= self._longest_allowed and folded[start:end] in self.allow


_SEPARATOR_CHARS = frozenset(_SEPARATOR)


def _single(read: str, index: int) -> bool:
    """Whether read[index] is a letter or digit standing alone (no word character either side)."""
    if not 0 <= index < len(read) or not read[index].isalnum():
        return False
    before = index > 0 and read[index - 1].isalnum()
    after = index + 1 < len(read) and read[index + 1].isalnum()
    return not (before or after)


def _inside_spelling(read: str, start: int, end: int) -> bool:
    """Whether a short spelled-out hit is only part of a longer spelled-out run.

    "T.A.S.S." spells "tass" and "b a s s" spells "bass": a letter standing alone just
    before the hit, or two more after it, continue the run. Only three-letter words are
    read this way: a longer word spelled out inside a run ("f u c k y o u") is meant.
    """
    if sum(c.isalnum() for c in read[start:end]) > 3:
        return False
    if start >= 2 and read[start - 1] in _SEPARATOR_CHARS and _single(read, start - 2):
        return True
    after = end
    for _ in range(2):
        if not (after + 1 < len(read) and read[after] in _SEPARATOR_CHARS and _single(read, after + 1)):
            return False
        after += 2
    return True


class _WordFinder:
    """The word (run of letters and digits) around each of a text's hits, found in linear time.

    Hits come in order and do not overlap, so each character is looked at a bounded
    number of times however many hits one long word holds.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.last: tuple[int, int, int, int] | None = None  # hit start, hit end, word start, word end

    def around(self, start: int, end: int) -> tuple[int, int]:
        text, last = self.text, self.last
        if last is not None and end <= last[3]:
            word_end = last[3]  # text[last hit end:word end] is all letters and digits
        else:
            word_end = end
            while word_end < len(text) and text[word_end].isalnum():
                word_end += 1
        word_start = start
        while word_start > 0 and text[word_start - 1].isalnum():
            word_start -= 1
            if last is not None and word_start == last[0]:
                word_start = last[2]  # the rest of the way is the last hit's word
                break
        self.last = (start, end, word_start, word_end)
        return word_start, word_end


def _same(offset: int) -> int:
    return offset


def _char_offsets(text: str) -> Callable[[int], int]:
    """From offsets in the UTF-8 bytes of ``text`` (at character starts) to character offsets."""
    starts = list(itertools.accumulate((len(c.encode()) for c in text), initial=0))
    return lambda offset: bisect.bisect_left(starts, offset)


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
