"""Turning a comment into a verdict: classifier scores (when a model is loaded) then rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .rules import RuleSet, RulesReloader
from .verdict import AuthorFacts, Verdict


class Scorer(Protocol):
    """Anything that gives per-category scores for a batch of texts."""

    version: str

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One mapping of category to probability per text."""
        ...


class Decider:
    """Applies the current rules (and scores, once a classifier is configured)."""

    def __init__(self, rules: RulesReloader | RuleSet, scorer: Scorer | None = None) -> None:
        self._rules = rules
        self.scorer = scorer

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
        if self.scorer is None:
            return [rules.evaluate(t, a) for t, a in zip(texts, authors, strict=True)]
        scores = self.scorer.score(texts)
        version = self.scorer.version
        return [rules.evaluate(t, a, s, version) for t, a, s in zip(texts, authors, scores, strict=True)]
