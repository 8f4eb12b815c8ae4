"""Webhooks: signed, written in the same transaction, retried until acknowledged, never lost."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import pytest
from conftest import post_comment
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from moderation.accounts.apikeys import create_key
from moderation.web.extension import services
from moderation.workflow import webhooks
from moderation.workflow.webhooks import (
    DELIVERY_HEADER,
    SEQUENCE_HEADER,
    SIGNATURE_HEADER,
    WebhookConfig,
    sign,
    verify,
)

SECRET = "s3cret-for-tests"


@dataclass(frozen=True)
class Hit:
    """One POST as the receiver saw it: the comment, the event's sequence and the answer given."""

    comment: str | None
    sequence: int | None
    status: int
    comment_status: str | None = None


class Receiver:
    """A local HTTP server that records POSTs and fails the first ``failures`` of them.

    ``answer``, when set, gives the status for the n-th request instead; each answer takes
    ``pause`` seconds. Requests are served in threads; ``overlaps`` lists comments that had two
    requests in flight at once.
    """

    def __init__(
        self, failures: int = 0, answer: Callable[[int], int] | None = None, pause: float = 0.0
    ) -> None:
        self.failures = failures
        self.answer = answer
        self.pause = pause
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.hits: list[Hit] = []
        self.overlaps: list[str | None] = []
        self.busy: set[str | None] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = json.loads(body)
                comment = event.get("comment", {}).get("id")
                with receiver.lock:
                    if comment in receiver.busy:
                        receiver.overlaps.append(comment)
                    receiver.busy.add(comment)
                    receiver.received.append((dict(self.headers), body))
                    code = receiver.status(len(receiver.received) - 1)
                time.sleep(receiver.pause)  # a slow site: the window in which overlaps would show
                with receiver.lock:
                    receiver.busy.discard(comment)
                    receiver.hits.append(
                        Hit(comment, event.get("sequence"), code, event.get("comment", {}).get("status"))
                    )
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def status(self, n: int) -> int:
        """The answer to the n-th request."""
        if self.answer is not None:
            return self.answer(n)
        self.failures -= 1
        return 500 if self.failures >= 0 else 204

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def acknowledged_in_order(hits: list[Hit]) -> dict[str | None, list[int]]:
    """Per comment, the sequences acknowledged, checking that none was sent too early.

    Every POST must carry the comment's next sequence (1 more than the last acknowledged one):
    never an event whose predecessor is not acknowledged yet.
    """
    acked: dict[str | None, list[int]] = defaultdict(list)
    for hit in hits:
        done = acked[hit.comment]
        assert hit.sequence == (done[-1] if done else 0) + 1, (hit, done)
        if 200 <= hit.status < 300:
            done.append(hit.sequence)
    return dict(acked)


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


def decide(client: FlaskClient, moderate: dict, cid: str, action: str) -> None:
    if action == "undo":
        resp = client.post(f"/api/v1/comments/{cid}/undo", headers=moderate)
    else:
        body = {"action": action, **({"site_rule": "be_nice"} if action == "reject" else {})}
        resp = client.post(f"/api/v1/comments/{cid}/decision", json=body, headers=moderate)
    assert resp.status_code == 200, resp.get_json()


def test_events_are_numbered_per_comment(make_app, receiver: Receiver) -> None:
    app, submit, moderate = hooked_app(make_app, receiver.url)
    client = app.test_client()
    post_comment(client, submit, "c1", "You are a total moron")
    post_comment(client, submit, "c2", "You are a total moron as well")
    for action in ("reject", "undo", "approve"):
        decide(client, moderate, "c1", action)
    decide(client, moderate, "c2", "approve")
    deliver(app)
    assert acknowledged_in_order(receiver.hits) == {"c1": [1, 2, 3], "c2": [1]}
    assert [h.comment_status for h in receiver.hits if h.comment == "c1"] == [
        "rejected",
        "flagged",
        "approved",
    ]
    spec = client.get("/api/v1/openapi.json").get_json()
    described = spec["webhooks"]["comment.status_changed"]["post"]["requestBody"]["content"]
    schema = {**described["application/json"]["schema"], "components": spec["components"]}
    for headers, body in receiver.received:
        event = json.loads(body)
        # The documented schema (from the StatusChanged shape) requires every key and allows no other.
        jsonschema.validate(event, schema, cls=jsonschema.Draft202012Validator)
        assert headers[SEQUENCE_HEADER] == str(event["sequence"])
        assert headers["X-Moderation-Event"] == event["event"] == "comment.status_changed"
        assert verify(SECRET, body, headers[SIGNATURE_HEADER])


def test_each_comments_events_arrive_in_order_through_outages(make_app) -> None:
    receiver = Receiver(answer=lambda n: 503)  # the site is down
    try:
        app, submit, moderate = hooked_app(make_app, receiver.url)
        client = app.test_client()
        comments = [f"c{n}" for n in range(8)]
        for cid in comments:
            post_comment(client, submit, cid, f"You are a total moron ({cid})")
        for action in ("reject", "undo"):
            for cid in comments:
                decide(client, moderate, cid, action)
            deliver(app)
        receiver.answer = lambda n: 500 if n % 2 else 204  # back, but failing every other request
        for cid in comments:
            decide(client, moderate, cid, "approve")
        for _ in range(4):
            deliver(app)
        receiver.answer = lambda n: 204
        deliver(app)
        assert acknowledged_in_order(receiver.hits) == {cid: [1, 2, 3] for cid in comments}
        # A site applying events as they arrive ends where the service is.
        applied = {h.comment: h.comment_status for h in receiver.hits if h.status == 204}
        assert applied == dict.fromkeys(comments, "approved")
    finally:
        receiver.close()


def test_a_failed_event_holds_back_its_comment_until_retried(make_app) -> None:
    receiver = Receiver(answer=lambda n: 503)
    try:
        app = make_app(
            WEBHOOK_URL=receiver.url, WEBHOOK_SECRET=SECRET, WEBHOOK_RETRY_SECONDS=0, WEBHOOK_MAX_ATTEMPTS=1
        )
        with services(app).sessions() as session, session.begin():
            submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
            moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
        client = app.test_client()
        post_comment(client, submit, "c1", "You are a total moron")
        post_comment(client, submit, "c2", "You are a total moron as well")
        decide(client, moderate, "c1", "reject")
        deliver(app)  # one attempt allowed: c1's first event fails
        receiver.answer = lambda n: 204
        decide(client, moderate, "c1", "undo")
        decide(client, moderate, "c2", "approve")
        deliver(app)
        assert acknowledged_in_order(receiver.hits) == {"c1": [], "c2": [1]}  # c1's second event waits
        runner = app.test_cli_runner()
        listed = runner.invoke(args=["webhooks", "list", "--state", "pending"]).output
        assert "seq=2" in listed
        assert runner.invoke(args=["webhooks", "retry"]).exit_code == 2
        assert runner.invoke(args=["webhooks", "retry", "--all"]).exit_code == 0
        deliver(app)
        assert acknowledged_in_order(receiver.hits) == {"c1": [1, 2], "c2": [1]}
    finally:
        receiver.close()


class Trickler:
    """A site that reads the request, then answers one byte every ``gap`` seconds."""

    ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.trickle_seconds = len(self.ANSWER) * gap
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(None)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(
                    next(
                        h.split(b":")[1]
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    )
                )
                while len(body) < length:
                    body += conn.recv(4096)
                for byte in self.ANSWER:
                    if self.stop.wait(self.gap):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


def test_a_trickling_site_cannot_hold_the_worker_past_the_timeout(make_app) -> None:
    site = Trickler(gap=0.25)  # a whole answer would take 11 s, every byte well within 1 s
    try:
        app = make_app(
            WEBHOOK_URL=site.url, WEBHOOK_SECRET=SECRET, WEBHOOK_RETRY_SECONDS=0, WEBHOOK_TIMEOUT=1
        )
        with services(app).sessions() as session, session.begin():
            submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
            moderate = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
        client = app.test_client()
        post_comment(client, submit, "c1", "You are a total moron")
        decide(client, moderate, "c1", "reject")
        started = time.monotonic()
        deliver(app)
        took = time.monotonic() - started
        delivery = client.get("/api/v1/webhooks/deliveries", headers=moderate).get_json()["deliveries"][0]
        assert (delivery["state"], delivery["attempts"]) == ("pending", 1)
        assert delivery["last_error"] == "no answer within 1 s"
        assert took < site.trickle_seconds / 2  # gave up at the deadline, not after the whole answer
    finally:
        site.close()


def test_acknowledged_deliveries_survive_a_crash_mid_batch(make_app, receiver: Receiver, monkeypatch) -> None:
    app, submit, moderate = hooked_app(make_app, receiver.url)
    client = app.test_client()
    for n in range(6):
        post_comment(client, submit, f"c{n}", f"You are a total moron ({n})")
        decide(client, moderate, f"c{n}", "reject")

    class Crash(Exception):
        """The worker dies (killed, out of memory) while sending."""

    sent: list[int] = []
    real_post = webhooks._post

    def crash_on_fourth(config: WebhookConfig, delivery) -> tuple[int | None, str | None]:
        sent.append(delivery.id)
        if len(sent) == 4:
            raise Crash
        return real_post(config, delivery)

    monkeypatch.setattr(webhooks, "_post", crash_on_fourth)
    svc = services(app)
    assert svc.webhooks is not None
    with pytest.raises(Crash):
        webhooks.deliver_due(svc.sessions, svc.webhooks)
    monkeypatch.undo()
    states = {
        d["id"]: d["state"]
        for d in client.get("/api/v1/webhooks/deliveries", headers=moderate).get_json()["deliveries"]
    }
    assert [states[i] for i in sent[:3]] == ["delivered"] * 3
    assert sorted(i for i, state in states.items() if state == "pending") == sorted(
        set(states) - set(sent[:3])
    )
    deliver(app)
    ids = [headers[DELIVERY_HEADER] for headers, _ in receiver.received]
    assert len(ids) == len(set(ids)) == 6  # the acknowledged ones were not sent again


class FlakySessions:
    """A session factory whose database is unreachable for the first ``outage`` calls."""

    def __init__(self, real: sessionmaker[Session], outage: int) -> None:
        self.real, self.outage, self.calls = real, outage, 0

    def __call__(self) -> Session:
        self.calls += 1
        if self.calls <= self.outage:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        return self.real()


def test_worker_waits_out_a_database_outage(make_app, receiver: Receiver, caplog) -> None:
    app, submit, moderate = hooked_app(make_app, receiver.url)
    client = app.test_client()
    post_comment(client, submit, "c1", "You are a total moron")
    decide(client, moderate, "c1", "reject")
    svc = services(app)
    sessions = FlakySessions(svc.sessions, outage=5)
    stop = threading.Event()
    worker = threading.Thread(
        target=webhooks.run_worker,
        args=(sessions, svc.webhooks),
        kwargs={"interval": 0.01, "stop": stop, "max_wait": 0.05},
    )
    with caplog.at_level(logging.INFO, logger="moderation.workflow.webhooks"):
        worker.start()
        deadline = time.monotonic() + 60
        while not receiver.hits and time.monotonic() < deadline and worker.is_alive():
            time.sleep(0.02)
        assert worker.is_alive()  # it did not give up
        stop.set()
        worker.join()
    assert sessions.calls > 5 and acknowledged_in_order(receiver.hits) == {"c1": [1]}
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.workflow.webhooks"]
    assert [line.split(" (")[0].split(" after")[0] for line in lines] == [
        "webhook worker: database unavailable",
        "webhook worker: database back",
    ]


def test_a_receiver_outage_logs_a_line_per_interval_not_per_delivery(make_app, caplog) -> None:
    down = Receiver(answer=lambda n: 503)
    try:
        app, submit, moderate = hooked_app(make_app, down.url)
        client = app.test_client()
        for n in range(6):
            post_comment(client, submit, f"c{n}", "You are a total moron")
            client.post(
                f"/api/v1/comments/c{n}/decision",
                json={"action": "reject", "site_rule": "be_nice"},
                headers=moderate,
            )
        webhooks.retry_log._last.clear()
        with caplog.at_level(logging.WARNING, logger="moderation.workflow.webhooks"):
            deliver(app)
    finally:
        down.close()
    assert len(down.received) == 6
    warnings = [r.getMessage() for r in caplog.records if r.name == "moderation.workflow.webhooks"]
    assert len(warnings) == 1 and "will retry" in warnings[0]
