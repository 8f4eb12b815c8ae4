"""`GET /api/v1/rules/stats` (a `moderate` key): per-rule agreement with moderators, and drift."""

from __future__ import annotations

from typing import Annotated

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator
from typing_extensions import TypedDict

from ..shapes import shape
from ..workflow.rulestats import (
    READY_AGREEMENT,
    READY_MIN_DECIDED,
    WINDOW_PATTERN,
    Drift,
    RuleStats,
    drift,
    parse_window,
    rule_stats,
    window_days,
)
from .api import require_key
from .extension import services
from .openapi import operation

bp = Blueprint("rules_api", __name__, url_prefix="/api/v1")


class RulesStatsQuery(BaseModel):
    """GET /api/v1/rules/stats query parameters."""

    model_config = ConfigDict(extra="ignore")

    since: Annotated[
        str,
        Field(
            description="a window such as 7d or 36h, at most 366d",
            json_schema_extra={"pattern": WINDOW_PATTERN.pattern},
        ),
    ] = "7d"

    @field_validator("since")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)  # ValueError says what is allowed
        return value


@shape
class ReadyRule(TypedDict):
    """When a shadow rule is marked ready to go live."""

    agreement_lower_bound: float
    min_decided: int


@shape
class RulesStatsPayload(TypedDict):
    """Every rule's hits and agreement with moderators over the window, and the drift per day."""

    since: str
    days: int
    rules_version: str
    ready: ReadyRule
    rules: list[RuleStats]
    drift: Drift


@bp.get("/rules/stats")
@require_key("moderate")
@operation({200: (RulesStatsPayload, "per-rule statistics and drift")}, query=RulesStatsQuery)
def stats(query: RulesStatsQuery) -> RulesStatsPayload:
    """Every rule's hits per day, decided, agreed and overturned hits with a 95% interval."""
    days = window_days(parse_window(query.since))
    svc = services()
    rules = svc.pipeline.rules
    with svc.sessions() as session:
        return {
            "since": query.since,
            "days": days,
            "rules_version": rules.version,
            "ready": {"agreement_lower_bound": READY_AGREEMENT, "min_decided": READY_MIN_DECIDED},
            "rules": rule_stats(session, days, rules.modes()),
            "drift": drift(session, rules.classifier_rules(), days),
        }
