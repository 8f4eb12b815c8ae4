"""Preparing text for the classifier: the rule engine's folding, plus undoing disguises.

Training and serving both go through ``prepare`` (it is the first step of the
saved Pipeline), so "sh1t", "f u c k" and "fuuuuck" reach the features as
"shit", "fuck" and "fuuck".
"""

from __future__ import annotations

import functools
import re

from ..text.normalize import fold

try:  # the kernel checks in one pass which substitutions a text needs (`make setup` builds it)
    from . import _linear
except ImportError:  # pragma: no cover - a checkout where `make setup` has not run
    _linear = None  # type: ignore[assignment]

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i"}
)
# A word mixing letters with leet characters or masks: "sh1t", "a$$", "f*ck", "b!tch".
_DISGUISED = re.compile(r"(?<![\w$@!*])(?=[\w$@!*]*[a-z])(?=[\w$@!*]*[0-9$@!*])[\w$@!*]{2,}")
# Single letters separated by spaces or dots: "f u c k", "f.u.c.k".
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){2,}[a-z]\b")
# _DISGUISED needs one of these in the text (the check without the kernel).
_DISGUISE_MARK = re.compile(r"[0-9$@!*]")
_STRETCH = re.compile(r"([a-z])\1{2,}")
_MASK = re.compile(r"(?<=[a-z])[*#]+(?=[a-z])")


def _undisguise(match: re.Match[str]) -> str:
    word = match.group()
    core = word.rstrip("!")  # a trailing "!" is punctuation, not an "i"
    if not any(c.isalpha() for c in core):
        return word
    return _MASK.sub("_", core.translate(_LEET)) + word[len(core) :]


def _needs(text: str) -> int:
    """Which substitutions can change the text (bits: 1 spaced, 2 disguised, 4 stretched): the
    kernel's one pass over the characters, or (without it) all but a disguise without a mark."""
    if _linear is not None:
        return _linear.prepare_needs(text)
    return 7 if _DISGUISE_MARK.search(text) else 5


# Both heads prepare each comment (the toxicity model, then the contribution head, in the same
# batch): the second asks this memo. Bounded, so long comments cannot pile up.
@functools.lru_cache(maxsize=512)
def prepare(text: str) -> str:
    """Fold, de-leet, join spaced-out letters and shorten stretched letters. Most comments need
    none of the three substitutions: each runs only where its condition holds."""
    folded = fold(text)
    needs = _needs(folded)
    if needs & 1:
        spaced = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group()), folded)
        if spaced != folded:
            folded, needs = spaced, _needs(spaced)
    if needs & 2:
        undisguised = _DISGUISED.sub(_undisguise, folded) if _linear is None else _linear.undisguise(folded)
        if undisguised != folded:
            folded, needs = undisguised, _needs(undisguised)
    return _STRETCH.sub(r"\1\1", folded) if needs & 4 else folded
