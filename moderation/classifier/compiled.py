"""The compiled scoring form of a trained Pipeline: its fitted numbers, scored with numpy alone.

Serving needs only what the Pipeline (``estimators.build_pipeline``) learned: the vocabulary and
idf of each TF-IDF step, the lexicons, and each category's weights, intercept and Platt sigmoid.
:func:`derive` takes them out of a loaded Pipeline and checks that scoring with them gives the
Pipeline's probabilities; :func:`write` saves them beside the artifact (``classifier.skops`` ->
``classifier.scoring.npz``) under the artifact's sha256, and :func:`read` refuses a file made
from other bytes or in an older layout. Reading and scoring import numpy only (no scikit-learn,
scipy or skops), so a process starts in a fraction of the time; and scoring skips scikit-learn's
per-call validation and sparse-matrix bookkeeping, which cost more than the arithmetic when
comments come one at a time.

The arithmetic is the Pipeline's, step for step and in the same order (features rounded to
float32, products added one by one in column order in float32), so the probabilities are the
Pipeline's to the bit; :func:`check` still allows them to differ by 1e-6.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..verdict import score_rows
from .textprep import prepare

if TYPE_CHECKING:  # paired imports this module
    from .paired import Pair

try:  # the linear step in C, built by `make setup`; the numpy code below gives the same numbers
    from . import _linear
except ImportError:  # pragma: no cover - a checkout where `make setup` has not run
    _linear = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# Bump when the layout of the file, or how it is derived, changes: older files are rebuilt.
FORMAT = 3
SUFFIX = ".scoring.npz"
# Largest difference from the Pipeline's probabilities that derive() accepts.
TOLERANCE = 1e-6
# Distinct words whose character n-gram ids each process keeps (about 200 bytes each), and the
# most ids it keeps for them (8 bytes each): beyond either, the next new word starts it afresh.
WORD_CACHE_SIZE = 50_000
WORD_CACHE_IDS = 2_000_000
# glibc's malloc hands blocks over 128 KB back to the kernel when they are freed, and trims the
# heap's free top past a few MB: a batch's arrays (several MB for 256 comments) were fresh pages
# every time, and faulting them in cost a third of the word memo's gather and most of a copy.
# Below these sizes they stay in the process for the next batch (the peak does not change).
HEAP_MMAP_THRESHOLD = 32 << 20
HEAP_TRIM_THRESHOLD = 64 << 20
# The token patterns the kernel finds in C (and the shortest token each takes); another pattern
# is found by ``re``.
C_TOKEN_PATTERNS = {r"(?u)\b\w+\b": 1, r"(?u)\b\w\w+\b": 2}
C_LEXICON_TOKEN = "[a-z0-9_']+"
# Distinct tokens whose lexicon hits each process keeps.
TOKEN_CACHE_SIZE = 200_000
# What derive() scores both ways before it trusts the compiled form.
CHECK_TEXTS = (
    "",
    "a",
    "You are a complete idiot and everyone knows it, you moron.",
    "Thanks for the clear reporting on the council budget.",
    "f u c k off, sh1t, a$$, fuuuuuck",
    "Immigrants are vermin and should be thrown out, people like you should be shot.",
    "Ünïcödé wörds, ½, emoji 🙂, a zero\u200bwidth space and a NUL\x00byte",
    "tabs\tand\nnew lines  and   runs of spaces",
    "idiot " * 200,
    "x" * 3000,
)


class FormUnavailable(Exception):
    """No usable compiled form at a path: missing, unreadable, from other bytes, or outdated."""


class NotCompilable(ValueError):
    """The Pipeline has a step or setting the compiled form does not reproduce."""


def path_for(artifact_path: Path) -> Path:
    """Where the compiled form of an artifact is kept: beside it."""
    artifact_path = Path(artifact_path)
    return artifact_path.with_name(artifact_path.stem + SUFFIX)


Form = tuple[dict[str, Any], dict[str, np.ndarray]]  # the description (JSON) and the arrays


# -- deriving from a fitted Pipeline (the caller has scikit-learn loaded) ----------------------


def derive(pipeline: Any, artifact_sha256: str, libraries: dict[str, str] | None = None) -> Form:
    """The compiled form of a fitted Pipeline; NotCompilable when it has anything this module does
    not reproduce exactly (another step, a TF-IDF option, feature weights)."""
    from .estimators import CalibratedLinearMultiLabel, CompactTfidfVectorizer, TextPreparer
    from .lexicon import _TOKEN as LEXICON_TOKEN
    from .lexicon import ADDRESSED, CONTEXT_ONLY, NEAR_IDENTITY, WINDOW, LexiconFeatures

    steps = getattr(pipeline, "named_steps", {})
    if list(steps) != ["prepare", "features", "model"]:
        raise NotCompilable(f"steps {list(steps)}, not prepare, features, model")
    if type(steps["prepare"]) is not TextPreparer:
        raise NotCompilable(f"the prepare step is a {type(steps['prepare']).__name__}")
    model = steps["model"]
    if type(model) is not CalibratedLinearMultiLabel:
        raise NotCompilable(f"the model step is a {type(model).__name__}")
    union = steps["features"]
    if getattr(union, "transformer_weights", None):
        raise NotCompilable("the feature union weights its parts")
    coef = np.asarray(model.coef_)
    categories = coef.shape[1] if coef.ndim == 2 else 0
    # One row per feature: its weight for each category, then its idf (0 for the lexicons), padded
    # to a power of two so a row never straddles two cache lines. Scoring fetches it once.
    table = np.zeros((coef.shape[0], 1 << categories.bit_length()), dtype=np.float32)
    if coef.dtype != np.float32:
        raise NotCompilable(f"weights of dtype {coef.dtype}, not float32")
    table[:, :categories] = coef
    blocks: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for index, (name, step) in enumerate(union.transformer_list):
        if type(step) is CompactTfidfVectorizer:
            block = _tfidf_spec(step)
            terms = [""] * len(step.vocabulary_)
            for term, column in step.vocabulary_.items():
                terms[column] = term
            if step.analyzer == "char_wb":
                block["nul_terms"], arrays[f"sorted{index}"], arrays[f"columns{index}"] = _sorted_terms(
                    terms, step.ngram_range[1]
                )
                coded = _char_keys(terms, step.ngram_range[1])
                if coded is not None:  # searched by number; the sorted strings are not needed
                    block["bits"] = coded[0]
                    arrays[f"chars{index}"], arrays[f"keys{index}"], arrays[f"keycolumns{index}"] = coded[1:]
                    del arrays[f"sorted{index}"], arrays[f"columns{index}"]
            else:
                tokens, arrays[f"unigrams{index}"], arrays[f"keys{index}"], arrays[f"keycolumns{index}"] = (
                    _word_terms(terms, step.ngram_range)
                )
                arrays[f"tokens{index}"] = np.frombuffer("\n".join(tokens).encode("utf-8"), dtype=np.uint8)
                block["n_tokens"] = len(tokens)
            idf = np.asarray(step.idf_)
            if idf.dtype != np.float32 or offset + len(terms) > len(table):
                raise NotCompilable(f"the idf of {name} is not float32, or the model has fewer weights")
            table[offset : offset + len(terms), categories] = idf
            width = len(terms)
        elif type(step) is LexiconFeatures:
            names = list(step.names_)
            block = {
                "kind": "lexicon",
                "matcher": {
                    "names": names,
                    "exact": {k: list(v) for k, v in step.exact_.items()},
                    "prefix": {k: list(v) for k, v in step.prefix_.items()},
                    "phrases": {k: list(v) for k, v in step.phrases_.items()},
                    "prefix_lengths": list(step.prefix_lengths_),
                    "phrase_lengths": list(step.phrase_lengths_),
                    "token_pattern": LEXICON_TOKEN.pattern,
                    "second": names.index("second_person"),
                    "identity": names.index("identity_terms"),
                    "addressed": [names.index(n) for n in ADDRESSED],
                    "near": [names.index(n) for n in NEAR_IDENTITY],
                    "context_only": [names.index(n) for n in CONTEXT_ONLY],
                    "window": WINDOW,
                },
                "scale": float(step.scale),
            }
            width = len(names) + len(ADDRESSED) + len(NEAR_IDENTITY)
        else:
            raise NotCompilable(f"feature step {name!r} is a {type(step).__name__}")
        blocks.append({**block, "name": name, "offset": offset, "width": width})
        offset += width
    if len(table) != offset:
        raise NotCompilable(f"the model has {len(table)} weights per category for {offset} features")
    arrays["table"] = table
    arrays["intercept"] = np.asarray(model.intercept_, dtype=np.float64)
    arrays["calibration"] = np.asarray(model.calibration_, dtype=np.float64)
    meta = {
        "format": FORMAT,
        "artifact_sha256": artifact_sha256,
        "categories": list(model.categories),
        "blocks": blocks,
        "libraries": libraries or {},
    }
    return meta, arrays


def _sorted_terms(terms: list[str], longest: int) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """A character n-gram vocabulary as a sorted array of fixed-width strings and the column of
    each: searched in place when a word is first seen, where a dict of its quarter of a million
    terms took a sixth of a second to build at every start. numpy ignores trailing NULs in such
    strings, so the (rare) terms with a NUL are kept aside in a dict."""
    if any(len(term) > longest for term in terms):
        raise NotCompilable(f"a character n-gram longer than {longest}")
    nul = {term: column for column, term in enumerate(terms) if "\x00" in term}
    plain = sorted((term, column) for column, term in enumerate(terms) if "\x00" not in term)
    ordered = np.array([term for term, _ in plain], dtype=f"<U{max(longest, 1)}")
    if len(ordered) > 1 and not bool(np.all(ordered[1:] > ordered[:-1])):
        raise NotCompilable("the character n-grams do not sort as numpy compares them")
    return nul, ordered, np.array([column for _, column in plain], dtype=np.int32)


def _char_keys(terms: list[str], longest: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray] | None:
    """A character n-gram vocabulary as numbers: its characters sorted (a character's number is
    its place there plus one), and each n-gram (without a NUL) as the numbers of its characters
    packed ``bits`` apiece into one integer, sorted, with its column. None when they do not fit
    63 bits (more than about 4,000 characters for 5-grams): then the strings are searched."""
    plain = [(term, column) for column, term in enumerate(terms) if "\x00" not in term]
    chars = sorted({ch for term, _ in plain for ch in term})
    bits = max(len(chars).bit_length(), 1)
    if bits * max(longest, 1) > 63:
        return None
    number = {ch: i + 1 for i, ch in enumerate(chars)}
    keys = []
    for term, _ in plain:
        key = 0
        for ch in term:
            key = (key << bits) | number[ch]
        keys.append(key)
    packed, columns = _sorted_keys(keys, [column for _, column in plain], "character")
    return bits, np.array([ord(ch) for ch in chars], dtype=np.uint32), packed, columns


def _sorted_keys(keys: list[int], columns: list[int], kind: str) -> tuple[np.ndarray, np.ndarray]:
    """N-gram integers sorted for searching, with their columns; NotCompilable if two are equal."""
    order = np.argsort(np.array(keys, dtype=np.int64), kind="stable")
    ordered = np.array(keys, dtype=np.int64)[order]
    if len(ordered) > 1 and not bool(np.all(ordered[1:] > ordered[:-1])):
        raise NotCompilable(f"two {kind} n-grams with the same numbers")
    return ordered, np.array(columns, dtype=np.int32)[order]


def _word_terms(
    terms: list[str], ngram_range: tuple[int, int]
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """A word n-gram vocabulary as its tokens and numbers: the column of each token as a unigram
    (-1 if it is not one, and a last -1 for tokens outside the vocabulary), and each longer n-gram
    as one integer made of its tokens' numbers (sorted, with its column), so that scoring maps each
    token once and finds the n-grams of a whole batch with one search instead of joining strings."""
    low, high = ngram_range
    parts = [term.split(" ") for term in terms]
    if any(not low <= len(p) <= high or not all(p) or any("\n" in t for t in p) for p in parts):
        raise NotCompilable("a word n-gram that does not split into its tokens")
    tokens = list(dict.fromkeys(token for p in parts for token in p))
    number = {token: i for i, token in enumerate(tokens)}
    # An n-gram's integer has its tokens' numbers plus one as digits in base (tokens + 1): no digit
    # is 0, so a bigram and a trigram never share an integer.
    base = len(tokens) + 1
    if base ** max(high, 1) >= 1 << 62:
        raise NotCompilable(f"{len(tokens)} tokens are too many for {high}-grams as one integer")
    unigrams = np.full(len(tokens) + 1, -1, dtype=np.int32)
    keys: list[int] = []
    columns: list[int] = []
    for column, p in enumerate(parts):
        if len(p) == 1:
            unigrams[number[p[0]]] = column
            continue
        key = 0
        for token in p:
            key = key * base + number[token] + 1
        keys.append(key)
        columns.append(column)
    return tokens, unigrams, *_sorted_keys(keys, columns, "word")


def _tfidf_spec(step: Any) -> dict[str, Any]:
    """The TF-IDF settings the compiled form reproduces (those of CompactTfidfVectorizer's own
    counting path); NotCompilable for any other."""
    unsupported = {
        "input": step.input != "content",
        "preprocessor": step.preprocessor is not None,
        "tokenizer": step.tokenizer is not None,
        "stop_words": step.stop_words is not None,
        "strip_accents": step.strip_accents is not None,
        "norm": step.norm != "l2",
        "use_idf": not step.use_idf,
        "binary": bool(step.binary),
        "analyzer": step.analyzer not in ("word", "char_wb"),
        "dtype": np.dtype(step.dtype) != np.float32,
    }
    bad = [name for name, is_bad in unsupported.items() if is_bad]
    if bad:
        raise NotCompilable(f"TF-IDF settings not reproduced: {', '.join(bad)}")
    if step.analyzer == "word" and re.compile(step.token_pattern).groups > 1:
        raise NotCompilable("a token pattern with several groups")
    low, high = step.ngram_range
    return {
        "kind": "tfidf",
        "analyzer": step.analyzer,
        "lowercase": bool(step.lowercase),
        "ngram_range": [int(low), int(high)],
        "token_pattern": step.token_pattern,
        "sublinear_tf": bool(step.sublinear_tf),
        "n_terms": len(step.vocabulary_),
    }


def check(
    form: Form, reference: Callable[[list[str]], np.ndarray], texts: Iterable[str] = CHECK_TEXTS
) -> None:
    """NotCompilable unless the compiled form scores ``texts`` as ``reference`` (the Pipeline) does."""
    sample = list(texts)
    ours = Scorer(form).predict_proba(sample)
    theirs = np.asarray(reference(sample))
    if ours.shape != theirs.shape:
        raise NotCompilable(f"scores of shape {ours.shape}, the Pipeline's {theirs.shape}")
    gap = float(np.abs(ours - theirs).max()) if ours.size else 0.0
    if not gap <= TOLERANCE:
        raise NotCompilable(f"scores differ from the Pipeline's by {gap:.2g}")


# -- saving and reading -------------------------------------------------------------------------


def write(path: Path, form: Form) -> None:
    """Save the form (uncompressed, so reading it is a copy), replacing any older one at once."""
    meta, arrays = form
    path = Path(path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    packed = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    named: dict[str, Any] = {"meta": packed, **arrays}
    try:
        with tmp.open("wb") as handle:
            np.savez(handle, allow_pickle=False, **named)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read(path: Path, artifact_sha256: str) -> Form:
    """The form saved at ``path`` for the artifact with this sha256; FormUnavailable otherwise."""
    try:
        with Path(path).open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        meta = json.loads(arrays.pop("meta").tobytes())
    except FileNotFoundError:
        raise FormUnavailable("missing") from None
    except Exception as exc:  # a truncated or foreign file: whatever numpy or zipfile raise
        raise FormUnavailable(f"unreadable ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise FormUnavailable(f"in layout {found}, this version reads {FORMAT}")
    if meta.get("artifact_sha256") != artifact_sha256:
        raise FormUnavailable("made from other bytes than the artifact's (it changed since)")
    return meta, arrays


# -- scoring ------------------------------------------------------------------------------------


@dataclass
class CompiledClassifier:
    """A model served from its compiled form; the interface of ``artifact.Classifier``."""

    scorer: Scorer
    categories: tuple[str, ...]
    version: str
    metadata: dict[str, Any]

    @classmethod
    def from_form(cls, form: Form, metadata: dict[str, Any]) -> CompiledClassifier:
        """The form with its sidecar; FormUnavailable when they name different categories."""
        categories = tuple(metadata["categories"])
        try:
            scorer = Scorer(form)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # the layout's number, not its layout
            raise FormUnavailable(f"malformed ({exc.__class__.__name__}: {exc})") from None
        if scorer.categories != categories:
            raise FormUnavailable(f"scores {scorer.categories}, the sidecar names {categories}")
        if _linear is None:
            _warn_no_kernel()
        else:
            _keep_heap()
        return cls(scorer, categories, metadata["model_version"], metadata)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(n, categories) probabilities."""
        return self.scorer.predict_proba(texts)

    def pair_with(self, other: Any) -> bool:
        """Score each batch for ``other`` (a second compiled head, or a model holding one as
        ``classifier``) too, from one reading of its n-grams (``paired.pair``); False where they
        do not read text alike (then each is scored alone)."""
        from .paired import pair

        return pair(self, other) is not None

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Probabilities per category for each text."""
        if not texts:
            return []
        rows = self.scorer.predict_proba(list(texts)).tolist()
        return [dict(zip(self.categories, row, strict=True)) for row in rows]

    def score_rounded(self, texts: Sequence[str]) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
        """:meth:`score`, and the same scores as a verdict holds them (``verdict.score_rows``: the
        whole batch rounded at once, not score by score)."""
        if not texts:
            return [], []
        probabilities = self.scorer.predict_proba(list(texts))
        categories = self.categories
        return (
            [dict(zip(categories, row, strict=True)) for row in probabilities.tolist()],
            [dict(zip(categories, row, strict=True)) for row in score_rows(probabilities)],
        )


class Scorer:
    """Calibrated probabilities per category, computed from a compiled form."""

    def __init__(self, form: Form) -> None:
        meta, arrays = form
        self.categories: tuple[str, ...] = tuple(meta["categories"])
        # Padded with zero columns to a multiple of four: the kernel reads a row four values at a
        # time (see _linear.linear_weighted_sums); the columns past the idf are never read otherwise.
        table = arrays["table"]
        pad = -table.shape[1] % 4 if table.ndim == 2 else 0
        self.table = np.pad(table, ((0, 0), (0, pad))) if pad else np.ascontiguousarray(table)
        self.intercept = arrays["intercept"]
        self.slope, self.offset = arrays["calibration"]
        self.width = len(self.table)
        self.tfidf: list[_Tfidf] = []
        self.lexicons: list[_Lexicon] = []
        end = 0
        for index, block in enumerate(meta["blocks"]):
            if block["offset"] != end:
                raise FormUnavailable("the blocks do not follow each other")
            end += block["width"]
            if block["kind"] == "tfidf":
                self.tfidf.append(_Tfidf(block, index, arrays))
            else:
                self.lexicons.append(_Lexicon(block))
        if end != self.width or self.table.shape[1] <= len(self.categories):
            raise FormUnavailable("the blocks do not add up to the weights")
        if len({t.sublinear for t in self.tfidf}) > 1:
            raise FormUnavailable("TF-IDF steps with different tf scaling")
        self.sublinear = bool(self.tfidf) and self.tfidf[0].sublinear
        self.tfidf_starts = np.array([t.offset for t in self.tfidf], dtype=np.int64)
        # Paired with a second head (``paired.pair``): scoring a batch scores it for that head
        # too, which finds its decision values in its ``paired_batch`` (the batch's texts, then
        # the values) when asked for the same texts. ``unpaired``: a head this one could not pair.
        self.pair: Pair | None = None
        self.unpaired: Scorer | None = None
        self.paired_batch: tuple[list[str], np.ndarray] | None = None

    def predict_proba(self, texts: Sequence[str], kernel: bool = True) -> np.ndarray:
        """(n, categories) probabilities, as the Pipeline's ``predict_proba``. ``kernel=False``
        sums with the numpy code even where the C kernel is built (tests compare the two; the
        kernel's n-gram lookups are compared with the numpy ones on their own)."""
        paired = self.paired_batch if kernel else None
        if paired is not None and paired[0] == list(texts):  # the first head of a pair scored it
            decision = paired[1]
        elif kernel and _linear is not None:
            prepared = [prepare(text) for text in texts]
            if self.pair is not None:
                decision, theirs = self.pair.decisions(prepared)
                self.pair.second.paired_batch = (list(texts), theirs)
            else:
                parts = [block.kernel_part(prepared) for block in self.tfidf]
                decision = self._kernel_decisions(len(prepared), parts, prepared)
        else:
            prepared = [prepare(text) for text in texts]
            n = len(prepared)
            found = [block.columns(prepared) for block in self.tfidf]
            rows = np.concatenate([r for r, _ in found]) if found else np.zeros(0, np.int64)
            columns = np.concatenate([c for _, c in found]) if found else np.zeros(0, np.int64)
            decision = self._decisions(n, rows, columns, prepared)
        scores = decision + self.intercept
        # The Platt sigmoid, as CalibratedLinearMultiLabel applies it: expit(-(a * f + b)).
        return 1.0 / (1.0 + np.exp(self.slope * scores + self.offset))

    def _kernel_decisions(
        self, n: int, found: list[tuple[np.ndarray, ...]], prepared: list[str]
    ) -> np.ndarray:
        """The decision values from the C kernel (``_linear.decisions``), from each TF-IDF step's
        part (``_Tfidf.kernel_part``)."""
        decision = np.zeros((n, len(self.categories)), dtype=np.float32)
        _linear.decisions(
            found,
            self.table,
            self.tfidf_starts,
            log_counts_for(prepared),
            self.sublinear,
            *self.lexicon_features(prepared),
            decision,
        )
        return decision

    def lexicon_features(self, prepared: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows, columns and values of the lexicon steps' features, sorted by row, then
        column, as the kernel takes them."""
        parts = [lexicon.features(prepared) for lexicon in self.lexicons]
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        # Each part is sorted by row and column; together they must be.
        rows, columns, values = (np.concatenate(p) for p in zip(*parts, strict=True))
        order = np.lexsort((columns, rows))
        return rows.take(order), columns.take(order), values.take(order)

    def _decisions(self, n: int, rows: np.ndarray, columns: np.ndarray, prepared: list[str]) -> np.ndarray:
        """The decision values, with numpy."""
        k = len(self.categories)
        rows, columns, values, rows_of_table = self._tfidf_values(n, rows, columns)
        for lexicon in self.lexicons:
            more_rows, more_columns, more_values = lexicon.features(prepared, kernel=False)
            rows = np.concatenate((rows, more_rows))
            columns = np.concatenate((columns, more_columns))
            values = np.concatenate((values, more_values))
            rows_of_table = np.concatenate((rows_of_table, self.table.take(more_columns, axis=0)))
        # Each row's features in column order, as the Pipeline's sparse matrix holds them (the
        # parts are each sorted already: a stable sort merges them in one pass).
        order = np.argsort(rows * self.width + columns, kind="stable")
        rows = rows.take(order)
        # The weighted features, added up one by one in column order in float32, as scipy's
        # sparse product adds them: the sums are the Pipeline's to the bit.
        products = values.take(order)[:, None] * rows_of_table.take(order, axis=0)[:, :k]
        decision = np.zeros((n, k), dtype=np.float32)
        if n == 1:
            if len(products):
                decision[0] = np.add.accumulate(products, axis=0)[-1]
        elif len(products):
            ends = np.searchsorted(rows, np.arange(1, n + 1)).tolist()
            start = 0
            for row, end in enumerate(ends):
                if end > start:
                    decision[row] = np.add.accumulate(products[start:end], axis=0)[-1]
                start = end
        return decision

    def _tfidf_values(
        self, n: int, rows: np.ndarray, columns: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each (row, column) once with its TF-IDF value (sublinear count times idf, divided by
        the l2 norm of its row's values in its step, in float32) and its row of the table."""
        cells = rows * self.width + columns
        if n * self.width <= np.iinfo(np.int32).max:
            cells = cells.astype(np.int32)  # sorted in half the time
        cells.sort()
        first = np.empty(len(cells), dtype=bool)
        first[:1] = True
        np.not_equal(cells[1:], cells[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(starts, append=len(cells))
        cells = cells.take(starts).astype(np.int64)
        rows = cells // self.width
        columns = cells - rows * self.width
        # take() gathers rows several times faster than indexing with an array (the same numbers).
        rows_of_table = self.table.take(columns, axis=0)
        values = counts.astype(np.float64)
        if self.sublinear:
            np.log(values, out=values)
            values += 1
        values *= rows_of_table[:, len(self.categories)]
        # Summed in column order with bincount, as the Pipeline sums them: the same norms to the bit.
        groups = rows * len(self.tfidf) + np.searchsorted(self.tfidf_starts, columns, side="right") - 1
        norms = np.sqrt(np.bincount(groups, weights=values * values, minlength=n * len(self.tfidf)))
        norms[norms == 0] = 1
        values /= norms.take(groups)
        return rows, columns, values.astype(np.float32), rows_of_table


@functools.cache
def _keep_heap() -> bool:
    """Once per process, where the kernel is built: keep a batch's memory for the next batch."""
    return _linear.keep_heap(HEAP_MMAP_THRESHOLD, HEAP_TRIM_THRESHOLD)


@functools.cache
def _warn_no_kernel() -> None:
    log.warning(
        "the C kernel (moderation/classifier/_linear.pyx) is not built: `make setup` builds it; "
        "until then numpy scores, with the same numbers, more slowly"
    )


_LOGS = np.zeros(1, dtype=np.float64)
_LOGS_LOCK = threading.Lock()


def _log_counts(most: int) -> np.ndarray:
    """log(c) for every count c up to ``most`` (at least), computed by numpy as the numpy code
    computes it (the C library's log may differ in the last bit); grown as larger counts come."""
    global _LOGS
    logs = _LOGS
    if len(logs) > most:
        return logs
    with _LOGS_LOCK:
        if len(_LOGS) <= most:
            size = max(1024, 1 << most.bit_length())
            _LOGS = np.concatenate(([0.0], np.log(np.arange(1, size, dtype=np.float64))))
        return _LOGS


def log_counts_for(prepared: list[str]) -> np.ndarray:
    """``_log_counts`` reaching every count an n-gram can have in these texts: no n-gram comes
    more often in a text than its characters after lower() (at most two from one) plus the two
    spaces around each word, so 3 per character is a bound."""
    return _log_counts(6 * max(map(len, prepared), default=0) + 3)


# Without the kernel, both heads take the same comments one after the other, in batches of up to
# 256: the second finds the tokens and lexicon counts the first made. Bounded, so long comments
# cannot pile up. (The kernel reads tokens in C, and counts a batch's lexicon hits once.)
ANALYSIS_CACHE_SIZE = 512


# What was last made of a batch, by kind (its lowered texts, its runs of tokens and of words, a
# lexicon matcher's counts), with the batch's texts: both heads read the same batch, one after
# the other (the same strings: ``prepare``'s memo), and the second finds it here. Threads may
# replace an entry, never half of one; a batch is compared, never trusted, so a thread that finds
# another's gets a miss.
_LAST_BATCH: dict[object, tuple[list[str], Any]] = {}


def _for_batch(kind: object, texts: list[str], make: Callable[[list[str]], Any]) -> Any:
    """``make(texts)``, or what it made for the last batch of this kind if that batch is ``texts``."""
    last = _LAST_BATCH.get(kind)
    if last is not None and last[0] == texts:  # the same strings: compared by identity first
        return last[1]
    made = make(texts)
    _LAST_BATCH[kind] = (list(texts), made)
    return made


def _lowered(texts: list[str]) -> list[str]:
    """The texts in lower case (read-only: shared by the steps that read one batch)."""
    return _for_batch("lowered", texts, lambda batch: [text.lower() for text in batch])


def _runs(lowered: list[str], run: int, shortest: int = 1) -> Any:
    """The kernel's runs (``_linear.Runs``) of one kind in a batch of lowered texts."""
    return _for_batch(("runs", run, shortest), lowered, lambda batch: _linear.Runs(batch, run, shortest))


@functools.lru_cache(maxsize=ANALYSIS_CACHE_SIZE)
def _tokens(pattern: str, lowercase: bool, text: str) -> list[str]:
    """The word tokens of a prepared text (read-only: shared between the heads)."""
    return _compiled_pattern(pattern).findall(text.lower() if lowercase else text)


@functools.lru_cache(maxsize=ANALYSIS_CACHE_SIZE)
def _words(lowercase: bool, text: str) -> list[str]:
    """The white-space separated words of a prepared text (read-only: shared between the heads)."""
    return (text.lower() if lowercase else text).split()


@functools.lru_cache(maxsize=32)
def _compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


class _Tfidf:
    """One TF-IDF step's analyzer and vocabulary, as CompactTfidfVectorizer counts."""

    def __init__(self, spec: dict[str, Any], index: int, arrays: dict[str, np.ndarray]) -> None:
        self.analyzer = spec["analyzer"]
        self.lowercase = spec["lowercase"]
        self.min_n, self.max_n = spec["ngram_range"]
        self.sublinear = spec["sublinear_tf"]
        self.pattern: str = spec["token_pattern"]
        self.offset: int = spec["offset"]
        self.width: int = spec["width"]
        if self.analyzer == "char_wb":
            self.bits: int | None = spec.get("bits")
            if self.bits is not None:
                self.chars = arrays[f"chars{index}"]
                self.keys = arrays[f"keys{index}"]
                self.key_columns = arrays[f"keycolumns{index}"].astype(np.int64) + self.offset
                size = len(self.keys)
            else:
                self.sorted = arrays[f"sorted{index}"]
                self.sorted_columns = arrays[f"columns{index}"].astype(np.int64) + self.offset
                size = len(self.sorted)
            self.nul_terms = {term: column + self.offset for term, column in spec["nul_terms"].items()}
            size += len(self.nul_terms)
        else:
            self._token_bytes = arrays[f"tokens{index}"]
            tokens = self._tokens()
            self.n_tokens = len(tokens)
            if spec["n_tokens"] != self.n_tokens:
                raise FormUnavailable(f"block {spec['name']!r} holds another number of tokens")
            unigrams = arrays[f"unigrams{index}"].astype(np.int64)
            self.unigrams = np.where(unigrams >= 0, unigrams + self.offset, -1)
            self.keys = arrays[f"keys{index}"]
            self.key_columns = arrays[f"keycolumns{index}"].astype(np.int64) + self.offset
            size = int((unigrams >= 0).sum()) + len(self.keys)
            if len(unigrams) != self.n_tokens + 1:
                raise FormUnavailable(f"block {spec['name']!r} has unigrams for another token count")
        if size != self.width:
            raise FormUnavailable(f"block {spec['name']!r} does not add up")
        # With the C kernel, integer n-gram keys are found in a hash table instead of searched,
        # and a text's tokens are found in its characters and numbered in C.
        self.lookup: _linear.NGramTable | None = None
        self.vocabulary: _linear.Strings | None = None
        self.shortest = C_TOKEN_PATTERNS.get(self.pattern, 0)
        if _linear is not None and (self.analyzer != "char_wb" or self.bits is not None):
            self.lookup = _linear.NGramTable(self.keys, self.key_columns)
            if self.analyzer == "word" and self.shortest:
                self.vocabulary = _linear.Strings(tokens)
        if self.analyzer == "char_wb":
            self.words = _WordColumns(self._word_columns, kernel=self.lookup is not None)

    def _tokens(self) -> list[str]:
        """The vocabulary's tokens, in the order of their numbers."""
        return self._token_bytes.tobytes().decode("utf-8").split("\n") if len(self._token_bytes) else []

    @functools.cached_property
    def token_numbers(self) -> dict[str, int]:
        """Each token's number, for the code without the kernel: made when first asked (the
        kernel's ``vocabulary`` holds the same, in C, and a worker need not hold both)."""
        return dict(zip(self._tokens(), range(self.n_tokens), strict=True))

    def columns(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The row and column (in the whole feature space) of every n-gram of the texts (prepared)
        in the vocabulary, once per occurrence."""
        return self._char_wb(texts) if self.analyzer == "char_wb" else self._word_ngrams(texts)

    def kernel_part(self, texts: list[str]) -> tuple[np.ndarray, ...]:
        """What the kernel's ``decisions`` takes of this step: the word memo's columns in place
        (``_WordColumns.text_slots``) or, for word n-grams, :meth:`columns`."""
        if self.analyzer == "char_wb":
            return self.words.text_slots(texts, self.lowercase, bool(self.nul_terms))
        return self._word_ngrams(texts)

    def _word_ngrams(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn's word n-grams (``_word_ngrams``) of every text, found by their tokens'
        numbers: with the kernel, tokens read off the characters and numbered in C and every n of
        every text found in one pass; without it, one dictionary lookup per token, then a few
        array operations for the batch.

        A token outside the vocabulary gets the number ``n_tokens``, and one such number follows
        each text. Its digit in an n-gram's integer is the base itself, which carries: the
        integer then has a 0 digit, which no n-gram of the vocabulary has, so it is never found
        (no n-gram runs from one text into the next)."""
        outside, pattern, lower = self.n_tokens, self.pattern, self.lowercase
        if self.vocabulary is not None and self.lookup is not None:  # tokens and n-grams in C
            lowered = _lowered(texts) if lower else texts
            tokens = _runs(lowered, _linear.TOKENS, self.shortest)
            numbered = _linear.token_numbers(self.vocabulary, tokens, outside)
            rows, columns = self.lookup.word_columns(*numbered, self.unigrams, self.min_n, self.max_n)
            return np.frombuffer(rows, dtype=np.int64), np.frombuffer(columns, dtype=np.int64)
        get = self.token_numbers.get
        numbers: list[int] = []
        ends: list[int] = []
        for text in texts:
            numbers.extend(map(get, _tokens(pattern, lower, text), itertools.repeat(outside)))
            ends.append(len(numbers))
            numbers.append(outside)
        ids = np.array(numbers, dtype=np.int64)
        if self.lookup is not None:  # the kernel: every n of every text in one pass
            rows, columns = self.lookup.word_columns(
                ids, np.array(ends, dtype=np.int64), self.unigrams, self.min_n, self.max_n
            )
            return np.frombuffer(rows, dtype=np.int64), np.frombuffer(columns, dtype=np.int64)
        places: list[np.ndarray] = []
        found: list[np.ndarray] = []
        if self.min_n == 1:
            columns = self.unigrams.take(ids)  # its last entry, for `outside`, is -1
            at = np.flatnonzero(columns >= 0)
            places.append(at)
            found.append(columns.take(at))
        base = outside + 1
        for n in range(max(2, self.min_n), self.max_n + 1):
            count = len(ids) - n + 1
            if count <= 0 or not len(self.keys):
                continue
            key = ids[:count] + 1
            for j in range(1, n):
                key = key * base + ids[j : j + count] + 1
            columns = self._find(key)
            hit = np.flatnonzero(columns >= 0)
            places.append(hit)
            found.append(columns.take(hit))
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        place = np.concatenate(places)
        rows = np.searchsorted(np.array(ends, dtype=np.int64), place) if len(texts) > 1 else place * 0
        return rows, np.concatenate(found)

    def _find(self, key: np.ndarray) -> np.ndarray:
        """The column of each integer n-gram key, -1 for those not in the vocabulary (nor a
        negative key: one with a character outside it)."""
        if self.lookup is not None:
            return np.frombuffer(self.lookup.find(key), dtype=np.int64)
        found = np.full(len(key), -1, dtype=np.int64)
        if len(self.keys):
            at = np.searchsorted(self.keys, key)
            np.minimum(at, len(self.keys) - 1, out=at)
            hit = self.keys.take(at) == key
            found[hit] = self.key_columns.take(at[hit])
        return found

    def _char_wb(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return self.words.text_columns(texts, self.lowercase, bool(self.nul_terms))

    def _word_columns(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The columns of the words' character n-grams, as scikit-learn's ``_char_wb_ngrams``
        makes them (every n-gram of the word padded with a space each side, with a word shorter
        than the longest n counted whole once), laid end to end, and how many each word has. The
        n-grams of all the words are searched in one call."""
        if self.bits is not None:
            return self._numbered_columns(words)
        grams: list[str] = []
        ends: list[int] = []
        nul: list[tuple[int, str]] = []  # n-grams with a NUL: looked up aside
        for word in words:
            first = len(grams)
            grams += self._grams(word)
            if "\x00" in word:
                nul += [(first + i, gram) for i, gram in enumerate(grams[first:]) if "\x00" in gram]
            ends.append(len(grams))
        found = self._search(grams)
        for at, gram in nul:
            found[at] = self.nul_terms.get(gram, -1)
        hit = found >= 0
        kept = np.concatenate(([0], np.cumsum(hit)))
        bounds = kept[np.array([0, *ends], dtype=np.int64)]
        return found[hit], np.diff(bounds)

    def _numbered_columns(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_word_columns` without making a string per n-gram: the padded words' characters
        become their numbers in one pass, each n-gram packs its characters' numbers into one
        integer (0 for a character outside the vocabulary: never found), and the integers of all
        the words are searched at once. An n-gram with a NUL is looked up aside by its string."""
        count = len(words)
        if not count:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        assert self.bits is not None
        if self.lookup is not None and not (self.nul_terms and any("\x00" in word for word in words)):
            # The kernel packs and finds them in one pass (the same columns, in the same order).
            found, sizes = self.lookup.char_columns(
                np.frombuffer("".join(f" {w} " for w in words).encode("utf-32-le", "surrogatepass"), "<u4"),
                np.fromiter(map(len, words), dtype=np.int64, count=count) + 2,
                self.chars,
                self.bits,
                self.min_n,
                self.max_n,
            )
            return np.frombuffer(found, dtype=np.int64), np.frombuffer(sizes, dtype=np.int64)
        bits, top = self.bits, self.max_n
        lengths = np.fromiter(map(len, words), dtype=np.int64, count=count) + 2  # padded
        text = "".join(f" {word} " for word in words)
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
        if len(self.chars):
            at = np.searchsorted(self.chars, codes)
            np.minimum(at, len(self.chars) - 1, out=at)
            numbers = np.where(self.chars.take(at) == codes, at + 1, 0)
        else:  # a vocabulary of NUL n-grams only
            numbers = np.zeros(len(codes), dtype=np.int64)
        numbers = np.concatenate((numbers, np.zeros(top, dtype=np.int64)))  # windows past the end
        starts = np.cumsum(lengths) - lengths
        places = np.arange(len(codes), dtype=np.int64)
        owner = np.repeat(np.arange(count, dtype=np.int64), lengths)
        room = np.repeat(starts + lengths, lengths) - places  # characters left in the word
        padded = np.repeat(lengths, lengths)
        keys: list[np.ndarray] = []
        owners: list[np.ndarray] = []

        def pack(first: np.ndarray, n: int) -> np.ndarray:
            key = np.zeros(len(first), dtype=np.int64)
            unknown = np.zeros(len(first), dtype=bool)
            for j in range(n):
                part = numbers.take(first + j)
                unknown |= part == 0
                key = (key << bits) | part
            key[unknown] = -1
            return key

        # Every window of n characters, for n below the padded word's length ...
        for n in range(self.min_n, top + 1):
            first = np.flatnonzero((room >= n) & (padded > n))
            keys.append(pack(first, n))
            owners.append(owner.take(first))
        # ... and a padded word no longer than the longest n, once, whole.
        for n in range(3, top + 1):
            whole = np.flatnonzero(lengths == n)
            keys.append(pack(starts.take(whole), n))
            owners.append(whole)
        key = np.concatenate(keys)
        of = np.concatenate(owners)
        found = self._find(key)
        if self.nul_terms and "\x00" in text:
            extra = self._nul_columns(words)
            found = np.concatenate((found, extra[1]))
            of = np.concatenate((of, extra[0]))
        keep = found >= 0
        of, found = of[keep], found[keep]
        order = np.argsort(of, kind="stable")
        return found.take(order), np.bincount(of, minlength=count)

    def _nul_columns(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The word and column of each character n-gram with a NUL that is in the vocabulary."""
        owners: list[int] = []
        columns: list[int] = []
        for index, word in enumerate(words):
            if "\x00" not in word:
                continue
            for gram in self._grams(word):
                column = self.nul_terms.get(gram, -1) if "\x00" in gram else -1
                if column >= 0:
                    owners.append(index)
                    columns.append(column)
        return np.array(owners, dtype=np.int64), np.array(columns, dtype=np.int64)

    def _grams(self, word: str) -> list[str]:
        """One word's character n-grams as scikit-learn's ``_char_wb_ngrams`` makes them: every
        n-gram of the word padded with a space each side, and a padded word no longer than the
        longest n once, whole."""
        padded = f" {word} "
        length = len(padded)
        grams = [
            padded[i : i + n]
            for n in range(self.min_n, min(self.max_n, length - 1) + 1)
            for i in range(length - n + 1)
        ]
        if self.max_n >= length:
            grams.append(padded)
        return grams

    def _search(self, grams: list[str]) -> np.ndarray:
        """The column of each n-gram in the sorted vocabulary, -1 for those not in it."""
        if not grams or not len(self.sorted):
            return np.full(len(grams), -1, dtype=np.int64)
        query = np.array(grams, dtype=self.sorted.dtype)
        at = np.searchsorted(self.sorted, query)
        at[at == len(self.sorted)] = 0
        return np.where(self.sorted[at] == query, self.sorted_columns[at], -1)


class _WordColumns:
    """The columns of the words seen so far (a bounded memo), laid end to end in one array, so a
    batch's words take one gather. With the kernel, the words are found in the texts' characters
    and numbered by a C table (``_linear.Strings``); without it, by a dictionary. A batch that
    leaves the memo over either limit marks it full, and the next batch starts it afresh
    (deterministic, and cheap next to scoring). Shared by the threads of a worker: a lock keeps
    it whole."""

    def __init__(self, learn: Callable[[list[str]], tuple[np.ndarray, np.ndarray]], kernel: bool) -> None:
        self.learn = learn
        self.kernel = kernel and _linear is not None
        self.aside: _WordColumns | None = None  # the dictionary's memo, for batches with a NUL
        self.lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self.slot: dict[str, int] = {}  # without the kernel: each word's place in starts and sizes
        self.strings = _linear.Strings() if self.kernel else None  # with it: the same, in C
        self.pool = np.zeros(0, dtype=np.int64)  # the columns, with room to grow
        self.used = 0
        self.starts = np.zeros(0, dtype=np.int64)
        self.sizes = np.zeros(0, dtype=np.int64)
        self.full = False

    def known(self) -> list[str]:
        """The words remembered, in the order they were learned."""
        if self.strings is not None:
            return [self.strings[i] for i in range(len(self.strings))]
        return list(self.slot)

    def text_columns(self, texts: list[str], lowercase: bool, nul: bool) -> tuple[np.ndarray, np.ndarray]:
        """The row (text) and column of each character n-gram of the texts' words, text after
        text and word after word. ``nul``: the vocabulary has n-grams with a NUL, which the
        kernel does not look up (a batch with a NUL goes to a dictionary memo beside it)."""
        if self.strings is not None:
            part = self.text_slots(texts, lowercase, nul)
            if len(part) == 2:  # the dictionary memo's, for a batch with a NUL
                return part[0], part[1]
            rows, columns = _linear.gather_rows(*part)
            return np.frombuffer(rows, dtype=np.int64), np.frombuffer(columns, dtype=np.int64)
        per_text = [_words(lowercase, text) for text in texts]
        columns, sizes = self.columns(list(itertools.chain.from_iterable(per_text)))
        words = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        return np.repeat(np.repeat(np.arange(len(texts), dtype=np.int64), words), sizes), columns

    def text_slots(self, texts: list[str], lowercase: bool, nul: bool) -> tuple[np.ndarray, ...]:
        """The kernel's memo, as ``_linear.decisions`` reads it in place: ``(pool, starts, sizes,
        slots, per_text)``, the texts' words by their slots (text after text, ``per_text`` of
        them in each). What a batch took stays as it was: later words are written past it, and
        a memo started afresh gets new arrays. A batch with a NUL (``nul``, see
        :meth:`text_columns`) gets its (rows, columns) from the dictionary's memo instead."""
        if self.strings is None:
            return self.text_columns(texts, lowercase, nul)
        if nul and any("\x00" in text for text in texts):
            with self.lock:
                if self.aside is None:
                    self.aside = _WordColumns(self.learn, kernel=False)
            return self.aside.text_columns(texts, lowercase, nul)
        lowered = _lowered(texts) if lowercase else texts
        with self.lock:
            if self.full:
                self._clear()
            assert self.strings is not None
            try:
                slots, per_text, added = _linear.word_slots(self.strings, _runs(lowered, _linear.WORDS))
                if added:
                    self._learn(added, len(self.strings) - len(added))
            except BaseException:
                self._clear()  # no word left without its columns
                raise
            slots, per_text = np.frombuffer(slots, np.int64), np.frombuffer(per_text, np.int64)
            return self.pool, self.starts, self.sizes, slots, per_text

    def columns(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The columns of each of these words, one after the other, and how many each has (the
        dictionary's memo; the kernel's memo numbers its words in C, in ``text_columns``)."""
        if self.strings is not None:
            raise TypeError("the kernel's word memo is read through text_columns")
        with self.lock:
            if self.full:
                self._clear()
            get = self.slot.get
            slots = list(map(get, words, itertools.repeat(-1)))
            if -1 in slots:
                new = list(dict.fromkeys(word for word, slot in zip(words, slots, strict=True) if slot < 0))
                first = len(self.slot)
                try:
                    self.slot.update(zip(new, range(first, first + len(new)), strict=True))
                    self._learn(new, first)
                except BaseException:
                    self._clear()  # no word left without its columns
                    raise
                slots = list(map(self.slot.__getitem__, words))
            at = np.array(slots, dtype=np.int64)
            sizes = self.sizes[at]
            ends = np.cumsum(sizes)
            total = int(ends[-1]) if len(ends) else 0
            columns = self.pool[
                np.arange(total, dtype=np.int64) + np.repeat(self.starts[at] - ends + sizes, sizes)
            ]
        return columns, sizes

    def _learn(self, new: list[str], first: int) -> None:
        """Store the columns of the new words, numbered from ``first``; mark the memo full when
        it is over a limit."""
        columns, sizes = self.learn(new)
        count = len(new)
        if first + count > len(self.sizes):
            room = max(2 * len(self.sizes), first + count, 1024)
            self.starts = np.resize(self.starts, room)
            self.sizes = np.resize(self.sizes, room)
        if self.used + len(columns) > len(self.pool):
            self.pool = np.resize(self.pool, max(2 * len(self.pool), self.used + len(columns), 1 << 16))
        self.sizes[first : first + count] = sizes
        self.starts[first : first + count] = self.used + np.cumsum(sizes) - sizes
        self.pool[self.used : self.used + len(columns)] = columns
        self.used += len(columns)
        self.full = first + count > WORD_CACHE_SIZE or self.used > WORD_CACHE_IDS


class _Lexicon:
    """The lexicon step: scaled log counts of the word lists' hits (``lexicon.LexiconFeatures``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.matcher = _matcher(json.dumps(spec["matcher"], sort_keys=True))
        self.scale = np.float32(spec["scale"])
        self.offset: int = spec["offset"]
        self.width: int = spec["width"]
        if self.matcher.width != self.width:
            raise FormUnavailable(f"block {spec['name']!r} does not add up")
        self._value_of = self._values(64)

    def features(self, texts: list[str], kernel: bool = True) -> tuple[Any, Any, Any]:
        """Rows, columns (of the whole feature space) and values of the texts' non-zero features,
        sorted by row then column (int64, int64, float32 arrays). ``kernel=False``: with numpy
        even where the kernel is built."""
        counts = self.matcher.count(texts)
        if kernel and _linear is not None:
            found = _linear.lexicon_cells(counts, self._value_of, self.offset)
            if found is None and counts.size and 0 < (most := float(counts.max())) < 1 << 24:
                self._value_of = self._values(int(most) + 1)  # a count the table has not reached
                found = _linear.lexicon_cells(counts, self._value_of, self.offset)
            if found is not None:
                return found
        features = np.log1p(counts) * self.scale  # float32, as the Pipeline computes them
        rows, columns = np.nonzero(features)
        return rows.astype(np.int64), columns.astype(np.int64) + self.offset, features[rows, columns]

    def _values(self, counts: int) -> np.ndarray:
        """Each count's feature value, for counts below ``counts`` (and room to grow): numpy's
        float32 log1p times the scale, element by element what :meth:`features` computes."""
        return np.log1p(np.arange(max(64, 2 * counts), dtype=np.float32)) * self.scale


@functools.lru_cache(maxsize=8)
def _matcher(spec: str) -> _LexiconMatcher:
    """One matcher per set of word lists: heads with the same lexicons share it, and its memos."""
    return _LexiconMatcher(json.loads(spec))


class _LexiconMatcher:
    """Hits of the word lists in a comment, plus hits addressed to "you" and hits near an
    identity term: the counts ``lexicon.LexiconFeatures`` takes the log of."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.names: list[str] = spec["names"]
        self.exact = {k: tuple(v) for k, v in spec["exact"].items()}
        self.prefix = {k: tuple(v) for k, v in spec["prefix"].items()}
        self.phrases = {k: tuple(v) for k, v in spec["phrases"].items()}
        self.prefix_lengths: list[int] = spec["prefix_lengths"]
        self.phrase_lengths: list[int] = spec["phrase_lengths"]
        self.firsts = frozenset(phrase.split()[0] for phrase in self.phrases)
        self.token = re.compile(spec["token_pattern"])
        self.second: int = spec["second"]
        self.identity: int = spec["identity"]
        self.addressed: list[int] = spec["addressed"]
        self.near: list[int] = spec["near"]
        self.context_only: list[int] = spec["context_only"]
        self.window: int = spec["window"]
        self.width = len(self.names) + len(self.addressed) + len(self.near)
        self._cache: dict[str, tuple[int, ...]] = {}
        self.counts = functools.lru_cache(maxsize=ANALYSIS_CACHE_SIZE)(self._counts)
        # The kernel counts a batch in C (the same numbers), with the same lists as _lists_of.
        self.kernel: _linear.LexiconCounts | None = None
        self.lock = threading.Lock()
        if _linear is not None and self.token.pattern == C_LEXICON_TOKEN:
            self.kernel = _linear.LexiconCounts(
                {token: list(lists) for token, lists in self.exact.items()},
                {start: list(lists) for start, lists in self.prefix.items()},
                self.prefix_lengths,
                len(self.names),
                {phrase: list(lists) for phrase, lists in self.phrases.items()},
                self.phrase_lengths,
                self.second,
                self.identity,
                self.addressed,
                self.near,
                self.context_only,
                self.window,
                TOKEN_CACHE_SIZE,
            )

    def count(self, texts: list[str]) -> np.ndarray:
        """(texts, width) float32 counts (read-only)."""
        if self.kernel is not None:  # heads with the same lexicons count a batch once
            return _for_batch(self, texts, self._kernel_counts)
        counts = np.array([self.counts(text) for text in texts], dtype=np.float32)
        return counts.reshape(len(texts), self.width)  # (0, width) for no texts

    def _kernel_counts(self, texts: list[str]) -> np.ndarray:
        assert self.kernel is not None
        counts = np.zeros((len(texts), self.width), dtype=np.float32)
        with self.lock:
            self.kernel.count(texts, counts)
        counts.setflags(write=False)
        return counts

    def _counts(self, text: str) -> list[int]:
        hits = self._hits(self.token.findall(text))
        counts = [0] * self.width
        second, identity, window = self.second, self.identity, self.window
        found_at = [i for i, found in enumerate(hits) if found]
        seconds = [i for i in found_at if second in hits[i]]
        identities = [i for i in found_at if identity in hits[i]]
        base = len(self.names)
        near_base = base + len(self.addressed)
        for i in found_at:
            found = hits[i]
            for index in found:
                counts[index] += 1
            # A "you" word among the `window` tokens before this one.
            if seconds and bisect.bisect_left(seconds, i) > bisect.bisect_left(seconds, i - window):
                for j, index in enumerate(self.addressed):
                    if index in found:
                        counts[base + j] += 1
            # An identity term within `window` tokens either side (or this one).
            if identities and bisect.bisect_right(identities, i + window) > bisect.bisect_left(
                identities, i - window
            ):
                for j, index in enumerate(self.near):
                    if index in found:
                        counts[near_base + j] += 1
        for index in self.context_only:
            counts[index] = 0
        return counts

    def _hits(self, tokens: list[str]) -> list[tuple[int, ...]]:
        get = self._cache.get
        hits = [found if (found := get(token)) is not None else self._token_hits(token) for token in tokens]
        if self.phrases:
            firsts = self.firsts
            for i, token in enumerate(tokens):
                if token not in firsts:
                    continue
                for n in self.phrase_lengths:
                    if i + n <= len(tokens):
                        extra = self.phrases.get(" ".join(tokens[i : i + n]))
                        if extra:
                            hits[i] = tuple(sorted({*hits[i], *extra}))
        return hits

    def _lists_of(self, token: str) -> set[int]:
        """The word lists a token is in (whole, or by a prefix)."""
        hits = set(self.exact.get(token, ()))
        for length in self.prefix_lengths:
            if length <= len(token):
                hits.update(self.prefix.get(token[:length], ()))
        return hits

    def _token_hits(self, token: str) -> tuple[int, ...]:
        found = tuple(sorted(self._lists_of(token)))
        if len(self._cache) < TOKEN_CACHE_SIZE:
            self._cache[token] = found
        return found
