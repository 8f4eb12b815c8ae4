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

    # The compiled heads round a batch's scores at once (score_rounded): the verdicts are those of
    # the same heads rounding score by score, to the bit.
    class ScoreOnly:
        def __init__(self, model) -> None:  # type: ignore[no-untyped-def]
            self.model, self.version, self.categories = model, model.version, model.categories

        def score(self, texts):  # type: ignore[no-untyped-def]
            return self.model.score(texts)

        def predict_proba(self, texts):  # type: ignore[no-untyped-def]
            return self.model.predict_proba(texts)

    plain = verdicts(ScoreOnly(fast), ScoreOnly(fast_head))
    assert [v.to_dict() for v in plain] == [v.to_dict() for v in compiled_verdicts]


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
            [(cells // columns, cells % columns)], table, starts, compiled._log_counts(3000), True,
            lexicon_rows, lexicon_columns, lexicon_values, out,
        )  # fmt: skip
        sums.append(out)
    assert np.any(sums[0])
    for other in sums[1:]:
        assert np.array_equal(sums[0], other)


def test_a_verdicts_scores_are_rounded_as_round_rounds() -> None:
    from moderation.verdict import score_rows, score_value

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
    # A batch at once (score_rows, as the compiled heads round theirs): each the same, to the bit.
    rows = score_rows(np.array([*values[: len(values) // 6 * 6]]).reshape(-1, 6))
    flat = [x for row in rows for x in row]
    assert len(flat) == len(values) // 6 * 6
    for value, got in zip(values, flat, strict=False):
        want = round(value, 4)
        assert got == want and np.copysign(1, got) == np.copysign(1, want), value
    assert np.isnan(score_rows(np.array([[float("nan"), 0.5]]))[0][0])
    assert score_rows(np.zeros((0, 6))) == []
    one = np.array([[0.12345, 0.00005, 0.5, 1.0, 0.0, 0.99995]])  # a request's row: one by one
    assert score_rows(one) == [[round(x, 4) for x in one[0].tolist()]]


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


def test_the_kernel_finds_every_word_lists_token_as_python_does(heads: dict) -> None:
    """The kernel looks a new token up in the lists itself (whole, and by each prefix length):
    every listed word, phrase and prefix, lengthened, cut short, in capitals and beside
    characters of two and four bytes, gets the counts the Python matcher gives it."""
    from moderation.classifier import compiled

    [lexicon] = heads["classifier"][0].scorer.lexicons
    matcher = lexicon.matcher
    assert matcher.kernel is not None and matcher.exact and matcher.prefix and matcher.phrases
    words = [*matcher.exact, *matcher.prefix, *matcher.phrases]
    texts = []
    for word in words:
        texts += [word, f"{word}s and {word}ing", word[:-1], f"you {word}", f"{word} é {word}🙂"]
        texts += [f"people {word} near you", word.upper(), f"ü{word}", f"{word}\u0130"]
    fresh = compiled._LexiconMatcher(matcher.spec)  # nothing remembered yet
    for batch in (texts, *([t] for t in texts[:200])):
        fast = fresh.count(batch)
        slow = np.array([matcher._counts(t) for t in batch], dtype=np.float32).reshape(len(batch), -1)
        assert np.array_equal(fast, slow)
    assert np.count_nonzero(fresh.count(texts)) > len(words)


def test_the_kernels_log_table_is_numpys_log() -> None:
    from moderation.classifier import compiled

    logs = compiled._log_counts(5000)
    counts = np.arange(1, 5001, dtype=np.float64)
    assert len(logs) > 5000 and np.array_equal(logs[1:5001], np.log(counts))
    # numpy's log of a lone count (a short array takes other code paths) is the same number.
    assert all(logs[c] == np.log(np.array([float(c)]))[0] for c in (1, 2, 3, 7, 100, 4097))


def test_the_kernel_refuses_n_grams_it_cannot_read(heads: dict) -> None:
    """An n-gram outside the batch or the table, a row without its column, or lexicon features
    out of order or outside: a ValueError, never a read out of bounds."""
    from moderation.classifier import _linear, compiled

    scorer = heads["classifier"][0].scorer
    table_rows = len(scorer.table)
    lexicon = scorer.lexicons[0].offset

    def run(
        pairs: list[tuple[int, int]], lexicon_cells: list[tuple[int, int]] = (), rows: int = 2
    ) -> np.ndarray:
        part = (
            np.array([r for r, _ in pairs], dtype=np.int64),
            np.array([c for _, c in pairs], dtype=np.int64),
        )
        out = np.zeros((rows, len(scorer.categories)), dtype=np.float32)
        _linear.decisions(
            [part],
            scorer.table,
            scorer.tfidf_starts,
            compiled._log_counts(10),
            scorer.sublinear,
            np.array([r for r, _ in lexicon_cells], dtype=np.int64),
            np.array([c for _, c in lexicon_cells], dtype=np.int64),
            np.ones(len(lexicon_cells), dtype=np.float32),
            out,
        )
        return out

    out = run([(1, 5), (0, 3), (0, 3)], [(0, lexicon), (1, lexicon), (1, lexicon + 1)])
    assert np.all(out != 0)
    for pairs in ([(2, 0)], [(-1, 0)], [(0, table_rows)], [(0, -1)]):
        with pytest.raises(ValueError, match="outside"):
            run(pairs)
    for lexicon_cells in ([(1, lexicon), (0, lexicon)], [(0, lexicon + 1), (0, lexicon)], [(0, lexicon)] * 2):
        with pytest.raises(ValueError, match="not sorted"):
            run([(0, 3)], lexicon_cells)
    for lexicon_cells in ([(2, lexicon)], [(0, table_rows)]):
        with pytest.raises(ValueError, match="outside"):
            run([(0, 3)], lexicon_cells)
    with pytest.raises(ValueError, match="one column per row"):
        _linear.decisions(
            [(np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64))], scorer.table, scorer.tfidf_starts,
            compiled._log_counts(10), True, *(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.float32)),
            np.zeros((1, len(scorer.categories)), dtype=np.float32),
        )  # fmt: skip


def _reference_decisions(
    rows: np.ndarray, columns: np.ndarray, table: np.ndarray, starts: list[int], n: int, k: int
) -> np.ndarray:
    """Each row's decision values the plain way: its columns sorted, each once with (1 + log of
    its count) times its idf, divided by the norm of its step's values (added in column order, in
    float64), then the weighted features added one by one in float32."""
    out = np.zeros((n, k), dtype=np.float32)
    for row in range(n):
        unique, counts = np.unique(columns[rows == row], return_counts=True)
        values = [
            (np.log(np.float64(c)) + 1) * np.float64(table[u, k]) for u, c in zip(unique, counts, strict=True)
        ]
        steps = np.searchsorted(starts, unique, side="right") - 1
        norms: dict[int, float] = {}
        for value, step in zip(values, steps, strict=True):  # in order (not sum(): 3.12 compensates)
            norms[step] = norms.get(step, 0.0) + value * value
        weights = [np.float32(v / (np.sqrt(norms[s]) or 1.0)) for v, s in zip(values, steps, strict=True)]
        for c in range(k):
            total = np.float32(0)
            for u, w in zip(unique, weights, strict=True):
                total = np.float32(total + np.float32(w * table[u, c]))
            out[row, c] = total
    return out


@pytest.mark.parametrize("table_rows", [1, 2, 200, 256, 257, 5000, 40_000, 366_870, 1 << 22, (1 << 22) + 3])
def test_the_kernel_sorts_each_rows_n_grams(table_rows: int) -> None:
    """The kernel groups a batch's n-grams by row and sorts each row's columns itself (by
    insertion for short rows; a row under 512 n-grams by its top 8 bits, then insertion; longer
    ones by two radix passes; byte by byte past 22 bits): whatever order they come in, the
    decision values are those of the plain computation, for tables of 1 to 23 bits of rows and
    rows of every length (none, one, a few, hundreds, thousands, with repeats)."""
    from moderation.classifier import _linear, compiled

    rng = np.random.default_rng(table_rows)
    n, k = 40, 2
    table = rng.uniform(0.5, 2, size=(table_rows, 4)).astype(np.float32)  # k weights, the idf, a pad
    lengths = [0, 1, 2, 3, 47, 48, 49, 3000, *rng.integers(0, 300, size=n - 8)]
    rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
    columns = rng.integers(0, table_rows, size=len(rows), dtype=np.int64)
    columns[::7] = columns[0]  # repeats
    columns[1::11] = table_rows - 1  # the last column
    starts = [0, table_rows // 2]
    expected = _reference_decisions(rows, columns, table, starts, n, k)
    none = np.zeros(0, dtype=np.int64)
    order = rng.permutation(len(rows))  # in any order, split in three parts
    splits = ((0, 10), (10, 900), (900, None))
    half = rng.random(len(rows)) < 0.5  # half the n-grams from a word memo, half as pairs
    for parts in (
        [(rows, columns)],
        [(rows[order[a:b]].copy(), columns[order[a:b]].copy()) for a, b in splits],
        [_as_memo(rows, columns, n, rng)],
        [(rows[~half], columns[~half]), _as_memo(rows[half], columns[half], n, rng)],
    ):
        out = np.zeros((n, k), dtype=np.float32)
        _linear.decisions(
            parts, table, np.array(starts, dtype=np.int64), compiled._log_counts(3000), True,
            none, none, np.zeros(0, dtype=np.float32), out,
        )  # fmt: skip
        assert np.array_equal(out, expected)


def _as_memo(
    rows: np.ndarray, columns: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """The n-grams (rows ascending) as a word memo's part, ``(pool, starts, sizes, slots,
    per_text)``: each row's columns cut into words of 0 to 7, the words' columns laid in the pool
    in a shuffled order, and every other word of a row taken twice from one slot where the
    columns allow (a word seen again)."""
    words: list[np.ndarray] = []
    slots: list[int] = []
    per_text = np.zeros(n, dtype=np.int64)
    for row in range(n):
        mine = columns[rows == row]
        at = 0
        while at < len(mine):
            size = int(rng.integers(0, 8))
            word = mine[at : at + size]
            at += size
            if len(words) and slots and np.array_equal(words[slots[-1]], word):
                slots.append(slots[-1])
            else:
                slots.append(len(words))
                words.append(word)
            per_text[row] += 1
    layout = rng.permutation(len(words))  # word i is the layout[i]-th in the pool
    sizes = np.array([len(w) for w in words], dtype=np.int64)
    placed = np.argsort(layout)
    starts = np.zeros(len(words), dtype=np.int64)
    starts[placed] = np.concatenate(([0], np.cumsum(sizes[placed])[:-1])) if len(words) else []
    pool = np.zeros(int(sizes.sum()) + 5, dtype=np.int64)  # room past the end, as the memo has
    for i, word in enumerate(words):
        pool[starts[i] : starts[i] + sizes[i]] = word
    return pool, starts, sizes, np.array(slots, dtype=np.int64), per_text


def test_the_kernel_refuses_a_word_memo_it_cannot_read(heads: dict) -> None:
    """A word memo's part with a slot outside the memo, a word's columns outside the pool, word
    counts that do not add up, or a column outside the table: a ValueError or an IndexError,
    never a read out of bounds."""
    from moderation.classifier import _linear, compiled

    scorer = heads["classifier"][0].scorer

    def run(*memo: list[int]) -> None:  # pool, starts, sizes, slots, per_text
        part = tuple(np.array(a, dtype=np.int64) for a in memo)
        none = np.zeros(0, dtype=np.int64)
        out = np.zeros((2, len(scorer.categories)), dtype=np.float32)
        _linear.decisions(
            [part], scorer.table, scorer.tfidf_starts, compiled._log_counts(10), scorer.sublinear,
            none, none, np.zeros(0, dtype=np.float32), out,
        )  # fmt: skip
        assert np.any(out[0]) and np.any(out[1])

    run([3, 5, 7], [0, 1], [1, 2], [0, 1, 1], [1, 2])  # readable: both rows scored
    for slots in ([0, 2, 1], [0, -1, 1]):
        with pytest.raises(IndexError, match="slot outside"):
            run([3, 5, 7], [0, 1], [1, 2], slots, [1, 2])
    for starts, sizes in (([0, 2], [1, 2]), ([-1, 1], [1, 2]), ([0, 1], [1, -1])):
        with pytest.raises(IndexError, match="outside the pool"):
            run([3, 5, 7], starts, sizes, [0, 1, 1], [1, 2])
    for per_text in ([1, 1], [2, 2], [-1, 4], [1, 2, 0]):
        with pytest.raises(ValueError, match="word count"):
            run([3, 5, 7], [0, 1], [1, 2], [0, 1, 1], per_text)
    for column in (len(scorer.table), -1):
        with pytest.raises(ValueError, match="outside the table"):
            run([3, 5, column], [0, 1], [1, 2], [0, 1, 1], [1, 2])
    with pytest.raises(ValueError, match="a part is"):
        _linear.decisions(
            [(np.zeros(1, dtype=np.int64),) * 3], scorer.table, scorer.tfidf_starts, compiled._log_counts(10),
            True, *(np.zeros(0, dtype=t) for t in (np.int64, np.int64, np.float32)),
            np.zeros((1, len(scorer.categories)), dtype=np.float32),
        )  # fmt: skip


def test_the_kernel_finds_a_token_whatever_the_width_of_the_text_around_it() -> None:
    """Strings are found by a hash of their code points: a one-byte text's characters are hashed
    four at a time, a wider text's one by one, and the same token gets the same number in both
    (tokens of 1 to 9 characters, around the four-character steps, in texts of 1, 2 and 4 bytes a
    character); a token not in the vocabulary is not found."""
    from moderation.classifier import _linear

    tokens = ["a", "ab", "abc", "abcd", "abcde", "abcdefgh", "abcdefghi", "wörld", "ünï"]
    vocabulary = _linear.Strings(tokens)
    outside = len(tokens)
    for wide in ("", " ½", " \u0100", " 🙂"):  # one byte a character (Latin-1 too), then two, four
        text = " ".join([*tokens, "abcdefg", "zzzz"]) + wide
        numbers, _ = _linear.token_numbers(vocabulary, _linear.Runs([text], _linear.TOKENS), outside)
        found = list(numbers)[: len(tokens) + 2]
        assert found == [*range(len(tokens)), outside, outside], wide


def test_a_batch_is_lowered_once_for_every_step_that_reads_it() -> None:
    """The word and character steps of both heads read the same batch in lower case: the second
    asks gets the first's list; another batch (even one differing in one text) is lowered anew."""
    from moderation.classifier import compiled

    batch = ["Hello THERE", "Ünïcödé", "x"]
    lowered = compiled._lowered(batch)
    assert lowered == ["hello there", "ünïcödé", "x"]
    assert compiled._lowered(list(batch)) is lowered
    assert compiled._lowered(["Hello THERE", "Ünïcödé", "Y"]) == ["hello there", "ünïcödé", "y"]
    assert compiled._lowered([]) == []


def test_a_batch_is_read_into_tokens_and_words_once_for_both_heads() -> None:
    """The kernel reads a batch's tokens (runs of word characters, at least one or two long) and
    words (``str.split()``'s) once, hashed; both heads number the same runs in their own tables.
    The runs are scikit-learn's tokens and split()'s words, and each table refuses the other kind."""
    from moderation.classifier import _linear, compiled

    texts = ["a bb, c-ddd  é🙂x zz", "", "   ", "one\ttwo\nthree"]
    vocabulary = _linear.Strings(["a", "bb", "c", "ddd", "é", "x", "one", "two", "three"])
    for shortest, pattern in ((1, r"(?u)\b\w+\b"), (2, r"(?u)\b\w\w+\b")):
        tokens = compiled._runs(texts, _linear.TOKENS, shortest)
        assert compiled._runs(list(texts), _linear.TOKENS, shortest) is tokens  # the other head
        numbers, ends = _linear.token_numbers(vocabulary, tokens, 99)
        expected: list[int] = []
        expected_ends = []
        for text in texts:
            expected += [vocabulary.find(t) if t != "zz" else 99 for t in re.findall(pattern, text)]
            expected_ends.append(len(expected))
            expected.append(99)
        assert list(numbers) == expected and list(ends) == expected_ends
    words = compiled._runs(texts, _linear.WORDS)
    memo = _linear.Strings()
    slots, per_text, added = _linear.word_slots(memo, words)
    assert added == [w for text in texts for w in text.split()]
    assert list(per_text) == [len(text.split()) for text in texts] and list(slots) == list(range(len(added)))
    with pytest.raises(ValueError):
        _linear.word_slots(memo, compiled._runs(texts, _linear.TOKENS))
    with pytest.raises(ValueError):
        _linear.token_numbers(vocabulary, words, 99)


@pytest.mark.parametrize("paired", [False, True])
def test_threads_scoring_different_batches_at_once_get_their_own_scores(
    sample: list[str], paired: bool
) -> None:
    """A worker's threads score at once through the same heads: the one-batch memos (lowered
    texts, tokens and words, and a paired second head's scores) are shared and compared, never
    trusted blindly, and the kernel lets go of the GIL while it sums. Every batch gets exactly the
    scores it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    from moderation.classifier import contribution, serving
    from moderation.classifier import paired as pairing

    fast, fast_head = serving.load(artifact.DEFAULT_MODEL), serving.load(contribution.DEFAULT_MODEL)
    batches = [sample[i : i + 37] for i in range(0, 37 * 12, 37)]
    alone = [(fast.predict_proba(b), fast_head.predict_proba(b)) for b in batches]
    if paired:
        assert pairing.pair(fast, fast_head) is not None
    work = [i for _ in range(4) for i in range(len(batches))]
    np.random.default_rng(8).shuffle(work)

    def score(i: int) -> tuple[int, np.ndarray, np.ndarray]:
        return i, fast.predict_proba(batches[i]), fast_head.predict_proba(batches[i])

    with ThreadPoolExecutor(8) as pool:
        for i, clf, head in pool.map(score, work):
            assert np.array_equal(clf, alone[i][0]) and np.array_equal(head, alone[i][1]), i
