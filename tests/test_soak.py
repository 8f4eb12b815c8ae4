"""The soak harness (`make soak`, bench/soak.py) must catch what it exists to catch.

The soak itself starts a PostgreSQL cluster, two gunicorn instances and two webhook workers, and
takes minutes: it stays in `make soak`. Here, quickly: its webhook receiver really verifies
signatures and really goes down and comes back, and its invariants fail on a lost comment,
an event out of order, a gap, a bad signature and a miscounted report, yet pass on re-sent
deliveries (at least once is the contract).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bench.receiver import Received, Receiver
from bench.soak_checks import verify
from bench.soak_load import Load, Plan

SECRET = "s3cret"


def _post(receiver: Receiver, body: bytes, signature: str, delivery: str = "1") -> int:
    request = urllib.request.Request(
        receiver.url,
        data=body,
        method="POST",
        headers={"X-Moderation-Signature": signature, "X-Moderation-Delivery": delivery},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_receiver_checks_signatures_and_goes_down_and_back() -> None:
    receiver = Receiver(SECRET)
    receiver.start()
    try:
        body = json.dumps({"event": "comment.status_changed", "sequence": 1}).encode()
        assert _post(receiver, body, _sign(body)) == 200
        assert _post(receiver, body, "sha256=" + "0" * 64, delivery="2") == 200
        assert [r.signature_ok for r in receiver.snapshot()] == [True, False]

        receiver.set_mode("error")
        assert _post(receiver, body, _sign(body), delivery="3") == 503
        receiver.set_mode("refuse")
        with pytest.raises(urllib.error.URLError):
            _post(receiver, body, _sign(body), delivery="4")
        receiver.set_mode("ok")
        assert _post(receiver, body, _sign(body), delivery="5") == 200
        assert [r.delivery for r in receiver.snapshot()] == ["1", "2", "5"]
        assert receiver.refused == 1
    finally:
        receiver.close()


# -- the invariants, on a hand-made run -------------------------------------------


def _event(
    delivery: int, comment: str, sequence: int, status: str, visible: bool, ok: bool = True
) -> Received:
    payload = {
        "event": "comment.status_changed",
        "comment": {"id": comment, "status": status, "visible": visible},
    }
    payload["sequence"] = sequence
    body = json.dumps(payload).encode()
    return Received(
        at=0.0,
        wall=0.0,
        delivery=str(delivery),
        event="comment.status_changed",
        sequence_header=str(sequence),
        signature_ok=ok,
        body_sha256=hashlib.sha256(body).hexdigest(),
        payload=payload,
    )


class Run:
    """A small run where everything went right: two comments, one decided twice, one reported."""

    def __init__(self) -> None:
        self.load = Load(Plan(10, 1.0, 1, 7, 90.0), [1], {"site": "k", "mod0": "m"}, "t")
        self.receiver = Receiver(SECRET)
        self.chaos = SimpleNamespace(
            db_window=(1.0, 6.0), outage_window=(10.0, 25.0), outage_wall=None, error=None
        )
        texts = {"soak-t-1": "first", "soak-t-2": "second"}
        self.load.texts_sent.update(texts)
        self.load.acknowledged.update(texts)
        self.load.reporters_sent["soak-t-2"] |= {"r1", "r2"}
        self.load.reporters_acknowledged["soak-t-2"] |= {"r1", "r2"}

        def comment(site_id: str, status: str, visible: bool, reports: int) -> dict[str, Any]:
            digest = hashlib.sha256(texts[site_id].encode()).hexdigest()
            return {"text_sha256": digest, "status": status, "visible": visible, "report_count": reports}

        def change(to_status: str, to_visible: bool) -> dict[str, Any]:
            return {"to_status": to_status, "to_visible": to_visible}

        self.db: dict[str, Any] = {
            "comments": {
                "soak-t-1": comment("soak-t-1", "approved", True, 0),
                "soak-t-2": comment("soak-t-2", "pending", False, 2),
            },
            "duplicates": [],
            "reports": {"soak-t-2": {"r1", "r2"}},
            "changes": {
                "soak-t-1": [change("rejected", False), change("approved", True)],
                "soak-t-2": [change("pending", False)],
            },
            "deliveries": [
                {"id": 1, "site_id": "soak-t-1", "state": "delivered"},
                {"id": 2, "site_id": "soak-t-1", "state": "delivered"},
                {"id": 3, "site_id": "soak-t-2", "state": "delivered"},
            ],
        }
        self.receiver.received += [
            _event(1, "soak-t-1", 1, "rejected", False),
            _event(3, "soak-t-2", 1, "pending", False),
            _event(2, "soak-t-1", 2, "approved", True),
        ]

    def failed(self, tmp_path: Path) -> list[str]:
        """Names of the invariants that fail."""
        log = tmp_path / "instance1.log"
        log.write_text("[INFO] Booting worker\n")
        checks = verify(self.load, self.receiver, self.db, self.chaos, [], {"instance1": log}, True)  # type: ignore[arg-type]
        return [c.name for c in checks if not c.ok]


def test_a_run_where_everything_held_passes(tmp_path: Path) -> None:
    assert Run().failed(tmp_path) == []


def test_re_sent_deliveries_are_de_duplicated(tmp_path: Path) -> None:
    run = Run()
    run.receiver.received.insert(1, _event(1, "soak-t-1", 1, "rejected", False))
    assert run.failed(tmp_path) == []


def test_an_acknowledged_comment_that_was_not_stored_fails(tmp_path: Path) -> None:
    run = Run()
    del run.db["comments"]["soak-t-1"]
    assert "acknowledged comments stored exactly once, with their text" in run.failed(tmp_path)


def test_events_out_of_order_fail(tmp_path: Path) -> None:
    run = Run()
    run.receiver.received[0], run.receiver.received[2] = run.receiver.received[2], run.receiver.received[0]
    failed = run.failed(tmp_path)
    assert any(name.startswith("per comment, events arrive in sequence order") for name in failed)
    assert any(name.startswith("events match the audit log in order") for name in failed)


def test_a_missing_event_fails(tmp_path: Path) -> None:
    run = Run()
    del run.receiver.received[0]
    failed = run.failed(tmp_path)
    assert "every status change delivered (audit log = outbox = received)" in failed
    assert any(name.startswith("per comment, events arrive in sequence order") for name in failed)


def test_a_bad_signature_fails(tmp_path: Path) -> None:
    run = Run()
    run.receiver.received[1] = _event(3, "soak-t-2", 1, "pending", False, ok=False)
    assert run.failed(tmp_path) == ["every webhook signature valid"]


def test_a_miscounted_report_fails(tmp_path: Path) -> None:
    run = Run()
    run.db["comments"]["soak-t-2"]["report_count"] = 3
    assert run.failed(tmp_path) == ["report counts = distinct acknowledged readers per comment"]


def test_a_server_error_or_comment_text_in_a_log_fails(tmp_path: Path) -> None:
    run = Run()
    run.load.server_errors.append({"status": 500})
    log = tmp_path / "instance1.log"
    log.write_text(f"ERROR storing 'you idiot ({run.load.canary} 3)'\n")
    checks = verify(run.load, run.receiver, run.db, run.chaos, [], {"instance1": log}, True)  # type: ignore[arg-type]
    assert [c.name for c in checks if not c.ok] == [
        "no 500/502/504 answers",
        "no comment text or report note in the service logs",
    ]


def test_deliveries_held_up_by_the_receiver_outage_are_counted(tmp_path: Path) -> None:
    run = Run()
    run.chaos.outage_wall = (1_000.0, 1_015.0)
    late = run.receiver.received[2]
    late.payload["at"] = datetime.fromtimestamp(1_005.0, UTC).isoformat()
    run.receiver.received[2] = dataclasses.replace(late, wall=1_016.0)
    checks = verify(run.load, run.receiver, run.db, run.chaos, [], {}, True)  # type: ignore[arg-type]
    delivered = next(c for c in checks if c.name.startswith("every status change delivered"))
    assert delivered.ok
    assert "(1 of them held up by the receiver outage and delivered after it)" in delivered.detail
