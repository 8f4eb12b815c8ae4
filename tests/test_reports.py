"""Reader reports: de-duplication, weighting by track record, thresholds, hiding, brigades."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from conftest import count_rows, post_comment
from flask.testing import FlaskClient

from moderation.workflow.reports import reporter_weight

CLEAN = "A fair point about the county budget."


def report(client: FlaskClient, auth: dict, cid: str, reporter: str, reason: str = "insult", **extra):
    return client.post(
        f"/api/v1/comments/{cid}/reports",
        json={"reporter_id": reporter, "reason": reason, **extra},
        headers=auth,
    )


def decide(client: FlaskClient, mod_auth: dict, cid: str, action: str, **extra):
    body = {"action": action, **({"site_rule": "be_nice"} if action == "reject" else {}), **extra}
    return client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=mod_auth)


def queue(client: FlaskClient, mod_auth: dict, state: str, **params) -> dict:
    resp = client.get("/api/v1/queue", query_string={"state": state, **params}, headers=mod_auth)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_report_is_counted_once_per_reporter(client, auth, app) -> None:
    post_comment(client, auth, "c1", CLEAN)
    first = report(client, auth, "c1", "r1", note="rude")
    assert first.status_code == 201
    assert first.get_json() == {"comment_id": "c1", "report_count": 1, "status": "approved", "visible": True}
    again = report(client, auth, "c1", "r1", reason="threat")
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert count_rows(app, "reports") == 1


def test_report_errors(client, auth) -> None:
    post_comment(client, auth, "c1", CLEAN)
    missing = report(client, auth, "nope", "r1")
    assert missing.status_code == 404
    bad = report(client, auth, "c1", "r1", reason="rudeness")
    assert bad.status_code == 422
    message = bad.get_json()["error"]["message"]
    for reason in ("obscene", "threat", "false_information", "spam", "other"):
        assert reason in message
    assert report(client, auth, "c1", "").status_code == 422


def test_weighted_reports_cross_the_threshold(client, auth, mod_auth) -> None:
    post_comment(client, auth, "c1", CLEAN)
    report(client, auth, "c1", "r1")
    assert queue(client, mod_auth, "reported")["total"] == 0
    report(client, auth, "c1", "r2")  # two neutral reporters weigh 2.0 = the threshold
    listing = queue(client, mod_auth, "reported")
    assert [i["id"] for i in listing["items"]] == ["c1"]
    item = listing["items"][0]
    assert item["report_weight"] == 2.0 and item["visible"] is True
    assert [r["reason"] for r in item["reports"]] == ["insult", "insult"]


def test_weights_follow_track_record(client, auth, mod_auth) -> None:
    assert reporter_weight(0, 0) == 1.0
    assert reporter_weight(3, 0) > 1.5 and reporter_weight(0, 3) < 0.5
    # "good" reporter: two upheld reports; "bad" reporter: two dismissed ones.
    for n in range(2):
        post_comment(client, auth, f"bad{n}", f"You absolute moron number {n}")  # flagged: in the queue
        post_comment(client, auth, f"ok{n}", f"{CLEAN} ({n})")
        report(client, auth, f"bad{n}", "good")
        report(client, auth, f"ok{n}", "bad")
        report(client, auth, f"ok{n}", f"helper{n}")
        decide(client, mod_auth, f"bad{n}", "reject")
        decide(client, mod_auth, f"ok{n}", "approve")
    post_comment(client, auth, "x", "Another reasonable comment")
    report(client, auth, "x", "good")
    report(client, auth, "x", "bad")
    item = next(i for i in queue(client, mod_auth, "decided")["items"] if i["id"] == "ok0")
    assert all(r["outcome"] == "dismissed" for r in item["reports"])
    post_comment(client, auth, "y", "Yet another reasonable comment")
    report(client, auth, "y", "good")
    weights = {r["reporter_id"]: r["weight"] for r in _item(client, mod_auth, "x")["reports"]}
    assert weights["good"] == pytest.approx(1.5) and weights["bad"] == pytest.approx(0.5)


def _item(client, mod_auth, cid):
    resp = client.post(f"/api/v1/comments/{cid}/claim", headers=mod_auth)
    assert resp.status_code == 200
    return resp.get_json()


def test_threat_reports_hide_at_once_but_false_information_never_does(client, auth, mod_auth) -> None:
    post_comment(client, auth, "t", CLEAN)
    report(client, auth, "t", "r1", reason="threat")
    hidden = report(client, auth, "t", "r2", reason="threat").get_json()
    assert hidden["visible"] is False and hidden["status"] == "pending"
    post_comment(client, auth, "f", f"{CLEAN} Really.")
    for n in range(6):
        body = report(client, auth, "f", f"fi{n}", reason="false_information").get_json()
    assert body["visible"] is True and body["status"] == "approved"
    assert "f" in [i["id"] for i in queue(client, mod_auth, "reported")["items"]]


def test_approved_comment_needs_more_reports_to_return(client, auth, mod_auth) -> None:
    post_comment(client, auth, "c", "You total clown")  # flagged
    decide(client, mod_auth, "c", "approve")
    for n in range(3):
        report(client, auth, "c", f"r{n}")
    assert queue(client, mod_auth, "reported")["total"] == 0  # 3.0 < 4.0 for approved comments
    report(client, auth, "c", "r3")
    assert [i["id"] for i in queue(client, mod_auth, "reported")["items"]] == ["c"]


def test_burst_of_reports_is_marked_as_brigade(client, auth, mod_auth) -> None:
    post_comment(client, auth, "b", CLEAN)
    now = datetime.now(UTC).isoformat()
    for n in range(3):
        report(client, auth, "b", f"fresh{n}", reason="other", reporter_created_at=now)
    item = queue(client, mod_auth, "reported")["items"][0]
    assert item["id"] == "b" and item["brigade"] is True
    assert all(r["new_account"] for r in item["reports"])
    post_comment(client, auth, "calm", f"{CLEAN} Calm.")
    report(client, auth, "calm", "old1", reason="other")
    report(client, auth, "calm", "old2", reason="other")
    calm = next(i for i in queue(client, mod_auth, "reported")["items"] if i["id"] == "calm")
    assert calm["brigade"] is False


def test_readers_reporting_at_once_are_all_counted(app, auth, mod_auth) -> None:
    client = app.test_client()
    post_comment(client, auth, "busy", CLEAN)
    readers = ["eager", *(f"reader{n}" for n in range(19)), "eager"]  # "eager" reports twice
    barrier = threading.Barrier(len(readers))
    statuses: list[int] = []

    def send(reporter: str) -> None:
        own = app.test_client()
        barrier.wait()
        statuses.append(report(own, auth, "busy", reporter, reason="threat").status_code)

    threads = [threading.Thread(target=send, args=(r,)) for r in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [201] * 20
    item = _item(client, mod_auth, "busy")
    assert (item["report_count"], item["report_weight"]) == (20, pytest.approx(20.0))
    assert (item["status"], item["visible"], item["queue"]) == ("pending", False, "reported")
    actions = [
        e["action"] for e in client.get("/api/v1/comments/busy/audit", headers=mod_auth).get_json()["entries"]
    ]
    assert (actions.count("report"), actions.count("report-hide")) == (20, 1)
