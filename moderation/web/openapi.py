"""The API contract, declared once per view and turned into the OpenAPI 3.1 document.

Each view under /api/ declares with ``@operation`` what it takes (a pydantic body model, a query
model) and what it answers (a shape per status); ``require_key`` adds the scope it needs. That one
declaration parses and validates the request, serialises the answer (checking it against its
shape when the app is testing) and, through ``openapi_document``, describes the route: paths come
from the URL map, path parameters from their converters, schemas from pydantic. A route under
/api/ without a declaration cannot be described, so the document fails to build.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from werkzeug.routing import Rule

from .. import __version__
from ..workflow.audit import (
    FEATURED_EVENT,
    STATUS_CHANGED,
    UNFEATURED_EVENT,
    WEBHOOK_EVENTS,
    StatusChanged,
)
from ..workflow.webhooks import DELIVERY_HEADER, EVENT_HEADER, SEQUENCE_HEADER, SIGNATURE_HEADER
from .errors import ErrorBody
from .schemas import parse_body, parse_query

REF = "#/components/schemas/{model}"
OPERATION = "api_operation"  # a view's declaration, in its __dict__ (functools.wraps carries it)
SCOPE = "api_scope"  # the key scope require_key asks for
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

# What each error status means on this API; its body is always an ErrorBody.
ERRORS = {
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

Reply = Mapping[str, Any] | tuple[Mapping[str, Any], int]
View = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Operation:
    """What one view takes and answers."""

    responses: Mapping[int, tuple[Any, str]]  # status -> (shape, description)
    errors: tuple[int, ...] = ()  # beyond those implied by a scope, a body or a query
    body: type[BaseModel] | None = None
    body_required: bool = True  # False: an empty body means every field's default
    query: type[BaseModel] | None = None

    def error_statuses(self, scope: str | None) -> list[int]:
        """Every error status the view can answer with an ErrorBody."""
        implied = {*self.errors}
        if scope:  # every keyed operation is rate limited per key
            implied |= {401, 403, 429, 503}
        if self.body:
            implied |= {400, 413, 422}
        if self.query:
            implied.add(422)
        return sorted(implied - set(self.responses))


def operation(
    responses: Mapping[int, tuple[Any, str]],
    *,
    errors: tuple[int, ...] = (),
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    query: type[BaseModel] | None = None,
) -> Callable[[View], View]:
    """Declare a view's contract; the view gets ``body=`` and ``query=`` parsed, and returns
    its payload, or ``(payload, status)``. Put ``require_key`` above it, so a caller without a
    key learns that before anything about the body."""
    declared = Operation(responses, errors, body, body_required, query)
    unknown = set(errors) - set(ERRORS)
    if unknown:
        raise ValueError(f"undescribed error statuses {sorted(unknown)}")

    adapters: dict[int, TypeAdapter[Any]] = {}

    def check(view: View, payload: Any, status: int) -> None:
        # In tests, an answer that does not fit its declared shape is a bug in the view.
        if status not in responses:
            raise AssertionError(f"{view.__name__} answered {status}, which it does not declare")
        if status not in adapters:
            adapters[status] = TypeAdapter(responses[status][0])
        adapters[status].validate_python(payload)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if body is not None:
                raw = request.get_data(cache=False)
                kwargs["body"] = body() if not body_required and not raw.strip() else parse_body(body, raw)
            if query is not None:
                kwargs["query"] = parse_query(query, request.args)
            reply = view(*args, **kwargs)
            payload, status = reply if isinstance(reply, tuple) else (reply, 200)
            if current_app.testing:
                check(view, payload, status)
            return current_app.json.response(payload), status

        vars(wrapped)[OPERATION] = declared
        return wrapped

    return decorator


# -- the document ---------------------------------------------------------------------------------

_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def _path(app: Flask, rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for match in _VARIABLE.finditer(rule.rule):
        converter = app.url_map.converters[match["converter"] or "default"]
        schema = getattr(converter, "openapi_schema", {"type": "string"})
        params.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _VARIABLE.sub(r"{\g<name>}", rule.rule), params


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or text: ``X | None`` is documented as X."""
    options = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if len(options) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**rest, **options[0]}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _without_null(prop)}
        for name, prop in schema["properties"].items()
    ]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class _Schemas:
    """Collects the types the document names, then has pydantic describe them all at once."""

    def __init__(self) -> None:
        self.inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = []
        self._keys: dict[tuple[Any, JsonSchemaMode], int] = {}

    def add(self, shape: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        """A placeholder filled by ``resolve``."""
        key = self._keys.get((shape, mode))
        if key is None:
            key = self._keys[shape, mode] = len(self.inputs)
            self.inputs.append((key, mode, TypeAdapter(shape)))
        return {"__schema__": key}

    def resolve(self, document: dict[str, Any]) -> dict[str, Any]:
        """The document with every placeholder replaced, and the named schemas."""
        found, definitions = TypeAdapter.json_schemas(self.inputs, ref_template=REF)
        by_key = {key: schema for (key, _), schema in found.items()}

        def fill(node: Any) -> Any:
            if isinstance(node, dict):
                if set(node) == {"__schema__"}:
                    return by_key[node["__schema__"]]
                return {k: fill(v) for k, v in node.items()}
            if isinstance(node, list):
                return [fill(v) for v in node]
            return node

        resolved: dict[str, Any] = fill(document)
        resolved["components"]["schemas"] = definitions.get("$defs", {})
        return resolved


def _describe(view: View, declared: Operation, scope: str | None, schemas: _Schemas) -> dict[str, Any]:
    doc = (view.__doc__ or "").strip()
    summary, _, description = doc.partition("\n")
    op: dict[str, Any] = {"summary": summary.strip(), "operationId": view.__name__}
    if scope:
        op["security"] = [{"bearer": []}]
        description = f"Needs an API key with the `{scope}` scope. {description.strip()}"
    if description.strip():
        op["description"] = description.strip()
    if declared.query:
        op["parameters"] = _query_parameters(declared.query)
    if declared.body:
        op["requestBody"] = {
            "required": declared.body_required,
            "content": {"application/json": {"schema": schemas.add(declared.body, "validation")}},
        }
    responses = {
        str(status): _json(schemas.add(shape, "serialization"), text)
        for status, (shape, text) in sorted(declared.responses.items())
    }
    error = schemas.add(ErrorBody, "serialization")
    for code in declared.error_statuses(scope):
        responses[str(code)] = _json(error, ERRORS[code])
        if code in (429, 503):
            responses[str(code)]["headers"] = RETRY_AFTER
    op["responses"] = responses
    return op


def _webhooks(schemas: _Schemas) -> dict[str, Any]:
    headers = {
        SIGNATURE_HEADER: "sha256= and the hex HMAC-SHA256 of the raw body with WEBHOOK_SECRET",
        DELIVERY_HEADER: "the delivery id, the same on every retry",
        EVENT_HEADER: "the event's name",
        SEQUENCE_HEADER: "the body's sequence",
    }
    summaries = {
        STATUS_CHANGED: "A comment's status or visibility changed",
        FEATURED_EVENT: "An editor featured a comment (readers' picks)",
        UNFEATURED_EVENT: "An editor took a comment out of the readers' picks",
    }
    return {
        event: {
            "post": {
                "summary": summaries[event],
                "description": "A comment's events carry `sequence` 1, 2, 3, ...; each is sent only after "
                "every earlier one of the same comment was acknowledged (any 2xx). At least once: "
                f"de-duplicate on {DELIVERY_HEADER}.",
                "parameters": [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": text,
                    }
                    for name, text in headers.items()
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": schemas.add(StatusChanged, "serialization")}},
                },
                "responses": {"2XX": {"description": "acknowledged; anything else is retried"}},
            }
        }
        for event in WEBHOOK_EVENTS
    }


def openapi_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app``'s routes under /api/ (built once per app)."""
    cached = app.extensions.get("openapi_document")
    if cached is not None:
        return cached
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        declared = vars(view).get(OPERATION)
        if not isinstance(declared, Operation):
            raise LookupError(f"{rule.endpoint} ({rule.rule}) declares no @operation")
        path, parameters = _path(app, rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for method in methods:
            op = _describe(view, declared, vars(view).get(SCOPE), schemas)
            if len(methods) > 1:
                op["operationId"] += f"_{method.lower()}"
            if parameters:
                op["parameters"] = [*parameters, *op.get("parameters", [])]
            paths.setdefault(path, {})[method.lower()] = op
    document = {
        "openapi": "3.1.0",
        "info": {"title": "Comment moderation API", "version": __version__},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
        "webhooks": _webhooks(schemas),
    }
    document = schemas.resolve(document)
    app.extensions["openapi_document"] = document
    return document
