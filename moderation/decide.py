"""Deprecated: the machine verdict is :mod:`moderation.pipeline` (``Pipeline.run``).

Kept only for ``classifier/calibrate.py``, ``web/model_cli.py`` and ``bench/``, which other
sessions are editing; delete this module once they import the pipeline. It decides nothing
itself: every call goes through :meth:`Pipeline.run`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .pipeline import CommentContext, Pipeline, Scorer
from .rules import RuleSet, RulesReloader
from .verdict import AuthorFacts, Verdict


class Decider:
    """The old interface (``decide``/``decide_many``) over a :class:`Pipeline`."""

    def __init__(
        self,
        rules: RulesReloader | RuleSet | None = None,
        scorer: Scorer | None = None,
        model_required: bool = False,
        model_error: str | None = None,
        time_budget_ms: float = 0.0,
        *,
        pipeline: Pipeline | None = None,
    ) -> None:
        if pipeline is None:
            assert rules is not None
            pipeline = Pipeline(rules, scorer, model_required, model_error, time_budget_ms)
        self.pipeline = pipeline

    @property
    def rules(self) -> RuleSet:
        """The rules in force now."""
        return self.pipeline.rules

    @property
    def scorer(self) -> Scorer | None:
        """The classifier, if any."""
        return self.pipeline.scorer

    def decide(self, text: str, author: AuthorFacts | None = None) -> Verdict:
        """The verdict for one comment."""
        return self.pipeline.assess(CommentContext(text, author))

    def decide_many(
        self, texts: Sequence[str], authors: Sequence[AuthorFacts | None] | None = None
    ) -> list[Verdict]:
        """Verdicts for a batch."""
        authors = authors or [None] * len(texts)
        return self.pipeline.run([CommentContext(t, a) for t, a in zip(texts, authors, strict=True)])
