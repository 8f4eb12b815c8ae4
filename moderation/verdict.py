"""What the service decides about one comment, and the facts it decides on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, NotRequired

import numpy as np
from pydantic import Field
from typing_extensions import TypedDict

from .categories import CONTRIBUTION_LABELS, RULE_CATEGORIES, STATUSES, VISIBLE_STATUSES, Action
from .shapes import OneOf, shape

# Scores in a verdict have this many decimals.
SCORE_DECIMALS = 4


def score_value(score: float) -> float:
    """A score as a verdict holds it: ``round(score, 4)``, to the bit, in half the time.

    ``round`` with digits writes the number out in decimal (ten times a verdict). Away from a
    tie, the nearest ten-thousandth is the integer nearest to ``score * 10000`` (the product is
    off by far less than the margin asked for) divided by 10000, which IEEE division rounds to the
    double ``round`` gives; near a tie, for a result of zero (its sign) and for what is not a
    small finite number, ``round`` decides.
    """
    scaled = score * 10000.0
    if -1e12 < scaled < 1e12:
        nearest = round(scaled)
        if nearest and abs(scaled - nearest) < 0.4999:
            return nearest / 10000
    return round(float(score), SCORE_DECIMALS)


# Fewer scores than this are rounded one by one by score_rows.
SMALL_ROWS = 64


def score_rows(scores: np.ndarray) -> list[list[float]]:
    """:func:`score_value` of every score of a (comments, categories) array, a list per row, to
    the bit: the same steps for the whole array at once (numpy's ``rint`` rounds half to even as
    ``round`` does; the division by 10000 is the same IEEE division), and ``score_value`` itself
    for the few near a tie, at zero, or not small and finite."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size < SMALL_ROWS:  # a few comments (a request): numpy's calls would cost more
        return [[score_value(value) for value in row] for row in values.tolist()]
    scaled = values * 10000.0
    nearest = np.rint(scaled)
    with np.errstate(invalid="ignore"):
        fast = (np.abs(scaled) < 1e12) & (nearest != 0) & (np.abs(scaled - nearest) < 0.4999)
    rows: list[list[float]] = np.where(fast, nearest / 10000, 0.0).tolist()
    if not fast.all():
        for i, j in zip(*np.nonzero(~fast), strict=True):
            rows[i][j] = score_value(float(values[i, j]))
    return rows


@dataclass(frozen=True, slots=True)
class AuthorFacts:
    """What the rules may know about a comment's author."""

    account_age_days: float | None = None
    comment_count: int = 0
    rejected_count: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    """One rule hit, with the span of the original text that triggered it."""

    rule: str
    site_rule: str
    category: str
    action: str
    start: int | None
    end: int | None
    text: str | None


@shape
class MatchPayload(TypedDict):
    """One rule hit, with the span of the original text that triggered it."""

    rule: Annotated[str, Field(description="id of the rule in rules.yaml")]
    site_rule: Annotated[str, Field(description="title of the site rule it enforces")]
    category: Annotated[str, OneOf(RULE_CATEGORIES)]
    action: Annotated[str, OneOf(tuple(a.value for a in Action))]
    start: Annotated[int | None, Field(description="offset in the original text")]
    end: int | None
    text: Annotated[str | None, Field(description="the original text[start:end]")]


@shape
class ContributionSpan(TypedDict):
    """A sentence that shows the contribution's kind."""

    start: Annotated[int, Field(description="offset in the original text")]
    end: int
    text: Annotated[str, Field(description="the sentence, text[start:end]")]
    score: Annotated[float | None, Field(description="the sentence's own score (null: the whole text)")]


@shape
class ContributionPayload(TypedDict):
    """What the contribution head found: whether editors may want to feature the comment."""

    kind: Annotated[
        Annotated[str, OneOf(CONTRIBUTION_LABELS)] | None,
        Field(description="the best label over its threshold"),
    ]
    score: Annotated[float, Field(ge=0, le=1, description="the top label's score")]
    candidate: Annotated[bool, Field(description="listed for editors to feature (approved only)")]
    spans: Annotated[list[ContributionSpan], Field(description="the sentences that show the kind")]
    rules: Annotated[list[str], Field(description="feature_candidate rules that matched")]
    model_version: str


@shape
class VerdictPayload(TypedDict):
    """A verdict as the API returns it."""

    status: Annotated[str, OneOf(STATUSES)]
    visible: Annotated[bool, Field(description="show the comment now (approved or flagged)")]
    scores: dict[str, Annotated[float, Field(ge=0, le=1)]]
    matches: list[MatchPayload]
    reasons: list[str]
    rules_version: str
    model_version: str | None
    contribution: NotRequired[
        Annotated[ContributionPayload, Field(description="absent when the contribution model is not loaded")]
    ]


@dataclass(slots=True)
class Verdict:
    """The outcome for one comment.

    ``shadow`` holds what rules in ``mode: shadow`` would have matched: recorded for moderators
    and statistics, never part of the status, and never sent to the site (not in :meth:`to_dict`).
    """

    status: str
    scores: dict[str, float] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    rules_version: str = ""
    model_version: str | None = None
    shadow: list[Match] = field(default_factory=list)
    # The contribution head's finding (kind, score, spans, candidate); None without that model.
    contribution: ContributionPayload | None = None
    # Live ``feature_candidate`` rules that matched: they decide candidates, never the status.
    feature_rules: list[str] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        """Whether the site should show the comment now."""
        return self.status in VISIBLE_STATUSES

    def to_dict(self) -> VerdictPayload:
        """The verdict as the API returns it (without the comment id); ``contribution`` only when
        the contribution model scored the comment."""
        out: VerdictPayload = {
            "status": self.status,
            "visible": self.visible,
            "scores": dict(self.scores),
            "matches": [
                {
                    "rule": m.rule,
                    "site_rule": m.site_rule,
                    "category": m.category,
                    "action": m.action,
                    "start": m.start,
                    "end": m.end,
                    "text": m.text,
                }
                for m in self.matches
            ],
            "reasons": list(self.reasons),
            "rules_version": self.rules_version,
            "model_version": self.model_version,
        }
        if self.contribution is not None:
            out["contribution"] = self.contribution
        return out
