"""Rule conditions: what a rule looks at, and how the pieces compose.

A condition returns ``None`` when it does not hold, or the list of spans
(offsets into the original comment) that made it hold; conditions that are
not about the text, such as the author's account age, hold with no spans.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import re2

from ..categories import RULE_SCORES
from ..text.normalize import Normalized
from ..text.textstats import caps_ratio, repeated_runs
from ..text.wordmatch import MatchMode, OutOfTime, WordListError, WordMatcher, build_matcher
from ..verdict import AuthorFacts
from .budget import TimeBudget
from .limits import RuleLimits, setting_for
from .scan import FOLDED, LINKS, ORIGINAL, READ, Scan, Search
from .yamlsource import item_line, line_of

Span = tuple[int, int]


# Not frozen, for speed (see the note in moderation.pipeline.context).
@dataclass(slots=True)
class Subject:
    """Everything a condition may look at."""

    text: str
    normalized: Normalized
    author: AuthorFacts
    scores: Mapping[str, float] | None
    budget: TimeBudget | None = None  # once spent, matching raises OutOfTime
    scan: Scan | None = None  # the text prepared once for every condition (made when missing)

    def scanned(self) -> Scan:
        """The text as the conditions read it: this subject's scan, or an unscreened one."""
        return self.scan if self.scan is not None else Scan(self.text, self.normalized)


class Condition(Protocol):
    """A test on a subject."""

    def check(self, subject: Subject) -> list[Span] | None:
        """Spans that satisfy the condition, or None when it does not hold."""
        ...


class ConditionError(ValueError):
    """A condition in rules.yaml is malformed; ``line`` points at it."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


# -- comparisons --------------------------------------------------------------

_OPS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "eq": operator.eq,
}


@dataclass(frozen=True, slots=True)
class Compare:
    """A numeric test such as ``{gte: 3, lt: 10}``."""

    tests: tuple[tuple[str, float], ...]

    def __call__(self, value: float) -> bool:
        if len(self.tests) == 1:  # most comparisons: without a generator
            op, bound = self.tests[0]
            return _OPS[op](value, bound)
        return all(_OPS[op](value, bound) for op, bound in self.tests)


def parse_compare(value: Any, what: str, line: int) -> Compare:
    """Parse ``{gt|gte|lt|lte|eq: number, ...}``."""
    if not isinstance(value, Mapping) or not value:
        raise ConditionError(f"{what} needs a comparison such as {{gte: 3}} (keys: {', '.join(_OPS)})", line)
    tests = []
    for op, bound in value.items():
        if op not in _OPS:
            raise ConditionError(
                f"{what}: unknown comparison {op!r} (use {', '.join(_OPS)})", line_of(value, op, line)
            )
        if isinstance(bound, bool) or not isinstance(bound, (int, float)):
            raise ConditionError(f"{what}: {op} needs a number", line_of(value, op, line))
        tests.append((op, float(bound)))
    return Compare(tuple(tests))


# -- text conditions ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Words:
    """Entries of a word or phrase list found in the folded text."""

    matcher: WordMatcher

    def check(self, subject: Subject) -> list[Span] | None:
        if subject.scan is not None and not subject.scan.may_match(self):
            return None
        norm = subject.normalized
        expired = subject.budget.expired if subject.budget else None
        spans = [norm.span(h.start, h.end) for h in self.matcher.finditer(norm.text, expired)]
        return spans or None


# A pattern's group named ``hit`` is the span it reports ("you are (?P<hit>stupid)[.!?]" marks
# "stupid", not the words and punctuation around it that only decide whether it is meant).
HIT_GROUP = "hit"


def hit_group(pattern: Any) -> int:
    """The group whose span a pattern reports: its ``hit`` group, else the whole match."""
    return int(pattern.groupindex.get(HIT_GROUP, 0))


def _regex_spans(
    pattern: Any, text: str, scan: Scan, which: str, budget: TimeBudget | None, group: int = 0
) -> list[Span]:
    """Non-empty match spans (of ``group``); each search is linear (RE2), and the budget is
    checked between them.

    An ASCII text is searched as its bytes, which are its characters: the RE2 binding then skips
    its work of mapping byte offsets back to characters.
    """
    data = scan.data(which)
    spans = []
    for match in pattern.finditer(data if len(data) == len(text) else text):
        if budget is not None and budget.expired():
            raise OutOfTime
        start, end = match.span(group)
        if end > start:
            spans.append((start, end))
    return spans


@dataclass(frozen=True, slots=True)
class RegexWords:
    """Regular-expression list entries, run with RE2 on the folded text."""

    patterns: tuple[Any, ...]

    def check(self, subject: Subject) -> list[Span] | None:
        norm, scan = subject.normalized, subject.scanned()
        spans = [
            norm.span(*span)
            for position, pattern in enumerate(self.patterns)
            if scan.may_match(self, position)
            for span in _regex_spans(pattern, norm.text, scan, FOLDED, subject.budget)
        ]
        return sorted(spans) or None


@dataclass(frozen=True, slots=True)
class Regex:
    """A regular expression (RE2: linear time, no catastrophic backtracking)."""

    pattern: Any
    on_original: bool
    group: int = 0  # see HIT_GROUP

    def check(self, subject: Subject) -> list[Span] | None:
        scan = subject.scanned()
        if not scan.may_match(self):
            return None
        if self.on_original:
            spans = _regex_spans(self.pattern, subject.text, scan, ORIGINAL, subject.budget, self.group)
        else:
            norm = subject.normalized
            spans = [
                norm.span(*span)
                for span in _regex_spans(self.pattern, norm.text, scan, FOLDED, subject.budget, self.group)
            ]
        return spans or None


@dataclass(frozen=True, slots=True)
class Length:
    """The comment's length in characters."""

    compare: Compare

    def check(self, subject: Subject) -> list[Span] | None:
        return [] if self.compare(len(subject.text)) else None


@dataclass(frozen=True, slots=True)
class Links:
    """The number of links (URLs and bare domains)."""

    compare: Compare

    def check(self, subject: Subject) -> list[Span] | None:
        spans = subject.scanned().links()
        return list(spans) if self.compare(len(spans)) else None


@dataclass(frozen=True, slots=True)
class Caps:
    """Shouting: the share of capital letters, once there are enough letters."""

    ratio: Compare
    min_letters: int

    def check(self, subject: Subject) -> list[Span] | None:
        if len(subject.text) < self.min_letters:
            return None  # each letter is a character: too short to have enough letters
        ratio, letters = caps_ratio(subject.text)
        if letters >= self.min_letters and self.ratio(ratio):
            return []
        return None


@dataclass(frozen=True, slots=True)
class Repeated:
    """A character repeated many times in a row ("!!!!!!!!", "aaaaaaaa")."""

    minimum: int

    def check(self, subject: Subject) -> list[Span] | None:
        return repeated_runs(subject.text, self.minimum) or None


# -- facts about the author and the scores ------------------------------------

AUTHOR_FACTS: dict[str, str] = {
    "account_age_days": "days since the author's account was created on the site",
    "comment_count": "comments by the author this service has stored",
    "rejected_count": "of those, how many are rejected",
}


@dataclass(frozen=True, slots=True)
class Author:
    """Tests on the author; an unknown account age never satisfies a test."""

    tests: tuple[tuple[str, Compare], ...]

    def check(self, subject: Subject) -> list[Span] | None:
        for fact, compare in self.tests:
            value = getattr(subject.author, fact)
            if value is None or not compare(value):
                return None
        return []


@dataclass(frozen=True, slots=True)
class Score:
    """Classifier score thresholds per category; false when there are no scores."""

    tests: tuple[tuple[str, Compare], ...]

    def check(self, subject: Subject) -> list[Span] | None:
        if subject.scores is None:
            return None
        for category, compare in self.tests:
            value = subject.scores.get(category)
            if value is None or not compare(value):
                return None
        return []


# -- composition --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class All:
    """Holds when every part holds; collects their spans."""

    parts: tuple[Condition, ...]

    def check(self, subject: Subject) -> list[Span] | None:
        spans: list[Span] = []
        for part in self.parts:
            found = part.check(subject)
            if found is None:
                return None
            spans.extend(found)
        return spans


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Holds when some part holds; collects the spans of each part that does."""

    parts: tuple[Condition, ...]

    def check(self, subject: Subject) -> list[Span] | None:
        spans: list[Span] | None = None
        for part in self.parts:
            found = part.check(subject)
            if found is not None:
                spans = (spans or []) + found
        return spans


@dataclass(frozen=True, slots=True)
class Not:
    """Holds when the part does not."""

    part: Condition

    def check(self, subject: Subject) -> list[Span] | None:
        return [] if self.part.check(subject) is None else None


# -- parsing ------------------------------------------------------------------

CONDITION_KEYS = (
    "words",
    "regex",
    "length",
    "links",
    "caps",
    "repeated",
    "author",
    "score",
    "all",
    "any",
    "not",
)

_WORDS_KEYS = {"list", "entries", "match", "allow", "allow_list", "regex", "plurals"}
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def compile_re2(pattern: str, line: int, what: str = "regex") -> Any:
    """Compile with RE2; constructs RE2 cannot run in linear time are refused."""
    if not isinstance(pattern, str) or not pattern:
        raise ConditionError(f"{what} needs a non-empty pattern string", line)
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ConditionError(f"bad {what} {pattern!r}: {detail}", line) from None


class ConditionParser:
    """Builds conditions from rules.yaml values, given the named word lists."""

    def __init__(self, wordlists: Mapping[str, list[str]], limits: RuleLimits | None = None) -> None:
        self.wordlists = wordlists
        self.limits = limits or RuleLimits()
        self.compiled_chars = 0  # characters of the word-list entries compiled so far

    def parse(self, value: Any, line: int) -> Condition:
        """Parse one condition mapping; several keys in one mapping must all hold."""
        line = line_of(value, default=line)
        if not isinstance(value, Mapping) or not value:
            raise ConditionError(
                f"a condition must be a mapping with one of: {', '.join(CONDITION_KEYS)}", line
            )
        parts = []
        for key, arg in value.items():
            key_line = line_of(value, key, line)
            if key not in CONDITION_KEYS:
                raise ConditionError(f"unknown condition {key!r} (use {', '.join(CONDITION_KEYS)})", key_line)
            parts.append(getattr(self, f"_{key}")(arg, key_line))
        return parts[0] if len(parts) == 1 else All(tuple(parts))

    def _list(self, name: Any, line: int) -> list[str]:
        if name not in self.wordlists:
            known = ", ".join(sorted(self.wordlists)) or "none defined"
            raise ConditionError(f"unknown word list {name!r} (known: {known})", line)
        return self.wordlists[name]

    def _words(self, arg: Any, line: int) -> Condition:
        if isinstance(arg, list):
            arg = {"entries": arg}
        if not isinstance(arg, Mapping):
            raise ConditionError("words needs a list of entries or a mapping", line)
        for key in arg:
            if key not in _WORDS_KEYS:
                raise ConditionError(
                    f"words: unknown key {key!r} (use {', '.join(sorted(_WORDS_KEYS))})",
                    line_of(arg, key, line),
                )
        entries: list[str] = []
        if "list" in arg:
            entries += self._list(arg["list"], line_of(arg, "list", line))
        raw = arg.get("entries", [])
        if not isinstance(raw, list) or not all(isinstance(e, str) for e in raw):
            raise ConditionError("words: entries must be a list of strings", line)
        for index, entry in enumerate(raw):
            if len(entry) > self.limits.max_entry_chars:
                raise ConditionError(
                    f"words: an entry of {len(entry):,} characters; the limit is "
                    f"{self.limits.max_entry_chars} ({setting_for('max_entry_chars')})",
                    item_line(raw, index, line),
                )
        entries += raw
        if not entries:
            raise ConditionError("words: give a list or entries", line)
        if len(entries) > self.limits.max_list_entries:
            raise ConditionError(
                f"words: {len(entries):,} entries; the limit is {self.limits.max_list_entries:,} "
                f"({setting_for('max_list_entries')})",
                line,
            )
        self.compiled_chars += sum(len(e) for e in entries)
        if self.compiled_chars > self.limits.max_total_chars:
            raise ConditionError(
                f"words: the rules' word lists add up to more than {self.limits.max_total_chars:,} "
                f"characters ({setting_for('max_total_chars')}; a list used by several rules counts "
                "once for each)",
                line,
            )
        if arg.get("regex", False):
            return RegexWords(tuple(compile_re2(e, line, "word pattern") for e in entries))
        allow = list(arg.get("allow", []))
        if "allow_list" in arg:
            allow += self._list(arg["allow_list"], line_of(arg, "allow_list", line))
        mode = arg.get("match", "word")
        if mode not in {m.value for m in MatchMode}:
            raise ConditionError(
                f"words: match must be one of {', '.join(m.value for m in MatchMode)}",
                line_of(arg, "match", line),
            )
        try:
            return Words(build_matcher(entries, mode, allow, bool(arg.get("plurals", True))))
        except WordListError as exc:
            raise ConditionError(f"words: {exc}", line) from None

    def _regex(self, arg: Any, line: int) -> Condition:
        on = "normalized"
        if isinstance(arg, Mapping):
            unknown = set(arg) - {"pattern", "field"}
            if unknown:
                raise ConditionError(f"regex: unknown key {sorted(unknown)[0]!r}", line)
            on = arg.get("field", on)
            if on not in ("normalized", "original"):
                raise ConditionError("regex: field must be 'normalized' or 'original'", line)
            arg = arg.get("pattern")
        pattern = compile_re2(arg, line)
        return Regex(pattern, on_original=on == "original", group=hit_group(pattern))

    def _length(self, arg: Any, line: int) -> Condition:
        return Length(parse_compare(arg, "length", line))

    def _links(self, arg: Any, line: int) -> Condition:
        return Links(parse_compare(arg, "links", line))

    def _caps(self, arg: Any, line: int) -> Condition:
        if not isinstance(arg, Mapping) or "ratio" not in arg:
            raise ConditionError("caps needs {ratio: {gte: 0.7}, min_letters: 20}", line)
        unknown = set(arg) - {"ratio", "min_letters"}
        if unknown:
            raise ConditionError(f"caps: unknown key {sorted(unknown)[0]!r}", line)
        minimum = arg.get("min_letters", 12)
        if not isinstance(minimum, int) or minimum < 0:
            raise ConditionError("caps: min_letters must be a whole number", line)
        return Caps(parse_compare(arg["ratio"], "caps ratio", line), minimum)

    def _repeated(self, arg: Any, line: int) -> Condition:
        if isinstance(arg, Mapping):
            arg = arg.get("min")
        if isinstance(arg, bool) or not isinstance(arg, int) or arg < 2:
            raise ConditionError("repeated needs a run length of at least 2, e.g. {min: 8}", line)
        return Repeated(arg)

    def _author(self, arg: Any, line: int) -> Condition:
        if not isinstance(arg, Mapping) or not arg:
            raise ConditionError(f"author needs tests on: {', '.join(AUTHOR_FACTS)}", line)
        tests = []
        for fact, compare in arg.items():
            if fact not in AUTHOR_FACTS:
                raise ConditionError(
                    f"author: unknown fact {fact!r} (use {', '.join(AUTHOR_FACTS)})",
                    line_of(arg, fact, line),
                )
            tests.append((fact, parse_compare(compare, f"author.{fact}", line_of(arg, fact, line))))
        return Author(tuple(tests))

    def _score(self, arg: Any, line: int) -> Condition:
        if not isinstance(arg, Mapping) or not arg:
            raise ConditionError(f"score needs thresholds on: {', '.join(RULE_SCORES)}", line)
        tests = []
        for category, compare in arg.items():
            if category not in RULE_SCORES:
                raise ConditionError(
                    f"score: unknown category {category!r} (use {', '.join(RULE_SCORES)})",
                    line_of(arg, category, line),
                )
            tests.append(
                (category, parse_compare(compare, f"score.{category}", line_of(arg, category, line)))
            )
        return Score(tuple(tests))

    def _parts(self, arg: Any, line: int, what: str) -> tuple[Condition, ...]:
        if not isinstance(arg, list) or not arg:
            raise ConditionError(f"{what} needs a non-empty list of conditions", line)
        return tuple(self.parse(part, line_of(part, default=line)) for part in arg)

    def _all(self, arg: Any, line: int) -> Condition:
        return All(self._parts(arg, line, "all"))

    def _any(self, arg: Any, line: int) -> Condition:
        return AnyOf(self._parts(arg, line, "any"))

    def _not(self, arg: Any, line: int) -> Condition:
        return Not(self.parse(arg, line))


def score_thresholds(condition: Condition) -> dict[str, float]:
    """The lowest score at which a condition starts to act, per category (for evaluation)."""
    found: dict[str, float] = {}
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, Score):
            for category, compare in node.tests:
                for op, bound in compare.tests:
                    if op in ("gt", "gte"):
                        found[category] = min(found.get(category, 1.0), bound)
        elif isinstance(node, (All, AnyOf)):
            stack.extend(node.parts)
        elif isinstance(node, Not):
            continue  # a negated threshold does not make the service act
    return found


def text_searches(condition: Condition) -> list[tuple[object, list[Search]]]:
    """Each text condition inside ``condition``, with the patterns it searches (for a Screen)."""
    found: list[tuple[object, list[Search]]] = []
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, Words):
            found.append((node, [Search(node.matcher.pattern, READ, node.matcher)]))
        elif isinstance(node, Regex):
            found.append((node, [Search(node.pattern, ORIGINAL if node.on_original else FOLDED)]))
        elif isinstance(node, RegexWords):
            found.append((node, [Search(pattern, FOLDED) for pattern in node.patterns]))
        elif isinstance(node, Links):
            found.append((LINKS, [LINKS]))  # the links of an ASCII text are looked for only past it
        elif isinstance(node, (All, AnyOf)):
            stack.extend(node.parts)
        elif isinstance(node, Not):
            stack.append(node.part)
    return found


def gate(condition: Condition) -> list[object] | None:
    """What ``condition`` needs to hold, one of: text conditions (one of their patterns matches
    somewhere) and score tests (a category's score passes). None when it may hold without any
    (a test of links, length or the author; a negation)."""
    if isinstance(condition, (Words, Regex, RegexWords)):
        return [condition]  # no hit without a match of its pattern(s)
    if isinstance(condition, Score):
        category, compare = condition.tests[0]  # every test must pass: the first one, for one
        op, bound = compare.tests[0]
        return [(category, _OPS[op], bound)]
    if isinstance(condition, All):
        gates = [found for found in map(gate, condition.parts) if found is not None]
        return min(gates, key=len) if gates else None
    if isinstance(condition, AnyOf):
        either: list[object] = []
        for part in condition.parts:
            found = gate(part)
            if found is None:
                return None
            either += found
        return either
    return None
