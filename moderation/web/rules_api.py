"""`GET /api/v1/rules/stats` (a `moderate` key): per-rule agreement with moderators, and drift."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..workflow.rulestats import (
    READY_AGREEMENT,
    READY_MIN_DECIDED,
    drift,
    parse_window,
    rule_stats,
    window_days,
)
from .api import require_key
from .errors import ApiError
from .extension import services

bp = Blueprint("rules_api", __name__, url_prefix="/api/v1")


@bp.get("/rules/stats")
@require_key("moderate")
def stats():  # type: ignore[no-untyped-def]
    """Every rule's hits per day, decided, agreed and overturned hits with a 95% interval."""
    since = request.args.get("since", "7d")
    try:
        days = window_days(parse_window(since))
    except ValueError as exc:
        raise ApiError(422, "invalid_field", f"since: {exc}") from None
    svc = services()
    rules = svc.pipeline.rules
    with svc.sessions() as session:
        payload = {
            "since": since,
            "days": days,
            "rules_version": rules.version,
            "ready": {"agreement_lower_bound": READY_AGREEMENT, "min_decided": READY_MIN_DECIDED},
            "rules": rule_stats(session, days, rules.modes()),
            "drift": drift(session, rules.classifier_rules(), days),
        }
    return jsonify(payload)
