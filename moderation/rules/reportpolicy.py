"""The `reports:` section of rules.yaml: when reader reports queue or hide a comment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .yamlsource import line_of

REPORT_REASONS = (
    "obscene",
    "sexual",
    "threat",
    "identity_attack",
    "insult",
    "false_information",
    "spam",
    "other",
)
# Never hidden automatically: whether something is true is for a person to judge.
HUMAN_ONLY_REASONS = frozenset({"false_information"})

DEFAULT_SEVERITY = {
    "threat": 5.0,
    "identity_attack": 4.0,
    "sexual": 3.0,
    "obscene": 2.0,
    "insult": 2.0,
    "toxicity": 2.0,
    "false_information": 2.0,
    "spam": 1.0,
    "personal_info": 4.0,
    "other": 1.0,
}


@dataclass(frozen=True, slots=True)
class HideRule:
    """Hide a comment at once when reports for these reasons weigh at least ``weight``."""

    reasons: frozenset[str]
    weight: float


@dataclass(frozen=True, slots=True)
class BrigadePolicy:
    """When a burst of reports is marked as a possible brigade."""

    window_minutes: float = 10.0
    reports: int = 5
    new_account_days: float = 2.0
    new_account_reports: int = 3


@dataclass(frozen=True, slots=True)
class ReportPolicy:
    """Thresholds for reader reports (weights: a new reporter counts 1.0)."""

    queue_threshold: float = 2.0
    approved_threshold: float = 4.0
    hide: tuple[HideRule, ...] = (HideRule(frozenset({"threat"}), 1.0),)
    brigade: BrigadePolicy = field(default_factory=BrigadePolicy)
    severity: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))


class ReportPolicyError(ValueError):
    """The reports section is malformed; ``line`` points at it."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _number(value: Any, what: str, line: int, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ReportPolicyError(f"reports: {what} must be a number >= {minimum}", line)
    return float(value)


def parse_report_policy(raw: Any, line: int) -> ReportPolicy:
    """Build the policy from the YAML mapping (missing keys keep their defaults)."""
    if raw is None:
        return ReportPolicy()
    if not isinstance(raw, Mapping):
        raise ReportPolicyError("reports must be a mapping", line)
    allowed = {"queue_threshold", "approved_threshold", "hide", "brigade", "severity"}
    for key in raw:
        if key not in allowed:
            raise ReportPolicyError(
                f"unknown key {key!r} in reports (allowed: {', '.join(sorted(allowed))})",
                line_of(raw, key, line),
            )
    default = ReportPolicy()
    queue = _number(raw.get("queue_threshold", default.queue_threshold), "queue_threshold", line)
    approved = _number(raw.get("approved_threshold", default.approved_threshold), "approved_threshold", line)
    hide = default.hide
    if "hide" in raw:
        items = raw["hide"] or []
        if not isinstance(items, list):
            raise ReportPolicyError(
                "reports.hide must be a list of {reasons, weight}", line_of(raw, "hide", line)
            )
        rules = []
        for item in items:
            item_line = line_of(item, default=line_of(raw, "hide", line))
            if not isinstance(item, Mapping) or set(item) - {"reasons", "weight"} or "reasons" not in item:
                raise ReportPolicyError("each reports.hide entry needs reasons (and a weight)", item_line)
            reasons = item["reasons"]
            if not isinstance(reasons, list) or not reasons:
                raise ReportPolicyError("reports.hide reasons must be a non-empty list", item_line)
            for reason in reasons:
                if reason not in REPORT_REASONS:
                    raise ReportPolicyError(
                        f"unknown report reason {reason!r} (use {', '.join(REPORT_REASONS)})", item_line
                    )
                if reason in HUMAN_ONLY_REASONS:
                    raise ReportPolicyError(
                        f"{reason!r} reports go to a person and can never hide a comment", item_line
                    )
            rules.append(
                HideRule(frozenset(reasons), _number(item.get("weight", 1.0), "hide weight", item_line))
            )
        hide = tuple(rules)
    brigade = default.brigade
    if "brigade" in raw:
        spec = raw["brigade"]
        b_line = line_of(raw, "brigade", line)
        fields = {"window_minutes", "reports", "new_account_days", "new_account_reports"}
        if not isinstance(spec, Mapping) or set(spec) - fields:
            raise ReportPolicyError(f"reports.brigade takes {', '.join(sorted(fields))}", b_line)
        brigade = _brigade({k: _number(v, f"brigade.{k}", b_line) for k, v in spec.items()})
    severity = dict(DEFAULT_SEVERITY)
    if "severity" in raw:
        spec = raw["severity"]
        if not isinstance(spec, Mapping):
            raise ReportPolicyError(
                "reports.severity maps categories to numbers", line_of(raw, "severity", line)
            )
        for key, value in spec.items():
            if key not in DEFAULT_SEVERITY:
                raise ReportPolicyError(
                    f"unknown category {key!r} in reports.severity", line_of(spec, key, line)
                )
            severity[key] = _number(value, f"severity.{key}", line_of(spec, key, line))
    return ReportPolicy(queue, approved, hide, brigade, severity)


def _brigade(values: dict[str, float]) -> BrigadePolicy:
    base = BrigadePolicy()
    return BrigadePolicy(
        window_minutes=values.get("window_minutes", base.window_minutes),
        reports=int(values.get("reports", base.reports)),
        new_account_days=values.get("new_account_days", base.new_account_days),
        new_account_reports=int(values.get("new_account_reports", base.new_account_reports)),
    )
