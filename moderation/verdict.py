"""What the service decides about one comment, and the facts it decides on."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .categories import VISIBLE_STATUSES


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
    contribution: dict[str, Any] | None = None
    # Live ``feature_candidate`` rules that matched: they decide candidates, never the status.
    feature_rules: list[str] = field(default_factory=list)

    @property
    def visible(self) -> bool:
        """Whether the site should show the comment now."""
        return self.status in VISIBLE_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """The verdict as the API returns it (without the comment id); ``contribution`` only when
        the contribution model scored the comment."""
        out = {
            "status": self.status,
            "visible": self.visible,
            "scores": dict(self.scores),
            "matches": [asdict(m) for m in self.matches],
            "reasons": list(self.reasons),
            "rules_version": self.rules_version,
            "model_version": self.model_version,
        }
        if self.contribution is not None:
            out["contribution"] = dict(self.contribution)
        return out
