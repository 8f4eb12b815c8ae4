"""The queries behind search, the author page, suspension, the live queue and per-moderator
statistics, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import post_comment
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from moderation.models import AuditEntry, Comment, WebhookDelivery, utcnow
from moderation.web.extension import services
from moderation.workflow.author_history import author_comments, author_events, reports_against, reports_by
from moderation.workflow.decisions import decide, undo
from moderation.workflow.live import live_state
from moderation.workflow.moderator_stats import moderator_stats
from moderation.workflow.queue import Filters, claim
from moderation.workflow.search import MAX_PER_PAGE, SearchQuery, search_comments, word_spans
from moderation.workflow.submission import find_author, get_comment
from moderation.workflow.suspensions import SuspensionError, lift_suspension, reject_recent, suspend

SPAM = "Buy cheap viagra at http://spam.example.com now"  # the shipped rules approve it
REJECTED = "fuck off you cunt"  # rejected by the shipped rules


def ids(comments: list[Comment]) -> list[str]:
    return [c.site_id for c in comments]


def search(app: Flask, **fields: object) -> tuple[list[str], int]:
    with services(app).sessions() as session:
        found, total = search_comments(session, SearchQuery(**fields))  # type: ignore[arg-type]
        return ids(found), total


def set_created(app: Flask, cid: str, when: datetime) -> None:
    with services(app).sessions() as session, session.begin():
        session.execute(update(Comment).where(Comment.site_id == cid).values(created_at=when))


@pytest.fixture
def corpus(client: FlaskClient, auth: dict) -> None:
    post_comment(client, auth, "c1", "The 100% honest truth about taxes", author="ann")
    post_comment(client, auth, "c2", "Taxes are theft, you moron", author="bob")
    post_comment(client, auth, "c3", "snake_case and 100 percent", author="ann")
    post_comment(
        client, auth, "c4", SPAM, author="spammer", article={"id": "a2", "title": "Budget day in Parliament"}
    )
    post_comment(client, auth, "c5", REJECTED, author="bob")


def test_words_match_case_insensitively_and_all_must_appear(app: Flask, corpus: None) -> None:
    assert search(app, text="TAXES")[0] == ["c2", "c1"]
    assert search(app, text="taxes moron")[0] == ["c2"]
    assert search(app, text="taxes nowhere") == ([], 0)


def test_like_wildcards_in_the_words_match_only_themselves(app: Flask, corpus: None) -> None:
    assert search(app, text="100%")[0] == ["c1"]  # not "100 percent"
    assert search(app, text="e_c")[0] == ["c3"]  # "snake_case", not any letter between e and c
    assert search(app, text="%")[0] == ["c1"]
    assert search(app, text="\\")[0] == []


def test_author_article_status_and_decider_filters(app: Flask, corpus: None) -> None:
    assert search(app, author="ann")[0] == ["c3", "c1"]
    assert search(app, article="budget")[0] == ["c4"]  # part of the title
    assert search(app, article="a2")[0] == ["c4"]  # the site's id
    assert search(app, article_id="a1")[1] == 4
    assert search(app, status="rejected")[0] == ["c5"]
    assert search(app, status="approved", decided="machine")[0] == ["c4", "c3", "c1"]
    with pytest.raises(ValueError):
        search(app, status="deleted")


def test_dates_are_whole_days_in_utc(app: Flask, corpus: None) -> None:
    set_created(app, "c1", datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    set_created(app, "c2", datetime(2026, 3, 2, 0, 0, tzinfo=UTC))
    assert search(app, since=date(2026, 3, 1), until=date(2026, 3, 1))[0] == ["c1"]
    assert search(app, since=date(2026, 3, 2), until=date(2026, 3, 2))[0] == ["c2"]
    assert sorted(search(app, until=date(2026, 3, 2))[0]) == ["c1", "c2"]


def test_pages_are_bounded(app: Flask, corpus: None) -> None:
    with services(app).sessions() as session:
        page, total = search_comments(session, SearchQuery(), page=1, per_page=10_000)
        assert total == 5 and len(page) == 5
        second, _ = search_comments(session, SearchQuery(), page=2, per_page=2)
        assert ids(second) == ["c3", "c2"]
    assert MAX_PER_PAGE <= 100


def test_word_spans_find_every_occurrence_whatever_the_case() -> None:
    spans = word_spans("Tax, TAX and taxes", ["tax"])
    assert [(s["start"], s["end"]) for s in spans] == [(0, 3), (5, 8), (13, 16)]


def test_a_moderator_overturns_machine_verdicts(app: Flask, corpus: None) -> None:
    """Defect 4 in the core: a machine-approved and a machine-rejected comment, each decided the
    other way with the revision shown, audited and pushed to the site."""
    svc = services(app)
    notify = type(svc.notify)(enabled=True)
    with svc.sessions() as session, session.begin():
        spam, rejected = get_comment(session, "c4"), get_comment(session, "c5")
        decide(session, spam, "moderator:mo", "reject", svc.pipeline.rules, notify, "be_nice", None, 0)
        decide(session, rejected, "moderator:mo", "approve", svc.pipeline.rules, notify, None, None, 0)
    with svc.sessions() as session:
        assert get_comment(session, "c4").status == "rejected"
        assert get_comment(session, "c5").status == "approved"
        events = session.scalars(select(WebhookDelivery.comment_id)).all()
        assert len(events) == 2
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == "moderator:mo").order_by(AuditEntry.id)
        ).all()
        assert actions == ["reject", "approve"]
        assert get_comment(session, "c5").author.rejected_count == 0  # bob's rejection count follows


def test_author_history_and_reports_both_ways(app: Flask, client: FlaskClient, auth: dict, corpus) -> None:
    for reporter in ("ann", "carol"):
        resp = client.post(
            "/api/v1/comments/c2/reports", json={"reporter_id": reporter, "reason": "insult"}, headers=auth
        )
        assert resp.status_code == 201
    with services(app).sessions() as session:
        bob, ann = find_author(session, "bob"), find_author(session, "ann")
        comments, total = author_comments(session, bob, per_page=1)
        assert total == 2 and ids(comments) == ["c5"]
        assert {r["reporter_id"] for r in reports_against(session, bob)} == {"ann", "carol"}
        assert [(r["comment_id"], r["reason"]) for r in reports_by(session, ann)] == [("c2", "insult")]
        assert reports_against(session, ann) == [] and reports_by(session, bob) == []


def test_suspension_rejects_until_it_ends(app: Flask, client: FlaskClient, auth: dict) -> None:
    post_comment(client, auth, "s1", "A fine first comment", author="sam")
    with services(app).sessions() as session, session.begin():
        sam = find_author(session, "sam")
        with pytest.raises(SuspensionError):
            suspend(session, sam, timedelta(days=400), "moderator:mo")
        suspend(session, sam, timedelta(hours=1), "moderator:mo", "cooling off")
    held = post_comment(client, auth, "s2", "Another fine comment", author="sam")
    assert held["status"] == "rejected"
    assert any("suspended until" in reason for reason in held["reasons"])

    # Time passes: the suspension ends by itself, nobody lifts it.
    with services(app).sessions() as session, session.begin():
        find_author(session, "sam").suspended_until = utcnow() - timedelta(seconds=1)
    assert post_comment(client, auth, "s3", "And a third one", author="sam")["status"] == "approved"

    with services(app).sessions() as session, session.begin():
        sam = find_author(session, "sam")
        suspend(session, sam, timedelta(hours=2), "moderator:mo")
        assert lift_suspension(session, sam, "moderator:mo") is True
        assert lift_suspension(session, sam, "moderator:mo") is False
    assert post_comment(client, auth, "s4", "Back again", author="sam")["status"] == "approved"
    with services(app).sessions() as session:
        actions = [e.action for e in author_events(session, find_author(session, "sam"))]
        assert actions == ["unsuspend", "suspend", "suspend"]


def test_reject_recent_is_one_audited_action(app: Flask, client: FlaskClient, auth: dict) -> None:
    post_comment(client, auth, "r1", "Old and fine", author="rex")
    post_comment(client, auth, "r2", "New and fine", author="rex")
    post_comment(client, auth, "r3", "Also new", author="rex")
    post_comment(client, auth, "r4", REJECTED, author="rex")
    post_comment(client, auth, "o1", "Someone else", author="other")
    set_created(app, "r1", utcnow() - timedelta(days=3))
    svc = services(app)
    with svc.sessions() as session, session.begin():
        claim(session, get_comment(session, "r3"), "moderator:eve")  # someone else is on it
    with svc.sessions() as session, session.begin():
        rex = find_author(session, "rex")
        result = reject_recent(
            session,
            rex,
            utcnow() - timedelta(days=1),
            utcnow(),
            "moderator:mo",
            svc.pipeline.rules,
            svc.notify,
            "be_nice",
            "spree",
        )
    assert result.rejected == ["r2"]
    assert [site_id for site_id, _ in result.skipped] == ["r3"]
    with svc.sessions() as session:
        statuses = {c.site_id: c.status for c in session.scalars(select(Comment))}
        assert statuses == {
            "r1": "approved",
            "r2": "rejected",
            "r3": "approved",
            "r4": "rejected",
            "o1": "approved",
        }
        event = author_events(session, find_author(session, "rex"))[0]
        assert event.action == "reject-recent" and event.details["rejected"] == ["r2"]
    # Each rejection is an ordinary decision: it can be undone on its own.
    with svc.sessions() as session, session.begin():
        undo(session, get_comment(session, "r2"), "moderator:mo", svc.notify)
        assert get_comment(session, "r2").status == "approved"


def test_live_state_shows_new_items_claims_and_decisions(app: Flask, client: FlaskClient, auth) -> None:
    post_comment(client, auth, "q1", "You are a total moron", author="u1")
    post_comment(client, auth, "q2", "You utter clown", author="u2")
    loaded = utcnow()
    post_comment(client, auth, "q3", "You absolute imbecile", author="u3")
    svc = services(app)
    with svc.sessions() as session, session.begin():
        claim(session, get_comment(session, "q1"), "moderator:eve")
        decide(
            session, get_comment(session, "q2"), "moderator:eve", "approve", svc.pipeline.rules, svc.notify
        )
        claim(session, get_comment(session, "q3"), "moderator:mo")
    with svc.sessions() as session:
        state = live_state(session, "flagged", Filters(), ["q1", "q2"], loaded, "moderator:mo")
    assert state["items"]["q1"]["reviewing"] == "moderator:eve"
    assert state["items"]["q2"] == {
        "status": "approved",
        "queue": None,
        "decided_by": "moderator:eve",
        "reviewing": None,
    }
    assert [n["id"] for n in state["new"]] == ["q3"]
    assert state["counts"]["flagged"] == 2
    with svc.sessions() as session:  # one's own claim is not "someone else reviewing"
        mine = live_state(session, "flagged", Filters(), ["q3"], loaded, "moderator:mo")
    assert mine["items"]["q3"]["reviewing"] is None and mine["new"] == []


def test_per_moderator_statistics(app: Flask, client: FlaskClient, auth: dict) -> None:
    for n in range(3):
        post_comment(client, auth, f"m{n}", "You are a total moron", author=f"u{n}")
    svc = services(app)
    rules, notify = svc.pipeline.rules, svc.notify
    with svc.sessions() as session, session.begin():
        decide(session, get_comment(session, "m0"), "moderator:ann", "approve", rules, notify)
        decide(session, get_comment(session, "m1"), "moderator:ann", "reject", rules, notify, "be_nice")
        decide(session, get_comment(session, "m2"), "moderator:ann", "approve", rules, notify)
    with svc.sessions() as session, session.begin():
        # Bob reverses one of Ann's decisions and undoes another; Ann confirming her own is not
        # an overturn.
        m0 = get_comment(session, "m0")
        decide(session, m0, "moderator:bob", "reject", rules, notify, "be_nice", None, m0.revision)
        undo(session, get_comment(session, "m1"), "moderator:bob", notify)
    with svc.sessions() as session:
        stats = {row["moderator"]: row for row in moderator_stats(session)}
    assert stats["moderator:ann"]["decisions"] == 3
    assert stats["moderator:ann"]["overturned"] == 2
    assert stats["moderator:ann"]["approved"] == 2 and stats["moderator:ann"]["rejected"] == 1
    assert stats["moderator:bob"]["decisions"] == 1 and stats["moderator:bob"]["overturned"] == 0
    assert stats["moderator:ann"]["median_seconds"] >= 0
