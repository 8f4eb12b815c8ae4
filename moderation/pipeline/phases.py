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
from ..verdict import ContributionPayload, ContributionSpan, Match, score_value
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


@dataclass(slots=True)  # not frozen, for speed (see the note in .context): one a run, a comment over HTTP
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
        scores, rounded = _scored(setup.scorer, [a.comment.text for a in batch])
        version = setup.scorer.version
    except Exception:
        log.exception("classifier failed on a batch of %d comments", len(batch))
        return [None] * len(batch)
    return [
        Finding(scores=s, rounded_scores=r, model_version=version)
        for s, r in zip(scores, rounded, strict=True)
    ]


def _scored(
    scorer: Scorer, texts: list[str]
) -> tuple[Sequence[Mapping[str, float]], Sequence[Mapping[str, float] | None]]:
    """The scorer's scores for a batch, and the same as a verdict holds them where the scorer
    rounds a batch at once (``score_rounded``); None for each where it does not."""
    both = getattr(scorer, "score_rounded", None)
    scores, rounded = both(texts) if both is not None else (scorer.score(texts), None)
    return scores, rounded if rounded is not None else [None] * len(scores)


def score_contribution(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """The contribution head's scores; nothing without the model or when it fails (then the
    verdict simply has no contribution block: a comment is never held for it)."""
    if setup.contribution is None:
        return [None] * len(batch)
    try:
        scores, rounded = _scored(setup.contribution, [a.comment.text for a in batch])
    except Exception:
        log.exception("contribution model failed on a batch of %d comments", len(batch))
        return [None] * len(batch)
    return [
        Finding(contribution_scores=s, rounded_contribution=r) for s, r in zip(scores, rounded, strict=True)
    ]


def apply_rules(setup: Setup, batch: Sequence[Assessment]) -> Sequence[Finding | None]:
    """Every rule over text, author facts and scores, within the per-comment time budget."""
    return [_rules_finding(setup, a) for a in batch]


def _rules_finding(setup: Setup, assessment: Assessment) -> Finding | None:
    budget = None if setup.time_budget is None else TimeBudget(setup.time_budget)
    comment = assessment.comment
    found = setup.rules.apply(comment.text, comment.author, assessment.rule_scores, budget=budget)
    if found.empty:
        return None  # most comments: nothing to merge
    return Finding(
        found.action,
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
    if not setup.model_required or all(a.scores is not None for a in batch):
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
    model = setup.contribution
    if model is None:
        return [None] * len(batch)
    by_rules = setup.rules.has_feature_rules()
    kinds = [
        _kind(model, a.contribution_scores) if a.contribution_scores is not None else None for a in batch
    ]
    spans = _spans(
        model, [a.comment.text if kind else None for a, kind in zip(batch, kinds, strict=True)], kinds
    )
    out: list[Finding | None] = []
    for assessment, kind, found in zip(batch, kinds, spans, strict=True):
        scores = assessment.contribution_scores
        if scores is None:
            out.append(None)
            continue
        verdict = assessment.verdict
        wanted = bool(verdict.feature_rules) if by_rules else kind is not None
        block: ContributionPayload = {
            "kind": kind,
            "score": score_value(max(scores[label] for label in CONTRIBUTION_LABELS)),
            "candidate": verdict.status == "approved" and wanted,
            "spans": found,
            "rules": list(verdict.feature_rules),
            "model_version": model.version,
        }
        out.append(Finding(contribution=block))
    return out


# Sentences beyond the best one are spans too when they reach the threshold; at most this many.
MAX_SPANS = 2


def _kind(model: ContributionScorer, scores: Mapping[str, float]) -> str | None:
    """The best label over its threshold, if any."""
    over = {label: scores[label] for label in CONTRIBUTION_LABELS if scores[label] >= model.thresholds[label]}
    return max(over, key=lambda label: over[label]) if over else None


def _spans(
    model: ContributionScorer, texts: Sequence[str | None], kinds: Sequence[str | None]
) -> list[list[ContributionSpan]]:
    """For each text with a kind, its highest-scoring sentence for that kind (and the next one,
    when it reaches the threshold). Every sentence of the batch is scored in one call."""
    pieces = [sentence_spans(text) if text is not None else [] for text in texts]
    wanted: list[tuple[int, int, int]] = []
    sentences: list[str] = []
    for i, (text, found) in enumerate(zip(texts, pieces, strict=True)):
        if text is not None and len(found) > 1:
            wanted += [(i, start, end) for start, end in found]
            sentences += [text[start:end] for start, end in found]
    values: Sequence[float] = []
    if sentences:
        labels = [kinds[i] or "" for i, _, _ in wanted]
        try:
            values = _label_scores(model, sentences, labels)
        except Exception:
            log.exception("contribution model failed on the sentences of %d comments", len(texts))
    scored: dict[int, list[tuple[tuple[int, int], float]]] = {}
    for (i, start, end), value in zip(wanted, values, strict=False):
        scored.setdefault(i, []).append(((start, end), value))
    out: list[list[ContributionSpan]] = []
    for i, (text, kind) in enumerate(zip(texts, kinds, strict=True)):
        if text is None or kind is None:
            out.append([])
        elif len(pieces[i]) <= 1:
            start, end = pieces[i][0] if pieces[i] else (0, len(text))
            out.append([{"start": start, "end": end, "text": text[start:end], "score": None}])
        elif i not in scored:
            out.append([])  # the model failed on these sentences
        else:
            ranked = sorted(scored[i], key=lambda p: -p[1])
            chosen = [ranked[0]] + [p for p in ranked[1:MAX_SPANS] if p[1] >= model.thresholds[kind]]
            out.append(
                [
                    {"start": start, "end": end, "text": text[start:end], "score": score_value(score)}
                    for (start, end), score in sorted(chosen)
                ]
            )
    return out


def _label_scores(model: ContributionScorer, texts: list[str], labels: list[str]) -> Sequence[float]:
    """Each text's score for its label: by the model's ``label_scores`` where it has one (no
    mapping per sentence), else from ``score``."""
    label_scores = getattr(model, "label_scores", None)
    if label_scores is not None:
        return label_scores(texts, labels)
    return [row[label] for row, label in zip(model.score(texts), labels, strict=True)]


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
