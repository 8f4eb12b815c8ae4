"""Turning a comment into a verdict: classifier scores, then rules.

Like a moderation pipeline's phases: the classifier scores the text, the
rules read text, author and scores, and the strongest action wins. If a
classifier is configured but cannot score, comments are held for review,
never silently approved; so is a comment on which the rules run past their
time budget, so that no single comment can hold a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from .categories import Action
from .rules import RuleSet, RulesReloader
from .rules.budget import TimeBudget
from .verdict import AuthorFacts, Match, Verdict

log = logging.getLogger(__name__)

UNSCORED_RULE = "classifier-unavailable"
UNSCORED_REASON = "The classifier could not score this comment: held for review"


class Scorer(Protocol):
    """Anything that gives per-category scores for a batch of texts."""

    version: str

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One mapping of category to probability per text."""
        ...


class Decider:
    """Applies the current rules to the classifier's scores."""

    def __init__(
        self,
        rules: RulesReloader | RuleSet,
        scorer: Scorer | None = None,
        model_required: bool = False,
        model_error: str | None = None,
        time_budget_ms: float = 0.0,
    ) -> None:
        self._rules = rules
        self.scorer = scorer
        self.model_required = model_required
        self.model_error = model_error
        self.time_budget = time_budget_ms / 1000 if time_budget_ms > 0 else None

    @property
    def rules(self) -> RuleSet:
        """The rules in force now."""
        if isinstance(self._rules, RuleSet):
            return self._rules
        return self._rules.rules

    def decide(self, text: str, author: AuthorFacts | None = None) -> Verdict:
        """The verdict for one comment."""
        return self.decide_many([text], [author])[0]

    def decide_many(
        self, texts: Sequence[str], authors: Sequence[AuthorFacts | None] | None = None
    ) -> list[Verdict]:
        """Verdicts for a batch (scoring a batch at once is much faster than one by one)."""
        rules = self.rules
        authors = authors or [None] * len(texts)
        scores: list[dict[str, float]] | None = None
        version = None
        if self.scorer is not None:
            try:
                scores = self.scorer.score(texts)
                version = self.scorer.version
            except Exception:
                log.exception("classifier failed on a batch of %d comments", len(texts))
                scores = None
        if scores is None:
            verdicts = [
                rules.evaluate(t, a, budget=self._budget()) for t, a in zip(texts, authors, strict=True)
            ]
            if self.model_required:
                for verdict in verdicts:
                    _hold_unscored(verdict)
            return verdicts
        return [
            rules.evaluate(t, a, s, version, self._budget())
            for t, a, s in zip(texts, authors, scores, strict=True)
        ]

    def _budget(self) -> TimeBudget | None:
        """The time the rules may spend on the comment about to be evaluated."""
        return None if self.time_budget is None else TimeBudget(self.time_budget)


def _hold_unscored(verdict: Verdict) -> None:
    """Hold a verdict made without scores (unless the rules already reject it)."""
    if Action.HOLD.strength > _strength(verdict.status):
        verdict.status = Action.HOLD.status
    verdict.matches.append(Match(UNSCORED_RULE, "", "other", Action.HOLD.value, None, None, None))
    verdict.reasons.append(UNSCORED_REASON)


def _strength(status: str) -> int:
    return next(a.strength for a in Action if a.status == status)
