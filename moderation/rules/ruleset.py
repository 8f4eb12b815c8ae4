"""A compiled rule set and how it turns a comment into a verdict."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..categories import Action
from ..text.normalize import normalize
from ..text.wordmatch import OutOfTime
from ..verdict import AuthorFacts, Match, Verdict
from .budget import TimeBudget
from .conditions import Condition, Subject, score_thresholds
from .reportpolicy import ReportPolicy

log = logging.getLogger(__name__)

OUT_OF_TIME_RULE = "rules-time-budget"
OUT_OF_TIME_REASON = "The rules ran out of time on this comment: held for review"


class _SafeFormat(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


REASON_FIELDS = ("rule", "site_rule", "category", "action", "match")


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

    def render_reason(self, matched: str | None) -> str:
        """The reason shown to moderators and the site, with fields filled in."""
        template = self.reason or f"{self.site_rule.title}: {self.category.replace('_', ' ')}"
        return template.format_map(
            _SafeFormat(
                rule=self.id,
                site_rule=self.site_rule.title,
                category=self.category,
                action=self.action.value,
                match=matched or "",
            )
        )


@dataclass
class RuleSet:
    """Rules ordered by priority (highest first), with their version."""

    rules: list[Rule]
    site_rules: dict[str, SiteRule]
    version: str
    source: str = ""
    files: tuple[str, ...] = field(default_factory=tuple)
    reports: ReportPolicy = field(default_factory=ReportPolicy)

    def __post_init__(self) -> None:
        self.rules.sort(key=lambda r: (-r.priority, r.line))

    def site_rule(self, key_or_title: str) -> SiteRule | None:
        """A site rule by its key or its title."""
        if key_or_title in self.site_rules:
            return self.site_rules[key_or_title]
        return next((r for r in self.site_rules.values() if r.title == key_or_title), None)

    def score_thresholds(self) -> dict[str, float]:
        """Per category, the lowest classifier score at which some rule acts."""
        found: dict[str, float] = {}
        for rule in self.rules:
            for category, bound in score_thresholds(rule.condition).items():
                found[category] = min(found.get(category, 1.0), bound)
        return found

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
        subject = Subject(text, normalize(text), author or AuthorFacts(), scores, budget)
        strongest = Action.APPROVE
        matches: list[Match] = []
        reasons: list[str] = []
        for rule in self.rules:
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
            if rule.action.strength > strongest.strength:
                strongest = rule.action
            first_text = None
            if spans:
                for start, end in sorted(set(spans)):
                    piece = text[start:end]
                    first_text = first_text or piece
                    matches.append(
                        Match(
                            rule.id, rule.site_rule.title, rule.category, rule.action.value, start, end, piece
                        )
                    )
            else:
                matches.append(
                    Match(rule.id, rule.site_rule.title, rule.category, rule.action.value, None, None, None)
                )
            reason = rule.render_reason(first_text)
            if reason not in reasons:
                reasons.append(reason)
        return Verdict(
            status=strongest.status,
            scores={k: round(float(v), 4) for k, v in (scores or {}).items()},
            matches=matches,
            reasons=reasons,
            rules_version=self.version,
            model_version=model_version,
        )
