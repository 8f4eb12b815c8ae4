"""Webhooks: signed, written in the same transaction, retried until acknowledged, never lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import post_comment
from flask import Flask

from moderation.apikeys import create_key
from moderation.web.extension import services
from moderation.webhooks import SIGNATURE_HEADER, sign, verify

SECRET = "s3cret-for-tests"


class Receiver:
    """A local HTTP server that records POSTs and fails the first ``failures`` of them."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                code = 500 if receiver.failures > 0 else 204
                receiver.failures -= 1
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def hooked_app(make_app, url: str) -> tuple[Flask, dict, dict]:
    app = make_app(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, WEBHOOK_RETRY_SECONDS=0)
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
    return app, submit, moderate


def deliver(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["webhooks", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_signature_round_trip() -> None:
    body = b'{"event": "comment.status_changed"}'
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and verify(SECRET, body, header)
    assert not verify(SECRET, body + b" ", header)
    assert not verify("other", body, header)


def test_decision_is_pushed_signed(make_app, receiver: Receiver) -> None:
    app, submit, moderate = hooked_app(make_app, receiver.url)
    client = app.test_client()
    post_comment(client, submit, "c1", "You are a total moron")
    client.post(
        "/api/v1/comments/c1/decision", json={"action": "reject", "site_rule": "be_nice"}, headers=moderate
    )
    deliver(app)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert verify(SECRET, body, headers[SIGNATURE_HEADER])
    event = json.loads(body)
    assert event["event"] == "comment.status_changed"
    assert event["previous_status"] == "flagged" and event["previous_visible"] is True
    assert event["comment"]["id"] == "c1" and event["comment"]["status"] == "rejected"
    assert event["comment"]["visible"] is False and event["at"]
    assert headers["X-Moderation-Delivery"]
    listed = client.get("/api/v1/webhooks/deliveries", headers=moderate).get_json()["deliveries"]
    assert [(d["state"], d["attempts"]) for d in listed] == [("delivered", 1)]


def test_reports_hiding_a_comment_are_pushed(make_app, receiver: Receiver) -> None:
    app, submit, _ = hooked_app(make_app, receiver.url)
    client = app.test_client()
    post_comment(client, submit, "c1", "Reasonable words")
    for n in range(2):
        client.post(
            "/api/v1/comments/c1/reports", json={"reporter_id": f"r{n}", "reason": "threat"}, headers=submit
        )
    deliver(app)
    event = json.loads(receiver.received[0][1])
    assert (event["comment"]["status"], event["comment"]["visible"], event["by"]) == (
        "pending",
        False,
        "reports",
    )


def test_no_event_without_a_change(make_app, receiver: Receiver) -> None:
    app, submit, _ = hooked_app(make_app, receiver.url)
    client = app.test_client()
    post_comment(client, submit, "c1", "Reasonable words")
    client.post("/api/v1/comments/c1/reports", json={"reporter_id": "r", "reason": "spam"}, headers=submit)
    deliver(app)
    assert receiver.received == []


def test_failing_receiver_is_retried_until_it_acknowledges(make_app) -> None:
    receiver = Receiver(failures=2)
    try:
        app, submit, moderate = hooked_app(make_app, receiver.url)
        client = app.test_client()
        post_comment(client, submit, "c1", "You are a total moron")
        client.post("/api/v1/comments/c1/decision", json={"action": "approve"}, headers=moderate)
        for _ in range(3):
            deliver(app)
        assert len(receiver.received) == 3
        bodies = {body for _, body in receiver.received}
        assert len(bodies) == 1  # the same event each time
        delivery = client.get("/api/v1/webhooks/deliveries", headers=moderate).get_json()["deliveries"][0]
        assert (delivery["state"], delivery["attempts"], delivery["last_status"]) == ("delivered", 3, 204)
        deliver(app)
        assert len(receiver.received) == 3  # delivered ones are not sent again
    finally:
        receiver.close()


def test_gives_up_after_max_attempts_and_can_be_retried(make_app) -> None:
    receiver = Receiver(failures=100)
    try:
        app = make_app(
            WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET, WEBHOOK_RETRY_SECONDS=0, WEBHOOK_MAX_ATTEMPTS=2
        )
        with services(app).sessions() as session, session.begin():
            submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        client = app.test_client()
        post_comment(client, submit, "c1", "Reasonable words")
        for n in range(2):
            client.post(
                "/api/v1/comments/c1/reports",
                json={"reporter_id": f"r{n}", "reason": "threat"},
                headers=submit,
            )
        deliver(app)
        deliver(app)
        runner = app.test_cli_runner()
        assert "failed" in runner.invoke(args=["webhooks", "list"]).output
        delivery_id = runner.invoke(args=["webhooks", "list"]).output.split()[0]
        receiver.failures = 0
        assert runner.invoke(args=["webhooks", "retry", delivery_id]).exit_code == 0
        deliver(app)
        assert "delivered" in runner.invoke(args=["webhooks", "list"]).output
    finally:
        receiver.close()


def test_no_delivery_lost_across_a_restart(make_app) -> None:
    receiver = Receiver()
    url = receiver.url
    receiver.close()  # the site is down while the change happens
    app, submit, moderate = hooked_app(make_app, url)
    client = app.test_client()
    post_comment(client, submit, "c1", "You are a total moron")
    client.post(
        "/api/v1/comments/c1/decision", json={"action": "reject", "site_rule": "be_nice"}, headers=moderate
    )
    deliver(app)  # connection refused: stays pending
    services(app).engine.dispose()  # the process goes away

    back = Receiver()
    try:
        restarted = make_app(WEBHOOK_URL=back.url, WEBHOOK_SECRET=SECRET, WEBHOOK_RETRY_SECONDS=0)
        deliver(restarted)
        assert len(back.received) == 1
        assert json.loads(back.received[0][1])["comment"]["status"] == "rejected"
    finally:
        back.close()


def test_webhook_url_needs_a_secret(make_app) -> None:
    with pytest.raises(RuntimeError, match="WEBHOOK_SECRET"):
        make_app(WEBHOOK_URL="http://127.0.0.1:9/x", WEBHOOK_SECRET="")
