"""Request bodies of the JSON API, validated with pydantic (strict types, JSON input)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..comments import NewComment
from .errors import ApiError

T = TypeVar("T", bound=BaseModel)
SiteId = Field(min_length=1, max_length=200)


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class AuthorIn(_Body):
    """The comment's author as the site knows them."""

    id: str = SiteId
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime | None = None


class ArticleIn(_Body):
    """The article the comment is posted under."""

    id: str = SiteId
    title: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2000)


class CommentIn(_Body):
    """POST /api/v1/comments."""

    id: str = SiteId
    text: str = Field(min_length=1)
    author: AuthorIn
    article: ArticleIn | None = None
    parent_id: str | None = Field(default=None, min_length=1, max_length=200)

    def to_new_comment(self) -> NewComment:
        """The core's view of the submission."""
        return NewComment(
            site_id=self.id,
            text=self.text,
            author_id=self.author.id,
            author_name=self.author.name,
            author_created_at=self.author.created_at,
            article_id=self.article.id if self.article else None,
            article_title=self.article.title if self.article else None,
            article_url=self.article.url if self.article else None,
            parent_id=self.parent_id,
        )


class ScoreAuthorIn(_Body):
    """Author for a dry-run score; every field optional."""

    id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = None
    created_at: datetime | None = None


class ScoreIn(_Body):
    """POST /api/v1/score."""

    text: str = Field(min_length=1)
    author: ScoreAuthorIn | None = None
    article: ArticleIn | None = None


ReportReason = Literal[
    "obscene", "sexual", "threat", "identity_attack", "insult", "false_information", "spam", "other"
]


class ReportIn(_Body):
    """POST /api/v1/comments/{id}/reports."""

    reporter_id: str = SiteId
    reason: ReportReason
    note: str | None = Field(default=None, max_length=2000)
    reporter_created_at: datetime | None = None


class DecisionIn(_Body):
    """POST /api/v1/comments/{id}/decision."""

    action: Literal["approve", "reject"]
    site_rule: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)
    revision: int | None = None


class NoteIn(_Body):
    """POST /api/v1/authors/{id}/notes."""

    text: str = Field(min_length=1, max_length=2000)


class ClaimIn(_Body):
    """POST /api/v1/queue/next."""

    listing: Literal["pending", "flagged", "reported"] = "pending"
    article: str | None = None
    category: str | None = None
    site_rule: str | None = None


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def parse_body(model: type[T], raw: bytes) -> T:
    """Validate a JSON body: malformed JSON is 400, missing or wrong-typed fields 422."""
    if not raw.strip():
        raise ApiError(400, "bad_json", "the request body must be a JSON object")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        if first["type"] == "json_invalid":
            raise ApiError(
                400, "bad_json", f"malformed JSON: {first['ctx'].get('error', '')}".rstrip(": ")
            ) from None
        if first["type"] == "model_type" and not first["loc"]:
            raise ApiError(400, "bad_json", "the request body must be a JSON object") from None
        messages = []
        for error in errors:
            field = _field(error["loc"])
            if error["type"] == "missing":
                messages.append(f"{field} is required")
            elif error["type"] == "literal_error":
                messages.append(f"{field}: must be one of {error['ctx']['expected']}")
            else:
                messages.append(f"{field}: {error['msg']}")
        raise ApiError(422, "invalid_field", "; ".join(messages)) from None
