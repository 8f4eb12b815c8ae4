"""Delivering the webhook outbox: signed POSTs, retried with backoff until acknowledged.

Rows are written by ``changes.record_change`` in the same transaction as the
change itself, so a change is never committed without its delivery, and a
restart loses nothing: undelivered rows are simply still due. Delivery is
at least once; receivers de-duplicate on the ``X-Moderation-Delivery`` id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from .store import WebhookDelivery, utcnow

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Moderation-Signature"
DELIVERY_HEADER = "X-Moderation-Delivery"
EVENT_HEADER = "X-Moderation-Event"
STATES = ("pending", "delivered", "failed")


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


def _post(config: WebhookConfig, delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    body = delivery.body.encode()
    request = urllib.request.Request(
        config.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(config.secret, body),
            DELIVERY_HEADER: str(delivery.id),
            EVENT_HEADER: delivery.event,
            "User-Agent": "comment-moderation-webhooks",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, str(getattr(exc, "reason", exc))[:500]


def deliver_due(sessions: sessionmaker[Session], config: WebhookConfig, limit: int = 50) -> dict[str, int]:
    """POST every due delivery once; returns how many were delivered, retried and given up.

    Each row is locked while it is sent (FOR UPDATE SKIP LOCKED on PostgreSQL),
    so several workers never send the same delivery at the same time.
    """
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    with sessions() as session, session.begin():
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= utcnow())
            .order_by(WebhookDelivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for delivery in session.scalars(query):
            status, error = _post(config, delivery)
            delivery.attempts += 1
            delivery.last_status = status
            if status is not None and 200 <= status < 300:
                delivery.state = "delivered"
                delivery.delivered_at = utcnow()
                delivery.last_error = None
                counts["delivered"] += 1
            elif delivery.attempts >= config.max_attempts:
                delivery.state = "failed"
                delivery.last_error = error
                counts["failed"] += 1
                log.error(
                    "webhook delivery %s gave up after %d attempts: %s", delivery.id, delivery.attempts, error
                )
            else:
                delivery.last_error = error
                delivery.next_attempt_at = utcnow() + timedelta(seconds=backoff(delivery.attempts, config))
                counts["retry"] += 1
                log.warning("webhook delivery %s failed (%s), will retry", delivery.id, error)
    return counts


def list_deliveries(session: Session, state: str | None = None, limit: int = 100) -> list[WebhookDelivery]:
    """Deliveries, newest first, optionally in one state."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if state:
        query = query.where(WebhookDelivery.state == state)
    return list(session.scalars(query))


def retry(session: Session, delivery_id: int) -> bool:
    """Put a failed delivery back in the queue."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state != "failed":
        return False
    delivery.state = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    return True
