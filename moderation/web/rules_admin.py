"""The admin area's rules replay: paste or upload a candidate rules file and see what it would change.

The same replay as `flask rules test` (``workflow/replay.py``), bounded by ``WEB_REPLAY_LIMIT``
comments so a request cannot hold a worker for long. Admins only; the form carries a CSRF token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from ..rules import RulesError, RuleSet, parse_rules
from ..workflow.replay import ReplayReport, replay
from ..workflow.rulestats import parse_window
from .auth import admin_required
from .extension import services

bp = Blueprint("rules_admin", __name__, url_prefix="/review/admin/rules")

WEB_REPLAY_LIMIT = 2000  # comments; the CLI goes further (flask rules test --limit)
SAMPLE = 20


class _FormError(ValueError):
    """Something in the form to fix; shown above it."""


def _render(status: int = 200, **context: Any) -> tuple[str, int]:
    values = {
        "since": request.form.get("since", "7d"),
        "limit": request.form.get("limit", str(WEB_REPLAY_LIMIT)),
        "rules_text": request.form.get("rules_text", ""),
        "max_limit": WEB_REPLAY_LIMIT,
        "report": None,
        "error": None,
        **context,
    }
    return render_template("review/rules_replay.html", **values), status


@bp.get("/test")
@admin_required
def replay_form() -> ResponseReturnValue:
    """The form: a rules file to paste or upload, a window and a limit."""
    return _render()


def _candidate() -> tuple[RuleSet, str]:
    """The rules from the upload (if a file was chosen) or the text area, validated and compiled."""
    svc = services()
    limits = svc.rules.limits
    upload = request.files.get("rules_file")
    if upload is not None and upload.filename:
        name, data = upload.filename, upload.read(limits.max_file_bytes + 1)
    else:
        name, data = "pasted rules", request.form.get("rules_text", "").encode()
    if not data.strip():
        raise _FormError("Paste a rules file or choose one to upload.")
    if len(data) > limits.max_file_bytes:
        raise _FormError(f"The rules file is over {limits.max_file_bytes:,} bytes (RULES_MAX_FILE_BYTES).")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _FormError(f"{name}: the file is not UTF-8 text") from None
    folder = svc.rules.path.resolve().parent  # word-list files resolve here, and only here
    return parse_rules(text, name, folder, limits, files_within=folder), text


def _bounds() -> tuple[Any, int]:
    try:
        window = parse_window(request.form.get("since", "7d"))
    except ValueError as exc:
        raise _FormError(f"Window: {exc}.") from None
    try:
        limit = int(request.form.get("limit", WEB_REPLAY_LIMIT))
    except ValueError:
        raise _FormError("Limit: a whole number of comments.") from None
    if not 1 <= limit <= WEB_REPLAY_LIMIT:
        raise _FormError(f"Limit: from 1 to {WEB_REPLAY_LIMIT:,} comments here (more with flask rules test).")
    return window, limit


@bp.post("/test")
@admin_required
def replay_run() -> ResponseReturnValue:
    """Replay the candidate over recent stored comments and show what would change; nothing is written."""
    try:
        window, limit = _bounds()
        candidate, text = _candidate()
    except _FormError as exc:
        return _render(422, error=str(exc))
    except RulesError as exc:
        return _render(422, error=str(exc))
    svc = services()
    report = replay(svc.sessions, svc.pipeline, candidate, window, limit, SAMPLE)
    return _render(rules_text=text, report=report, rows=_rows(report))


def _rows(report: ReplayReport) -> dict[str, Any]:
    """The report's counters as sorted rows for the template."""
    transitions = sorted(report.transitions.items(), key=lambda t: (t[0][0] == t[0][1], -t[1]))
    return {
        "transitions": [{"before": b, "after": a, "n": n, "changed": b != a} for (b, a), n in transitions],
        "gained": report.gained.most_common(),
        "lost": report.lost.most_common(),
        "shadow": report.shadow_hits.most_common(),
    }
