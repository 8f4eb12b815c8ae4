"""The live queue: a small JSON view the queue page polls (new comments, who is reviewing what,
what others decided), and the claim a moderator takes by opening a queued comment."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..models import utcnow
from ..workflow.live import MAX_WATCHED, live_state
from ..workflow.queue import LISTINGS, Filters, QueueConflict, claim
from ..workflow.submission import get_comment
from .extension import services
from .schemas import QueueFilters, parse_query

bp = Blueprint("review_live", __name__, url_prefix="/review")
POLL_SECONDS = 5


@bp.get("/queue/<state>/live")
@login_required
def live_view(state: str) -> ResponseReturnValue:
    """Counts, the watched comments' state and comments new since ``after`` (ISO 8601)."""
    if state not in LISTINGS:
        abort(404)
    args = parse_query(QueueFilters, request.args)
    try:
        after = datetime.fromisoformat(request.args.get("after", ""))
    except ValueError:
        after = utcnow()
    if after.tzinfo is None:
        abort(400, "after must carry a UTC offset")
    watched = [i for i in request.args.get("ids", "").split(",") if i][:MAX_WATCHED]
    with services().sessions() as session:
        payload = live_state(
            session,
            state,
            Filters(args.article, args.category, args.site_rule),
            watched,
            after,
            current_user.actor,
        )
    for item in payload["new"]:
        item["url"] = url_for("review.item_view", site_id=item["id"], state=state)
    response = jsonify({**payload, "poll_seconds": POLL_SECONDS})
    response.headers["Cache-Control"] = "no-store"
    return response


def claim_on_open(site_id: str, actor: str) -> str | None:
    """Claim a queued comment for the moderator opening it, as the API's claims do.

    Returns who else is reviewing it while their claim is live, else ``None`` (also for a comment
    that is not queued, or does not exist: the page says so itself).
    """
    with services().transaction() as session:
        comment = get_comment(session, site_id)
        if comment is None or comment.queue is None:
            return None
        try:
            claim(session, comment, actor)
        except QueueConflict:
            return comment.claimed_by
    return None


@bp.app_context_processor
def _rendered_at() -> dict[str, str]:
    """When the page was rendered (server time), so the live queue asks for what came after it."""
    return {"rendered_at": utcnow().isoformat()}
