"""Suspending an author through the moderation API (a `moderate` key): like a ban, for a set time."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g

from ..workflow.authors import AuthorPayload, author_summary
from ..workflow.submission import find_author
from ..workflow.suspensions import SuspensionError, lift_suspension, suspend
from .api import require_key
from .errors import ApiError
from .extension import services
from .openapi import operation
from .schemas import SuspensionIn

bp = Blueprint("suspension_api", __name__, url_prefix="/api/v1")


@bp.put("/authors/<site_id:site_id>/suspension")
@require_key("moderate")
@operation({200: (AuthorPayload, "the author, suspended")}, errors=(404,), body=SuspensionIn)
def suspend_author(site_id: str, body: SuspensionIn) -> AuthorPayload:
    """Reject the author's comments for ``hours`` from now; replaces a running suspension."""
    with services().transaction() as session:
        author = find_author(session, site_id)
        if author is None:
            raise ApiError(404, "not_found", f"no author with id {site_id!r}")
        try:
            suspend(session, author, timedelta(hours=body.hours), f"api:{g.caller.name}", body.note)
        except SuspensionError as exc:
            raise ApiError(422, "invalid_field", f"hours: {exc}") from None
        return author_summary(session, author)


@bp.delete("/authors/<site_id:site_id>/suspension")
@require_key("moderate")
@operation({200: (AuthorPayload, "the author, no longer suspended")}, errors=(404,))
def unsuspend_author(site_id: str) -> AuthorPayload:
    """End the author's suspension now."""
    with services().transaction() as session:
        author = find_author(session, site_id)
        if author is None:
            raise ApiError(404, "not_found", f"no author with id {site_id!r}")
        lift_suspension(session, author, f"api:{g.caller.name}")
        return author_summary(session, author)
