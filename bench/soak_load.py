"""The soak's clients: a paced, seeded mix of API calls over several instances, retried like a
careful site backend would, recording what was sent and what was acknowledged (bench/soak.py)."""

from __future__ import annotations

import http.client
import itertools
import json
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.generate import generate

REPORT_REASONS = {
    "insult": 30,
    "spam": 20,
    "obscene": 12,
    "threat": 12,
    "other": 10,
    "false_information": 6,
    "identity_attack": 5,
    "sexual": 5,
}
SITE_RULES = ("keep_it_clean", "be_nice", "dont_threaten", "no_spam")
# Texts the shipped rules flag or hold, so the queue fills and moderators have work.
QUEUED_TEXTS = (
    "You are a complete idiot",
    "you moron, read the article",
    "I will find you and hurt you",
    "BUY NOW http://a.example http://b.example http://c.example",
)
# What each kind of call may answer (besides 503 and connection errors, which are retried).
EXPECTED = {
    "new": {200, 201},
    "repost": {200},
    "conflict": {409},
    "same-id-at-once": {200, 201},
    "report": {200, 201},
    "report-burst": {200, 201},
    "score": {200},
    "read": {200},
    "queue-next": {200, 404},
    "decide-revision": {200, 409},
    "decide": {200, 409},
    "undo": {200, 409},
}
MIX = {  # kind of operation -> weight
    "new": 34,
    "repost": 4,
    "conflict": 1,
    "same-id-at-once": 1,
    "report": 24,
    "report-burst": 0.5,
    "score": 10,
    "read": 6,
    "take-and-decide": 6,
    "decide": 6,
    "undo": 3.5,
}
BURST = 20


@dataclass(frozen=True, slots=True)
class Plan:
    """How much load, how fast, from how many client threads."""

    requests: int
    seconds: float
    clients: int
    seed: int
    give_up_after: float


@dataclass
class Answer:
    """The final answer to one call (after retries)."""

    status: int
    payload: Any


class Load:
    """The clients, what they sent and what was acknowledged."""

    def __init__(self, plan: Plan, ports: list[int], keys: dict[str, str], run_id: str) -> None:
        self.plan = plan
        self.ports = ports
        self.site_key = keys["site"]
        self.mod_keys = [keys[k] for k in keys if k.startswith("mod")]
        self.run_id = run_id
        self.canary = f"soakcanary{run_id}"
        self.texts: list[str] = []  # filled by run()
        self.lock = threading.Lock()
        self.round_robin = itertools.count()
        self.next_task = itertools.count()
        self.issued = 0
        self.begin = 0.0
        self.finished_at = 0.0
        # What was sent and acknowledged.
        self.texts_sent: dict[str, str] = {}
        self.acknowledged: dict[str, str] = {}
        self.acknowledged_ids: list[str] = []
        self.reporters_sent: dict[str, set[str]] = defaultdict(set)
        self.reporters_acknowledged: dict[str, set[str]] = defaultdict(set)
        self.decided: list[str] = []
        # How it went.
        self.calls = 0
        self.statuses: Counter[str] = Counter()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.retried_503: list[float] = []
        self.bad_503: list[dict[str, Any]] = []
        self.connection_errors: list[tuple[float, str]] = []
        self.server_errors: list[dict[str, Any]] = []
        self.unexpected: list[dict[str, Any]] = []
        self.gave_up: Counter[str] = Counter()

    def now(self) -> float:
        """Seconds since the load began."""
        return time.monotonic() - self.begin

    # -- one HTTP call, retried ---------------------------------------------------

    def call(self, kind: str, method: str, path: str, key: str, body: Any = None) -> Answer | None:
        """One API call, on a new connection each time: retried on 503 and connection errors (on the
        next instance, after a backoff) until ``give_up_after``."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {key}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        delay = 0.2
        while True:
            port = self.ports[next(self.round_robin) % len(self.ports)]
            with self.lock:
                self.calls += 1
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(method, path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                status = response.status
                retry_after = response.getheader("Retry-After")
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.connection_errors.append((self.now(), type(exc).__name__))
            else:
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = raw[:200].decode(errors="replace")
                if status == 503:
                    well_formed = (
                        retry_after is not None
                        and isinstance(payload, dict)
                        and isinstance(payload.get("error"), dict)
                        and {"code", "message"} <= set(payload["error"])
                    )
                    with self.lock:
                        self.retried_503.append(self.now())
                        if not well_formed and len(self.bad_503) < 20:
                            self.bad_503.append({"kind": kind, "retry_after": retry_after, "body": payload})
                    if retry_after and retry_after.isdigit():
                        delay = max(delay, min(float(retry_after), 5.0))
                else:
                    self._record(kind, method, path, status, payload, started)
                    return Answer(status, payload)
            finally:
                conn.close()
            if time.monotonic() - started > self.plan.give_up_after:
                with self.lock:
                    self.gave_up[kind] += 1
                return None
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 2.0)

    def _record(self, kind: str, method: str, path: str, status: int, payload: Any, started: float) -> None:
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1
            self.latency[kind].append((time.monotonic() - started) * 1000)
            if status >= 500:
                self.server_errors.append(
                    {
                        "t": round(self.now(), 2),
                        "kind": kind,
                        "status": status,
                        "call": f"{method} {path}",
                        "body": payload,
                    }
                )
            elif status not in EXPECTED[kind]:
                self.unexpected.append(
                    {
                        "t": round(self.now(), 2),
                        "kind": kind,
                        "status": status,
                        "call": f"{method} {path}",
                        "body": payload,
                    }
                )

    # -- operations ---------------------------------------------------------------

    def _pick(self, rng: random.Random, recent: bool = False) -> str | None:
        with self.lock:
            ids = self.acknowledged_ids
            if not ids:
                return None
            if recent and rng.random() < 0.5:
                return rng.choice(ids[-40:])
            return rng.choice(ids)

    def _new_text(self, rng: random.Random, n: int) -> str:
        base = rng.choice(QUEUED_TEXTS) if rng.random() < 0.3 else rng.choice(self.texts)
        return f"{base} ({self.canary} {n})"

    def post_comment(self, rng: random.Random, n: int, kind: str = "new", site_id: str | None = None) -> None:
        """Submit a comment (a new id unless given)."""
        site_id = site_id or f"soak-{self.run_id}-{n}"
        with self.lock:
            text = self.texts_sent.setdefault(site_id, self._new_text(rng, n))
        body = {
            "id": site_id,
            "text": text,
            "author": {
                "id": f"author-{rng.randrange(150)}",
                "name": "Soak",
                "created_at": "2024-01-01T00:00:00Z",
            },
            "article": {
                "id": f"article-{rng.randrange(25)}",
                "title": "Soak",
                "url": "https://news.example/soak",
            },
        }
        answer = self.call(kind, "POST", "/api/v1/comments", self.site_key, body)
        if answer is not None and 200 <= answer.status < 300:
            with self.lock:
                if site_id not in self.acknowledged:
                    self.acknowledged[site_id] = text
                    self.acknowledged_ids.append(site_id)

    def repost(self, rng: random.Random, n: int, conflicting: bool) -> None:
        """The same id again: same text (200) or different text (409)."""
        site_id = self._pick(rng)
        if site_id is None:
            return self.post_comment(rng, n)
        text = self.acknowledged[site_id] + (" (edited)" if conflicting else "")
        body = {"id": site_id, "text": text, "author": {"id": "author-0"}}
        self.call("conflict" if conflicting else "repost", "POST", "/api/v1/comments", self.site_key, body)

    def same_id_at_once(self, rng: random.Random, n: int) -> None:
        """Two clients post one new id at the same moment."""
        site_id = f"soak-{self.run_id}-{n}"
        barrier = threading.Barrier(2)

        def one(seed: int) -> None:
            barrier.wait()
            self.post_comment(random.Random(seed), n, "same-id-at-once", site_id)

        with self.lock:
            self.texts_sent[site_id] = self._new_text(rng, n)
        threads = [threading.Thread(target=one, args=(rng.random(),), daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def report(
        self, site_id: str, reporter: str, reason: str, kind: str = "report", note: str | None = None
    ) -> None:
        """A reader reports a comment."""
        with self.lock:
            self.reporters_sent[site_id].add(reporter)
        body: dict[str, Any] = {"reporter_id": reporter, "reason": reason}
        if note:
            body["note"] = note
        answer = self.call(kind, "POST", f"/api/v1/comments/{site_id}/reports", self.site_key, body)
        if answer is not None and 200 <= answer.status < 300:
            with self.lock:
                self.reporters_acknowledged[site_id].add(reporter)

    def _reason(self, rng: random.Random) -> str:
        return rng.choices(list(REPORT_REASONS), weights=list(REPORT_REASONS.values()))[0]

    def report_one(self, rng: random.Random, n: int) -> None:
        """One reader (of a few hundred) reports a comment, often a recent one."""
        site_id = self._pick(rng, recent=True)
        if site_id is None:
            return self.post_comment(rng, n)
        note = f"see {self.canary}" if rng.random() < 0.3 else None
        self.report(site_id, f"reader-{rng.randrange(400)}", self._reason(rng), note=note)

    def report_burst(self, rng: random.Random, n: int) -> None:
        """Twenty readers report one comment at the same moment."""
        site_id = self._pick(rng, recent=True)
        if site_id is None:
            return self.post_comment(rng, n)
        barrier = threading.Barrier(BURST)
        reasons = [self._reason(rng) for _ in range(BURST)]

        def one(k: int) -> None:
            barrier.wait()
            self.report(site_id, f"burst-{n}-{k}", reasons[k], "report-burst")

        threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in range(BURST)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def score(self, rng: random.Random, n: int) -> None:
        """A dry run."""
        self.call("score", "POST", "/api/v1/score", self.site_key, {"text": self._new_text(rng, n)})

    def read(self, rng: random.Random, n: int) -> None:
        """The site reads a comment's current status."""
        site_id = self._pick(rng)
        if site_id is not None:
            self.call("read", "GET", f"/api/v1/comments/{site_id}", self.site_key)

    def _decision(self, rng: random.Random) -> dict[str, Any]:
        if rng.random() < 0.5:
            return {"action": "approve"}
        return {"action": "reject", "site_rule": rng.choice(SITE_RULES), "note": f"soak {self.canary}"}

    def take_and_decide(self, rng: random.Random, n: int) -> None:
        """A moderator takes the next queue item and decides with the revision they saw."""
        key = rng.choice(self.mod_keys)
        listing = rng.choice(("pending", "flagged", "reported"))
        answer = self.call("queue-next", "POST", "/api/v1/queue/next", key, {"listing": listing})
        if answer is None or answer.status != 200:
            return
        site_id, revision = answer.payload["id"], answer.payload["revision"]
        body = {**self._decision(rng), "revision": revision}
        decided = self.call("decide-revision", "POST", f"/api/v1/comments/{site_id}/decision", key, body)
        if decided is not None and decided.status == 200:
            with self.lock:
                self.decided.append(site_id)

    def decide(self, rng: random.Random, n: int) -> None:
        """A decision on any comment, without a revision."""
        site_id = self._pick(rng, recent=True)
        if site_id is None:
            return
        key = rng.choice(self.mod_keys)
        answer = self.call("decide", "POST", f"/api/v1/comments/{site_id}/decision", key, self._decision(rng))
        if answer is not None and answer.status == 200:
            with self.lock:
                self.decided.append(site_id)

    def undo(self, rng: random.Random, n: int) -> None:
        """Undo the last decision on a decided comment."""
        with self.lock:
            site_id = rng.choice(self.decided[-60:]) if self.decided else None
        if site_id is not None:
            self.call("undo", "POST", f"/api/v1/comments/{site_id}/undo", rng.choice(self.mod_keys))

    # -- running ------------------------------------------------------------------

    def operation(self, kind: str) -> Callable[[random.Random, int], None]:
        """The function that performs one operation of ``kind``."""
        return {
            "new": self.post_comment,
            "repost": lambda rng, n: self.repost(rng, n, False),
            "conflict": lambda rng, n: self.repost(rng, n, True),
            "same-id-at-once": self.same_id_at_once,
            "report": self.report_one,
            "report-burst": self.report_burst,
            "score": self.score,
            "read": self.read,
            "take-and-decide": self.take_and_decide,
            "decide": self.decide,
            "undo": self.undo,
        }[kind]

    def client(self) -> None:
        """One client thread: take the next operation, wait for its scheduled time, do it."""
        interval = self.plan.seconds / self.plan.requests
        kinds, weights = list(MIX), list(MIX.values())
        while True:
            n = next(self.next_task)
            if n >= self.plan.requests:
                return
            rng = random.Random(self.plan.seed * 1_000_003 + n)
            kind = "new" if n < 30 else rng.choices(kinds, weights=weights)[0]
            pause = self.begin + n * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with self.lock:
                self.issued += 1
            self.operation(kind)(rng, n)

    def run(self) -> None:
        """All clients, until every operation is done."""
        self.texts = generate(1500, seed=self.plan.seed)
        self.begin = time.monotonic()
        threads = [
            threading.Thread(target=self.client, name=f"client-{i}", daemon=True)
            for i in range(self.plan.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.finished_at = self.now()

    @property
    def progress(self) -> float:
        """Share of the operations issued so far."""
        return self.issued / self.plan.requests
