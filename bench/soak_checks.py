"""The soak's invariants and its report: what the database, the receiver and the clients saw,
checked against each other (bench/soak.py)."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.receiver import Received, Receiver
from bench.soak_load import Load

if TYPE_CHECKING:
    from bench.soak import Chaos


@dataclass
class Check:
    """One invariant and what was found."""

    name: str
    ok: bool
    detail: str
    examples: list[Any] = field(default_factory=list)


def database_state(url: str, run_id: str) -> dict[str, Any]:
    """What the database holds for this run: comments, reports, status changes, deliveries."""
    from sqlalchemy import create_engine, text

    from moderation.database import normalize_url

    engine = create_engine(normalize_url(url))
    prefix = {"p": f"soak-{run_id}-%"}
    with engine.connect() as conn:
        comments = {
            row.site_id: row._asdict()
            for row in conn.execute(
                text(
                    "SELECT site_id, text_sha256, status, visible, report_count, event_seq FROM comments"
                    " WHERE site_id LIKE :p"
                ),
                prefix,
            )
        }
        duplicates = conn.execute(
            text("SELECT site_id, COUNT(*) FROM comments GROUP BY site_id HAVING COUNT(*) > 1")
        ).all()
        reports: dict[str, set[str]] = defaultdict(set)
        for row in conn.execute(
            text(
                "SELECT c.site_id AS comment, r.site_id AS reporter FROM reports p"
                " JOIN comments c ON c.id = p.comment_id JOIN reporters r ON r.id = p.reporter_id"
                " WHERE c.site_id LIKE :p"
            ),
            prefix,
        ):
            reports[row.comment].add(row.reporter)
        changes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in conn.execute(
            text(
                "SELECT c.site_id, a.id, a.action, a.from_status, a.to_status, a.from_visible, a.to_visible"
                " FROM audit_log a JOIN comments c ON c.id = a.comment_id"
                " WHERE c.site_id LIKE :p AND a.from_status IS NOT NULL"
                " AND (a.from_status <> a.to_status OR a.from_visible <> a.to_visible) ORDER BY a.id"
            ),
            prefix,
        ):
            changes[row.site_id].append(row._asdict())
        deliveries = [
            row._asdict()
            for row in conn.execute(
                text(
                    "SELECT d.id, c.site_id, d.state, d.sequence, d.attempts FROM webhook_deliveries d"
                    " JOIN comments c ON c.id = d.comment_id WHERE c.site_id LIKE :p ORDER BY d.id"
                ),
                prefix,
            )
        ]
    engine.dispose()
    return {
        "comments": comments,
        "duplicates": duplicates,
        "reports": reports,
        "changes": changes,
        "deliveries": deliveries,
    }


def undelivered(url: str) -> int:
    """Deliveries neither delivered nor given up."""
    from sqlalchemy import create_engine, text

    from moderation.database import normalize_url

    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT COUNT(*) FROM webhook_deliveries WHERE state NOT IN ('delivered', 'failed')")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _some(items: list[Any], n: int = 5) -> list[Any]:
    return items[:n]


def _held_by_outage(received: list[Received], window: tuple[float, float] | None) -> int:
    """Deliveries of changes made before the receiver came back that first arrived after that."""
    if window is None:
        return 0
    first: dict[str | None, Received] = {}
    for r in received:
        first.setdefault(r.delivery, r)
    held = 0
    for r in first.values():
        at = (r.payload or {}).get("at")
        with contextlib.suppress(TypeError, ValueError):
            if datetime.fromisoformat(at).timestamp() < window[1] <= r.wall:
                held += 1
    return held


def verify(
    load: Load,
    receiver: Receiver,
    db: dict[str, Any],
    chaos: Chaos,
    worker_deaths: list[str],
    logs: dict[str, Path],
    drained: bool,
) -> list[Check]:
    """Every invariant, each with its evidence."""
    checks: list[Check] = []
    comments = db["comments"]

    # Acknowledged = stored, exactly once, with the text sent.
    missing = [c for c in load.acknowledged if c not in comments]
    wrong_text = [
        c
        for c, text in load.acknowledged.items()
        if c in comments and comments[c]["text_sha256"] != hashlib.sha256(text.encode()).hexdigest()
    ]
    unknown = [c for c in comments if c not in load.texts_sent]
    extra = [c for c in comments if c not in load.acknowledged and c in load.texts_sent]
    checks.append(
        Check(
            "acknowledged comments stored exactly once, with their text",
            not missing and not wrong_text and not unknown and not db["duplicates"],
            f"{len(load.acknowledged):,} acknowledged, {len(comments):,} stored; {len(missing)} missing, "
            f"{len(wrong_text)} with other text, {len(db['duplicates'])} ids stored twice, "
            f"{len(unknown)} never sent; {len(extra)} stored without an acknowledgement",
            _some(missing + wrong_text + unknown),
        )
    )

    # No server errors other than 503 during the outage.
    checks.append(
        Check(
            "no 500/502/504 answers",
            not load.server_errors,
            f"{len(load.server_errors)} server errors",
            _some(load.server_errors),
        )
    )
    in_window = 0
    if chaos.db_window:
        lo, hi = chaos.db_window
        in_window = sum(lo - 1 <= t <= hi + 15 for t in load.retried_503)
    checks.append(
        Check(
            "every 503 carries Retry-After and the JSON error shape (retried by the client)",
            not load.bad_503,
            f"{len(load.retried_503)} answers 503, {in_window} of them during the database restart "
            f"(or within 15 s after); {len(load.bad_503)} without Retry-After or the error shape",
            _some(load.bad_503),
        )
    )
    checks.append(
        Check(
            "only the statuses the API documents for each call",
            not load.unexpected,
            f"{len(load.unexpected)} unexpected answers",
            _some(load.unexpected),
        )
    )
    checks.append(
        Check(
            "every call eventually answered (no client gave up)",
            not load.gave_up,
            f"{sum(load.gave_up.values())} calls given up after {load.plan.give_up_after:.0f} s of "
            f"retries; {len(load.connection_errors)} connection errors retried",
            sorted(load.gave_up.items()),
        )
    )

    # Reports: counted once per reader, each acknowledged one counted.
    bad_reports = []
    for site_id in set(load.reporters_sent) | set(db["reports"]):
        if site_id not in comments:
            continue
        stored = db["reports"].get(site_id, set())
        acked = load.reporters_acknowledged.get(site_id, set())
        sent = load.reporters_sent.get(site_id, set())
        if not acked <= stored or not stored <= sent or comments[site_id]["report_count"] != len(stored):
            bad_reports.append(
                {
                    "comment": site_id,
                    "report_count": comments[site_id]["report_count"],
                    "acknowledged": len(acked),
                    "stored": len(stored),
                }
            )
    acked_reports = sum(len(v) for v in load.reporters_acknowledged.values())
    checks.append(
        Check(
            "report counts = distinct acknowledged readers per comment",
            not bad_reports,
            f"{acked_reports:,} distinct (comment, reader) reports acknowledged over "
            f"{len(load.reporters_acknowledged):,} comments; {len(bad_reports)} comments disagree",
            _some(bad_reports),
        )
    )

    # Webhooks.
    received = receiver.snapshot()
    bad_signatures = [r.delivery for r in received if not r.signature_ok]
    checks.append(
        Check(
            "every webhook signature valid",
            bool(received) and not bad_signatures,
            f"{len(received):,} webhook requests acknowledged, {len(bad_signatures)} with a bad signature; "
            f"{receiver.refused:,} refused with 503 during the outage",
            _some(bad_signatures),
        )
    )
    deliveries = db["deliveries"]
    by_state = Counter(d["state"] for d in deliveries)
    changes = db["changes"]
    rows_per_comment = Counter(d["site_id"] for d in deliveries)
    change_count = sum(len(v) for v in changes.values())
    missing_rows = [
        {"comment": c, "changes": len(v), "deliveries": rows_per_comment.get(c, 0)}
        for c, v in changes.items()
        if rows_per_comment.get(c, 0) != len(v)
    ]
    got = {r.delivery for r in received}
    held = _held_by_outage(received, chaos.outage_wall)
    not_received = [d["id"] for d in deliveries if str(d["id"]) not in got]
    checks.append(
        Check(
            "every status change delivered (audit log = outbox = received)",
            drained and not missing_rows and set(by_state) <= {"delivered"} and not not_received,
            f"{change_count:,} status changes in the audit log, {len(deliveries):,} deliveries "
            f"({', '.join(f'{n:,} {s}' for s, n in sorted(by_state.items())) or 'none'}), "
            f"{len(deliveries) - len(not_received):,} received ({held:,} of them held up by the receiver "
            f"outage and delivered after it); drained: {'yes' if drained else 'no'}",
            _some(missing_rows) + _some(not_received),
        )
    )

    # Per comment: arrival order, sequences, content, final state.
    first: dict[str, Received] = {}
    bodies: dict[str, str] = {}
    changed_body = []
    per_comment: dict[str, list[Any]] = defaultdict(list)
    for r in received:
        if r.delivery in bodies and bodies[r.delivery] != r.body_sha256:
            changed_body.append(r.delivery)
        bodies.setdefault(r.delivery, r.body_sha256)
        per_comment[r.comment_id].append(r.sequence)
        first.setdefault(r.delivery, r)
    events: dict[str, list[Received]] = defaultdict(list)
    for r in first.values():
        events[r.comment_id].append(r)
    duplicates = len(received) - len(first)
    out_of_order, gaps, wrong_events, wrong_final, header_mismatch = [], [], [], [], []
    for site_id, seqs in per_comment.items():
        if any(not isinstance(s, int) for s in seqs) or any(a > b for a, b in itertools.pairwise(seqs)):
            out_of_order.append({"comment": site_id, "sequences_as_received": seqs[:12]})
    for site_id, evs in events.items():
        seqs = [e.sequence for e in evs]
        if seqs != list(range(1, len(evs) + 1)):
            gaps.append({"comment": site_id, "sequences": seqs[:12]})
        for e in evs:
            if e.sequence_header != str(e.sequence):
                header_mismatch.append(
                    {"delivery": e.delivery, "header": e.sequence_header, "body": e.sequence}
                )
        seen = [(e.payload["comment"]["status"], e.payload["comment"]["visible"]) for e in evs if e.payload]
        audit = [(c["to_status"], c["to_visible"]) for c in changes.get(site_id, [])]
        if seen != audit:
            wrong_events.append({"comment": site_id, "received": seen[:8], "audit_log": audit[:8]})
        final = comments.get(site_id)
        if final is None or not seen or seen[-1] != (final["status"], final["visible"]):
            wrong_final.append(
                {
                    "comment": site_id,
                    "last_event": seen[-1] if seen else None,
                    "stored": final and final["status"],
                }
            )
    checks.append(
        Check(
            "per comment, events arrive in sequence order 1, 2, 3, ... (after de-duplication)",
            bool(events) and not out_of_order and not gaps and not header_mismatch,
            f"{len(events):,} comments with events, {len(first):,} distinct deliveries, "
            f"{duplicates} re-sent; {len(out_of_order)} comments out of order or without a sequence, "
            f"{len(gaps)} with gaps, "
            f"{len(header_mismatch)} X-Moderation-Sequence mismatches",
            _some(out_of_order) + _some(gaps) + _some(header_mismatch),
        )
    )
    checks.append(
        Check(
            "events match the audit log in order, and the last one is the comment's final state",
            not wrong_events and not wrong_final and not changed_body,
            f"{len(wrong_events)} comments whose events differ from their audit log, "
            f"{len(wrong_final)} whose last event is not the stored state, "
            f"{len(changed_body)} deliveries re-sent with another body",
            _some(wrong_events) + _some(wrong_final) + _some(changed_body),
        )
    )
    checks.append(
        Check(
            "webhook workers kept running through the database restart",
            not worker_deaths,
            "both running at the end" if not worker_deaths else "; ".join(worker_deaths),
        )
    )

    # Logs: no comment text or note ever written (every text and note carries a canary).
    leaked = []
    total_bytes = 0
    for name, path in logs.items():
        if path.exists():
            data = path.read_bytes()
            total_bytes += len(data)
            if load.canary.encode() in data:
                leaked.append(name)
    checks.append(
        Check(
            "no comment text or report note in the service logs",
            not leaked,
            f"{total_bytes / 1e6:.2f} MB of logs from {len(logs)} processes; text found in: "
            f"{', '.join(leaked) or 'none'}",
        )
    )
    checks.append(
        Check(
            "chaos ran as planned",
            chaos.error is None and chaos.db_window is not None and chaos.outage_window is not None,
            chaos.error or "worker killed, database restarted, receiver outage",
        )
    )
    return checks


# -- report ----------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(load: Load, receiver: Receiver, chaos: Chaos, db: dict[str, Any]) -> dict[str, Any]:
    """Figures that are not pass/fail."""
    answered = sum(load.statuses.values())
    by_kind: dict[str, dict[str, Any]] = {}
    for key, n in sorted(load.statuses.items()):
        kind, status = key.rsplit(" ", 1)
        entry = by_kind.setdefault(kind, {"statuses": {}})
        entry["statuses"][status] = n
    for kind, values in load.latency.items():
        by_kind[kind]["p50_ms"] = _percentile(values, 0.5)
        by_kind[kind]["p99_ms"] = _percentile(values, 0.99)
    lags = []
    for r in receiver.snapshot():
        at = (r.payload or {}).get("at")
        if isinstance(at, str):
            with contextlib.suppress(ValueError):
                lags.append(r.wall - datetime.fromisoformat(at).timestamp())
    return {
        "operations": load.plan.requests,
        "http_calls": load.calls,
        "answered": answered,
        "load_seconds": round(load.finished_at, 1),
        "answered_per_second": round(answered / load.finished_at, 1) if load.finished_at else None,
        "by_kind": by_kind,
        "answers_503": len(load.retried_503),
        "connection_errors": len(load.connection_errors),
        "connection_errors_by_type": dict(Counter(e for _, e in load.connection_errors)),
        "comments_acknowledged": len(load.acknowledged),
        "comments_stored": len(db["comments"]),
        "webhook_requests_acknowledged": len(receiver.snapshot()),
        "webhook_requests_refused": receiver.refused,
        "webhook_lag_p50_s": _percentile(lags, 0.5),
        "webhook_lag_max_s": max(lags) if lags else None,
        "chaos": chaos.events,
    }


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown."""
    s, f = report["settings"], report["figures"]
    verdict = "PASS" if report["passed"] else "FAIL"
    lines = [
        f"# Soak report: {verdict}",
        "",
        f"{report['date']} · {report['machine']} · command `{report['command']}` · model "
        f"`{s['model'] or 'configured default'}`",
        "",
        f"Two gunicorn instances (`{report['gunicorn'][0]}` and `{report['gunicorn'][1]}`), one throwaway "
        f"PostgreSQL {report['postgres']} on port {report['postgres_port']}, two `flask webhooks deliver` "
        f"workers (WEBHOOK_RETRY_SECONDS=1), {s['clients']} client threads; "
        f"{s['requests']:,} operations paced over "
        f"{s['seconds']:.0f} s, {f['http_calls']:,} HTTP calls; set-up took {f.get('setup_s')} s, the load "
        f"{f['load_seconds']} s, draining the webhooks {f.get('drain_s')} s.",
        "",
        "| invariant | result | evidence |",
        "|---|---|---|",
    ]
    for c in report["checks"]:
        lines.append(f"| {c['name']} | {'pass' if c['ok'] else '**FAIL**'} | {c['detail']} |")
    lines += ["", "## Chaos timeline (seconds from the start of the load)", ""]
    for e in f["chaos"]:
        extra = ", ".join(f"{k} {v}" for k, v in e.items() if k not in ("t", "what"))
        lines.append(f"- t={e['t']}: {e['what']}{' (' + extra + ')' if extra else ''}")
    lines += [
        "",
        "## Answers",
        "",
        f"{f['answered']:,} final answers ({f['answered_per_second']}/s); {f['answers_503']} answers 503 and "
        f"{f['connection_errors']} connection errors ({f['connection_errors_by_type']}), each retried. "
        f"Webhooks: {f['webhook_requests_acknowledged']:,} acknowledged, "
        f"{f['webhook_requests_refused']:,} answered 503 by the receiver during its outage; "
        f"lag from change to receipt p50 "
        f"{_fmt(f['webhook_lag_p50_s'], 's')}, max {_fmt(f['webhook_lag_max_s'], 's')}.",
        "",
        "| call | answers | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for kind, entry in f["by_kind"].items():
        statuses = ", ".join(f"{n:,} x {st}" for st, n in entry["statuses"].items())
        lines.append(f"| {kind} | {statuses} | {_fmt(entry.get('p50_ms'))} | {_fmt(entry.get('p99_ms'))} |")
    failed = [c for c in report["checks"] if not c["ok"] and c["examples"]]
    if failed:
        lines += ["", "## Examples of failures", ""]
        for c in failed:
            lines.append(f"- **{c['name']}**:")
            for example in c["examples"]:
                lines.append(f"  - `{json.dumps(example, default=str)[:400]}`")
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:.1f}{unit}"
