"""How well each rule agrees with moderators, and how much the classifier's thresholds act per day.

Both are grouped counts over ``rule_hits`` (indexed by day) joined to the comments' current
status: a hit is *decided* when a moderator approved or rejected the comment; the moderator
*agreed* with the rule by rejecting it and *overturned* it by approving it. For a shadow rule that
reads as "moderators would have agreed", which is what going live needs.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import Date, and_, case, cast, distinct, func, select
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ..models import Comment, RuleHit, utcnow
from ..rules.ruleset import MODES
from ..shapes import OneOf, shape

Z_95 = 1.959964  # two-sided 95% confidence
READY_AGREEMENT = 0.95  # a shadow rule is ready when even the interval's lower bound reaches this
READY_MIN_DECIDED = 20  # ... over at least this many decided hits
MAX_WINDOW_DAYS = 366
WINDOW_PATTERN = re.compile(r"([1-9][0-9]{0,4})([hd])")


@shape
class DayHits(TypedDict):
    """A rule's hits on one UTC day."""

    day: Annotated[str, Field(description="YYYY-MM-DD (UTC)")]
    hits: int


@shape
class RuleStats(TypedDict):
    """One rule (live or shadow) over the window, judged by moderators' decisions on its hits."""

    rule: str
    mode: Annotated[str, OneOf(MODES)]
    current_mode: Annotated[str | None, Field(description="its mode in the rules in force; null: removed")]
    hits: int
    hits_per_day: list[DayHits]
    decided: Annotated[int, Field(description="hits a moderator approved or rejected")]
    agreed: Annotated[int, Field(description="decided hits the moderator rejected")]
    overturned: Annotated[int, Field(description="decided hits the moderator approved")]
    agreement: float | None
    interval: Annotated[list[float] | None, Field(description="95% Wilson interval of the agreement")]
    ready_to_go_live: bool


@shape
class CategoryDrift(TypedDict):
    """One category's classifier thresholds on one day."""

    acted: int
    decided: int
    overturned: int
    share: Annotated[float | None, Field(description="of the day's comments")]


@shape
class DayDrift(TypedDict):
    """One UTC day: comments stored, how many the classifier thresholds acted on, overturns."""

    day: str
    comments: int
    acted: int
    decided: int
    overturned: int
    share: float | None
    overturn_rate: float | None
    categories: dict[str, CategoryDrift]


@shape
class Drift(TypedDict):
    """Per day, the share of comments each category's thresholds act on, and the overturn rate."""

    categories: list[str]
    days: list[DayDrift]


def parse_window(text: str) -> timedelta:
    """A window such as ``7d`` or ``36h``, up to a year; raises ValueError saying what is allowed."""
    found = WINDOW_PATTERN.fullmatch(text.strip())
    allowed = f"a whole number of days or hours such as 7d or 36h, at most {MAX_WINDOW_DAYS}d"
    if not found:
        raise ValueError(f"must be {allowed}")
    number, unit = int(found.group(1)), found.group(2)
    window = timedelta(days=number) if unit == "d" else timedelta(hours=number)
    if window > timedelta(days=MAX_WINDOW_DAYS):
        raise ValueError(f"must be {allowed}")
    return window


def window_days(window: timedelta) -> int:
    """Whole days (today included) a window covers: 7d is today and the 6 days before."""
    return max(1, math.ceil(window / timedelta(days=1)))


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; None without trials.

    Unlike the plain ``p ± z·sqrt(p(1-p)/n)`` it stays inside [0, 1] and is honest for small
    counts and for proportions near 0 or 1, which is where rules live.
    """
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def _first_day(days: int) -> date:
    return utcnow().date() - timedelta(days=days - 1)


def _decided() -> Any:
    return and_(Comment.decided_by.is_not(None), Comment.status.in_(("approved", "rejected")))


def rule_stats(session: Session, days: int = 7, modes: Mapping[str, str] | None = None) -> list[RuleStats]:
    """For each rule and mode with hits in the last ``days`` days (and each rule in ``modes``, the
    rules in force, even without hits): hits per day, decided, agreed, overturned, the agreement
    rate with its 95% Wilson interval, and whether a shadow rule is ready to go live."""
    first = _first_day(days)
    agreed = func.sum(case((and_(_decided(), Comment.status == "rejected"), 1), else_=0))
    overturned = func.sum(case((and_(_decided(), Comment.status == "approved"), 1), else_=0))
    rows = session.execute(
        select(RuleHit.rule, RuleHit.mode, RuleHit.day, func.count(), agreed, overturned)
        .join(Comment, Comment.id == RuleHit.comment_id)
        .where(RuleHit.day >= first)
        .group_by(RuleHit.rule, RuleHit.mode, RuleHit.day)
    )
    table: dict[tuple[str, str], dict[str, Any]] = {}

    def entry(rule: str, mode: str) -> dict[str, Any]:
        return table.setdefault((rule, mode), {"per_day": defaultdict(int), "agreed": 0, "overturned": 0})

    for rule, mode, day, hits, yes, no in rows:
        found = entry(rule, mode)
        found["per_day"][_iso(day)] += hits
        found["agreed"] += int(yes or 0)
        found["overturned"] += int(no or 0)
    modes = modes or {}
    for rule, mode in modes.items():
        entry(rule, mode)
    calendar = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    out: list[RuleStats] = []
    for (rule, mode), found in table.items():
        decided = found["agreed"] + found["overturned"]
        interval = wilson(found["agreed"], decided)
        current = modes.get(rule)
        out.append(
            {
                "rule": rule,
                "mode": mode,
                "current_mode": current,
                "hits": sum(found["per_day"].values()),
                "hits_per_day": [{"day": d, "hits": found["per_day"].get(d, 0)} for d in calendar],
                "decided": decided,
                "agreed": found["agreed"],
                "overturned": found["overturned"],
                "agreement": found["agreed"] / decided if decided else None,
                "interval": list(interval) if interval else None,
                "ready_to_go_live": mode == "shadow"
                and current == "shadow"
                and decided >= READY_MIN_DECIDED
                and interval is not None
                and interval[0] >= READY_AGREEMENT,
            }
        )
    out.sort(key=lambda r: (r["mode"] != "shadow", -r["hits"], r["rule"]))
    return out


def _iso(day: Any) -> str:
    """A day as ISO text, whether the driver gives a date or (SQLite) a string."""
    return day.isoformat() if isinstance(day, date) else str(day)[:10]


def _comment_day(session: Session) -> Any:
    """A comment's UTC day in SQL (SQLite keeps UTC timestamps as text, PostgreSQL as timestamptz)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Comment.created_at), Date)
    return func.substr(Comment.created_at, 1, 10)


def drift(session: Session, classifier_rules: Collection[str], days: int = 14) -> Drift:
    """Per day: comments stored, the share each category's classifier thresholds acted on (live
    hits of ``classifier_rules``, the rules that read a score), and how often moderators
    overturned those acts. A jump in a share or in the overturn rate means the comment stream
    or the model changed."""
    first = _first_day(days)
    day = _comment_day(session)
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    comments = {
        _iso(d): n
        for d, n in session.execute(
            select(day, func.count()).where(Comment.created_at >= since).group_by(day)
        )
    }
    acted: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    overall: dict[str, dict[str, int]] = {}
    if classifier_rules:
        hit_comment = distinct(RuleHit.comment_id)
        decided = func.count(distinct(case((_decided(), RuleHit.comment_id))))
        approved = func.count(
            distinct(case((and_(_decided(), Comment.status == "approved"), RuleHit.comment_id)))
        )
        base = (
            select(RuleHit.day, func.count(hit_comment), decided, approved)
            .join(Comment, Comment.id == RuleHit.comment_id)
            .where(RuleHit.day >= first, RuleHit.mode == "live", RuleHit.rule.in_(list(classifier_rules)))
        )
        by_category = base.add_columns(RuleHit.category).group_by(RuleHit.day, RuleHit.category)
        for d, n, dec, over, category in session.execute(by_category):
            acted[_iso(d)][category] = {"acted": n, "decided": dec, "overturned": over}
        for d, n, dec, over in session.execute(base.group_by(RuleHit.day)):
            overall[_iso(d)] = {"acted": n, "decided": dec, "overturned": over}
    categories = sorted({c for per_day in acted.values() for c in per_day})
    out: list[DayDrift] = []
    for i in range(days):
        key = (first + timedelta(days=i)).isoformat()
        total = comments.get(key, 0)
        per_category: dict[str, CategoryDrift] = {}
        for category in categories:
            found = acted[key].get(category, {"acted": 0, "decided": 0, "overturned": 0})
            per_category[category] = {
                "acted": found["acted"],
                "decided": found["decided"],
                "overturned": found["overturned"],
                "share": found["acted"] / total if total else None,
            }
        summed = overall.get(key, {"acted": 0, "decided": 0, "overturned": 0})
        out.append(
            {
                "day": key,
                "comments": total,
                "acted": summed["acted"],
                "decided": summed["decided"],
                "overturned": summed["overturned"],
                "share": summed["acted"] / total if total else None,
                "overturn_rate": summed["overturned"] / summed["decided"] if summed["decided"] else None,
                "categories": per_category,
            }
        )
    return {"categories": categories, "days": out}
