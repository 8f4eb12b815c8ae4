"""The phases, in order. Each reads the comments' context (and the verdict so far) and returns
one finding or ``None`` per comment; it never writes the verdict itself.

A phase takes the whole batch because the classifier scores a batch much faster than one
comment at a time; the other phases simply go through it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from ..categories import Action
from ..rules import RuleSet
from ..rules.budget import TimeBudget
from ..verdict import Match
from .context import Assessment, Finding

log = logging.getLogger(__name__)

BANNED_RULE = "author-banned"
PREMODERATED_RULE = "author-premoderated"
SUSPENDED_RULE = "author-suspended"
UNSCORED_RULE = "classifier-unavailable"
UNSCORED_REASON = "The classifier could not score this comment: held for review"


class Scorer(Protocol):
    """Anything that gives per-category scores for a batch of texts."""

    version: str

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """One mapping of category to probability per text."""
        ...


@dataclass(frozen=True, slots=True)
class Setup:
    """What one run works with: the rules in force when it started and the classifier."""

    rules: RuleSet
    scorer: Scorer | None
    model_required: bool
    time_budget: float | None  # seconds per comment for the rules


Phase = Callable[[Setup, Sequence[Assessment]], Sequence[Finding | None]]


def classify(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """The classifier's scores; nothing if there is no classifier or it fails."""
    if setup.scorer is None:
        return [None] * len(batch)
    try:
        scores = setup.scorer.score([a.comment.text for a in batch])
        version = setup.scorer.version
    except Exception:
        log.exception("classifier failed on a batch of %d comments", len(batch))
        return [None] * len(batch)
    return [Finding(scores=s, model_version=version) for s in scores]


def apply_rules(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """Every rule over text, author facts and scores, within the per-comment time budget."""
    return [_rules_finding(setup, a) for a in batch]


def _rules_finding(setup: Setup, assessment: Assessment) -> Finding:
    budget = None if setup.time_budget is None else TimeBudget(setup.time_budget)
    comment = assessment.comment
    found = setup.rules.evaluate(comment.text, comment.author, assessment.scores, budget=budget)
    action = _ACTION_OF_STATUS[found.status]
    return Finding(action, tuple(found.matches), tuple(found.reasons), shadow=tuple(found.shadow))


def author_state(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """A banned or suspended author's comments are rejected; a pre-moderated author's would-be-visible
    ones held."""
    return [_author_finding(a) for a in batch]


def _author_finding(assessment: Assessment) -> Finding | None:
    comment = assessment.comment
    if comment.banned:
        match = Match(BANNED_RULE, "", "other", Action.REJECT.value, None, None, None)
        return Finding(Action.REJECT, (match,), ("The author is banned",))
    if comment.suspended_until is not None and comment.suspended_until > datetime.now(UTC):
        match = Match(SUSPENDED_RULE, "", "other", Action.REJECT.value, None, None, None)
        until = f"{comment.suspended_until:%Y-%m-%d %H:%M} UTC"
        return Finding(Action.REJECT, (match,), (f"The author is suspended until {until}",))
    if comment.premoderated and assessment.verdict.visible:
        match = Match(PREMODERATED_RULE, "", "other", Action.HOLD.value, None, None, None)
        return Finding(Action.HOLD, (match,), ("The author's comments are pre-moderated",))
    return None


def hold_if_unscored(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """A classifier is configured but gave no scores: held for review, never silently approved."""
    if not setup.model_required:
        return [None] * len(batch)
    match = Match(UNSCORED_RULE, "", "other", Action.HOLD.value, None, None, None)
    unscored = Finding(Action.HOLD, (match,), (UNSCORED_REASON,))
    return [unscored if a.scores is None else None for a in batch]


# The order matters: the rules read the scores, the author phase reads the verdict so far.
PHASES: tuple[Phase, ...] = (classify, apply_rules, author_state, hold_if_unscored)

_ACTION_OF_STATUS: Mapping[str, Action] = {action.status: action for action in Action}
