"""The one function that turns comments into verdicts: every phase, in order, merged."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..rules import RuleSet, RulesReloader
from ..verdict import Verdict
from .context import Assessment, CommentContext
from .phases import PHASES, ContributionScorer, Scorer, Setup

# Comments a pipeline runs before it pairs its heads (pairing costs about what scoring 4,000
# comments each head alone would cost more than paired).
PAIR_AFTER = 1000


class Pipeline:
    """The rules (reloaded as they change) and the classifiers, run over comments by :meth:`run`."""

    def __init__(
        self,
        rules: RulesReloader | RuleSet,
        scorer: Scorer | None = None,
        model_required: bool = False,
        model_error: str | None = None,
        time_budget_ms: float = 0.0,
        contribution: ContributionScorer | None = None,
    ) -> None:
        self._rules = rules
        self.scorer = scorer
        self.model_required = model_required
        self.model_error = model_error
        self.time_budget = time_budget_ms / 1000 if time_budget_ms > 0 else None
        self.contribution = contribution  # the contribution head; None leaves verdicts without it
        self._paired: tuple[object, object] = (None, None)
        self._scored = 0  # comments run so far (the heads are paired after PAIR_AFTER)
        self._pairing = threading.Lock()

    @property
    def rules(self) -> RuleSet:
        """The rules in force now."""
        if isinstance(self._rules, RuleSet):
            return self._rules
        return self._rules.rules

    def frozen(self) -> Pipeline:
        """A copy that keeps the rules in force now, whatever reloads later (for worker processes)."""
        copy = Pipeline(
            self.rules, self.scorer, self.model_required, self.model_error, contribution=self.contribution
        )
        copy.time_budget = self.time_budget
        return copy

    def _pair_heads(self) -> None:
        """Let the classifier score each batch for the contribution head too, from one reading of
        its n-grams, where the classifier can (``pair_with``: the compiled form, see
        ``classifier.paired``); once for each pair of heads, and again when a head changed. A run
        does it, holding ``_pairing``, once PAIR_AFTER comments have been run: pairing takes
        about a tenth of a second, which a `flask score` of a few comments would not win back."""
        scorer, contribution = self.scorer, self.contribution
        if self._paired[0] is scorer and self._paired[1] is contribution:
            return
        pair_with = getattr(scorer, "pair_with", None)
        if pair_with is not None and contribution is not None:
            pair_with(contribution)
        self._paired = (scorer, contribution)

    def run(self, comments: Sequence[CommentContext]) -> list[Verdict]:
        """The machine verdict for each comment: every phase in order, merged by one rule."""
        self._scored += len(comments)
        # One thread pairs the heads; the others run unpaired meanwhile, rather than wait.
        if (
            self._scored >= PAIR_AFTER
            and (self._paired[0] is not self.scorer or self._paired[1] is not self.contribution)
            and self._pairing.acquire(blocking=False)
        ):
            try:
                self._pair_heads()
            finally:
                self._pairing.release()
        setup = Setup(self.rules, self.scorer, self.model_required, self.time_budget, self.contribution)
        batch = [Assessment(c, Verdict("approved", rules_version=setup.rules.version)) for c in comments]
        for phase in PHASES:
            for assessment, finding in zip(batch, phase(setup, batch), strict=True):
                if finding is not None:
                    assessment.merge(finding)
        return [a.verdict for a in batch]

    def assess(self, comment: CommentContext) -> Verdict:
        """The verdict for one comment."""
        return self.run([comment])[0]

    def assess_texts(self, texts: Sequence[str]) -> list[Verdict]:
        """Verdicts for texts with no author (evaluation sets)."""
        return self.run([CommentContext(text) for text in texts])
