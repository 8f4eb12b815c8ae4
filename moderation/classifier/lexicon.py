"""Lexicon features: counts of words from the project's own word lists.

The n-gram features only know words the corpus contains; these counts let
what the model learns about "idiot" and "moron" carry over to "nincompoop"
when it is in the insult list. Lists live in ``lexicons/`` (one file per
lexicon, entries separated by white space, ``#`` comments, a trailing ``*``
for "any ending", ``-`` joining the words of a phrase) and are copied into
the Pipeline when it is fitted, so a saved model does not depend on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

LEXICONS = (
    "insult_nouns",
    "negative_adjectives",
    "profanity",
    "threat_words",
    "sexual_words",
    "dehumanizing",
    "incivility",
    "identity_terms",
    "second_person",
)
# Lexicons that only give context to others: counting them alone would teach the
# model that addressing someone, or naming a group, is itself a sign of abuse.
CONTEXT_ONLY = ("identity_terms", "second_person")
# Lexicons whose words are counted again when they come right after "you"/"your".
ADDRESSED = ("insult_nouns", "negative_adjectives", "profanity")
# Lexicons counted again near an identity term ("Muslims are vermin").
NEAR_IDENTITY = ("negative_adjectives", "dehumanizing", "insult_nouns", "threat_words")
WINDOW = 5
_TOKEN = re.compile(r"[a-z0-9_']+")


def read_lexicons() -> dict[str, list[str]]:
    """The shipped word lists."""
    folder = resources.files("moderation.classifier") / "lexicons"
    out = {}
    for name in LEXICONS:
        text = (folder / f"{name}.txt").read_text("utf-8")
        entries = []
        for line in text.splitlines():
            entries += line.split("#", 1)[0].lower().split()
        out[name] = entries
    return out


class LexiconFeatures(TransformerMixin, BaseEstimator):
    """Per lexicon: log(1 + hits); plus hits addressed to "you" and hits near identity terms."""

    def __init__(self, lexicons: dict[str, list[str]] | None = None, scale: float = 0.5) -> None:
        self.lexicons = lexicons
        self.scale = scale

    def fit(self, X: Iterable[str], y: Any = None) -> LexiconFeatures:
        """Index the word lists (read from the package when none were given)."""
        lexicons = self.lexicons if self.lexicons is not None else read_lexicons()
        self.names_ = list(lexicons)
        self.exact_: dict[str, list[int]] = {}
        self.prefix_: dict[str, list[int]] = {}
        self.phrases_: dict[str, list[int]] = {}
        for index, name in enumerate(self.names_):
            for entry in lexicons[name]:
                words = entry.replace("-", " ").split()
                if len(words) > 1:
                    self.phrases_.setdefault(" ".join(words), []).append(index)
                elif entry.endswith("*"):
                    self.prefix_.setdefault(entry[:-1], []).append(index)
                else:
                    self.exact_.setdefault(entry, []).append(index)
        self.prefix_lengths_ = sorted({len(p) for p in self.prefix_}, reverse=True)
        self.phrase_lengths_ = sorted({len(p.split()) for p in self.phrases_})
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_cache", None)  # a memo, rebuilt as comments are scored
        state.pop("_phrase_firsts", None)
        return state

    def _token_hits(self, token: str) -> tuple[int, ...]:
        """Lexicons a single token belongs to (memoised: tokens repeat across comments)."""
        cache = self.__dict__.setdefault("_cache", {})
        found = cache.get(token)
        if found is None:
            hits = set(self.exact_.get(token, ()))
            for length in self.prefix_lengths_:
                if length <= len(token):
                    hits.update(self.prefix_.get(token[:length], ()))
            found = tuple(sorted(hits))
            if len(cache) < 200_000:
                cache[token] = found
        return found

    def _hits(self, tokens: list[str]) -> list[tuple[int, ...]]:
        get = self.__dict__.setdefault("_cache", {}).get
        hits = [found if (found := get(token)) is not None else self._token_hits(token) for token in tokens]
        if self.phrases_:
            firsts = self.__dict__.get("_phrase_firsts")
            if firsts is None:
                firsts = self._phrase_firsts = frozenset(p.split()[0] for p in self.phrases_)
            for i in range(len(tokens)):
                if tokens[i] not in firsts:
                    continue
                for n in self.phrase_lengths_:
                    if i + n <= len(tokens):
                        extra = self.phrases_.get(" ".join(tokens[i : i + n]))
                        if extra:
                            hits[i] = tuple(sorted({*hits[i], *extra}))
        return hits

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        """(n, features) sparse matrix of scaled log counts."""
        names = self.names_
        second = names.index("second_person")
        identity = names.index("identity_terms")
        addressed = [names.index(n) for n in ADDRESSED]
        near = [names.index(n) for n in NEAR_IDENTITY]
        context_only = [names.index(n) for n in CONTEXT_ONLY]
        width = len(names) + len(addressed) + len(near)
        rows = []
        for text in X:
            hits = self._hits(_TOKEN.findall(text))
            counts = np.zeros(width, dtype=np.float32)
            # Running counts of "you" words and identity terms, to test windows in O(1).
            seconds = np.cumsum([0] + [second in h for h in hits])
            identities = np.cumsum([0] + [identity in h for h in hits])
            total = len(hits)
            for i, found in enumerate(hits):
                if not found:
                    continue
                for index in found:
                    counts[index] += 1
                if seconds[i] - seconds[max(0, i - WINDOW)] > 0:
                    for j, index in enumerate(addressed):
                        if index in found:
                            counts[len(names) + j] += 1
                if identities[min(total, i + WINDOW + 1)] - identities[max(0, i - WINDOW)] > 0:
                    for j, index in enumerate(near):
                        if index in found:
                            counts[len(names) + len(addressed) + j] += 1
            for index in context_only:
                counts[index] = 0
            rows.append(np.log1p(counts) * self.scale)
        return sp.csr_matrix(np.vstack(rows) if rows else np.zeros((0, width), dtype=np.float32))
