"""Replay: what a candidate rules file would change on stored comments, before it goes live.

Each stored comment (newest first, in batches) is scored once by the live classifier, then
assessed twice through the same :class:`Pipeline`: with the rules in force and with the
candidate. Comparing the two isolates the rules change (a newer model or an author's new ban
affect both sides alike). Nothing is written: the sessions only read, and roll back.
Used by ``flask rules test`` and the review page's admin area.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..models import Comment, utcnow
from ..pipeline import Pipeline
from ..rules import RuleSet
from ..verdict import Verdict
from .submission import comment_context

log = logging.getLogger(__name__)

EXCERPT_CHARS = 80


@dataclass(frozen=True, slots=True)
class ChangedComment:
    """One comment whose status the candidate rules would change (for the operator's eyes only)."""

    site_id: str
    before: str
    after: str
    gained: tuple[str, ...]  # "rule (action)" the candidate adds
    lost: tuple[str, ...]  # "rule (action)" the candidate no longer has
    excerpt: str


@dataclass
class Agreement:
    """Comments a moderator decided one way, and how many each rule set acts on."""

    decided: int = 0
    current_acts: int = 0
    candidate_acts: int = 0


@dataclass
class ReplayReport:
    """What the candidate rules would change on the comments replayed."""

    current_version: str
    candidate_version: str
    since: timedelta
    limit: int
    checked: int = 0
    reached_limit: bool = False
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    gained: Counter[str] = field(default_factory=Counter)
    lost: Counter[str] = field(default_factory=Counter)
    shadow_hits: Counter[str] = field(default_factory=Counter)
    rejected: Agreement = field(default_factory=Agreement)  # comments moderators rejected
    approved: Agreement = field(default_factory=Agreement)  # comments moderators approved
    sample: list[ChangedComment] = field(default_factory=list)

    @property
    def changed(self) -> int:
        """Comments whose status would change."""
        return sum(n for (before, after), n in self.transitions.items() if before != after)


class _Scores:
    """The live classifier's scores for one batch, computed once and given to both rule sets."""

    def __init__(self, version: str, scores: list[dict[str, float]] | None) -> None:
        self.version, self._scores = version, scores

    def score(self, texts: Sequence[str]) -> list[dict[str, float]]:
        if self._scores is None or len(texts) != len(self._scores):
            raise RuntimeError("no scores for this batch")
        return self._scores


def _pair(
    pipeline: Pipeline, current: RuleSet, candidate: RuleSet, texts: list[str]
) -> tuple[Pipeline, Pipeline]:
    """Two pipelines over the same precomputed scores: the rules in force and the candidate."""
    scorer = None
    if pipeline.scorer is not None:
        try:
            scores: list[dict[str, float]] | None = pipeline.scorer.score(texts)
        except Exception:
            log.exception("classifier failed on a replay batch of %d comments", len(texts))
            scores = None
        scorer = _Scores(pipeline.scorer.version, scores)
    budget_ms = (pipeline.time_budget or 0.0) * 1000
    required, contribution = pipeline.model_required, pipeline.contribution
    return (
        Pipeline(current, scorer, required, time_budget_ms=budget_ms, contribution=contribution),
        Pipeline(candidate, scorer, required, time_budget_ms=budget_ms, contribution=contribution),
    )


def _acting(verdict: Verdict) -> set[str]:
    return {f"{m.rule} ({m.action})" for m in verdict.matches}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The text on one line, cut at ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def replay(
    sessions: sessionmaker[Session],
    pipeline: Pipeline,
    candidate: RuleSet,
    since: timedelta = timedelta(days=7),
    limit: int = 10_000,
    sample: int = 10,
    batch: int = 250,
) -> ReplayReport:
    """Run ``candidate`` over up to ``limit`` comments stored within ``since``, newest first."""
    current = pipeline.rules
    report = ReplayReport(current.version, candidate.version, since, limit)
    start = utcnow() - since
    last_id: int | None = None
    while report.checked < limit:
        with sessions() as session:
            query = select(Comment).where(Comment.created_at >= start)
            if last_id is not None:
                query = query.where(Comment.id < last_id)
            size = min(batch, limit - report.checked)
            rows = list(session.scalars(query.order_by(Comment.id.desc()).limit(size)))
            if not rows:
                return report
            last_id = rows[-1].id
            # Plain values, read before the session closes (it is never committed).
            comments = [_Stored(c.site_id, c.text, _decision(c)) for c in rows]
            contexts = [comment_context(c.text, c.author) for c in rows]
        now_pipeline, new_pipeline = _pair(pipeline, current, candidate, [c.text for c in comments])
        for comment, before, after in zip(
            comments, now_pipeline.run(contexts), new_pipeline.run(contexts), strict=True
        ):
            _count(report, comment, before, after, sample)
    report.reached_limit = True
    return report


@dataclass(frozen=True, slots=True)
class _Stored:
    site_id: str
    text: str
    decision: str | None  # approved | rejected by a moderator, else None


def _decision(comment: Comment) -> str | None:
    if comment.decided_by is not None and comment.status in ("approved", "rejected"):
        return comment.status
    return None


def _count(report: ReplayReport, comment: _Stored, before: Verdict, after: Verdict, sample: int) -> None:
    report.checked += 1
    report.transitions[(before.status, after.status)] += 1
    report.shadow_hits.update({m.rule for m in after.shadow})
    if comment.decision is not None:
        agreement = report.rejected if comment.decision == "rejected" else report.approved
        agreement.decided += 1
        agreement.current_acts += before.status != "approved"
        agreement.candidate_acts += after.status != "approved"
    if before.status == after.status:
        return
    old, new = _acting(before), _acting(after)
    gained, lost = tuple(sorted(new - old)), tuple(sorted(old - new))
    report.gained.update(gained)
    report.lost.update(lost)
    if len(report.sample) < sample:
        report.sample.append(
            ChangedComment(comment.site_id, before.status, after.status, gained, lost, excerpt(comment.text))
        )


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _window(since: timedelta) -> str:
    hours = int(since.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def format_report(report: ReplayReport) -> str:
    """The report as text for a terminal (it names comments and quotes them: never log it)."""
    lines = [
        f"Replayed {report.checked} comments from the last {_window(report.since)}"
        f"{f' (stopped at --limit {report.limit})' if report.reached_limit else ''}: "
        f"rules {report.current_version} -> candidate {report.candidate_version}.",
        f"{report.changed} would change status.",
        "",
        "Status transitions (in force -> candidate):",
    ]
    width = max((len(f"{b} -> {a}") for b, a in report.transitions), default=10)
    for (before, after), n in sorted(report.transitions.items(), key=lambda t: (t[0][0] == t[0][1], -t[1])):
        label = f"{before} -> {after}"
        lines.append(f"  {label:<{width}}  {n:>7}{'' if before != after else '  (unchanged)'}")
    if report.gained or report.lost:
        lines += ["", "Rules responsible (comments whose status changes):"]
        lines += [f"  + {rule:<40} {n:>7}" for rule, n in report.gained.most_common()]
        lines += [f"  - {rule:<40} {n:>7}" for rule, n in report.lost.most_common()]
    if report.shadow_hits:
        lines += ["", "Shadow rules in the candidate (recorded, never acted on):"]
        lines += [f"  {rule:<42} {n:>7} hits" for rule, n in report.shadow_hits.most_common()]
    lines += ["", "Agreement with moderators' decisions (acts = flag, hold or reject):"]
    for name, found in (("rejected", report.rejected), ("approved", report.approved)):
        lines.append(
            f"  of {found.decided} comments moderators {name}: rules in force act on {found.current_acts} "
            f"({_percent(found.current_acts, found.decided)}), candidate on {found.candidate_acts} "
            f"({_percent(found.candidate_acts, found.decided)})"
        )
    if report.sample:
        lines += ["", f"Sample of changed comments (first {len(report.sample)}):"]
        for change in report.sample:
            why = ", ".join([*(f"+{g}" for g in change.gained), *(f"-{x}" for x in change.lost)])
            lines.append(f"  {change.site_id}  {change.before} -> {change.after}  [{why}]")
            lines.append(f"      {change.excerpt}")
    return "\n".join(lines)
