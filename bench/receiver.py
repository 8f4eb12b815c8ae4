"""A webhook receiver for the soak test: verifies every signature and records what arrived.

It runs in the soak process on a loopback port (``http.server.ThreadingHTTPServer``). Its mode
makes outages: ``ok`` acknowledges with 200, ``error`` answers 503, and ``refuse`` closes the
listening socket so connections are refused, until ``set_mode("ok")`` opens it again on the same
port. Only acknowledged (200) requests count as received; the others are counted as refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.pgcluster import free_port


@dataclass(frozen=True, slots=True)
class Received:
    """One acknowledged POST, as the receiver saw it."""

    at: float
    wall: float
    delivery: str | None
    event: str | None
    sequence_header: str | None
    signature_ok: bool
    body_sha256: str
    payload: dict[str, Any] | None

    @property
    def comment_id(self) -> str | None:
        """The comment's site id from the body."""
        comment = (self.payload or {}).get("comment")
        return comment.get("id") if isinstance(comment, dict) else None

    @property
    def sequence(self) -> Any:
        """The body's per-comment sequence number (None when absent)."""
        return (self.payload or {}).get("sequence")


@dataclass
class Receiver:
    """The site's end of the webhooks."""

    secret: str
    port: int = field(default_factory=free_port)
    mode: str = "ok"
    received: list[Received] = field(default_factory=list)
    refused: int = 0
    bad_requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """What WEBHOOK_URL points at."""
        return f"http://127.0.0.1:{self.port}/hooks/moderation"

    def start(self) -> None:
        """Listen (again) on our port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status = receiver._handle(body, self.headers)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop listening: connections are refused until ``start``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def set_mode(self, mode: str) -> None:
        """``ok``, ``error`` (answer 503) or ``refuse`` (not listening)."""
        if mode == "refuse" and self._server is not None:
            self.close()
        elif mode != "refuse" and self._server is None:
            self.start()
        self.mode = mode

    def _handle(self, body: bytes, headers: Any) -> int:
        if self.mode != "ok":
            with self._lock:
                self.refused += 1
            return 503
        expected = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        signature_ok = hmac.compare_digest(expected, headers.get("X-Moderation-Signature", ""))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            with self._lock:
                self.bad_requests += 1
            payload = None
        record = Received(
            at=time.monotonic(),
            wall=time.time(),
            delivery=headers.get("X-Moderation-Delivery"),
            event=headers.get("X-Moderation-Event"),
            sequence_header=headers.get("X-Moderation-Sequence"),
            signature_ok=signature_ok,
            body_sha256=hashlib.sha256(body).hexdigest(),
            payload=payload,
        )
        with self._lock:
            self.received.append(record)
        return 200

    def snapshot(self) -> list[Received]:
        """Everything acknowledged so far, in arrival order."""
        with self._lock:
            return list(self.received)
