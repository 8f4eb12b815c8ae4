"""The per-comment time budget: past it the rules stop and the comment is held, never approved."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest
from flask import Flask

from moderation.accounts.apikeys import create_key
from moderation.config import PROJECT_ROOT
from moderation.pipeline import Pipeline
from moderation.rules import load_rules, parse_rules
from moderation.rules.ruleset import OUT_OF_TIME_REASON, OUT_OF_TIME_RULE
from moderation.web.extension import services

SHIPPED = load_rules(PROJECT_ROOT / "rules.yaml")

# Two entries, one the start of the other: against "*!*!...*!b" every "!" is a match of "i" whose
# search first follows "iiiz" to the end of the text, so the work grows with the square of the length.
SLOW_LIST = parse_rules(
    "site_rules: {clean: Keep it Clean}\n"
    "rules:\n"
    "  - {id: slow, site_rule: clean, category: obscene, action: reject, when: {words: [i, iiiz]}}\n",
    "rules.yaml",
)
SLOW_TEXT = "*!" * 5000 + "b"


class Countdown:
    """A budget that runs out after ``checks`` looks, whatever the clock says."""

    seconds = 0.25

    def __init__(self, checks: int) -> None:
        self.left = checks
        self.looks = 0

    def expired(self) -> bool:
        self.looks += 1
        self.left -= 1
        return self.left < 0


def test_rules_stop_when_the_budget_is_spent_and_hold_the_comment(caplog: pytest.LogCaptureFixture) -> None:
    text = "A perfectly polite comment about the council budget"
    with caplog.at_level(logging.WARNING):
        verdict = SHIPPED.evaluate(text, budget=Countdown(3))
    assert verdict.status == "pending"
    assert verdict.matches[-1].rule == OUT_OF_TIME_RULE and verdict.matches[-1].action == "hold"
    assert OUT_OF_TIME_REASON in verdict.reasons
    assert "held for review" in caplog.text and f"{len(text)} characters" in caplog.text
    assert text not in caplog.text and "council" not in caplog.text


def test_a_rejection_found_before_the_budget_ran_out_stands() -> None:
    # One look before the first rule, one after its one match, then out before the second rule.
    verdict = SHIPPED.evaluate("go kill yourself", budget=Countdown(2))
    assert verdict.status == "rejected"
    assert [m.rule for m in verdict.matches] == ["threat-self-harm", OUT_OF_TIME_RULE]


def test_the_budget_stops_a_word_list_between_its_searches() -> None:
    budget = Countdown(3)
    verdict = SLOW_LIST.evaluate(SLOW_TEXT, budget=budget)
    assert verdict.status == "pending" and verdict.matches[-1].rule == OUT_OF_TIME_RULE
    assert budget.looks == 4  # one before the rule, three inside the word list, then it stopped


def test_the_pipeline_measures_the_budget_in_cpu_time() -> None:
    assert SLOW_LIST.evaluate(SLOW_TEXT).status == "approved"  # no hit, given all the time it takes
    verdict = Pipeline(SLOW_LIST, time_budget_ms=1).assess_texts([SLOW_TEXT])[
        0
    ]  # thousands of searches: > 1 ms
    assert verdict.status == "pending" and verdict.reasons == [OUT_OF_TIME_REASON]
    assert Pipeline(SLOW_LIST).assess_texts([SLOW_TEXT])[0].status == "approved"  # no budget: runs to the end


def test_the_service_holds_comments_that_spend_the_budget(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(RULES_TIME_BUDGET_MS=0.001)
    assert services(app).pipeline.time_budget == pytest.approx(0.000001)
    with services(app).sessions() as session, session.begin():
        auth = {"Authorization": f"Bearer {create_key(session, f'k-{uuid.uuid4().hex[:6]}')}"}
    client = app.test_client()
    text = "What a lovely photo of the harbour"
    with caplog.at_level(logging.WARNING):
        scored = client.post("/api/v1/score", json={"text": text}, headers=auth)
        stored = client.post(
            "/api/v1/comments",
            json={"id": "c-1", "text": text, "author": {"id": "u1"}, "article": {"id": "a1"}},
            headers=auth,
        )
    assert scored.status_code == 200 and scored.get_json()["status"] == "pending"
    body = stored.get_json()
    assert stored.status_code == 201, body
    assert (body["status"], body["visible"]) == ("pending", False)
    assert OUT_OF_TIME_REASON in body["reasons"]
    assert "harbour" not in caplog.text


def test_the_default_budget_is_on(make_app: Callable[..., Flask]) -> None:
    assert services(make_app()).pipeline.time_budget == pytest.approx(0.25)
