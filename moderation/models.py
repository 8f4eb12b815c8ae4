"""Database tables (typed SQLAlchemy 2.0 models). Schema changes go through Alembic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Base class of every table."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}

    if TYPE_CHECKING:
        # Every model is mapped to a Table (none to a join or subquery); DeclarativeBase declares
        # the wider FromClause, which insert(), update() and ON CONFLICT builders do not accept.
        __table__: ClassVar[Table]


class Author(Base):
    """A commenter, known by the site's id."""

    __tablename__ = "authors"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    account_created_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    premoderated: Mapped[bool] = mapped_column(default=False)
    banned: Mapped[bool] = mapped_column(default=False)
    # A suspension rejects the author's comments like a ban, until this time passes.
    suspended_until: Mapped[datetime | None]


class Article(Base):
    """The article a comment is posted under."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))


class Comment(Base):
    """A comment the site submitted, with its current status and verdict."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_status_created", "status", "created_at"),
        Index("ix_comments_queue_priority", "queue", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"), index=True)
    parent_site_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    visible: Mapped[bool] = mapped_column(default=True)
    verdict: Mapped[dict[str, Any]]
    # Space-separated categories and site-rule keys of the matches, for queue filters.
    categories: Mapped[str] = mapped_column(String(500), default="")
    site_rules: Mapped[str] = mapped_column(String(500), default="")
    # The review queue: None when not queued, else pending | flagged | reported.
    queue: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    report_weight: Mapped[float] = mapped_column(Float, default=0.0)
    brigade: Mapped[bool] = mapped_column(default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    # Bumped on every change, so a decision made on a stale view is refused.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    # How many webhook events this comment has produced: each event carries the next number,
    # so receivers can apply a comment's events in order and notice a gap.
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rules_version: Mapped[str] = mapped_column(String(40))
    model_version: Mapped[str | None] = mapped_column(String(80))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Featuring (issue 14): the contribution head's top score, whether the verdict made the
    # comment a candidate, and the editor's choice: featured | dismissed, by whom and when.
    contribution: Mapped[float | None] = mapped_column(Float)
    candidate: Mapped[bool] = mapped_column(default=False, server_default=false())
    feature_state: Mapped[str | None] = mapped_column(String(20))
    featured_at: Mapped[datetime | None]
    featured_by: Mapped[str | None] = mapped_column(String(200))

    author: Mapped[Author] = relationship(lazy="joined")
    article: Mapped[Article | None] = relationship(lazy="joined")

    # Every ORM UPDATE of a comment says "WHERE revision = <what I read>" and bumps it:
    # two moderators deciding at once cannot both win (StaleDataError for the second).
    __mapper_args__ = {"version_id_col": revision}


class AuditEntry(Base):
    """Append-only log of everything that happened to a comment or an author, and who did it.

    Nothing here is updated or deleted. ``details`` keeps what an undo needs.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("authors.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    from_visible: Mapped[bool | None]
    to_visible: Mapped[bool | None]
    site_rule: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Reporter(Base):
    """A reader who reports comments, with their track record."""

    __tablename__ = "reporters"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(String(200), unique=True)
    upheld_count: Mapped[int] = mapped_column(Integer, default=0)
    dismissed_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """One reader's report of one comment (a reporter counts once per comment)."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("comment_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float)
    new_account: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str | None] = mapped_column(String(20))  # upheld | dismissed, once decided
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthorNote(Base):
    """A moderator's note on an author; removing one marks it, it is never deleted."""

    __tablename__ = "author_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(200))


class WebhookDelivery(Base):
    """Outbox: an event to POST to the site, written in the transaction that caused it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(60))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"), index=True)
    # The comment's event number (``Comment.event_seq`` when written); None for older rows.
    sequence: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class ApiKey(Base):
    """An API key for a site's backend. Only a SHA-256 of the secret is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(200), default="submit")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # Requests per API_RATE_WINDOW_SECONDS; None: the configured API_RATE_LIMIT, 0: unlimited.
    rate_limit: Mapped[int | None] = mapped_column(Integer)


class Moderator(Base):
    """A person who works the review page. Passwords are stored as salted scrypt hashes."""

    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="moderator")  # moderator | admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]


class ModeratorSession(Base):
    """A review-page log-in. The cookie carries the token; only its SHA-256 is stored.

    A session is valid while it is not revoked: logging out revokes it, so a copied cookie
    stops working, and disabling a moderator revokes all of theirs.
    """

    __tablename__ = "moderator_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# The statistics count comments per day; without this index that is a scan of every comment.
Index("ix_comments_created_at", Comment.created_at)
# "Candidates to feature" per article by score, and an article's featured comments in order.
Index("ix_comments_candidates", Comment.candidate, Comment.article_id, Comment.contribution)
Index("ix_comments_featured", Comment.article_id, Comment.feature_state, Comment.featured_at)


class RuleHit(Base):
    """One rule that matched one comment, live or in shadow mode, as the comment was last assessed.

    Written with the comment (and again by ``rules reapply``) so per-rule statistics and drift
    are grouped counts over an index, never a scan of stored verdicts. ``day`` is the comment's
    UTC day; ``spans`` are ``[start, end]`` offsets into its text (empty for a rule without spans).
    """

    __tablename__ = "rule_hits"
    __table_args__ = (
        UniqueConstraint("comment_id", "rule", "mode"),
        Index("ix_rule_hits_day_rule", "day", "rule", "mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id"))
    rule: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(10))  # live | shadow
    category: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(10))
    spans: Mapped[list[list[int]]] = mapped_column(JSON)
    day: Mapped[date] = mapped_column(Date)


class ModelVersion(Base):
    """One promotion or roll-back of the classifier; the newest row is the live model everywhere.

    Rows are never changed or deleted (the history of what was live when). A row without a
    ``path`` means "the model each process is configured with" (``MODERATION_MODEL``), as no
    row at all does.
    """

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str | None] = mapped_column(String(80))
    path: Mapped[str | None] = mapped_column(String(1000))
    sha256: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # promote | rollback
    # The row a roll-back from this one returns to (None: the configured model).
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    promoted_by: Mapped[str] = mapped_column(String(200))
    promoted_at: Mapped[datetime] = mapped_column(default=utcnow)
