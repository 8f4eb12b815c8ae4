"""The fast scoring paths give what the straightforward ones give: on the shipped model and
rules, over a fixed sample of realistic comments, the verdicts are the same and the scores agree
to 1e-6 with scikit-learn's own feature extraction."""

from __future__ import annotations

import re
import string

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from bench.generate import generate
from moderation.classifier import artifact
from moderation.config import PROJECT_ROOT
from moderation.pipeline import CommentContext, Pipeline
from moderation.rules import load_rules
from moderation.text import textstats

EDGE_CASES = [
    "",
    "a",
    "x" * 10_000,
    "idiot " * 500,
    "Ünïcödé wörds, ½, emoji 🙂 and a zero\u200bwidth space",
    "tabs\tand\nnew lines  and   runs of spaces",
    "f u c k you, sh1t, a$$, fuuuuuck",
    "SHOUTING IN CAPITALS IS NOT AN ARGUMENT, YOU KNOW",
    "see http://a.example.com, www.b.org and c.net",
]


class SklearnScorer:
    """The shipped model scored through scikit-learn's own TfidfVectorizer.transform."""

    def __init__(self, classifier: artifact.Classifier) -> None:
        self.classifier = classifier
        self.version = classifier.version

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        steps = self.classifier.pipeline.named_steps
        prepared = steps["prepare"].transform(texts)
        blocks = [
            TfidfVectorizer.transform(step, prepared)
            if hasattr(step, "vocabulary_")
            else step.transform(prepared)
            for _, step in steps["features"].transformer_list
        ]
        return steps["model"].predict_proba(sp.hstack(blocks, format="csr"))

    def score(self, texts: list[str]) -> list[dict[str, float]]:
        rows = self.predict_proba(list(texts))
        return [dict(zip(self.classifier.categories, map(float, row), strict=True)) for row in rows]


@pytest.fixture(scope="module")
def shipped() -> artifact.Classifier:
    return artifact.load(artifact.DEFAULT_MODEL)


@pytest.fixture(scope="module")
def sample() -> list[str]:
    return generate(1500, seed=5) + EDGE_CASES


def test_scores_match_scikit_learns_features(shipped: artifact.Classifier, sample: list[str]) -> None:
    fast = shipped.predict_proba(sample)
    again = shipped.predict_proba(sample)  # the per-word caches are warm now
    reference = SklearnScorer(shipped).predict_proba(sample)
    assert np.abs(fast - reference).max() <= 1e-6
    assert np.array_equal(fast, again)


def test_verdicts_are_the_same(shipped: artifact.Classifier, sample: list[str]) -> None:
    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    fast = Pipeline(rules, shipped, model_required=True).run([CommentContext(t) for t in sample])
    slow = Pipeline(rules, SklearnScorer(shipped), model_required=True).run(
        [CommentContext(t) for t in sample]
    )
    for a, b in zip(fast, slow, strict=True):
        assert (a.status, a.visible, a.reasons, a.matches) == (b.status, b.visible, b.reasons, b.matches)
        assert a.scores.keys() == b.scores.keys()
        # Rounded to 4 places: a difference of 1e-6 can still flip the last digit.
        assert all(abs(a.scores[k] - b.scores[k]) <= 1.0001e-4 for k in a.scores)


_LINK = re.compile(textstats.LINK.pattern, textstats.LINK.flags)


def _reference_caps(text: str) -> tuple[float, int]:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0, 0
    return sum(c.isupper() for c in letters) / len(letters), len(letters)


@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet=string.printable + "ÄéßİıǅΣ\u212a", max_size=60)
    | st.builds(
        lambda a, b: a + b,
        st.text(max_size=20),
        st.sampled_from(
            ["http://x", "www.a", "a.com", "b.co.uk/x", "WWW.X", "x.COM", "x.\u212aR", "ftp://h"]
        ),
    )
)
def test_text_statistics_shortcuts_change_nothing(text: str) -> None:
    assert textstats.links(text) == [m.span() for m in _LINK.finditer(text)]
    assert textstats.caps_ratio(text) == _reference_caps(text)


def test_one_comment_at_a_time_scores_like_scikit_learn(
    shipped: artifact.Classifier, sample: list[str]
) -> None:
    few = sample[:150] + EDGE_CASES  # one comment per call takes its own counting path
    one_by_one = np.vstack([shipped.predict_proba([text]) for text in few])
    assert np.abs(one_by_one - SklearnScorer(shipped).predict_proba(few)).max() <= 1e-6


# -- the compiled scoring form (what a serving process scores with) against the Pipeline --------

HOSTILE = [
    "",
    "\x00",
    "you\x00idiot\x00 a\x00b\x00\x00",
    "a" * 10_000,
    "🙂" * 300 + " you 🤬 idiot 🖕🏿 👨‍👩‍👧",
    "אתה אידיוט, you idiot, ואתה יודע את זה",
    "أنت غبي يا صديقي you moron",
    "\u202eyou idiot\u202c and \u200f\u200e marks",
    "z̴̢̛a̵̡l̷̨g̸̢o̶ ̷t̴e̵x̶t̷ you i̸d̷i̵o̴t",
    "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000 all the white space",
    "ＦＵＬＬ ＷＩＤＴＨ ｙｏｕ ｉｄｉｏｔ",
    "x" * 2000 + " idiot " + "y" * 2000,
]


def _compiled_and_pipeline(path):  # type: ignore[no-untyped-def]
    from moderation.classifier import compiled

    pipeline = artifact.load(path)
    form = compiled.derive(pipeline.pipeline, artifact.file_sha256(path))
    return compiled.CompiledClassifier.from_form(form, pipeline.metadata), pipeline


@pytest.fixture(scope="module")
def heads() -> dict[str, tuple]:
    from moderation.classifier import contribution

    return {
        "classifier": _compiled_and_pipeline(artifact.DEFAULT_MODEL),
        "contribution": _compiled_and_pipeline(contribution.DEFAULT_MODEL),
    }


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_compiled_form_scores_like_the_pipeline(heads: dict, sample: list[str], head: str) -> None:
    fast, pipeline = heads[head]
    texts = [*sample, *HOSTILE, "\ud800 a lone surrogate, you fool"]  # the API refuses those; files may not
    reference = pipeline.predict_proba(texts)
    assert np.abs(fast.predict_proba(texts) - reference).max() <= 1e-6
    # One comment at a time (a request) takes the same arithmetic as a batch.
    few = sample[:200] + HOSTILE
    one_by_one = np.vstack([fast.predict_proba([text]) for text in few])
    assert np.abs(one_by_one - pipeline.predict_proba(few)).max() <= 1e-6
    assert fast.score(["you idiot"]) == [
        dict(zip(pipeline.categories, map(float, pipeline.predict_proba(["you idiot"])[0]), strict=True))
    ]
    assert fast.score([]) == []


def _same_verdicts(a, b) -> None:  # type: ignore[no-untyped-def]
    """Equal verdicts; rounded scores may differ in their last digit (1e-6 can flip it)."""

    def close(x, y):  # type: ignore[no-untyped-def]
        if isinstance(x, float) and isinstance(y, float):
            return abs(x - y) <= 1.0001e-4
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(close(x[k], y[k]) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(close(p, q) for p, q in zip(x, y, strict=True))
        return x == y

    assert close(a.to_dict(), b.to_dict()), (a.to_dict(), b.to_dict())


def test_verdicts_with_the_compiled_form_are_the_pipelines(heads: dict, sample: list[str]) -> None:
    from moderation.classifier.contribution import ContributionModel

    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    (fast, slow), (fast_head, slow_head) = heads["classifier"], heads["contribution"]
    thresholds = {k: float(v) for k, v in slow_head.metadata["thresholds"].items()}
    texts = sample[:600] + HOSTILE

    def verdicts(scorer, head):  # type: ignore[no-untyped-def]
        pipeline = Pipeline(rules, scorer, model_required=True)
        pipeline.contribution = ContributionModel(head, thresholds, head.version)
        return pipeline.run([CommentContext(t) for t in texts])

    compiled_verdicts = verdicts(fast, fast_head)
    assert any(v.contribution and v.contribution["kind"] for v in compiled_verdicts)
    for a, b in zip(compiled_verdicts, verdicts(slow, slow_head), strict=True):
        _same_verdicts(a, b)


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_the_c_kernel_gives_the_numpy_codes_numbers_to_the_bit(
    heads: dict, sample: list[str], head: str
) -> None:
    """`make setup` builds the linear step in C (``_linear.pyx``); it must give exactly what the
    numpy code gives (which the tests above hold to the Pipeline), in a batch and one at a time."""
    from moderation.classifier import compiled

    assert compiled._linear is not None, "the C kernel is not built: run `make setup`"
    scorer = heads[head][0].scorer
    # The most repeated n-grams a text can have: the log table must reach their counts.
    texts = [*sample, *HOSTILE, "the the the " * 3000, "a " * 5000, "\u0130" * 5000, "\u0130 " * 5000]
    for size in (len(texts), 256, 3, 1):
        for start in range(0, len(texts) if size > 1 else 300, size):
            batch = texts[start : start + size]
            fast, slow = scorer.predict_proba(batch, kernel=True), scorer.predict_proba(batch, kernel=False)
            assert fast.dtype == slow.dtype and np.array_equal(fast, slow), (size, start)


@pytest.mark.parametrize("categories", [2, 5, 6])
def test_the_kernels_vector_sums_are_its_one_by_one_sums(categories: int) -> None:
    """The kernel adds four categories at a time when a table row holds four (or eight) values;
    with a narrower row (here the first: the categories and the idf alone) it adds them one by
    one. The sums are the same to the bit."""
    from moderation.classifier import _linear, compiled

    rng = np.random.default_rng(categories)
    columns, rows = 50, 40
    values = rng.normal(size=(columns, categories + 1)).astype(np.float32)
    values[:, categories] = rng.uniform(0.5, 5, size=columns)  # the idf
    cells = np.sort(rng.integers(0, rows * columns, size=3000)).astype(np.int64)
    lexicon_rows = np.repeat(np.arange(0, rows, 3), 2).astype(np.int64)
    lexicon_columns = np.tile(np.array([columns - 2, columns - 1], dtype=np.int64), len(lexicon_rows) // 2)
    lexicon_values = rng.uniform(0, 2, size=len(lexicon_rows)).astype(np.float32)
    sums = []
    for stride in (categories + 1, 8, 12):  # one by one, then four at a time
        table = np.zeros((columns, stride), dtype=np.float32)
        table[:, : categories + 1] = values
        out = np.zeros((rows, categories), dtype=np.float32)
        starts = np.array([0, columns // 2], dtype=np.int64)
        _linear.decisions(
            cells, columns, table, starts, compiled._log_counts(3000), True,
            lexicon_rows, lexicon_columns, lexicon_values, out,
        )  # fmt: skip
        sums.append(out)
    assert np.any(sums[0])
    for other in sums[1:]:
        assert np.array_equal(sums[0], other)


def test_a_verdicts_scores_are_rounded_as_round_rounds() -> None:
    from moderation.verdict import score_value

    rng = np.random.default_rng(4)
    ties = [k / 10000 + 0.00005 for k in range(-20, 10001)]  # the decimal ties (and the doubles by them)
    near = [
        k / 10000 + d for k in range(0, 10001, 7) for d in (0.00005 - 1e-12, 0.00005 + 1e-12, 1e-17, -1e-17)
    ]
    values = [
        *rng.random(200_000).tolist(),
        *rng.random(50_000).astype(np.float32).astype(float).tolist(),  # float32 probabilities
        *(rng.random(50_000) * 1e-3).tolist(),
        *ties,
        *near,
        0.0, -0.0, -0.00001, 1.0, 1e-300, 5e11, -7e13, 1e300, float("inf"), float("-inf"),
    ]  # fmt: skip
    for value in values:
        got, want = score_value(value), round(value, 4)
        assert got == want and np.copysign(1, got) == np.copysign(1, want), value
    assert np.isnan(score_value(float("nan")))


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_the_kernels_lexicon_features_are_numpys(heads: dict, sample: list[str], head: str) -> None:
    """The lexicon's features from its counts in C (values from a table of numpy's values by
    count, grown when a count passes it) are numpy's, in a batch and one at a time."""
    from moderation.classifier import _linear, compiled

    [lexicon] = heads[head][0].scorer.lexicons
    lexicon._value_of = lexicon._values(1)  # a fresh table: the repeated words below must grow it
    texts = [compiled.prepare(t) for t in [*sample[:400], *HOSTILE, "idiot " * 3000, "you moron " * 500]]
    for batch in (texts, *([t] for t in texts[-40:])):
        fast, slow = lexicon.features(batch), lexicon.features(batch, kernel=False)
        for a, b in zip(fast, slow, strict=True):
            a = np.asarray(a)
            assert a.dtype == b.dtype and np.array_equal(a, b)
    assert len(lexicon._value_of) > 3000
    counts = np.array([[0, 1.5], [2, 0]], dtype=np.float32)  # not a whole count: the caller's numpy
    assert _linear.lexicon_cells(counts, lexicon._value_of, 0) is None
    assert _linear.lexicon_cells(np.array([[0, 3]], dtype=np.float32), lexicon._value_of[:3], 0) is None


def test_the_kernels_log_table_is_numpys_log() -> None:
    from moderation.classifier import compiled

    logs = compiled._log_counts(5000)
    counts = np.arange(1, 5001, dtype=np.float64)
    assert len(logs) > 5000 and np.array_equal(logs[1:5001], np.log(counts))
    # numpy's log of a lone count (a short array takes other code paths) is the same number.
    assert all(logs[c] == np.log(np.array([float(c)]))[0] for c in (1, 2, 3, 7, 100, 4097))


def test_the_kernel_refuses_cells_it_cannot_read(heads: dict) -> None:
    from moderation.classifier import _linear, compiled

    scorer = heads["classifier"][0].scorer
    none = np.zeros(0, dtype=np.int64)

    def run(cells: list[int], rows: int = 2, width: int = scorer.width) -> None:
        _linear.decisions(
            np.array(cells, dtype=np.int64),
            width,
            scorer.table,
            scorer.tfidf_starts,
            compiled._log_counts(10),
            scorer.sublinear,
            none,
            none,
            np.zeros(0, dtype=np.float32),
            np.zeros((rows, len(scorer.categories)), dtype=np.float32),
        )

    run([3, 3, scorer.width + 5])
    for bad in (
        [5, 3],
        [scorer.width + 5, 3],
        [3, scorer.width + 5, scorer.width + 4],
        [-1],
        [2 * scorer.width],
    ):
        with pytest.raises(ValueError):
            run(bad)
    wider = scorer.width + 10  # a cell numbering wider than the table: no column past its rows
    run([3, wider + 3], width=wider)
    with pytest.raises(ValueError, match="outside the table"):
        run([3, wider + scorer.width + 2], width=wider)
    # The batch's cells are made from each step's rows and columns, inside the batch only.
    pair = (np.array([1, 0, 1], dtype=np.int64), np.array([7, 7, 0], dtype=np.int64))
    assert list(_linear.sorted_cells([pair, pair], scorer.width, 2)) == [
        7, 7, scorer.width, scorer.width, scorer.width + 7, scorer.width + 7,
    ]  # fmt: skip
    for rows, columns, n in (([2], [0], 2), ([0], [scorer.width], 2), ([-1], [0], 2), ([0, 1], [0], 2)):
        with pytest.raises(ValueError):
            _linear.sorted_cells(
                [(np.array(rows, dtype=np.int64), np.array(columns, dtype=np.int64))], scorer.width, n
            )


@pytest.mark.parametrize("width", [1, 2, 200, 256, 257, 40_000, 366_870, 1 << 31, (1 << 40) + 3])
def test_the_kernels_cells_are_the_sorted_cells(width: int) -> None:
    """The kernel sorts a batch's cells row by row (insertion for short rows, radix passes for
    long ones): the same cells as sorting them all, whatever the parts' order, for numberings of
    1 to 41 bits, rows of every length (none, one, a few, thousands, with repeats), in 32 bits
    when they fit and 64 when not."""
    from moderation.classifier import _linear

    rng = np.random.default_rng(width)
    n = 40
    lengths = [0, 1, 2, 3, 63, 64, 65, 5000, *rng.integers(0, 400, size=n - 8)]
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    columns = rng.integers(0, width, size=len(rows), dtype=np.int64)
    columns[::7] = columns[0]  # repeats
    columns[1::11] = width - 1  # the last column
    order = rng.permutation(len(rows))  # parts in any order, split in three
    splits = ((0, 10), (10, 900), (900, None))
    parts = [(rows[order[a:b]].copy(), columns[order[a:b]].copy()) for a, b in splits]
    found = np.asarray(_linear.sorted_cells(parts, width, n))
    expected = np.sort(rows * width + columns)
    assert found.dtype == (np.int32 if n * width < 1 << 31 else np.int64)
    assert np.array_equal(found, expected)
    assert len(_linear.sorted_cells([], width, n)) == 0


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_the_kernels_n_gram_table_finds_what_the_sorted_search_finds(heads: dict, head: str) -> None:
    """Integer n-gram keys are looked up in the kernel's hash table: every key of the vocabulary
    is found at its column, and keys near them, random ones and negative ones are not."""
    blocks = [block for block in heads[head][0].scorer.tfidf if block.lookup is not None]
    assert {block.analyzer for block in blocks} == {"word", "char_wb"}
    rng = np.random.default_rng(3)
    for block in blocks:
        near = np.concatenate((block.keys + 1, block.keys - 1, rng.integers(0, block.keys.max() + 9, 50_000)))
        queries = rng.permutation(np.concatenate((block.keys, near, [-1, -5, 0])))
        expected = np.full(len(queries), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(block.keys, queries), len(block.keys) - 1)
        hit = block.keys.take(at) == queries
        expected[hit] = block.key_columns.take(at[hit])
        assert np.array_equal(block._find(queries), expected)
        assert np.array_equal(block._find(block.keys), block.key_columns)


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_the_kernels_word_n_grams_are_the_numpy_codes(heads: dict, sample: list[str], head: str) -> None:
    """The kernel finds a batch's word n-grams in one pass: the same (row, column) pairs as the
    numpy code, one comment at a time and in batches, none running from one comment into the next."""
    from moderation.classifier.textprep import prepare

    words = next(block for block in heads[head][0].scorer.tfidf if block.analyzer == "word")
    assert words.lookup is not None
    texts = [prepare(t) for t in [*sample[:400], *HOSTILE, "you idiot you idiot", "idiot", "you"]]
    for size in (1, 7, len(texts)):
        for start in range(0, len(texts) if size > 1 else 60, size):
            batch = texts[start : start + size]
            fast = words._word_ngrams(batch)
            lookup, words.lookup = words.lookup, None
            try:
                slow = words._word_ngrams(batch)
            finally:
                words.lookup = lookup
            pairs = [
                sorted(zip(rows.tolist(), columns.tolist(), strict=True)) for rows, columns in (fast, slow)
            ]
            assert pairs[0] == pairs[1], (size, start)


def test_the_kernel_finds_tokens_and_words_as_re_and_split_do(sample: list[str]) -> None:
    """The kernel reads tokens and words off a text's characters: over every code point, and the
    hostile texts, the same tokens as ``re.findall`` with the word analyzer's patterns (each
    found in the vocabulary or numbered as outside it) and the same words as ``str.split()``."""
    from moderation.classifier import _linear, compiled

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    texts = [every[i : i + 997] for i in range(0, len(every), 997)]
    texts += [*HOSTILE, "\ud800 lone \udfff surrogates", "İstanbul ΣΑΣ ß ﬁ I\u0307", *sample[:300]]
    for pattern, shortest in compiled.C_TOKEN_PATTERNS.items():
        tokens = [re.findall(pattern, text) for text in texts]
        known = sorted({token for found in tokens for token in found})[::2]  # half the tokens
        vocabulary = _linear.Strings(known)
        assert len(vocabulary) == len(known) and [vocabulary[i] for i in (0, len(known) - 1)] == [
            known[0],
            known[-1],
        ]
        ids, ends = _linear.token_numbers(vocabulary, texts, shortest, -7)
        number = {token: i for i, token in enumerate(known)}
        expected: list[int] = []
        places = []
        for found in tokens:
            expected += [number.get(token, -7) for token in found]
            places.append(len(expected))
            expected.append(-7)
        assert list(ids) == expected and list(ends) == places
    memo = _linear.Strings()
    slots, per_text, added = _linear.word_slots(memo, texts)
    words = [word for text in texts for word in text.split()]
    assert list(per_text) == [len(text.split()) for text in texts]
    assert added == list(dict.fromkeys(words)) and len(memo) == len(added)
    assert [memo[slot] for slot in slots] == words
    again = _linear.word_slots(memo, texts[::-1])  # all known now: nothing added
    assert again[2] == [] and [memo[slot] for slot in again[0]] == [w for t in texts[::-1] for w in t.split()]


def test_the_kernels_string_table() -> None:
    """``_linear.Strings`` numbers strings in the order they come, finds them by their code
    points (NUL, lone surrogates, astral characters, the empty string), grows, and forgets."""
    from moderation.classifier import _linear

    strings = [f"w{i}" for i in range(5000)] + ["", "\x00", "a\x00", "\ud800", "🙂🙂", "é", "e\u0301"]
    table = _linear.Strings(strings)
    assert len(table) == len(strings)
    assert all(table.find(s) == i and table[i] == s for i, s in enumerate(strings))
    assert table.add("w17") == 17 and table.add("new") == len(strings)
    assert table.find("w5000") == -1 and table.find("\x00\x00") == -1 and table.find("e") == -1
    with pytest.raises(IndexError):
        table[len(table)]
    table.clear()
    assert len(table) == 0 and table.find("w17") == -1 and table.add("w17") == 0


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_the_kernels_word_memo_gives_the_dictionarys_columns(
    heads: dict, sample: list[str], head: str
) -> None:
    """The character n-grams of a batch's words, from the memo the kernel keeps (words found in
    the text and numbered in C) and from the dictionary memo: the same rows and columns, in the
    same order, as words are learned, remembered, and the memo fills up and starts again."""
    from moderation.classifier import compiled
    from moderation.classifier.textprep import prepare

    chars = next(block for block in heads[head][0].scorer.tfidf if block.analyzer == "char_wb")
    texts = [prepare(t) for t in [*sample[:400], *HOSTILE, "the THE the", "🙂 zqxzqx a"]]
    for size in (1, 7, len(texts)):
        fast = compiled._WordColumns(chars._word_columns, kernel=True)
        slow = compiled._WordColumns(chars._word_columns, kernel=False)
        assert fast.strings is not None and slow.strings is None
        for start in [*range(0, len(texts) if size > 1 else 80, size), 0]:  # the first batch again
            batch = texts[start : start + size]
            got = fast.text_columns(batch, chars.lowercase, bool(chars.nul_terms))
            want = slow.text_columns(batch, chars.lowercase, bool(chars.nul_terms))
            assert all(np.array_equal(x, y) for x, y in zip(got, want, strict=True)), (size, start)
        assert fast.known()[:50] == slow.known()[:50]
        with pytest.raises(TypeError):  # its words are numbered in C: no second numbering beside it
            fast.columns(["the"])


@pytest.mark.parametrize("head", ["classifier", "contribution"])
def test_the_kernels_lexicon_counts_are_the_python_ones(heads: dict, sample: list[str], head: str) -> None:
    """The lexicon step's counts from the kernel (``_linear.LexiconCounts``) and from Python:
    the same, one text at a time and in batches, over realistic comments, the hostile texts,
    and texts made of the lists' own words and phrases (a phrase's first word, "you" before an
    insult, an identity term near a slur, each across other characters)."""
    import random

    from moderation.classifier.textprep import prepare

    lexicons = heads[head][0].scorer.lexicons
    assert lexicons
    for lexicon in lexicons:
        matcher = lexicon.matcher
        assert matcher.kernel is not None
        rng = random.Random(4)
        words = [w for phrase in matcher.phrases for w in phrase.split()]
        words += [*list(matcher.exact)[:150], *(p + "ing" for p in list(matcher.prefix)[:150]), "you", "them"]
        texts = [prepare(t) for t in [*sample[:800], *HOSTILE]]
        texts += [" ".join(rng.choice(words) for _ in range(rng.randint(0, 40))) for _ in range(1500)]
        texts += [
            rng.choice([", ", " - ", "'", "\x00", "é", "  "]).join(rng.choice(words) for _ in range(30))
            for _ in range(500)
        ]
        texts += ["you " * 3000, "'", "a"]
        expected = np.array([matcher._counts(t) for t in texts], dtype=np.float32)
        counted = [c for c in range(matcher.width) if c not in matcher.context_only]
        assert (expected[:, counted] > 0).any(axis=0).all()  # every count, addressed and near ones too
        for size in (1, 9, len(texts)):
            got = np.vstack([matcher.count(texts[i : i + size]) for i in range(0, len(texts), size)])
            assert np.array_equal(got, expected), size
        # A memo that keeps 5 tokens starts again all the time: the same counts.
        from moderation.classifier import _linear

        phrases = {phrase: list(lists) for phrase, lists in matcher.phrases.items()}
        small = _linear.LexiconCounts(
            matcher._lists_of, len(matcher.names), phrases, matcher.phrase_lengths, matcher.second,
            matcher.identity, matcher.addressed, matcher.near, matcher.context_only, matcher.window, 5,
        )  # fmt: skip
        got = np.zeros_like(expected)
        small.count(texts, got)
        assert np.array_equal(got, expected)


def _prepare_with_every_substitution(text: str) -> str:
    """``textprep.prepare`` as it was before it checked which substitutions a text needs."""
    from moderation.classifier import textprep
    from moderation.text.normalize import normalize

    folded = normalize(text).text
    folded = textprep._SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group()), folded)
    folded = textprep._DISGUISED.sub(textprep._undisguise, folded)
    return textprep._STRETCH.sub(r"\1\1", folded)


PREPARE_CASES = [
    "f u c k you", "f.u.c.k", "f_u_c_k", "a_b_cd", "ab c d", "x a fan", "i.e. the u.s.a.", "a b", "a  b  c",
    "sh1t a$$ f*ck b!tch", "@linda", "1990s", "2019 was", "$$$ !!!", "a1", "_a1", "é1", "٣a",
    "fuuuuck", "aa", "aaa", "s h 1 t", "f u u u c k", "a " * 5000, "a_" * 5000 + "bc", "x" * 10_000,
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcxyz 0149$@!*._-\u00e9\u0663AB\n\u0130")), max_size=60))
def test_prepare_skips_only_substitutions_that_change_nothing(text: str) -> None:
    """``prepare`` runs a substitution only where the kernel's one pass over the characters says
    it can find something: the same text as running all three, on texts made of the characters
    the substitutions look for."""
    from moderation.classifier.textprep import prepare

    assert prepare.__wrapped__(text) == _prepare_with_every_substitution(text)


def test_prepare_is_the_same_on_comments_and_disguises(sample: list[str]) -> None:
    from moderation.classifier import _linear
    from moderation.classifier.textprep import prepare

    assert _linear is not None
    for text in [*PREPARE_CASES, *HOSTILE, *sample]:
        assert prepare.__wrapped__(text) == _prepare_with_every_substitution(text), text[:40]


def test_a_loaded_model_keeps_batch_memory_in_the_heap_on_glibc(heads: dict) -> None:
    """Loading a compiled model tells glibc's malloc to keep a batch's arrays in the heap (they were
    fresh pages, faulted in, every batch); elsewhere nothing changes, and bad sizes are refused."""
    import platform

    from moderation.classifier import _linear, compiled

    assert compiled._keep_heap() is (platform.libc_ver()[0] == "glibc")
    with pytest.raises(ValueError):
        _linear.keep_heap(-1, compiled.HEAP_TRIM_THRESHOLD)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\"')](\t\u00a0\u2028\u3000\x1c\x85é🙂")), max_size=40))
def test_sentences_found_in_c_are_the_regular_expressions(text: str) -> None:
    """The sentence splitter `make setup` builds (``text/_sentences.pyx``) gives the spans the
    regular expression gives: stops, closing quotes and brackets, every kind of white space."""
    from moderation.text import sentences

    assert sentences._sentence_spans_c is not None
    assert sentences.sentence_spans(text) == sentences.sentence_spans_re(text)


def test_sentences_of_comments_are_the_regular_expressions(sample: list[str]) -> None:
    from moderation.text import sentences

    for text in [*sample, *HOSTILE, "", ". " * 5000, "\n" * 5000, 'He said "no." Then left.']:
        assert sentences.sentence_spans(text) == sentences.sentence_spans_re(text), text[:40]


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abz 0134579$@!*#_.-é\u0663AB\n\u00b2\u2160")), max_size=30))
def test_disguises_undone_in_c_are_the_regular_expressions(text: str) -> None:
    """The kernel's ``undisguise`` is ``_DISGUISED.sub(_undisguise, ...)``: de-leeting, masks
    ("f*ck" -> "f_ck"), trailing "!"s, runs with no letter, digits that are not ASCII."""
    from moderation.classifier import _linear, textprep

    assert _linear.undisguise(text) == textprep._DISGUISED.sub(textprep._undisguise, text)


def test_the_string_tables_hash_is_keyed_per_process() -> None:
    """The kernel's string tables hash under a key each process draws (as Python's own string
    hash does): words cannot be chosen ahead to pile into one slot of a worker's word memo."""
    import subprocess
    import sys

    from moderation.classifier import _linear

    texts = ["idiot", "idiot ", "", "🙂", "a\x00b"]
    here = [_linear.text_hash(t) for t in texts]
    assert here == [_linear.text_hash(t) for t in texts] and len(set(here)) == len(texts)
    code = "from moderation.classifier import _linear; print(_linear.text_hash('idiot'))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )
    assert int(other.stdout) != here[0]
