"""What the service decides about one comment, and the facts it decides on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field
from typing_extensions import TypedDict

from .categories import RULE_CATEGORIES, STATUSES, VISIBLE_STATUSES, Action
from .shapes import OneOf, shape


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
class VerdictPayload(TypedDict):
    """A verdict as the API returns it."""

    status: Annotated[str, OneOf(STATUSES)]
    visible: Annotated[bool, Field(description="show the comment now (approved or flagged)")]
    scores: dict[str, Annotated[float, Field(ge=0, le=1)]]
    matches: list[MatchPayload]
    reasons: list[str]
    rules_version: str
    model_version: str | None


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

    @property
    def visible(self) -> bool:
        """Whether the site should show the comment now."""
        return self.status in VISIBLE_STATUSES

    def to_dict(self) -> VerdictPayload:
        """The verdict as the API returns it (without the comment id)."""
        return {
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
