"""The review queue: listings, claims, racing moderators, decisions, undo, author actions, audit."""

from __future__ import annotations

import threading

from conftest import post_comment
from flask import Flask
from flask.testing import FlaskClient

from moderation.accounts.apikeys import create_key
from moderation.web.extension import services


def second_moderator(app: Flask) -> dict[str, str]:
    with services(app).sessions() as session, session.begin():
        return {"Authorization": f"Bearer {create_key(session, 'second-mod', ('moderate',))}"}


def queue(client: FlaskClient, mod_auth: dict, state: str = "pending", **params) -> dict:
    resp = client.get("/api/v1/queue", query_string={"state": state, **params}, headers=mod_auth)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_flagged_and_pending_comments_are_queued_by_priority(client, auth, mod_auth) -> None:
    post_comment(client, auth, "ok", "Thanks for the reporting.")
    post_comment(client, auth, "rude", "You are a total moron")  # flagged insult
    post_comment(client, auth, "threat", "I know where you live")  # pending threat
    post_comment(client, auth, "spam", "www.a.com www.b.com www.c.com")  # pending spam
    assert [i["id"] for i in queue(client, mod_auth, "flagged")["items"]] == ["rude"]
    pending = queue(client, mod_auth, "pending")
    assert [i["id"] for i in pending["items"]] == ["threat", "spam"]  # threats first
    assert pending["counts"] == {"pending": 2, "flagged": 1, "reported": 0}
    item = pending["items"][0]
    assert item["text"] == "I know where you live"
    assert item["matches"][0]["site_rule"] == "Don't Threaten"
    assert item["article"]["title"] == "Story"


def test_filters_sort_and_pagination(client, auth, mod_auth) -> None:
    for n in range(5):
        post_comment(client, auth, f"p{n}", f"I know where you live, number {n}")
    post_comment(client, auth, "other", "www.a.com www.b.com www.c.com", article={"id": "a2"})
    assert queue(client, mod_auth, article="a2")["total"] == 1
    assert queue(client, mod_auth, category="threat")["total"] == 5
    assert queue(client, mod_auth, category="spam")["total"] == 1
    assert queue(client, mod_auth, site_rule="dont_threaten")["total"] == 5
    assert queue(client, mod_auth, site_rule="Don't Threaten")["total"] == 0  # keys, not titles
    # LIKE wildcards in a filter are plain characters, not "match anything".
    assert queue(client, mod_auth, category="%")["total"] == 0
    assert queue(client, mod_auth, site_rule="dont_threate_")["total"] == 0
    page = queue(client, mod_auth, per_page=2, page=2, sort="oldest")
    assert [i["id"] for i in page["items"]] == ["p2", "p3"] and page["total"] == 6
    newest = queue(client, mod_auth, sort="newest")["items"]
    assert newest[0]["id"] == "other"
    bad = client.get("/api/v1/queue", query_string={"state": "everything"}, headers=mod_auth)
    assert bad.status_code == 422


def test_submit_keys_cannot_moderate(client, auth) -> None:
    assert client.get("/api/v1/queue", headers=auth).status_code == 403
    assert (
        client.post("/api/v1/comments/x/decision", json={"action": "approve"}, headers=auth).status_code
        == 403
    )


def test_claim_next_gives_moderators_different_items(client, app, auth, mod_auth) -> None:
    other = second_moderator(app)
    post_comment(client, auth, "t1", "I know where you live")
    post_comment(client, auth, "t2", "I know where you work")
    first = client.post("/api/v1/queue/next", json={"listing": "pending"}, headers=mod_auth).get_json()
    second = client.post("/api/v1/queue/next", json={"listing": "pending"}, headers=other).get_json()
    assert {first["id"], second["id"]} == {"t1", "t2"}
    assert first["claimed_by"] != second["claimed_by"]
    none_left = client.post("/api/v1/queue/next", json={"listing": "pending"}, headers=other)
    assert none_left.status_code == 404
    taken = client.post(f"/api/v1/comments/{first['id']}/claim", headers=other)
    assert taken.status_code == 409 and "is reviewing" in taken.get_json()["error"]["message"]
    refused = client.post(
        f"/api/v1/comments/{first['id']}/decision", json={"action": "approve"}, headers=other
    )
    assert refused.status_code == 409


def test_two_moderators_racing_for_one_item(client, app, auth, mod_auth) -> None:
    other = second_moderator(app)
    post_comment(client, auth, "race", "You are a total moron")
    revision = queue(client, mod_auth, "flagged")["items"][0]["revision"]
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def act(name: str, headers: dict, action: str) -> None:
        client = app.test_client()
        body = {
            "action": action,
            "revision": revision,
            **({"site_rule": "be_nice"} if action == "reject" else {}),
        }
        barrier.wait()
        results[name] = client.post("/api/v1/comments/race/decision", json=body, headers=headers)

    threads = [
        threading.Thread(target=act, args=("a", mod_auth, "approve")),
        threading.Thread(target=act, args=("b", other, "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409]
    loser = next(r for r in results.values() if r.status_code == 409)
    assert "changed since you loaded it" in loser.get_json()["error"]["message"]
    winner = next(r for r in results.values() if r.status_code == 200).get_json()
    audit = client.get("/api/v1/comments/race/audit", headers=mod_auth).get_json()["entries"]
    assert [e["action"] for e in audit] == [
        "verdict",
        "approve" if winner["status"] == "approved" else "reject",
    ]


def test_decisions_are_audited_and_undone(client, auth, mod_auth) -> None:
    post_comment(client, auth, "c", "You are a total moron")
    rejected = client.post(
        "/api/v1/comments/c/decision",
        json={"action": "reject", "site_rule": "be_nice", "note": "name-calling"},
        headers=mod_auth,
    ).get_json()
    assert (rejected["status"], rejected["visible"], rejected["queue"]) == ("rejected", False, None)
    assert queue(client, mod_auth, "rejected")["items"][0]["id"] == "c"
    again = client.post(
        "/api/v1/comments/c/decision", json={"action": "approve", "revision": 0}, headers=mod_auth
    )
    assert again.status_code == 409
    undone = client.post("/api/v1/comments/c/undo", headers=mod_auth).get_json()
    assert (undone["status"], undone["visible"], undone["queue"]) == ("flagged", True, "flagged")
    assert client.post("/api/v1/comments/c/undo", headers=mod_auth).status_code == 409
    audit = client.get("/api/v1/comments/c/audit", headers=mod_auth).get_json()["entries"]
    assert [e["action"] for e in audit] == ["verdict", "reject", "undo"]
    reject = audit[1]
    assert (reject["from_status"], reject["to_status"], reject["site_rule"], reject["note"]) == (
        "flagged",
        "rejected",
        "Be Nice",
        "name-calling",
    )
    # The rejected comment's text is kept.
    assert client.get("/api/v1/comments/c", headers=auth).get_json()["status"] == "flagged"


def test_rejections_need_a_known_site_rule(client, auth, mod_auth) -> None:
    post_comment(client, auth, "c", "You are a total moron")
    no_rule = client.post("/api/v1/comments/c/decision", json={"action": "reject"}, headers=mod_auth)
    assert no_rule.status_code == 422 and "site rule" in no_rule.get_json()["error"]["message"]
    unknown = client.post(
        "/api/v1/comments/c/decision", json={"action": "reject", "site_rule": "x"}, headers=mod_auth
    )
    assert unknown.status_code == 422
    by_title = client.post(
        "/api/v1/comments/c/decision", json={"action": "reject", "site_rule": "Be Nice"}, headers=mod_auth
    )
    assert by_title.status_code == 200
    assert (
        client.post("/api/v1/comments/zz/decision", json={"action": "approve"}, headers=mod_auth).status_code
        == 404
    )


def test_ban_and_premoderation_apply_to_new_comments(client, auth, mod_auth) -> None:
    post_comment(client, auth, "first", "Hello all", author="sam")
    assert (
        client.put("/api/v1/authors/sam/premoderation", headers=mod_auth).get_json()["premoderated"] is True
    )
    held = post_comment(client, auth, "second", "A perfectly nice comment", author="sam")
    assert held["status"] == "pending" and "author-premoderated" in {m["rule"] for m in held["matches"]}
    client.put("/api/v1/authors/sam/ban", headers=mod_auth)
    banned = post_comment(client, auth, "third", "Another nice comment", author="sam")
    assert banned["status"] == "rejected" and "author-banned" in {m["rule"] for m in banned["matches"]}
    client.delete("/api/v1/authors/sam/ban", headers=mod_auth)
    summary = client.delete("/api/v1/authors/sam/premoderation", headers=mod_auth).get_json()
    assert (summary["banned"], summary["premoderated"]) == (False, False)
    assert post_comment(client, auth, "fourth", "Back to normal", author="sam")["status"] == "approved"
    assert client.put("/api/v1/authors/nobody/ban", headers=mod_auth).status_code == 404


def test_author_notes_and_history(client, auth, mod_auth) -> None:
    post_comment(client, auth, "a1", "Hello all", author="kim")
    post_comment(client, auth, "a2", "f*ck this", author="kim")
    noted = client.post("/api/v1/authors/kim/notes", json={"text": "warned on 1 May"}, headers=mod_auth)
    assert noted.status_code == 201
    note = noted.get_json()["notes"][0]
    assert note["text"] == "warned on 1 May" and note["by"].startswith("api:")
    summary = client.get("/api/v1/authors/kim", headers=mod_auth).get_json()
    assert [c["status"] for c in summary["recent_comments"]] == ["rejected", "approved"]
    assert summary["rejected_count"] == 1
    removed = client.delete(f"/api/v1/authors/kim/notes/{note['id']}", headers=mod_auth).get_json()
    assert removed["notes"] == []
    assert client.delete(f"/api/v1/authors/kim/notes/{note['id']}", headers=mod_auth).status_code == 404
    assert client.post("/api/v1/authors/kim/notes", json={"text": ""}, headers=mod_auth).status_code == 422


def test_decisions_without_revision_racing_apply_once(client, app, auth, mod_auth) -> None:
    other = second_moderator(app)
    for n in range(3):
        cid = f"norev-{n}"
        post_comment(client, auth, cid, f"You are a total moron, number {n}")
        barrier = threading.Barrier(4)
        codes: list[int] = []

        def act(
            headers: dict,
            action: str,
            cid: str = cid,
            barrier: threading.Barrier = barrier,
            codes: list[int] = codes,
        ) -> None:
            own = app.test_client()
            body = {"action": action, **({"site_rule": "be_nice"} if action == "reject" else {})}
            barrier.wait()
            codes.append(own.post(f"/api/v1/comments/{cid}/decision", json=body, headers=headers).status_code)

        threads = [
            threading.Thread(target=act, args=(headers, action))
            for headers in (mod_auth, other)
            for action in ("approve", "reject")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes) == [200, 409, 409, 409]
        audit = client.get(f"/api/v1/comments/{cid}/audit", headers=mod_auth).get_json()["entries"]
        assert len([e for e in audit if e["action"] in ("approve", "reject")]) == 1


def test_a_decision_without_revision_does_not_overturn_another(client, auth, mod_auth) -> None:
    post_comment(client, auth, "c", "You are a total moron")
    first = client.post("/api/v1/comments/c/decision", json={"action": "approve"}, headers=mod_auth)
    assert first.status_code == 200
    blind = client.post(
        "/api/v1/comments/c/decision", json={"action": "reject", "site_rule": "be_nice"}, headers=mod_auth
    )
    assert blind.status_code == 409
    assert "already approved by api:" in blind.get_json()["error"]["message"]
    seen = client.post(
        "/api/v1/comments/c/decision",
        json={"action": "reject", "site_rule": "be_nice", "revision": first.get_json()["revision"]},
        headers=mod_auth,
    )
    assert seen.status_code == 200 and seen.get_json()["status"] == "rejected"


def test_an_undo_sent_with_a_stale_revision_is_refused(client, auth, mod_auth) -> None:
    # Moderator A rejects; B undoes that and approves. A's undo, sent with the revision A's
    # decision returned, must not reverse B's approval, which A never saw.
    post_comment(client, auth, "c", "You are a total moron")
    mine = client.post(
        "/api/v1/comments/c/decision", json={"action": "reject", "site_rule": "be_nice"}, headers=mod_auth
    ).get_json()
    assert client.post("/api/v1/comments/c/undo", headers=mod_auth).status_code == 200
    theirs = client.post("/api/v1/comments/c/decision", json={"action": "approve"}, headers=mod_auth)
    assert theirs.status_code == 200
    stale = client.post("/api/v1/comments/c/undo", json={"revision": mine["revision"]}, headers=mod_auth)
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"
    assert client.get("/api/v1/comments/c", headers=auth).get_json()["status"] == "approved"
    current = theirs.get_json()["revision"]
    undone = client.post("/api/v1/comments/c/undo", json={"revision": current}, headers=mod_auth)
    assert (undone.status_code, undone.get_json()["status"]) == (200, "flagged")
