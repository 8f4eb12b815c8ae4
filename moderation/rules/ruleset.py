"""A compiled rule set and how it turns a comment into a verdict."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..categories import FEATURE_CANDIDATE, Action
from ..text.normalize import normalize
from ..text.wordmatch import OutOfTime
from ..verdict import AuthorFacts, Match, Verdict
from .budget import TimeBudget
from .conditions import Condition, Span, Subject, gate, score_thresholds, text_searches
from .reportpolicy import ReportPolicy
from .scan import Screen

log = logging.getLogger(__name__)

OUT_OF_TIME_RULE = "rules-time-budget"
OUT_OF_TIME_REASON = "The rules ran out of time on this comment: held for review"


class _SafeFormat(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


REASON_FIELDS = ("rule", "site_rule", "category", "action", "match")

# A live rule acts; a shadow rule is evaluated and recorded (Verdict.shadow) but never acts.
MODES = ("live", "shadow")
# Distinct sets of scan signals whose runnable rules a rule set remembers (a tuple each).
RUNNABLE_MEMO = 4096
# What the rules know of a comment whose author is not given.
NO_AUTHOR = AuthorFacts()


# Not frozen, for speed (see the note in moderation.pipeline.context).
@dataclass(slots=True)
class Outcome:
    """What the rules found on one comment: the strongest action of the live rules that hold,
    their matches and reasons, what shadow rules would have matched, and the live
    ``feature_candidate`` rules that hold."""

    action: Action
    matches: list[Match]
    reasons: list[str]
    shadow: list[Match]
    feature_rules: list[str]

    @property
    def empty(self) -> bool:
        """Whether nothing holds: the comment is approved, with no match of any kind."""
        return not (self.matches or self.shadow or self.feature_rules) and self.action is Action.APPROVE


@dataclass(frozen=True, slots=True)
class SiteRule:
    """One of the rules the site posts for its readers."""

    key: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """One entry of rules.yaml, compiled."""

    id: str
    site_rule: SiteRule
    category: str
    action: Action
    condition: Condition
    priority: int = 0
    reason: str | None = None
    line: int = 0
    mode: str = "live"
    # ``action: feature_candidate``: a match marks the comment a candidate to feature and never
    # changes its status (``action`` is then APPROVE, the weakest).
    feature: bool = False

    @property
    def action_name(self) -> str:
        """The action as rules.yaml names it."""
        return FEATURE_CANDIDATE if self.feature else self.action.value

    def render_reason(self, matched: str | None) -> str:
        """The reason shown to moderators and the site, with fields filled in."""
        template = self.reason or f"{self.site_rule.title}: {self.category.replace('_', ' ')}"
        return template.format_map(
            _SafeFormat(
                rule=self.id,
                site_rule=self.site_rule.title,
                category=self.category,
                action=self.action_name,
                match=matched or "",
            )
        )


@dataclass
class RuleSet:
    """Rules ordered by priority (highest first), with their version.

    ``rules`` are the live rules; ``shadow`` the rules in ``mode: shadow``, kept apart so that
    nothing that acts on a comment (or counts thresholds) can see them by mistake.
    """

    rules: list[Rule]
    site_rules: dict[str, SiteRule]
    version: str
    source: str = ""
    files: tuple[str, ...] = field(default_factory=tuple)
    reports: ReportPolicy = field(default_factory=ReportPolicy)
    shadow: list[Rule] = field(default_factory=list)
    # What evaluation prepares from the rules once (they are not changed after construction): the
    # screen of their text patterns and score tests, and each rule's gate (see _gated).
    _screen: Screen = field(init=False, repr=False, compare=False)
    _live: list[tuple[Rule, int]] = field(init=False, repr=False, compare=False)
    _shadowed: list[tuple[Rule, int]] = field(init=False, repr=False, compare=False)
    # The live rules each scan's signals let through (see _rules_for).
    _runnable: dict[int, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    _featuring: bool = field(init=False, repr=False, compare=False)  # see has_feature_rules

    def __post_init__(self) -> None:
        self.rules.sort(key=lambda r: (-r.priority, r.line))
        self.shadow.sort(key=lambda r: (-r.priority, r.line))
        every = (*self.rules, *self.shadow)
        gates = [gate(r.condition) or [] for r in every]
        self._screen = Screen(
            (found for r in every for found in text_searches(r.condition)),
            (signal for signals in gates for signal in signals if isinstance(signal, tuple)),
        )
        self._live = _gated(self.rules, self._screen)
        self._shadowed = _gated(self.shadow, self._screen)
        self._runnable = {}
        self._featuring = any(r.feature for r in self.rules)

    def modes(self) -> dict[str, str]:
        """Each rule's id and mode (live or shadow)."""
        return {r.id: r.mode for r in (*self.rules, *self.shadow)}

    def site_rule(self, key_or_title: str) -> SiteRule | None:
        """A site rule by its key or its title."""
        if key_or_title in self.site_rules:
            return self.site_rules[key_or_title]
        return next((r for r in self.site_rules.values() if r.title == key_or_title), None)

    def score_thresholds(self) -> dict[str, float]:
        """Per category, the lowest classifier score at which some rule acts."""
        found: dict[str, float] = {}
        for rule in self.rules:
            if rule.feature:
                continue
            for category, bound in score_thresholds(rule.condition).items():
                found[category] = min(found.get(category, 1.0), bound)
        return found

    def classifier_rules(self) -> list[str]:
        """Ids of the live rules that act from a classifier score (the thresholds drift watches)."""
        return [r.id for r in self.rules if not r.feature and score_thresholds(r.condition)]

    def breakable_site_rules(self) -> dict[str, SiteRule]:
        """The site rules a comment can break: all but those only ``feature_candidate`` rules use
        ("Share with Us" invites comments; rejecting one for it would make no sense)."""
        featuring = {r.site_rule.key for r in (*self.rules, *self.shadow) if r.feature}
        enforced = {r.site_rule.key for r in (*self.rules, *self.shadow) if not r.feature}
        return {key: rule for key, rule in self.site_rules.items() if key not in featuring - enforced}

    def has_feature_rules(self) -> bool:
        """Whether live ``feature_candidate`` rules decide which comments are candidates."""
        return self._featuring

    def evaluate(
        self,
        text: str,
        author: AuthorFacts | None = None,
        scores: Mapping[str, float] | None = None,
        model_version: str | None = None,
        budget: TimeBudget | None = None,
    ) -> Verdict:
        """Run every rule; the strongest action wins and every hit is recorded.

        With a ``budget``, evaluation stops once it is spent (checked between rules and
        between matches) and the comment is held for review; a rejection already found
        still stands.
        """
        found = self.apply(text, author, scores, budget)
        return Verdict(
            status=found.action.status,
            scores={k: round(float(v), 4) for k, v in (scores or {}).items()},
            matches=found.matches,
            reasons=found.reasons,
            rules_version=self.version,
            model_version=model_version,
            shadow=found.shadow,
            feature_rules=found.feature_rules,
        )

    def apply(
        self,
        text: str,
        author: AuthorFacts | None = None,
        scores: Mapping[str, float] | None = None,
        budget: TimeBudget | None = None,
    ) -> Outcome:
        """What :meth:`evaluate` finds, without making a verdict of it (for the pipeline)."""
        normalized = normalize(text)
        scan = self._screen.scan(text, normalized, scores)
        subject = Subject(text, normalized, author or NO_AUTHOR, scores, budget, scan)
        strongest = Action.APPROVE
        matches: list[Match] = []
        reasons: list[str] = []
        feature_rules: list[str] = []
        for rule in self._rules_for(scan.found):
            try:
                if budget is not None and budget.expired():
                    raise OutOfTime
                spans = rule.condition.check(subject)
            except OutOfTime:
                log.warning(
                    "rules ran past their %.0f ms budget at rule %r (version %s); a comment of %d "
                    "characters is held for review",
                    budget.seconds * 1000 if budget else 0,
                    rule.id,
                    self.version,
                    len(text),
                )
                if Action.HOLD.strength > strongest.strength:
                    strongest = Action.HOLD
                matches.append(Match(OUT_OF_TIME_RULE, "", "other", Action.HOLD.value, None, None, None))
                reasons.append(OUT_OF_TIME_REASON)
                break
            if spans is None:
                continue
            if rule.feature:
                feature_rules.append(rule.id)
                continue
            if rule.action.strength > strongest.strength:
                strongest = rule.action
            hits, first_text = _matches(rule, text, spans)
            matches.extend(hits)
            reason = rule.render_reason(first_text)
            if reason not in reasons:
                reasons.append(reason)
        return Outcome(strongest, matches, reasons, self._shadow_matches(subject, budget), feature_rules)

    def _rules_for(self, found: int) -> tuple[Rule, ...]:
        """The live rules, in order, whose gate a scan that found ``found`` opens: the others
        cannot hold (nothing they need is there: a pattern that matches, a score that passes).
        Comments share few distinct sets of signals, so each set's rules are remembered (up to
        RUNNABLE_MEMO sets), and most comments skip the walk through every rule's gate."""
        runnable = self._runnable.get(found)
        if runnable is None:
            runnable = tuple(rule for rule, needs in self._live if not needs or needs & found)
            if len(self._runnable) < RUNNABLE_MEMO:
                self._runnable[found] = runnable
        return runnable

    def _shadow_matches(self, subject: Subject, budget: TimeBudget | None) -> list[Match]:
        """What the shadow rules would have matched. They get a budget of their own, so a slow
        shadow rule cannot hold a comment; past it, the remaining shadow rules are skipped."""
        if not self.shadow:
            return []
        subject = replace(subject, budget=None if budget is None else TimeBudget(budget.seconds))
        found: list[Match] = []
        there = subject.scan.found if subject.scan else -1
        for rule, needs in self._shadowed:
            if needs and not needs & there:
                continue
            try:
                if subject.budget is not None and subject.budget.expired():
                    raise OutOfTime
                spans = rule.condition.check(subject)
            except OutOfTime:
                log.warning(
                    "shadow rules ran past their budget at rule %r (version %s); the rest are skipped "
                    "for a comment of %d characters",
                    rule.id,
                    self.version,
                    len(subject.text),
                )
                break
            if spans is not None:
                found.extend(_matches(rule, subject.text, spans)[0])
        return found


def _gated(rules: list[Rule], screen: Screen) -> list[tuple[Rule, int]]:
    """Rules in the order they run, each with its gate: the bits one of which must be set in a
    comment's scan for it to hold (0: it may hold whatever the scan found)."""
    steps = []
    for rule in rules:
        signals = gate(rule.condition)
        steps.append((rule, 0 if signals is None else screen.mask(signals)))
    return steps


def _matches(rule: Rule, text: str, spans: list[Span]) -> tuple[list[Match], str | None]:
    """One match per distinct span (one without a span when the condition has none), and the
    first matched text (for the reason)."""
    head = (rule.id, rule.site_rule.title, rule.category, rule.action_name)
    if not spans:
        return [Match(*head, None, None, None)], None
    matches = [Match(*head, start, end, text[start:end]) for start, end in sorted(set(spans))]
    return matches, next((m.text for m in matches if m.text), None)
