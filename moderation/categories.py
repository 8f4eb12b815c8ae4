"""The vocabulary shared by rules, classifier, verdicts and reports."""

from __future__ import annotations

from enum import StrEnum

# Categories the classifier scores, in a fixed order.
SCORED_CATEGORIES: tuple[str, ...] = (
    "toxicity",
    "obscene",
    "sexual",
    "threat",
    "identity_attack",
    "insult",
)

# Labels the contribution head scores: what editors would pick to feature (issue 14).
CONTRIBUTION_LABELS: tuple[str, ...] = ("eyewitness", "background", "constructive")

# Every score a rule's ``score`` condition may test.
RULE_SCORES: tuple[str, ...] = (*SCORED_CATEGORIES, *CONTRIBUTION_LABELS)

# The rule action that marks an approved comment as a candidate to feature; it never changes
# status or visibility, so it is not an :class:`Action`.
FEATURE_CANDIDATE = "feature_candidate"

# Everything a rule may be filed under.
RULE_CATEGORIES: tuple[str, ...] = (
    *SCORED_CATEGORIES,
    "spam",
    "personal_info",
    "false_information",
    "other",
)


class Action(StrEnum):
    """What a rule asks for, weakest first."""

    APPROVE = "approve"
    FLAG = "flag"
    HOLD = "hold"
    REJECT = "reject"

    @property
    def strength(self) -> int:
        """Order of precedence: reject > hold > flag > approve."""
        return _STRENGTH[self]

    @property
    def status(self) -> str:
        """The comment status this action leads to."""
        return _STATUS[self]


_STRENGTH = {Action.APPROVE: 0, Action.FLAG: 1, Action.HOLD: 2, Action.REJECT: 3}
_STATUS = {
    Action.APPROVE: "approved",
    Action.FLAG: "flagged",
    Action.HOLD: "pending",
    Action.REJECT: "rejected",
}

STATUSES: tuple[str, ...] = ("approved", "flagged", "pending", "rejected")
VISIBLE_STATUSES = frozenset({"approved", "flagged"})
