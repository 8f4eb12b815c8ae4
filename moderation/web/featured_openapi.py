"""The OpenAPI parts of featuring: the contribution block, readers' picks, their webhooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..categories import CONTRIBUTION_LABELS

Schema = dict[str, Any]

_SPAN: Schema = {
    "type": "object",
    "required": ["start", "end", "text"],
    "properties": {
        "start": {"type": "integer", "description": "offset in the original text"},
        "end": {"type": "integer"},
        "text": {"type": "string", "description": "the sentence, text[start:end]"},
        "score": {
            "type": ["number", "null"],
            "description": "the sentence's own score (null: the whole text)",
        },
    },
}

CONTRIBUTION: Schema = {
    "type": "object",
    "description": "The contribution head's finding; absent when that model is not loaded",
    "required": ["kind", "score", "candidate", "spans", "rules", "model_version"],
    "properties": {
        "kind": {
            "type": ["string", "null"],
            "enum": [*CONTRIBUTION_LABELS, None],
            "description": "the best label over its threshold",
        },
        "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "the top label's score"},
        "candidate": {"type": "boolean", "description": "listed for editors to feature (approved only)"},
        "spans": {"type": "array", "items": _SPAN, "description": "the sentences that show the kind"},
        "rules": {
            "type": "array",
            "items": {"type": "string"},
            "description": "feature_candidate rules that matched",
        },
        "model_version": {"type": "string"},
    },
}

FEATURED_LIST: Schema = {
    "type": "object",
    "required": ["article_id", "featured"],
    "properties": {
        "article_id": {"type": "string"},
        "featured": {
            "type": "array",
            "description": "in the order editors featured them",
            "items": {
                "type": "object",
                "required": ["id", "author_id", "kind", "score", "spans", "featured_at", "featured_by"],
                "properties": {
                    "id": {"type": "string"},
                    "author_id": {"type": ["string", "null"]},
                    "kind": {"type": ["string", "null"]},
                    "score": {"type": ["number", "null"]},
                    "spans": {"type": "array", "items": _SPAN},
                    "featured_at": {"type": "string", "format": "date-time"},
                    "featured_by": {"type": "string"},
                },
            },
        },
    },
}


def featured_paths(
    json: Callable[[Schema, str], Schema], errors: Callable[..., Schema], ref: Callable[[str], Schema]
) -> Schema:
    """The readers' picks path, built with the document's own helpers."""
    return {
        "/api/v1/articles/{id}/featured": {
            "get": {
                "summary": "An article's featured comments (readers' picks), in the order featured",
                "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": json(ref("FeaturedList"), "the featured comments"),
                    **errors(401, 403, 404, 503),
                },
            }
        }
    }


def featured_webhooks(status_changed: Schema) -> Schema:
    """``comment.featured`` and ``comment.unfeatured``: the same body as a status change."""
    post = status_changed["post"]
    return {
        "comment.featured": {"post": {**post, "summary": "An editor featured a comment"}},
        "comment.unfeatured": {"post": {**post, "summary": "An editor stopped featuring a comment"}},
    }
