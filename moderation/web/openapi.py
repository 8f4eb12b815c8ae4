"""The OpenAPI 3.1 document for /api/v1. Request schemas come from the pydantic models."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from .. import __version__
from ..categories import RULE_CATEGORIES, STATUSES
from .schemas import CommentIn, ScoreIn

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
            },
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "malformed JSON",
        401: "missing or invalid API key",
        403: "the key lacks the scope",
        404: "unknown comment id",
        409: "the id was submitted before with different text",
        413: "text over the configured limit",
        422: "missing or wrong-typed field (named in the message)",
    }
    return {str(s): _json(_ref("Error"), text[s]) for s in statuses}


@cache
def openapi_document() -> dict[str, Any]:
    """Build (once) the OpenAPI document served at /api/v1/openapi.json."""
    _, defs = models_json_schema([(CommentIn, "validation"), (ScoreIn, "validation")], ref_template=_REF)
    schemas = dict(defs["$defs"])
    schemas.update(
        Match=_MATCH,
        Verdict=_VERDICT,
        CommentVerdict=_COMMENT_VERDICT,
        StoredComment=_STORED,
        Error=_ERROR,
        Health=_HEALTH,
    )
    secured = [{"bearer": []}]
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
                        **_errors(400, 401, 403, 409, 413, 422),
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
                        **_errors(401, 403, 404),
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
                        **_errors(400, 401, 403, 413, 422),
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
        },
    }
