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

from ..categories import CONTRIBUTION_LABELS, Action
from ..rules import RuleSet
from ..rules.budget import TimeBudget
from ..text.sentences import sentence_spans
from ..verdict import ContributionPayload, ContributionSpan, Match
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


class ContributionScorer(Scorer, Protocol):
    """The contribution head: scores per label and the score each label needs to name a kind."""

    thresholds: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Setup:
    """What one run works with: the rules in force when it started and the classifier(s)."""

    rules: RuleSet
    scorer: Scorer | None
    model_required: bool
    time_budget: float | None  # seconds per comment for the rules
    contribution: ContributionScorer | None = None


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


def score_contribution(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """The contribution head's scores; nothing without the model or when it fails (then the
    verdict simply has no contribution block: a comment is never held for it)."""
    if setup.contribution is None:
        return [None] * len(batch)
    try:
        scores = setup.contribution.score([a.comment.text for a in batch])
    except Exception:
        log.exception("contribution model failed on a batch of %d comments", len(batch))
        return [None] * len(batch)
    return [Finding(contribution_scores=s) for s in scores]


def apply_rules(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """Every rule over text, author facts and scores, within the per-comment time budget."""
    return [_rules_finding(setup, a) for a in batch]


def _rules_finding(setup: Setup, assessment: Assessment) -> Finding:
    budget = None if setup.time_budget is None else TimeBudget(setup.time_budget)
    comment = assessment.comment
    found = setup.rules.evaluate(comment.text, comment.author, assessment.rule_scores, budget=budget)
    action = _ACTION_OF_STATUS[found.status]
    return Finding(
        action,
        tuple(found.matches),
        tuple(found.reasons),
        shadow=tuple(found.shadow),
        feature_rules=tuple(found.feature_rules),
    )


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


def describe_contribution(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """The contribution block: the kind (the best label over its threshold), the sentences that
    show it, and whether the comment is a candidate to feature.

    Only an approved comment can be a candidate. When the rules have live ``feature_candidate``
    rules, a candidate is a comment one of them matched; without any, one with a kind.
    """
    if setup.contribution is None:
        return [None] * len(batch)
    by_rules = setup.rules.has_feature_rules()
    out: list[Finding | None] = []
    for assessment in batch:
        scores = assessment.contribution_scores
        if scores is None:
            out.append(None)
            continue
        block = _contribution_block(setup.contribution, assessment, scores, by_rules)
        out.append(Finding(contribution=block))
    return out


# Sentences beyond the best one are spans too when they reach the threshold; at most this many.
MAX_SPANS = 2


def _contribution_block(
    model: ContributionScorer, assessment: Assessment, scores: Mapping[str, float], by_rules: bool
) -> ContributionPayload:
    over = {label: scores[label] for label in CONTRIBUTION_LABELS if scores[label] >= model.thresholds[label]}
    kind = max(over, key=lambda label: over[label]) if over else None
    text = assessment.comment.text
    spans: list[ContributionSpan] = []
    if kind is not None:
        spans = _spans(model, text, kind)
    verdict = assessment.verdict
    wanted = bool(verdict.feature_rules) if by_rules else kind is not None
    return {
        "kind": kind,
        "score": round(float(max(scores[label] for label in CONTRIBUTION_LABELS)), 4),
        "candidate": verdict.status == "approved" and wanted,
        "spans": spans,
        "rules": list(verdict.feature_rules),
        "model_version": model.version,
    }


def _spans(model: ContributionScorer, text: str, kind: str) -> list[ContributionSpan]:
    """The highest-scoring sentence for ``kind`` (and the next one, when it reaches the threshold)."""
    pieces = sentence_spans(text)
    if len(pieces) <= 1:
        start, end = pieces[0] if pieces else (0, len(text))
        return [{"start": start, "end": end, "text": text[start:end], "score": None}]
    try:
        rows = model.score([text[start:end] for start, end in pieces])
    except Exception:
        log.exception("contribution model failed on the sentences of a comment")
        return []
    ranked = sorted(zip(pieces, (r[kind] for r in rows), strict=True), key=lambda p: -p[1])
    chosen = [ranked[0]] + [p for p in ranked[1:MAX_SPANS] if p[1] >= model.thresholds[kind]]
    return [
        {"start": start, "end": end, "text": text[start:end], "score": round(float(score), 4)}
        for (start, end), score in sorted(chosen)
    ]


# The order matters: the rules read both heads' scores, the author phase reads the verdict so
# far, and the contribution block reads the final status.
PHASES: tuple[Phase, ...] = (
    classify,
    score_contribution,
    apply_rules,
    author_state,
    hold_if_unscored,
    describe_contribution,
)

_ACTION_OF_STATUS: Mapping[str, Action] = {action.status: action for action in Action}
