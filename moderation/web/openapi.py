"""The OpenAPI 3.1 document for /api/v1. Request schemas come from the pydantic models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from .. import __version__
from ..categories import RULE_CATEGORIES, STATUSES
from ..workflow.webhooks import STATES
from .schemas import INT4_MAX, ClaimIn, CommentIn, DecisionIn, NoteIn, ReportIn, ScoreIn

_REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_MATCH = {
    "type": "object",
    "required": ["rule", "site_rule", "category", "action", "start", "end", "text"],
    "properties": {
        "rule": {"type": "string", "description": "id of the rule in rules.yaml"},
        "site_rule": {"type": "string", "description": "title of the site rule it enforces"},
        "category": {"type": "string", "enum": list(RULE_CATEGORIES)},
        "action": {"type": "string", "enum": ["approve", "flag", "hold", "reject"]},
        "start": {"type": ["integer", "null"], "description": "offset in the original text"},
        "end": {"type": ["integer", "null"]},
        "text": {"type": ["string", "null"], "description": "the original text[start:end]"},
    },
}

_VERDICT = {
    "type": "object",
    "required": ["status", "visible", "scores", "matches", "reasons", "rules_version", "model_version"],
    "properties": {
        "status": {"type": "string", "enum": list(STATUSES)},
        "visible": {"type": "boolean", "description": "show the comment now (approved or flagged)"},
        "scores": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}},
        "matches": {"type": "array", "items": _ref("Match")},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "rules_version": {"type": "string"},
        "model_version": {"type": ["string", "null"]},
    },
}

_COMMENT_VERDICT = {
    "allOf": [
        _ref("Verdict"),
        {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
    ]
}

_STORED = {
    "allOf": [
        _ref("CommentVerdict"),
        {
            "type": "object",
            "required": ["created_at", "updated_at"],
            "properties": {
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
    ]
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

_HEALTH = {
    "type": "object",
    "required": ["status", "database", "rules", "model"],
    "properties": {
        "status": {
            "type": "string",
            "enum": ["ok", "degraded", "unavailable"],
            "description": "degraded: a configured classifier is not loaded, so comments are held",
        },
        "database": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}},
        "rules": {"type": "object", "required": ["version"], "properties": {"version": {"type": "string"}}},
        "model": {
            "type": "object",
            "required": ["loaded", "required", "version", "error"],
            "properties": {
                "loaded": {"type": "boolean"},
                "required": {"type": "boolean", "description": "false when MODERATION_MODEL=none"},
                "version": {"type": ["string", "null"]},
                "error": {"type": ["string", "null"]},
                "source": {
                    "type": "string",
                    "enum": ["configured", "promoted"],
                    "description": "promoted: chosen by `flask model promote`/`rollback` (the database)",
                },
                "reload_error": {
                    "type": ["string", "null"],
                    "description": "why the promoted model is not serving here (the previous one is)",
                },
            },
        },
    },
}


_NULLABLE_STR = {"type": ["string", "null"]}

_REPORT_RESULT = {
    "type": "object",
    "required": ["comment_id", "report_count", "status", "visible"],
    "properties": {
        "comment_id": {"type": "string"},
        "report_count": {"type": "integer"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "visible": {"type": "boolean"},
    },
}

_QUEUE_ITEM = {
    "allOf": [
        _ref("Verdict"),
        {
            "type": "object",
            "required": ["id", "text", "queue", "priority", "brigade", "revision", "report_count", "reports"],
            "properties": {
                "id": {"type": "string"},
                "text": {"type": "string"},
                "queue": {"type": ["string", "null"], "enum": ["pending", "flagged", "reported", None]},
                "priority": {"type": "number"},
                "brigade": {"type": "boolean", "description": "a burst of reports: possibly coordinated"},
                "revision": {"type": "integer", "description": "send back with a decision"},
                "report_count": {"type": "integer"},
                "report_weight": {"type": "number"},
                "claimed_by": _NULLABLE_STR,
                "claimed_until": _NULLABLE_STR,
                "decided_by": _NULLABLE_STR,
                "decided_at": _NULLABLE_STR,
                "author_id": _NULLABLE_STR,
                "article": {"type": ["object", "null"]},
                "reports": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["reporter_id", "reason", "weight", "new_account", "outcome"],
                        "properties": {
                            "reporter_id": {"type": "string"},
                            "reason": {"type": "string"},
                            "note": _NULLABLE_STR,
                            "weight": {"type": "number"},
                            "new_account": {"type": "boolean"},
                            "outcome": {"type": ["string", "null"], "enum": ["upheld", "dismissed", None]},
                        },
                    },
                },
            },
        },
    ]
}

_QUEUE_LISTING = {
    "type": "object",
    "required": ["state", "page", "per_page", "total", "counts", "items"],
    "properties": {
        "state": {"type": "string"},
        "sort": {"type": "string"},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {"type": "integer"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "items": {"type": "array", "items": _ref("QueueItem")},
    },
}

_AUTHOR = {
    "type": "object",
    "required": [
        "id",
        "premoderated",
        "banned",
        "notes",
        "recent_comments",
        "comment_count",
        "rejected_count",
    ],
    "properties": {
        "id": {"type": "string"},
        "name": _NULLABLE_STR,
        "premoderated": {"type": "boolean"},
        "banned": {"type": "boolean"},
        "comment_count": {"type": "integer"},
        "rejected_count": {"type": "integer"},
        "notes": {"type": "array", "items": {"type": "object"}},
        "recent_comments": {"type": "array", "items": {"type": "object"}},
    },
}

_AUDIT = {
    "type": "object",
    "required": ["comment_id", "entries"],
    "properties": {
        "comment_id": {"type": "string"},
        "entries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["action", "actor", "at", "from_status", "to_status"],
                "properties": {
                    "action": {"type": "string"},
                    "actor": {"type": "string"},
                    "at": {"type": "string"},
                    "from_status": _NULLABLE_STR,
                    "to_status": _NULLABLE_STR,
                    "site_rule": _NULLABLE_STR,
                    "reason": _NULLABLE_STR,
                    "note": _NULLABLE_STR,
                },
            },
        },
    },
}

_HEADER = {"required": True, "schema": {"type": "string"}}

# What the service POSTs to WEBHOOK_URL (README, "Webhooks").
_WEBHOOKS = {
    "comment.status_changed": {
        "post": {
            "summary": "A comment's status or visibility changed",
            "description": "A comment's events carry `sequence` 1, 2, 3, ...; each is sent only after "
            "every earlier one of the same comment was acknowledged (any 2xx). At least once: "
            "de-duplicate on X-Moderation-Delivery.",
            "parameters": [
                {
                    **_HEADER,
                    "name": "X-Moderation-Signature",
                    "in": "header",
                    "description": "sha256= and the hex HMAC-SHA256 of the raw body with WEBHOOK_SECRET",
                },
                {
                    **_HEADER,
                    "name": "X-Moderation-Delivery",
                    "in": "header",
                    "description": "the delivery id, the same on every retry",
                },
                {**_HEADER, "name": "X-Moderation-Event", "in": "header"},
                {
                    **_HEADER,
                    "name": "X-Moderation-Sequence",
                    "in": "header",
                    "description": "the body's sequence",
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": [
                                "event",
                                "comment",
                                "sequence",
                                "previous_status",
                                "previous_visible",
                                "by",
                                "at",
                            ],
                            "properties": {
                                "event": {"const": "comment.status_changed"},
                                "comment": {
                                    "allOf": [
                                        _ref("CommentVerdict"),
                                        {
                                            "type": "object",
                                            "properties": {
                                                "author_id": _NULLABLE_STR,
                                                "article_id": _NULLABLE_STR,
                                                "parent_id": _NULLABLE_STR,
                                                "queue": _NULLABLE_STR,
                                                "report_count": {"type": "integer"},
                                                "decided_by": _NULLABLE_STR,
                                                "decided_at": _NULLABLE_STR,
                                            },
                                        },
                                    ],
                                    "description": "the comment's whole state after the change",
                                },
                                "sequence": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "description": "this comment's event number: 1, 2, 3, ... in order",
                                },
                                "previous_status": {"type": "string", "enum": list(STATUSES)},
                                "previous_visible": {"type": "boolean"},
                                "by": {"type": "string", "description": "who made the change"},
                                "at": {"type": "string", "format": "date-time"},
                            },
                        }
                    }
                },
            },
            "responses": {"2XX": {"description": "acknowledged; anything else is retried"}},
        }
    }
}

_DELIVERIES = {
    "type": "object",
    "required": ["deliveries"],
    "properties": {
        "deliveries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "event", "state", "attempts"],
                "properties": {
                    "id": {"type": "integer"},
                    "event": {"type": "string"},
                    "state": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                    "attempts": {"type": "integer"},
                    "last_status": {"type": ["integer", "null"]},
                    "last_error": _NULLABLE_STR,
                },
            },
        }
    },
}


def _path_id(name: str = "id") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _moderate(
    summary: str,
    response: str,
    *errors: int,
    body: str | None = None,
    status: int = 200,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"bearer": []}],
        "responses": {str(status): _json(_ref(response), "OK"), **_errors(401, 403, *errors, 503)},
    }
    if body:
        op["responses"].update(_errors(400, 413, 422))
        op["requestBody"] = {
            "required": body != "ClaimIn",  # queue/next takes an empty body as all defaults
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if params:
        op["parameters"] = params
    return op


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "malformed JSON, or a body that is not a JSON object",
        401: "missing or invalid API key",
        403: "the key lacks the scope",
        404: "unknown id (or one no stored object can have)",
        409: "a conflict: the id was used with other text, or another moderator acted first",
        413: "text over MAX_TEXT_LENGTH, or a body over MAX_REQUEST_BYTES",
        422: "a field or query parameter missing, of the wrong type or out of range (named in the message)",
        429: "the API key is over its rate limit; retry after Retry-After seconds",
        503: "the database is unavailable; retry after Retry-After seconds",
    }
    if 401 in statuses:  # every keyed operation is rate limited per key
        statuses = (*statuses, 429)
    responses = {str(s): _json(_ref("Error"), text[s]) for s in statuses}
    for status in ("429", "503"):
        if status in responses:
            responses[status]["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
    return responses


def _moderation_paths(secured: list[dict[str, list[str]]]) -> dict[str, Any]:
    states = ["pending", "flagged", "reported", "decided", "approved", "rejected"]
    query = [
        {"name": "state", "in": "query", "schema": {"type": "string", "enum": states}},
        {
            "name": "sort",
            "in": "query",
            "schema": {"type": "string", "enum": ["priority", "newest", "oldest"]},
        },
        {"name": "article", "in": "query", "schema": {"type": "string"}},
        {"name": "category", "in": "query", "schema": {"type": "string"}},
        {"name": "site_rule", "in": "query", "schema": {"type": "string"}},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": INT4_MAX}},
        {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    ]
    author_id = [_path_id()]
    note_id = {
        "name": "note_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0, "maximum": INT4_MAX},
    }
    return {
        "/api/v1/comments/{id}/reports": {
            "post": {
                "summary": "A reader reports a comment (a `submit` key)",
                "security": secured,
                "parameters": [_path_id()],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ReportIn")}},
                },
                "responses": {
                    "201": _json(_ref("ReportResult"), "counted"),
                    "200": _json(
                        _ref("ReportResult"), "this reader had already reported it: not counted again"
                    ),
                    **_errors(400, 401, 403, 404, 413, 422, 503),
                },
            }
        },
        "/api/v1/queue": {"get": _moderate("List a queue", "QueueListing", 422, params=query)},
        "/api/v1/queue/next": {
            "post": _moderate("Claim the most urgent unclaimed item", "QueueItem", 404, body="ClaimIn")
        },
        "/api/v1/comments/{id}/claim": {
            "post": _moderate("Claim one item", "QueueItem", 404, 409, params=author_id)
        },
        "/api/v1/comments/{id}/decision": {
            "post": _moderate(
                "Approve or reject", "QueueItem", 404, 409, 422, body="DecisionIn", params=author_id
            )
        },
        "/api/v1/comments/{id}/undo": {
            "post": _moderate("Undo the last decision", "QueueItem", 404, 409, params=author_id)
        },
        "/api/v1/comments/{id}/audit": {
            "get": _moderate("Everything that happened to a comment", "AuditLog", 404, params=author_id)
        },
        "/api/v1/authors/{id}": {
            "get": _moderate("An author's state and history", "Author", 404, params=author_id)
        },
        "/api/v1/authors/{id}/notes": {
            "post": _moderate("Add a note", "Author", 404, 422, body="NoteIn", status=201, params=author_id)
        },
        "/api/v1/authors/{id}/notes/{note_id}": {
            "delete": _moderate("Remove a note", "Author", 404, params=[_path_id(), note_id])
        },
        "/api/v1/authors/{id}/premoderation": {
            "put": _moderate("Hold the author's future comments", "Author", 404, params=author_id),
            "delete": _moderate("Stop pre-moderating the author", "Author", 404, params=author_id),
        },
        "/api/v1/authors/{id}/ban": {
            "put": _moderate("Reject the author's future comments", "Author", 404, params=author_id),
            "delete": _moderate("Lift the ban", "Author", 404, params=author_id),
        },
        "/api/v1/webhooks/deliveries": {
            "get": _moderate(
                "Webhook deliveries and their state",
                "Deliveries",
                422,
                params=[{"name": "state", "in": "query", "schema": {"type": "string", "enum": list(STATES)}}],
            )
        },
    }


@cache
def openapi_document() -> dict[str, Any]:
    """Build (once) the OpenAPI document served at /api/v1/openapi.json."""
    bodies = (CommentIn, ScoreIn, ReportIn, DecisionIn, NoteIn, ClaimIn)
    _, defs = models_json_schema([(m, "validation") for m in bodies], ref_template=_REF)
    schemas = dict(defs["$defs"])
    schemas.update(
        Match=_MATCH,
        Verdict=_VERDICT,
        CommentVerdict=_COMMENT_VERDICT,
        StoredComment=_STORED,
        Error=_ERROR,
        Health=_HEALTH,
        ReportResult=_REPORT_RESULT,
        QueueItem=_QUEUE_ITEM,
        QueueListing=_QUEUE_LISTING,
        Author=_AUTHOR,
        AuditLog=_AUDIT,
        Deliveries=_DELIVERIES,
    )
    secured = [{"bearer": []}]
    moderation_paths = _moderation_paths(secured)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Comment moderation API", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/comments": {
                "post": {
                    "summary": "Submit a comment and get its verdict",
                    "security": secured,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("CommentIn")}},
                    },
                    "responses": {
                        "201": _json(_ref("CommentVerdict"), "stored; the verdict"),
                        "200": _json(
                            _ref("CommentVerdict"), "the same id and text again: the stored verdict"
                        ),
                        **_errors(400, 401, 403, 409, 413, 422, 503),
                    },
                }
            },
            "/api/v1/comments/{id}": {
                "get": {
                    "summary": "A stored comment's current status and verdict",
                    "security": secured,
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": _json(_ref("StoredComment"), "the comment"),
                        **_errors(401, 403, 404, 503),
                    },
                }
            },
            "/api/v1/score": {
                "post": {
                    "summary": "The verdict a comment would get; nothing is stored",
                    "security": secured,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("ScoreIn")}},
                    },
                    "responses": {
                        "200": _json(_ref("Verdict"), "the verdict"),
                        **_errors(400, 401, 403, 413, 422, 503),
                    },
                }
            },
            "/api/v1/health": {
                "get": {
                    "summary": "Service health",
                    "responses": {
                        "200": _json(_ref("Health"), "healthy"),
                        "503": _json(_ref("Health"), "the database is unreachable"),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
            },
            **moderation_paths,
        },
        "webhooks": _WEBHOOKS,
    }
