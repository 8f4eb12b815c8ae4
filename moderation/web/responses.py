"""What the JSON API answers, declared once: the shapes of its responses and the builders that
fill them. The OpenAPI document is generated from these shapes; tests check every answer
against it. Shapes of the core (verdicts, comments, authors, webhook events) live beside the
code that builds them and are reused here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from ..categories import STATUSES
from ..classifier.live import MODEL_SOURCES
from ..models import AuditEntry, Comment, WebhookDelivery
from ..rules.reportpolicy import REPORT_REASONS
from ..shapes import OneOf, Timestamp, shape
from ..verdict import VerdictPayload
from ..workflow.audit import CommentPayload, comment_payload
from ..workflow.decisions import REPORT_OUTCOMES
from ..workflow.queue import LISTINGS, QUEUE_STATES, SORTS
from ..workflow.reports import list_reports
from ..workflow.rulehits import ShadowMatch, shadow_matches
from ..workflow.webhooks import STATES

HEALTH_STATES = ("ok", "degraded", "unavailable")


class CommentVerdict(VerdictPayload):
    """A submitted comment's verdict."""

    id: str


class StoredComment(CommentVerdict):
    """A stored comment's current status and verdict."""

    created_at: Timestamp
    updated_at: Timestamp


@shape
class ReportResult(TypedDict):
    """A reader's report, counted (or not, when the same reader reported before)."""

    comment_id: str
    report_count: int
    status: Annotated[str, OneOf(STATUSES)]
    visible: bool


@shape
class ReportPayload(TypedDict):
    """One reader's report on a queue item."""

    reporter_id: str
    reason: Annotated[str, OneOf(REPORT_REASONS)]
    note: str | None
    weight: float
    new_account: bool
    outcome: Annotated[str, OneOf(REPORT_OUTCOMES)] | None
    at: Timestamp


@shape
class ArticlePayload(TypedDict):
    """The article a comment is under."""

    id: str
    title: str | None
    url: str | None


class QueueItem(CommentPayload):
    """A queue item: the comment, its verdict, why it is here, and its reports."""

    text: str
    priority: float
    brigade: Annotated[bool, Field(description="a burst of reports: possibly coordinated")]
    report_weight: float
    claimed_by: str | None
    claimed_until: Timestamp | None
    revision: Annotated[int, Field(description="send back with a decision")]
    created_at: Timestamp
    article: ArticlePayload | None
    reports: list[ReportPayload]
    shadow_matches: Annotated[
        list[ShadowMatch], Field(description="what shadow rules would have done (never applied)")
    ]


@shape
class QueueListing(TypedDict):
    """One page of a queue listing, with how many wait in each queue."""

    state: Annotated[str, OneOf(LISTINGS)]
    sort: Annotated[str, OneOf(SORTS)]
    page: int
    per_page: int
    total: int
    counts: dict[Annotated[str, OneOf(QUEUE_STATES)], int]
    items: list[QueueItem]


@shape
class AuditEntryPayload(TypedDict):
    """One audit log entry."""

    id: int
    action: str
    actor: str
    at: Timestamp
    from_status: Annotated[str, OneOf(STATUSES)] | None
    to_status: Annotated[str, OneOf(STATUSES)] | None
    from_visible: bool | None
    to_visible: bool | None
    site_rule: str | None
    reason: str | None
    note: str | None


@shape
class AuditLog(TypedDict):
    """Everything that happened to a comment, oldest first."""

    comment_id: str
    entries: list[AuditEntryPayload]


@shape
class DeliveryPayload(TypedDict):
    """One webhook delivery and its state."""

    id: int
    event: str
    sequence: Annotated[int | None, Field(description="the comment's event number (none on older rows)")]
    state: Annotated[str, OneOf(STATES)]
    attempts: int
    next_attempt_at: Timestamp
    last_status: int | None
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None


@shape
class Deliveries(TypedDict):
    """Webhook deliveries, newest first."""

    deliveries: list[DeliveryPayload]


@shape
class DatabaseHealth(TypedDict):
    """Whether the database answers."""

    ok: bool
    backend: str


@shape
class RulesHealth(TypedDict):
    """The rules in force."""

    version: str
    count: int
    reload_error: str | None


@shape
class ContributionHealth(TypedDict):
    """The contribution head (a verdict has no contribution block without it; nothing is held)."""

    configured: Annotated[bool, Field(description="false when MODERATION_CONTRIBUTION_MODEL=none")]
    loaded: Annotated[bool, Field(description="configured but not loaded: the log says why")]
    version: str | None


@shape
class ModelHealth(TypedDict):
    """The classifier."""

    loaded: bool
    required: Annotated[bool, Field(description="false when MODERATION_MODEL=none")]
    version: str | None
    error: str | None
    source: Annotated[
        str,
        OneOf(MODEL_SOURCES),
        Field(description="promoted: chosen by `flask model promote`/`rollback` (the database)"),
    ]
    reload_error: Annotated[
        str | None, Field(description="why the promoted model is not serving here (the previous one is)")
    ]


@shape
class Health(TypedDict):
    """Service health."""

    status: Annotated[
        str,
        OneOf(HEALTH_STATES),
        Field(description="degraded: a configured classifier is not loaded, so comments are held"),
    ]
    database: DatabaseHealth
    rules: RulesHealth
    model: ModelHealth
    contribution: ContributionHealth


OpenApiDocument = Annotated[dict[str, Any], Field(description="OpenAPI 3.1")]


def item_payload(session: Session, comment: Comment) -> QueueItem:
    """A queue item: the comment, its verdict, why it is here, and its reports."""
    article = comment.article
    return {
        **comment_payload(comment),
        "text": comment.text,
        "priority": comment.priority,
        "brigade": comment.brigade,
        "report_weight": comment.report_weight,
        "claimed_by": comment.claimed_by,
        "claimed_until": comment.claimed_until.isoformat() if comment.claimed_until else None,
        "revision": comment.revision,
        "created_at": comment.created_at.isoformat(),
        "article": {"id": article.site_id, "title": article.title, "url": article.url} if article else None,
        "reports": [
            {
                "reporter_id": r["reporter_id"],
                "reason": r["reason"],
                "note": r["note"],
                "weight": r["weight"],
                "new_account": r["new_account"],
                "outcome": r["outcome"],
                "at": r["at"].isoformat(),
            }
            for r in list_reports(session, comment)
        ],
        "shadow_matches": shadow_matches(session, comment),
    }


def audit_payload(entry: AuditEntry) -> AuditEntryPayload:
    """One audit log entry."""
    return {
        "id": entry.id,
        "action": entry.action,
        "actor": entry.actor,
        "at": entry.created_at.isoformat(),
        "from_status": entry.from_status,
        "to_status": entry.to_status,
        "from_visible": entry.from_visible,
        "to_visible": entry.to_visible,
        "site_rule": entry.site_rule,
        "reason": entry.reason,
        "note": entry.note,
    }


def delivery_payload(delivery: WebhookDelivery) -> DeliveryPayload:
    """One webhook delivery."""
    return {
        "id": delivery.id,
        "event": delivery.event,
        "sequence": delivery.sequence,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat(),
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at.isoformat(),
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
    }
