"""The JSON API under /api/v1: parse, call the core, serialise."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, g, request
from sqlalchemy import text

from ..accounts.apikeys import verify_key_cached
from ..verdict import VerdictPayload
from ..workflow.audit import comment_verdict
from ..workflow.submission import (
    DuplicateIdConflict,
    comment_context,
    find_author,
    get_comment,
)
from .errors import ApiError, outage_summary
from .extension import contribution_configured, services
from .openapi import SCOPE, Reply, openapi_document, operation
from .responses import CommentVerdict, Health, OpenApiDocument, StoredComment
from .schemas import CommentIn, ScoreIn

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def require_key(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a valid `Authorization: Bearer <key>` with ``scope``."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, presented = header.partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                raise ApiError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
            caller = verify_key_cached(
                services().sessions, presented.strip(), current_app.config["API_KEY_CACHE_SECONDS"]
            )
            if caller is None:
                raise ApiError(401, "unauthorized", "the API key is invalid or revoked")
            if scope not in caller.scopes:
                raise ApiError(403, "forbidden", f"this key lacks the {scope!r} scope")
            g.caller = caller
            return view(*args, **kwargs)

        vars(wrapped)[SCOPE] = scope
        return wrapped

    return decorator


def _check_length(text_value: str) -> None:
    limit = current_app.config["MAX_TEXT_LENGTH"]
    if len(text_value) > limit:
        raise ApiError(413, "text_too_long", f"text is {len(text_value)} characters; the limit is {limit}")


@bp.post("/comments")
@require_key("submit")
@operation(
    {
        201: (CommentVerdict, "stored; the verdict"),
        200: (CommentVerdict, "the same id and text again: the stored verdict"),
    },
    errors=(409,),
    body=CommentIn,
)
def post_comment(body: CommentIn) -> Reply:
    """Assess a new comment and store it; re-posting the same id is idempotent."""
    _check_length(body.text)
    svc = services()
    try:
        result = svc.submissions.submit(body.to_new_comment(), f"api:{g.caller.name}")
    except DuplicateIdConflict:
        raise ApiError(
            409, "id_conflict", f"comment {body.id!r} was already submitted with different text"
        ) from None
    payload: CommentVerdict = {"id": result.site_id, **result.verdict}
    return payload, 201 if result.created else 200


@bp.get("/comments/<site_id:site_id>")
@require_key("submit")
@operation({200: (StoredComment, "the comment")}, errors=(404,))
def get_comment_view(site_id: str) -> StoredComment:
    """A stored comment's current status and verdict."""
    with services().sessions() as session:
        comment = get_comment(session, site_id)
        if comment is None:
            raise ApiError(404, "not_found", f"no comment with id {site_id!r}")
        payload: StoredComment = {
            "id": comment.site_id,
            **comment_verdict(comment),
            "created_at": comment.created_at.isoformat(),
            "updated_at": comment.updated_at.isoformat(),
        }
    return payload


@bp.post("/score")
@require_key("submit")
@operation({200: (VerdictPayload, "the verdict")}, body=ScoreIn)
def score(body: ScoreIn) -> VerdictPayload:
    """The verdict a comment would get, the author's ban or pre-moderation included; nothing is stored."""
    _check_length(body.text)
    svc = services()
    comment = comment_context(body.text, None)
    if body.author is not None:
        known = None
        if body.author.id:
            with svc.sessions() as session:
                known = find_author(session, body.author.id)
        comment = comment_context(body.text, known, body.author.created_at)
    return svc.pipeline.assess(comment).to_dict()


@bp.get("/health")
@operation({200: (Health, "healthy"), 503: (Health, "the database is unreachable")})
def health() -> tuple[Health, int]:
    """Liveness for load balancers: database reachable, rules and model versions."""
    svc = services()
    database_ok = True
    try:
        with svc.sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        log = current_app.extensions["error_log"]
        log(logging.WARNING, "health", f"health check: database unreachable: {outage_summary(exc)}")
        database_ok = False
    pipeline = svc.pipeline
    rules, scorer = pipeline.rules, pipeline.scorer
    model_ok = scorer is not None or not pipeline.model_required
    status = "ok" if database_ok and model_ok else ("degraded" if database_ok else "unavailable")
    payload: Health = {
        "status": status,
        "database": {"ok": database_ok, "backend": svc.engine.dialect.name},
        "rules": {"version": rules.version, "count": len(rules.rules), "reload_error": svc.rules.last_error},
        "model": {
            "loaded": scorer is not None,
            "required": pipeline.model_required,
            "version": scorer.version if scorer else None,
            "error": pipeline.model_error,
            "source": svc.models.source,
            "reload_error": svc.models.last_error,
        },
        "contribution": {
            "configured": contribution_configured(current_app.config["MODERATION_CONTRIBUTION_MODEL"]),
            "loaded": pipeline.contribution is not None,
            "version": pipeline.contribution.version if pipeline.contribution else None,
        },
    }
    return payload, 200 if database_ok else 503


@bp.get("/openapi.json")
@operation({200: (OpenApiDocument, "OpenAPI 3.1")})
def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API."""
    return openapi_document(current_app)
