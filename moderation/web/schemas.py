"""What the JSON API accepts, declared once: bodies, query parameters and path values.

Request bodies are pydantic models (strict types, JSON input). Every string the API takes refuses
U+0000 (PostgreSQL cannot store it, and a comment's offsets and digest are of the text as sent, so
it is refused rather than stripped); lone surrogates never get this far (the JSON parser refuses
them, URL decoding replaces them). Datetimes must carry a UTC offset (RFC 3339) and are converted
to UTC. Integers that reach the database fit its 32-bit columns.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from flask import Flask, current_app, request
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter, PathConverter

from ..rules.reportpolicy import REPORT_REASONS
from ..shapes import OneOf
from ..workflow.decisions import DECISIONS
from ..workflow.queue import LISTINGS, QUEUE_STATES, SORTS
from ..workflow.submission import NewComment
from ..workflow.webhooks import STATES
from .errors import ApiError, PathNotFound

T = TypeVar("T", bound=BaseModel)
INT4_MAX = 2_147_483_647
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"


def _no_nul(value: str) -> str:
    if NUL in value:
        raise PydanticCustomError("nul_character", NUL_MESSAGE)
    return value


class _NoNulJsonSchema:
    """Documents the rule in the OpenAPI document as a pattern."""

    @staticmethod
    def __get_pydantic_json_schema__(
        schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = "^[^\\u0000]*$"
        return json_schema


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of range once converted to UTC") from None


Text = Annotated[str, AfterValidator(_no_nul), _NoNulJsonSchema]
SiteId = Annotated[Text, Field(min_length=1, max_length=200)]
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_utc)]
DbInt = Annotated[int, Field(ge=0, le=INT4_MAX)]


class _Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class AuthorIn(_Body):
    """The comment's author as the site knows them."""

    id: SiteId
    name: Annotated[Text, Field(max_length=200)] | None = None
    created_at: UtcDatetime | None = None


class ArticleIn(_Body):
    """The article the comment is posted under."""

    id: SiteId
    title: Annotated[Text, Field(max_length=500)] | None = None
    url: Annotated[Text, Field(max_length=2000)] | None = None


class CommentIn(_Body):
    """POST /api/v1/comments."""

    id: SiteId
    text: Annotated[Text, Field(min_length=1)]
    author: AuthorIn
    article: ArticleIn | None = None
    parent_id: SiteId | None = None

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

    id: SiteId | None = None
    name: Text | None = None
    created_at: UtcDatetime | None = None


class ScoreIn(_Body):
    """POST /api/v1/score."""

    text: Annotated[Text, Field(min_length=1)]
    author: ScoreAuthorIn | None = None
    article: ArticleIn | None = None


class ReportIn(_Body):
    """POST /api/v1/comments/{id}/reports."""

    # The audit log records the reporter as "reader:<id>" in 200 characters.
    reporter_id: Annotated[Text, Field(min_length=1, max_length=193)]
    reason: Annotated[str, OneOf(REPORT_REASONS)]
    note: Annotated[Text, Field(max_length=2000)] | None = None
    reporter_created_at: UtcDatetime | None = None


class DecisionIn(_Body):
    """POST /api/v1/comments/{id}/decision."""

    action: Annotated[str, OneOf(DECISIONS)]
    site_rule: Annotated[Text, Field(max_length=200)] | None = None
    note: Annotated[Text, Field(max_length=2000)] | None = None
    revision: DbInt | None = None


class UndoIn(_Body):
    """POST /api/v1/comments/{id}/undo (the body is optional)."""

    revision: DbInt | None = None


class NoteIn(_Body):
    """POST /api/v1/authors/{id}/notes."""

    text: Annotated[Text, Field(min_length=1, max_length=2000)]


class SuspensionIn(_Body):
    """PUT /api/v1/authors/{id}/suspension: how long, from now (at most a year; longer is a ban)."""

    hours: Annotated[float, Field(gt=0, le=8760)]
    note: Annotated[Text, Field(max_length=2000)] | None = None


class ClaimIn(_Body):
    """POST /api/v1/queue/next."""

    listing: Annotated[str, OneOf(QUEUE_STATES)] = "pending"
    article: Text | None = None
    category: Text | None = None
    site_rule: Text | None = None


def _blank_is_none(value: Any) -> Any:
    return value or None


Filter = Annotated[Text | None, BeforeValidator(_blank_is_none)]


class QueueFilters(BaseModel):
    """Query parameters of a queue listing, on the API and the review page (lax: query strings are text)."""

    model_config = ConfigDict(extra="ignore")

    article: Filter = None
    category: Filter = None
    site_rule: Filter = None
    sort: Annotated[str, OneOf(SORTS)] = "priority"
    page: Annotated[int, Field(ge=1, le=INT4_MAX)] = 1


class QueueQuery(QueueFilters):
    """GET /api/v1/queue query parameters."""

    state: Annotated[str, OneOf(LISTINGS)] = "pending"
    per_page: Annotated[int, Field(ge=1, le=200)] = 50


class DeliveriesQuery(BaseModel):
    """GET /api/v1/webhooks/deliveries query parameters."""

    model_config = ConfigDict(extra="ignore")

    state: Annotated[str, OneOf(STATES)] | None = None


_MESSAGES = {
    "timezone_aware": "must include a UTC offset (RFC 3339), e.g. 2026-01-01T10:00:00Z",
    "int_parsing": "must be a whole number",
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "value_error": "{error}",  # a validator's own message, without pydantic's "Value error, "
}


def _field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def _invalid(exc: ValidationError) -> ApiError:
    messages = []
    for error in exc.errors(include_url=False):
        field = _field(error["loc"])
        if error["type"] == "missing":
            messages.append(f"{field} is required")
        elif error["type"] == "literal_error":
            messages.append(f"{field}: must be one of {error['ctx']['expected']}")
        else:
            template = _MESSAGES.get(error["type"])
            messages.append(
                f"{field}: {template.format(**error.get('ctx', {})) if template else error['msg']}"
            )
    return ApiError(422, "invalid_field", "; ".join(messages))


def parse_body(model: type[T], raw: bytes) -> T:
    """Validate a JSON body: malformed JSON is 400, missing or wrong-typed fields 422."""
    if not raw.strip():
        raise ApiError(400, "bad_json", "the request body must be a JSON object")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            raise ApiError(
                400, "bad_json", f"malformed JSON: {first['ctx'].get('error', '')}".rstrip(": ")
            ) from None
        if first["type"] == "model_type" and not first["loc"]:
            raise ApiError(400, "bad_json", "the request body must be a JSON object") from None
        raise _invalid(exc) from None


def parse_query(model: type[T], args: Any) -> T:
    """Validate query parameters (a MultiDict, first value of each); anything wrong is 422."""
    try:
        return model.model_validate(args.to_dict())
    except ValidationError as exc:
        raise _invalid(exc) from None


class SiteIdConverter(PathConverter):
    """A site's id in a URL (slashes allowed). One no stored object can have is a 404 at once."""

    def to_python(self, value: str) -> str:
        """The id, unless it holds a character no stored id can."""
        if NUL in value:
            raise PathNotFound(f"no such id: an id {NUL_MESSAGE}")
        return value


class RowIdConverter(BaseConverter):
    """A database row number in a URL: a whole number that fits a 32-bit column, else a 404."""

    regex = r"[^/]+"

    def to_python(self, value: str) -> int:
        """The number, or a 404 naming what was sent."""
        if value.isascii() and value.isdigit() and int(value) <= INT4_MAX:
            return int(value)
        raise PathNotFound(f"no such id: {value!r} is not a whole number up to {INT4_MAX}")

    def to_url(self, value: Any) -> str:
        """The number as text."""
        return str(int(value))


def limit_streamed_body() -> None:
    """Refuse a chunked body (no Content-Length) over MAX_REQUEST_BYTES with 413.

    Werkzeug would silently cut such a body at the limit; this reads at most one byte more,
    then hands the rest of the app a body of known length, exactly as if it had been sent with
    a Content-Length.
    """
    environ = request.environ
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked or not environ.get("wsgi.input_terminated"):
        return
    limit = current_app.config["MAX_REQUEST_BYTES"]
    stream, parts, size = environ["wsgi.input"], [], 0
    while size <= limit:
        part = stream.read(limit + 1 - size)  # servers may return one chunk at a time
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        raise RequestEntityTooLarge()
    environ["wsgi.input"] = io.BytesIO(b"".join(parts))


def init_app(app: Flask) -> None:
    """Register the path converters (before any route uses them) and the streamed-body limit."""
    app.url_map.converters["site_id"] = SiteIdConverter
    app.url_map.converters["row_id"] = RowIdConverter
    app.before_request(limit_streamed_body)
