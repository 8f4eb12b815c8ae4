"""Delivering the webhook outbox: signed POSTs, in order per comment, retried with backoff until
acknowledged.

Rows are written by ``changes.record_change`` in the same transaction as the change itself, so a
change is never committed without its delivery, and a restart loses nothing: undelivered rows are
simply still due. Delivery is at least once; receivers de-duplicate on the
``X-Moderation-Delivery`` id.

Order: every event carries its comment's sequence number (1, 2, 3, ...). A delivery is sent only
when every earlier event of the same comment has been acknowledged, so a later event waits while
an earlier one is in backoff, is being sent by another worker, or has ``failed`` (until
``flask webhooks retry`` puts it back). Each event carries the comment's whole state, so a
receiver applying events as they arrive always ends in the right state.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import logging
import random
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from ..database import transaction
from ..logs import RateLimitedLog
from ..models import WebhookDelivery, utcnow

log = logging.getLogger(__name__)
retry_log = RateLimitedLog(log)

SIGNATURE_HEADER = "X-Moderation-Signature"
DELIVERY_HEADER = "X-Moderation-Delivery"
EVENT_HEADER = "X-Moderation-Event"
SEQUENCE_HEADER = "X-Moderation-Sequence"
STATES = ("pending", "delivered", "failed")
# What a lost or restarting database looks like to the worker: wait and try again.
DATABASE_DOWN = (OperationalError, InterfaceError)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header)


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where and how to deliver."""

    url: str
    secret: str
    timeout: float = 5.0
    max_attempts: int = 12
    base_delay: float = 5.0
    max_delay: float = 3600.0


def backoff(attempts: int, config: WebhookConfig) -> float:
    """Seconds before the next try: exponential with jitter, capped."""
    delay = min(config.base_delay * 2 ** max(attempts - 1, 0), config.max_delay)
    return delay * random.uniform(0.8, 1.2)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` and return the answer's HTTP status, all within ``timeout`` seconds.

    A socket timeout bounds each read, so a site answering a byte at a time could hold the
    worker for as long as it liked; a watchdog shuts the connection when the whole exchange
    (connect, send, status line and headers) overruns. Raises OSError (TimeoutError for the
    deadline) or http.client.HTTPException when there is no valid answer in time.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"WEBHOOK_URL must be an http(s) URL, not {url!r}")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if conn.sock is not None:  # unblocks the worker's read or write at once
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn.sock, socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.connect()
        if expired.is_set():  # connected only after the deadline (cut found no socket yet)
            raise TimeoutError
        conn.request(
            "POST", urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")), body, dict(headers)
        )
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError(f"no answer within {timeout:g} s") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()


def _post(config: WebhookConfig, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(config.secret, body),
        DELIVERY_HEADER: str(delivery.id),
        EVENT_HEADER: delivery.event,
        "User-Agent": "comment-moderation-webhooks",
    }
    if delivery.sequence is not None:
        headers[SEQUENCE_HEADER] = str(delivery.sequence)
    try:
        status = post(config.url, body, headers, config.timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return None, (str(exc) or type(exc).__name__)[:500]
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def _next_due(session: Session, after: int) -> Select[WebhookDelivery]:
    """The first due delivery past ``after`` whose comment has no earlier event unacknowledged."""
    earlier = aliased(WebhookDelivery)
    held = (
        select(earlier.id)
        .where(
            earlier.comment_id == WebhookDelivery.comment_id,
            earlier.state != "delivered",
            or_(
                earlier.sequence < WebhookDelivery.sequence,
                # Rows from before sequence numbers: their ids are in order.
                and_(
                    or_(earlier.sequence.is_(None), WebhookDelivery.sequence.is_(None)),
                    earlier.id < WebhookDelivery.id,
                ),
            ),
        )
        .exists()
    )
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.state == "pending",
            WebhookDelivery.next_attempt_at <= utcnow(),
            WebhookDelivery.id > after,
            ~held,
        )
        .order_by(WebhookDelivery.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Another worker sending a delivery holds its row: skip it. Its comment's later events
        # are held by the condition above, since it is still pending.
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    return query


def _attempt(config: WebhookConfig, delivery: WebhookDelivery) -> str:
    """POST once and record the outcome: delivered, retry or failed."""
    status, error = _post(config, delivery)
    delivery.attempts += 1
    delivery.last_status = status
    if error is None:
        delivery.state = "delivered"
        delivery.delivered_at = utcnow()
        delivery.last_error = None
        return "delivered"
    delivery.last_error = error
    if delivery.attempts >= config.max_attempts:
        delivery.state = "failed"
        log.error(
            "webhook delivery %s gave up after %d attempts (%s); later events of its comment wait "
            "until `flask webhooks retry %s`",
            delivery.id,
            delivery.attempts,
            error,
            delivery.id,
        )
        return "failed"
    delivery.next_attempt_at = utcnow() + timedelta(seconds=backoff(delivery.attempts, config))
    # A receiver outage fails every delivery: one line per interval, with a count, not one each.
    retry_log(logging.WARNING, "retry", f"webhook delivery {delivery.id} failed ({error}), will retry")
    return "retry"


def deliver_due(
    sessions: sessionmaker[Session], config: WebhookConfig, limit: int | None = 50
) -> dict[str, int]:
    """Try each due delivery once (up to ``limit``); returns how many were delivered, retried, given up.

    Each delivery is sent and recorded in a transaction of its own, so an acknowledged delivery
    is never sent again because a later one crashed the worker. The row stays locked while it is
    sent (FOR UPDATE SKIP LOCKED on PostgreSQL), so several workers never send the same delivery
    at the same time. Once a comment's event is acknowledged, its next one is due in the same pass.
    """
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    after = 0
    while limit is None or sum(counts.values()) < limit:
        with transaction(sessions) as session:
            delivery = session.scalars(_next_due(session, after)).first()
            if delivery is None:
                break
            after = delivery.id
            counts[_attempt(config, delivery)] += 1
    return counts


def _why(exc: Exception) -> str:
    """The driver's first line, without the SQL and parameters SQLAlchemy adds."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"[:300]


def run_worker(
    sessions: sessionmaker[Session],
    config: WebhookConfig,
    *,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    report: Callable[[dict[str, int]], None] | None = None,
    batch: int = 50,
    max_wait: float = 30.0,
) -> None:
    """Deliver until ``stop`` is set. A database outage is logged once and waited out with backoff."""
    stop = stop or threading.Event()
    down_since: float | None = None
    wait = interval
    while not stop.is_set():
        try:
            counts = deliver_due(sessions, config, batch)
        except DATABASE_DOWN as exc:
            if down_since is None:
                down_since, wait = time.monotonic(), max(interval, 0.1)
                log.error("webhook worker: database unavailable (%s); retrying with backoff", _why(exc))
            else:
                wait = min(wait * 2, max_wait)
            stop.wait(wait * random.uniform(0.8, 1.2))
            continue
        if down_since is not None:
            log.warning(
                "webhook worker: database back after %.0f s; delivering", time.monotonic() - down_since
            )
            down_since = None
        if report is not None and any(counts.values()):
            report(counts)
        if sum(counts.values()) < batch:  # caught up: wait for new events
            stop.wait(interval)


def list_deliveries(session: Session, state: str | None = None, limit: int = 100) -> list[WebhookDelivery]:
    """Deliveries, newest first, optionally in one state."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return list(session.scalars(query))


def retry(session: Session, delivery_id: int) -> bool:
    """Put a failed delivery back in the queue (its comment's later events follow it)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state != "failed":
        return False
    _requeue(delivery)
    return True


def retry_failed(session: Session) -> int:
    """Put every failed delivery back in the queue; returns how many."""
    failed = list(session.scalars(select(WebhookDelivery).where(WebhookDelivery.state == "failed")))
    for delivery in failed:
        _requeue(delivery)
    return len(failed)


def _requeue(delivery: WebhookDelivery) -> None:
    delivery.state = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
