"""What the phases read (a comment's context) and what they give back (a finding)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ..categories import Action
from ..verdict import AuthorFacts, ContributionPayload, Match, Verdict, score_value

_STRENGTH_OF_STATUS = {action.status: action.strength for action in Action}

# The dataclasses made for every comment (these, Setup, the rules' Subject, Outcome, Normalized)
# are not frozen, though nothing changes one once made: a frozen dataclass sets each field through
# object.__setattr__, and its __init__ costs about ten times a plain one's (frozen, they were a
# tenth of a verdict's instructions).


@dataclass(slots=True)
class CommentContext:
    """One comment as the pipeline sees it: the text and, when known, its author.

    ``banned``, ``premoderated`` and ``suspended_until`` are the author's state in the database;
    an author the database does not know is none of them.
    """

    text: str
    author: AuthorFacts | None = None
    banned: bool = False
    premoderated: bool = False
    suspended_until: datetime | None = None


@dataclass(slots=True)
class Finding:
    """What one phase adds to a comment's verdict (the weakest action adds no status)."""

    action: Action = Action.APPROVE
    matches: tuple[Match, ...] = ()
    reasons: tuple[str, ...] = ()
    scores: Mapping[str, float] | None = None
    model_version: str | None = None
    shadow: tuple[Match, ...] = ()  # what shadow rules would have matched; never acted on
    feature_rules: tuple[str, ...] = ()  # live feature_candidate rules that matched
    contribution_scores: Mapping[str, float] | None = None
    contribution: ContributionPayload | None = None  # the verdict's contribution block
    # ``scores`` and ``contribution_scores`` as the verdict holds them, when the phase rounded its
    # batch at once (else merging rounds them, score by score).
    rounded_scores: Mapping[str, float] | None = None
    rounded_contribution: Mapping[str, float] | None = None


@dataclass(slots=True)
class Assessment:
    """A comment going through the phases: its context and the verdict so far."""

    comment: CommentContext
    verdict: Verdict
    scores: Mapping[str, float] | None = None  # as the classifier gave them, unrounded
    contribution_scores: Mapping[str, float] | None = None  # as the contribution head gave them

    @property
    def rule_scores(self) -> Mapping[str, float] | None:
        """Every score the rules may test: the classifier's and the contribution head's."""
        if self.contribution_scores is None:
            return self.scores
        return {**(self.scores or {}), **self.contribution_scores}

    def merge(self, finding: Finding) -> None:
        """The one merge rule: the strongest action wins; every match and reason is kept."""
        if finding.action.strength > _STRENGTH_OF_STATUS[self.verdict.status]:
            self.verdict.status = finding.action.status
        self.verdict.matches.extend(finding.matches)
        self.verdict.shadow.extend(finding.shadow)
        self.verdict.feature_rules.extend(finding.feature_rules)
        for reason in finding.reasons:
            if reason not in self.verdict.reasons:
                self.verdict.reasons.append(reason)
        if finding.scores is not None:
            self.scores = finding.scores
            self.verdict.model_version = finding.model_version
            self._round_scores(finding.scores, finding.rounded_scores)
        if finding.contribution_scores is not None:
            self.contribution_scores = finding.contribution_scores
            self._round_scores(finding.contribution_scores, finding.rounded_contribution)
        if finding.contribution is not None:
            self.verdict.contribution = finding.contribution

    def _round_scores(self, scores: Mapping[str, float], rounded: Mapping[str, float] | None) -> None:
        """The verdict's scores: the classifier's, then the contribution head's, rounded (each
        head's rounded once, as it comes; ``rounded``: already, by the phase)."""
        if rounded is None:
            rounded = {k: score_value(v) for k, v in scores.items()}
        self.verdict.scores.update(rounded)
