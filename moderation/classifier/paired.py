"""Two compiled heads scored from one reading of a batch: the toxicity model and the contribution
head read the same n-grams (word 1-2-grams and character 2-5-grams of the same prepared text),
so finding, grouping and sorting a comment's n-grams once serves both.

:class:`Pair` numbers the n-grams of both vocabularies in one space: the first model's columns
as they are, then the second's n-grams the first does not have, past the first's last column.
It builds, once, a word and a character step over that space (``compiled._Tfidf``, with their
own tables and word memo), and ``_linear.pair_decisions`` turns each row's n-grams, sorted once,
into both models' decision values. Both vocabularies are sorted by term (scikit-learn sorts
them), so the second model's columns among the first's ascend with them and each model gets its
columns in its own order: the scores are each model's alone, to the bit
(``tests/test_same_outputs.py``).

Heads that read text differently (another analyzer, n-gram range, token pattern, case, tf
scaling, or n-grams with a NUL) are not paired (:class:`NotPairable`): each is scored alone.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from . import compiled

log = logging.getLogger(__name__)


class NotPairable(ValueError):
    """The two heads do not read the same n-grams of a text."""


class Pair:
    """The first head's and the second's steps over one numbering of both vocabularies."""

    def __init__(self, first: compiled.Scorer, second: compiled.Scorer) -> None:
        if compiled._linear is None:
            raise NotPairable("the C kernel is not built")
        if first.sublinear != second.sublinear or len(first.tfidf) != len(second.tfidf):
            raise NotPairable("other TF-IDF steps")
        self.first, self.second = first, second
        self.width = first.width
        # Each of the first model's columns as the second's (-1: not one of its features).
        self.second_columns: np.ndarray = np.full(first.width, -1, dtype=np.int64)
        self.blocks: list[compiled._Tfidf] = []
        for index, (one, two) in enumerate(zip(first.tfidf, second.tfidf, strict=True)):
            _check_alike(one, two)
            if one.analyzer == "word":
                spec, arrays = self._word_step(one, two, index)
            else:
                spec, arrays = self._char_step(one, two, index)
            self.blocks.append(compiled._Tfidf(spec, index, arrays))
        shared = self.second_columns[self.second_columns >= 0]
        if len(shared) > 1 and not bool(np.all(shared[1:] > shared[:-1])):
            raise NotPairable("the vocabularies are not in the same order")
        if second.width >= 1 << 24:
            raise NotPairable("too many features in the second model for a float32 lane")
        # The first model's table with each row's second column in the lane past its idf: the
        # kernel fetches it with the row (an array beside it cost a cache miss a column). The
        # first model's own table where that lane is free (a pad lane its sums read and drop:
        # its scores do not change), else a copy.
        self.lane = len(first.categories) + 1
        table = first.table
        if table.shape[1] <= self.lane:
            table = np.pad(table, ((0, 0), (0, 4)))  # still a multiple of four
        elif first.pair is not None or not table.flags.writeable or table[:, self.lane].any():
            table = table.copy()  # paired before: an older pair may still be scoring with it
        self.table = table
        self.table[:, self.lane] = self.second_columns
        del self.second_columns  # 8 bytes a column, in the lane now

    def decisions(self, prepared: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Both models' decision values (before the intercept) for prepared texts."""
        n = len(prepared)
        first, second = self.first, self.second
        parts = [block.kernel_part(prepared) for block in self.blocks]
        outputs = []
        for scorer, table in ((first, self.table), (second, second.table)):
            out = np.zeros((n, len(scorer.categories)), dtype=np.float32)
            outputs.append((table, scorer.tfidf_starts, *scorer.lexicon_features(prepared), out))
        compiled._linear.pair_decisions(
            parts,
            self.lane,
            compiled.log_counts_for(prepared),
            first.sublinear,
            *outputs,
        )
        return outputs[0][-1], outputs[1][-1]

    def _second(self, first_columns: np.ndarray, second_columns: np.ndarray) -> np.ndarray:
        """The columns of the second model's n-grams in the shared numbering, given for each its
        column in the first model (-1 where the first has none): the first's, or past its last."""
        shared = first_columns >= 0
        self.second_columns[first_columns[shared]] = second_columns[shared]
        return np.where(shared, first_columns, self.width + second_columns)

    def _word_step(
        self, one: compiled._Tfidf, two: compiled._Tfidf, index: int
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A word n-gram step over both vocabularies: the first's tokens, then the second's
        others; the n-grams' integers remade in the base of that many tokens."""
        if one.vocabulary is None or one.lookup is None or two.vocabulary is None:
            raise NotPairable("word n-grams the kernel does not read")
        tokens = one._tokens()
        number = {token: i for i, token in enumerate(tokens)}
        theirs = two._tokens()
        tokens += [token for token in dict.fromkeys(theirs) if token not in number]
        number = {token: i for i, token in enumerate(tokens)}
        renumber = np.array([number[token] for token in theirs] + [len(tokens)], dtype=np.int64)
        base = len(tokens) + 1
        if base ** max(one.max_n, 1) >= 1 << 62:
            raise NotPairable("too many tokens for one integer an n-gram")
        # Unigrams: the first's columns, then the second's (a token's unigram column in either).
        unigrams = np.full(len(tokens) + 1, -1, dtype=np.int64)
        unigrams[: one.n_tokens] = one.unigrams[: one.n_tokens]
        mine = np.flatnonzero(two.unigrams[: two.n_tokens] >= 0)
        at = renumber[mine]
        unigrams[at] = self._second(unigrams[at], two.unigrams[mine])
        # Longer n-grams: each model's integers read back into token numbers and remade.
        keys, columns = self._keys(
            _rebase(one.keys, one.n_tokens + 1, np.arange(one.n_tokens + 1, dtype=np.int64), base),
            one.key_columns,
            _rebase(two.keys, two.n_tokens + 1, renumber, base),
            two.key_columns,
        )
        spec = {
            **_spec(one),
            "n_tokens": len(tokens),
            "width": int((unigrams >= 0).sum()) + len(keys),
        }
        arrays: dict[str, np.ndarray] = {
            f"tokens{index}": np.frombuffer("\n".join(tokens).encode("utf-8"), dtype=np.uint8),
            f"unigrams{index}": unigrams,
            f"keys{index}": keys,
            f"keycolumns{index}": columns,
        }
        return spec, arrays

    def _keys(
        self, keys: np.ndarray, columns: np.ndarray, more: np.ndarray, their_columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first model's n-gram integers and columns, with the second's (``more``, in the same
        numbering) it does not have, numbered past its last column; sorted by integer."""
        known = _lookup(keys, columns, more)
        mixed = self._second(known, their_columns)
        fresh = known < 0
        keys = np.concatenate((keys, more[fresh]))
        columns = np.concatenate((columns, mixed[fresh]))
        order = np.argsort(keys)
        return keys[order], columns[order]

    def _char_step(
        self, one: compiled._Tfidf, two: compiled._Tfidf, index: int
    ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """A character n-gram step over both vocabularies: the characters of both, and each
        n-gram's integer remade from their numbers there."""
        if one.bits is None or two.bits is None or one.nul_terms or two.nul_terms or one.lookup is None:
            raise NotPairable("character n-grams the kernel does not read by number")
        chars = np.union1d(one.chars, two.chars).astype(np.uint32)
        bits = max(len(chars).bit_length(), 1)
        if bits * max(one.max_n, 1) > 63:
            raise NotPairable("too many characters for one integer an n-gram")
        keys, columns = self._keys(
            _repack(one.keys, one.bits, np.searchsorted(chars, one.chars) + 1, bits),
            one.key_columns,
            _repack(two.keys, two.bits, np.searchsorted(chars, two.chars) + 1, bits),
            two.key_columns,
        )
        spec = {**_spec(one), "bits": bits, "nul_terms": {}, "width": len(keys)}
        arrays = {f"chars{index}": chars, f"keys{index}": keys, f"keycolumns{index}": columns}
        return spec, arrays


def _check_alike(one: compiled._Tfidf, two: compiled._Tfidf) -> None:
    """NotPairable unless the two steps read a text the same way."""
    for name in ("analyzer", "lowercase", "min_n", "max_n", "pattern", "sublinear"):
        if getattr(one, name) != getattr(two, name):
            raise NotPairable(f"the steps differ in {name}")


def _spec(step: compiled._Tfidf) -> dict[str, Any]:
    """The description of a shared step like ``step`` (its columns are the shared numbering's)."""
    return {
        "name": f"both heads' {step.analyzer} n-grams",
        "analyzer": step.analyzer,
        "lowercase": step.lowercase,
        "ngram_range": [step.min_n, step.max_n],
        "sublinear_tf": step.sublinear,
        "token_pattern": step.pattern,
        "offset": 0,
    }


def _rebase(keys: np.ndarray, base: int, renumber: np.ndarray, new_base: int) -> np.ndarray:
    """Word n-gram integers (each token's number plus one, as digits in ``base``) with each token
    renumbered by ``renumber``, as digits in ``new_base``."""
    out = np.zeros(len(keys), dtype=np.int64)
    scale = np.ones(len(keys), dtype=np.int64)
    rest = keys.astype(np.int64)
    while np.any(rest > 0):
        live = rest > 0
        digit = rest % base
        out += np.where(live, (renumber[np.maximum(digit - 1, 0)] + 1) * scale, 0)
        scale = np.where(live, scale * new_base, scale)
        rest //= base
    return out


def _repack(keys: np.ndarray, bits: int, renumber: np.ndarray, new_bits: int) -> np.ndarray:
    """Character n-gram integers (each character's number, ``bits`` apiece) with each character
    renumbered (``renumber[number - 1]``), ``new_bits`` apiece."""
    out = np.zeros(len(keys), dtype=np.int64)
    shift = np.zeros(len(keys), dtype=np.int64)
    rest = keys.astype(np.int64)
    mask = (1 << bits) - 1
    while np.any(rest > 0):
        live = rest > 0
        digit = rest & mask
        out |= np.where(live, renumber[np.maximum(digit - 1, 0)].astype(np.int64) << shift, 0)
        shift = np.where(live, shift + new_bits, shift)
        rest >>= bits
    return out


def _lookup(keys: np.ndarray, columns: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The column of each query among (keys, columns), -1 where it is not one of the keys."""
    order = np.argsort(keys)
    ordered = keys[order]
    at = np.minimum(np.searchsorted(ordered, queries), max(len(ordered) - 1, 0))
    if not len(ordered):
        return np.full(len(queries), -1, dtype=np.int64)
    return np.where(ordered[at] == queries, columns[order][at], -1).astype(np.int64)


def pair(first: Any, second: Any) -> Pair | None:
    """Pair two loaded heads (``CompiledClassifier``s, or a model holding one as ``classifier``)
    so that scoring a batch with the first scores it for the second too, which then finds its
    scores when it is asked for the same batch; None (each scored alone) when either is not
    compiled or they read text differently. Paired once: the same two again cost nothing."""
    one = getattr(first, "scorer", None)
    two = getattr(getattr(second, "classifier", second), "scorer", None)
    if not isinstance(one, compiled.Scorer) or not isinstance(two, compiled.Scorer) or one is two:
        return None
    current = one.pair
    if current is not None and current.second is two:
        return current
    if one.unpaired is two:
        return None
    try:
        made = Pair(one, two)
    except NotPairable as exc:
        log.info("the heads are scored one after the other: %s", exc)
        one.unpaired = two
        return None
    one.pair = made
    return made
