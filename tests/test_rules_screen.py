"""The fast rule path gives the verdicts of the straightforward one.

The rules screen every text pattern in one RE2 Set pass per text and skip what cannot hold;
folding, reading into a word list's alphabet and the link count take shortcuts. Here each
verdict is compared with the one the rules give with every shortcut switched off (no screen,
every rule evaluated, folding one character at a time, links found by the full pattern), on
realistic comments and hostile ones, for the shipped rules, the adversarial word lists and a
rule set that uses every kind of text condition.
"""

from __future__ import annotations

import functools
import string
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import generate
from moderation.config import PROJECT_ROOT
from moderation.pipeline import Pipeline
from moderation.rules import RuleSet, load_rules, parse_rules
from moderation.rules import ruleset as ruleset_module
from moderation.rules import scan as scan_module
from moderation.rules.conditions import text_searches
from moderation.rules.ruleset import OUT_OF_TIME_RULE
from moderation.rules.scan import Screen
from moderation.text import normalize as normalize_module
from moderation.text import textstats, wordmatch
from moderation.text.normalize import Normalized, fold_char, normalize
from moderation.text.patternset import PatternSet
from moderation.verdict import AuthorFacts, Verdict
from tests.test_redos import adversarial_rules_yaml, shipped_alphabet, worst_inputs

HOSTILE = [
    "",
    " ",
    "a",
    "\x00",
    "nul\x00bytes\x00fuck\x00you",
    "a" * 10_000,
    "x" * 800 + "a",
    "f\u200bu\u200cc\u200dk you, s\u2060h\ufeffi\u00adt",
    "sh1t a$$ @ss f*ck b!tch 5h1t fuuuuuuck f.u.c.k f u c k y o u T.A.S.S. b a s s",
    "\u202eesrever ni kys\u202c and \u200fhang yourself\u200e",
    "مرحبا you idiot \u05e9\u05dc\u05d5\u05dd",
    "ѕhit Ѕсаm ｆｕｃｋ 𝐟𝐮𝐜𝐤 Straße ﬁne cafe\u0301 naïve ½ İstanbul ıdiot ſhit \u212aill yourſelf",
    "İ" * 50 + " kill yourself " + "ß" * 50,
    "e\u0301" * 300 + " idiot",
    "emoji 😏😂🍆💦 you are an idiot 🔥",
    "SHOUTING " * 40,
    "!!!!!!!!!!!!!!!!!!!!!!!! ??????????????? zzzzzzzzzzzzzzzz",
    "see http://a.example.com, www.b.org, c.net and x.\u212aR and b.co.uk/x",
    "WWW.SHOP.COM HTTPS://X.Y/Z a.b.c.d.e.f.g.h.com",
    "you are an idiot " * 300,
    "i'll kill you. I know where you live. you're dead. hope you die. watch your back",
    "he should be shot; go hang himself; someone should hurt them",
    "_fuck_ __shit__ f_u_c_k a_s_s",
    "\t\n\r\x0b\x0c fuck\u2028shit\u2029idiot\x85",
    "xxx XXXX xxxxx porn p0rn",
]

# Every kind of text condition, in and out of all/any/not, live and shadow, beside scores and
# authors: what the screen and the gates must get right.
MIXED_RULES = r"""
site_rules: {clean: Keep it Clean, nice: Be Nice}
wordlists:
  rude: [idiot, moron, "piece of trash", "f*ck"]
  leet: [shit, ass, "a$$"]
  curly: ["’tis", "«no»"]
rules:
  - {id: words-word, site_rule: clean, category: obscene, action: flag, when: {words: {list: rude}}}
  - {id: words-prefix, site_rule: clean, category: obscene, action: hold, priority: 3,
     when: {words: {list: leet, match: prefix, allow: ["shitake*", assassin]}}}
  - {id: words-suffix, site_rule: clean, category: obscene, action: flag,
     when: {words: {entries: [hole, head], match: suffix}}}
  - {id: words-substring, site_rule: clean, category: obscene, action: flag,
     when: {words: {list: leet, match: substring, plurals: false}}}
  - {id: words-curly, site_rule: clean, category: other, action: flag, when: {words: {list: curly}}}
  - {id: words-regex, site_rule: clean, category: obscene, action: flag,
     when: {words: {entries: ['f[aeiou]+ck', 'sh[i1]t', '(?i)you\s+are', 'a*'], regex: true}}}
  - {id: regex-original, site_rule: nice, category: insult, action: hold, priority: 2,
     when: {regex: {pattern: '[A-Z]{5,}|İ|\x{212a}', field: original}}}
  - {id: regex-folded, site_rule: nice, category: insult, action: flag,
     when: {regex: '\b(kill|hang)\s+your\s*self\b|^you\b|\bidiot$'}}
  - {id: regex-empty, site_rule: nice, category: other, action: flag, when: {regex: 'x*'}}
  - {id: all-words-links, site_rule: clean, category: spam, action: hold,
     when: {all: [{links: {gte: 1}}, {words: {list: rude}}]}}
  - {id: any-regex-caps, site_rule: clean, category: spam, action: flag,
     when: {any: [{regex: '!{5,}'}, {caps: {ratio: {gte: 0.8}, min_letters: 10}}]}}
  - {id: not-words, site_rule: clean, category: other, action: flag, priority: -1,
     when: {all: [{not: {words: {list: rude}}}, {length: {gte: 300}}]}}
  - {id: nested, site_rule: nice, category: threat, action: reject, priority: 9,
     when: {any: [{all: [{regex: '\bkill\b'}, {words: [you, him]}]},
                  {all: [{score: {threat: {gte: 0.5}}}, {not: {regex: 'news'}}]}]}}
  - {id: words-and-score, site_rule: nice, category: insult, action: reject,
     when: {all: [{words: {list: rude}}, {score: {insult: {gte: 0.3}}}]}}
  - {id: not-score, site_rule: nice, category: other, action: flag,
     when: {not: {score: {toxicity: {gte: 0.9}}}}}
  - {id: author-new, site_rule: nice, category: spam, action: hold,
     when: {all: [{author: {account_age_days: {lt: 1}}}, {repeated: 4}]}}
  - {id: shadow-words, site_rule: clean, category: obscene, action: reject, mode: shadow,
     when: {words: {entries: [darn, heck]}}}
  - {id: shadow-regex, site_rule: clean, category: obscene, action: reject, mode: shadow,
     when: {any: [{regex: 'idiot'}, {score: {toxicity: {gte: 0.1}}}]}}
"""

SCORES = {
    "toxicity": 0.95,
    "insult": 0.8,
    "threat": 0.6,
    "identity_attack": 0.99,
    "sexual": 0.2,
    "obscene": 0.5,
    "eyewitness": 0.5,
    "background": 0.1,
    "constructive": 0.1,
}
CONTEXTS: list[tuple[AuthorFacts | None, dict[str, float] | None]] = [
    (None, None),
    (AuthorFacts(0.5, 2, 4), SCORES),
    (AuthorFacts(400, 50, 0), {k: 0.0 for k in SCORES}),
]


def reference_normalize(text: str) -> Normalized:
    """Folding as it was: one character at a time, with a span per folded character."""
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, char in enumerate(text):
        folded = fold_char(char)
        if not folded:
            if ends and ends[-1] == index and unicodedata.combining(char):
                ends[-1] = index + 1
            continue
        for part in folded:
            chars.append(part)
            starts.append(index)
            ends.append(index + 1)
    return Normalized(text, "".join(chars), tuple(starts), tuple(ends))


def reference_links(text: str) -> list[tuple[int, int]]:
    """Every link, by the full pattern with no hint first."""
    return [m.span() for m in textstats.LINK.finditer(text)]


@functools.cache
def _read_reference(folded: str, keep: frozenset[str]) -> tuple[str, bytes]:
    read = folded.translate(wordmatch._alphabet(keep))
    return read, read.encode()


def rule_sets() -> dict[str, str]:
    return {
        "shipped": (PROJECT_ROOT / "rules.yaml").read_text(),
        "adversarial": adversarial_rules_yaml(),
        "mixed": MIXED_RULES,
    }


def straightforward(source: str, monkeypatch: pytest.MonkeyPatch) -> RuleSet:
    """The rules with every shortcut off: an empty screen (every rule evaluated, every pattern
    searched), and (see unscreened_verdict) the reference folding, reading and links."""
    with monkeypatch.context() as patch:
        patch.setattr(ruleset_module, "Screen", lambda conditions, score_tests: Screen([]))
        return parse_rules(source, "rules.yaml")


def unscreened_verdict(rules: RuleSet, text: str, context: Any, monkeypatch: pytest.MonkeyPatch) -> Verdict:
    with monkeypatch.context() as patch:
        patch.setattr(ruleset_module, "normalize", reference_normalize)
        patch.setattr(scan_module, "links", reference_links)
        patch.setattr(wordmatch, "_read", _read_reference)
        return rules.evaluate(text, *context)


def same(a: Verdict, b: Verdict) -> bool:
    return (a.status, a.reasons, a.matches, a.shadow, a.feature_rules) == (
        b.status,
        b.reasons,
        b.matches,
        b.shadow,
        b.feature_rules,
    )


@pytest.fixture(scope="module")
def sample() -> list[str]:
    """Realistic comments, hostile ones, and some of the worst inputs of test_redos."""
    worst = list(worst_inputs(shipped_alphabet()).values())[::9]
    return generate(1500, seed=5) + HOSTILE + worst


@pytest.fixture(scope="module")
def small_sample(sample: list[str]) -> list[str]:
    """For the lists that are slow on the straightforward path: fewer comments and worst inputs."""
    return sample[1400:1500] + HOSTILE + sample[1500 + len(HOSTILE) :: 4]


@pytest.mark.parametrize("name", ["shipped", "adversarial", "mixed"])
def test_verdicts_are_those_of_the_straightforward_path(
    name: str, sample: list[str], small_sample: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = rule_sets()[name]
    fast, slow = parse_rules(source, "rules.yaml"), straightforward(source, monkeypatch)
    texts = sample if name == "shipped" else small_sample
    differences = []
    fired = 0
    for text in texts:
        for context in CONTEXTS:
            got = fast.evaluate(text, *context)
            want = unscreened_verdict(slow, text, context, monkeypatch)
            fired += bool(want.matches or want.shadow)
            if not same(got, want):
                differences.append((text[:60], context[1] is not None, got.matches, want.matches))
    assert not differences, differences[:3]
    assert fired > len(texts) // 10  # the sample exercises the rules, not only clean text


def test_the_screen_leaves_out_rules_that_cannot_hold() -> None:
    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    plan = rules._live
    gated = {rule.id for rule, needs in plan if needs}
    assert {"obscene-severe", "identity-slurs", "insult-directed", "threat-direct", "ml-toxicity"} <= gated
    assert {"spam-many-links", "spam-flooding", "repeat-offender"}.isdisjoint(gated)  # links, caps, author
    polite = "A polite word about the budget"
    assert rules._screen.scan(polite, normalize(polite)).found == 0
    scan = rules._screen.scan("you idiot", normalize("you idiot"))
    assert [rule.id for rule, needs in plan if needs & scan.found] == ["insult-directed"]
    scan = rules._screen.scan(polite, normalize(polite), {"toxicity": 0.9, "insult": 0.1})
    assert [rule.id for rule, needs in plan if needs & scan.found] == ["ml-toxicity"]


def test_the_rules_a_set_of_signals_lets_through_are_remembered_up_to_a_bound(
    sample: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    remembered, walked = load_rules(PROJECT_ROOT / "rules.yaml"), load_rules(PROJECT_ROOT / "rules.yaml")
    monkeypatch.setattr(ruleset_module, "RUNNABLE_MEMO", 3)
    monkeypatch.setattr(
        walked, "_rules_for", lambda found: [r for r, needs in walked._live if not needs or needs & found]
    )
    distinct = set()
    for text in sample[:400]:
        for context in CONTEXTS:
            assert same(remembered.evaluate(text, *context), walked.evaluate(text, *context)), text[:60]
            distinct.add(remembered._screen.scan(text, normalize(text), context[1]).found)
    assert len(distinct) > 3 and len(remembered._runnable) == 3  # bounded
    for found, rules in remembered._runnable.items():
        assert [r.id for r in rules] == [r.id for r, needs in remembered._live if not needs or needs & found]


def test_a_rule_set_too_large_to_screen_still_gives_the_same_verdicts(
    small_sample: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = rule_sets()["mixed"]
    with monkeypatch.context() as patch:
        patch.setattr(scan_module, "PatternSet", functools.partial(PatternSet, max_mem=1024))
        tiny = parse_rules(source, "rules.yaml")
    assert not any(patterns.usable for _, patterns, _ in tiny._screen.channels)
    full = parse_rules(source, "rules.yaml")
    for text in small_sample:
        for context in CONTEXTS:
            assert same(tiny.evaluate(text, *context), full.evaluate(text, *context)), text[:60]


def test_the_budget_still_stops_a_screened_rule() -> None:
    # Every "!" is a match of "i"; the screen passes the rule, and its search is cut short.
    rules = parse_rules(
        "site_rules: {clean: Keep it Clean}\n"
        "rules:\n"
        "  - {id: slow, site_rule: clean, category: obscene, action: reject, when: {words: [i, iiiz]}}\n",
        "rules.yaml",
    )
    verdict = Pipeline(rules, time_budget_ms=1).assess_texts(["*!" * 5000 + "b"])[0]
    assert verdict.status == "pending" and verdict.matches[-1].rule == OUT_OF_TIME_RULE


# -- the pieces --------------------------------------------------------------------------


def _patterns(rules: RuleSet) -> Iterator[Any]:
    for rule in (*rules.rules, *rules.shadow):
        for _, searches in text_searches(rule.condition):
            for search in searches:
                yield search.pattern


@functools.cache
def every_pattern() -> tuple[list[Any], PatternSet]:
    """The text patterns of the mixed and the shipped rules, each alone and all together."""
    patterns = list(dict.fromkeys(_patterns(parse_rules(MIXED_RULES, "rules.yaml"))))
    patterns += list(dict.fromkeys(_patterns(load_rules(PROJECT_ROOT / "rules.yaml"))))
    return patterns, PatternSet([p.pattern for p in patterns])


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=string.ascii_letters + string.digits + " .!?*$@_-\n" + "İıſ\u212aß\u200bé’«»",
        max_size=80,
    )
)
def test_a_pattern_set_says_which_patterns_match(text: str) -> None:
    patterns, together = every_pattern()
    data = text.encode()
    expected = sum(1 << i for i, pattern in enumerate(patterns) if pattern.search(data) is not None)
    assert together.matching(data) == expected


def test_a_pattern_set_that_cannot_tell_says_every_pattern_may_match() -> None:
    too_big = PatternSet(["a[ab]{20}c", "b+"], max_mem=1024)
    assert not too_big.usable
    assert too_big.matching(b"nothing") == 0b11

    class OutOfMemory:
        """RE2's Set when its automaton runs out of memory: no match at all, not even the sentinel."""

        def Match(self, data: bytes) -> None:
            return None

    answers = PatternSet(["foo", "bar"])
    assert answers.matching(b"a foo") == 0b01 and answers.matching(b"neither") == 0
    answers._set = OutOfMemory()
    assert answers.matching(b"a foo") == 0b11


def test_the_sentinel_matches_every_text() -> None:
    empty = PatternSet([])
    for data in (b"", b"\x00", b"a" * 10_000, "ü".encode(), b"\n"):
        assert empty.matching(data) == 0
    assert isinstance(empty._set, re2.Set)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=string.printable + "ÄéßİıǅΣ\u212a\u200b\u0301\u0308ﬁ½😏£—’\x00", max_size=60))
def test_folding_shortcuts_change_nothing(text: str) -> None:
    fast, slow = normalize(text), reference_normalize(text)
    assert fast.text == slow.text
    for start in range(len(fast.text) + 1):
        for end in range(start, min(len(fast.text), start + 4) + 1):
            assert fast.span(start, end) == slow.span(start, end)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "\x00\x1f\x7f", max_size=60), st.sampled_from(["", "’", "«»"]))
def test_reading_ascii_through_one_table_changes_nothing(folded: str, keep: str) -> None:
    assert wordmatch._read(folded, frozenset(keep)) == _read_reference(folded, frozenset(keep))


def test_the_aligned_fold_gives_way_where_lower_case_changes_the_length() -> None:
    text = "İdiot"  # lower() gives "i̇diot", six characters
    assert normalize(text).text == reference_normalize(text).text
    assert normalize_module._fold_aligned(text) is None
