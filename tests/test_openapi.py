"""The served OpenAPI document is complete, every `$ref` in it resolves, and it describes what each
endpoint really answers.

Every operation in the document is driven with real requests (its successes and each error it
declares, 503 from an app whose database is down) and every answer is validated against the
schema the document gives for that operation and status, `$ref`s resolved through the document
itself. Webhook bodies written to the outbox are validated against the document's `webhooks`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select
from werkzeug.test import TestResponse

from moderation.accounts.apikeys import KEY_PREFIX, create_key
from moderation.models import WebhookDelivery
from moderation.web.extension import services

DOCUMENT = "/api/v1/openapi.json"
URI = "urn:moderation:openapi"
MAX_TEXT, MAX_BYTES = 200, 20_000
UNREACHABLE_DB = "postgresql+psycopg://postgres@127.0.0.1:1/none"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _pointer(*parts: str) -> str:
    escaped = (part.replace("~", "~0").replace("/", "~1") for part in parts)
    return quote("/" + "/".join(escaped), safe="/~")


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


class Contract:
    """The served document, and a record of which documented answers were seen."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry = Registry().with_resource(URI, Resource.from_contents(document, DRAFT202012))
        self.seen: set[tuple[str, str, str]] = set()

    def validator(self, *parts: str) -> Draft202012Validator:
        """A validator for the schema at ``parts`` of the document, resolving through it."""
        return Draft202012Validator({"$ref": f"{URI}#{_pointer(*parts)}"}, registry=self.registry)

    def declared(self) -> set[tuple[str, str, str]]:
        """Every (path, method, status) the document declares."""
        return {
            (path, method, status)
            for path, operations in self.document["paths"].items()
            for method, op in operations.items()
            for status in op["responses"]
        }

    def check(self, method: str, path: str, response: TestResponse, body: Any = None) -> TestResponse:
        """Validate a request body and its answer against the operation; note the status as seen."""
        op = self.document["paths"][path][method]
        status = str(response.status_code)
        assert status in op["responses"], f"{method} {path} answered undocumented {status}: {response.data!r}"
        if body is not None and response.status_code < 300:
            request_schema = self.validator(
                "paths", path, method, "requestBody", "content", "application/json", "schema"
            )
            request_schema.validate(body)
        declared = op["responses"][status]
        assert response.mimetype == "application/json"
        schema = ("paths", path, method, "responses", status, "content", "application/json", "schema")
        self.validator(*schema).validate(response.get_json())
        for header in declared.get("headers", {}):
            assert header in response.headers, f"{method} {path} {status} lacks {header}"
        self.seen.add((path, method, status))
        return response


@pytest.fixture
def contract_app(make_app: Callable[..., Flask]) -> Flask:
    """An app with webhooks on (the outbox fills; nothing is sent) and small limits."""
    return make_app(
        WEBHOOK_URL="http://127.0.0.1:9/hook",
        WEBHOOK_SECRET="s",
        MAX_TEXT_LENGTH=MAX_TEXT,
        MAX_REQUEST_BYTES=MAX_BYTES,
    )


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get(DOCUMENT)
    assert response.status_code == 200
    return response.get_json()


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    validate(_document(client))


def _dangling(document: dict[str, Any]) -> list[str]:
    resolver = Registry().with_resource(URI, Resource.from_contents(document, DRAFT202012)).resolver(URI)
    missing = []
    for ref in sorted(set(_refs(document))):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            missing.append(ref)
    return missing


def test_every_ref_resolves(client: FlaskClient) -> None:
    document = _document(client)
    refs = set(_refs(document))
    assert len(refs) > 20  # bodies, answers, errors and the webhook all refer to named schemas
    assert all(ref.startswith("#/components/schemas/") for ref in refs), refs
    assert _dangling(document) == []
    named = {ref.rsplit("/", 1)[1] for ref in refs}
    assert named == set(document["components"]["schemas"]), "unused named schemas"


def test_a_dangling_ref_would_be_found(client: FlaskClient) -> None:
    document = _document(client)
    body = document["paths"]["/api/v1/score"]["post"]["requestBody"]["content"]["application/json"]
    body["schema"] = {"$ref": "#/components/schemas/ScoreBody"}
    assert _dangling(document) == ["#/components/schemas/ScoreBody"]


def test_routes_and_document_agree(app: Flask, client: FlaskClient) -> None:
    document = _document(client)
    served = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert served == documented


def _bad_query(op: dict[str, Any]) -> str:
    query = [p for p in op.get("parameters", []) if p["in"] == "query"]
    for constrained in (
        lambda schema: "enum" in schema or schema.get("type") == "integer",
        lambda schema: "pattern" in schema and not re.fullmatch(schema["pattern"], "not-one-of-them"),
    ):
        for param in query:
            if constrained(param["schema"]):
                return f"?{param['name']}=not-one-of-them"
    raise AssertionError("no query parameter to get wrong")


def _url(path: str, **ids: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], "nobody"), path)


def test_every_operation_answers_as_documented(contract_app: Flask) -> None:
    app, client = contract_app, contract_app.test_client()
    contract = Contract(_document(client))
    paths = contract.document["paths"]
    with services(app).sessions() as session, session.begin():
        submit = {"Authorization": f"Bearer {create_key(session, 'site')}"}
        mods = {"Authorization": f"Bearer {create_key(session, 'mods', ('moderate',))}"}
        other = {"Authorization": f"Bearer {create_key(session, 'others', ('moderate',))}"}
        nothing = {"Authorization": f"Bearer {create_key(session, 'nothing', ())}"}
        both = ("submit", "moderate")
        limited = {"Authorization": f"Bearer {create_key(session, 'limited', both, rate_limit=1)}"}

    def call(method: str, path: str, url: str, headers: dict[str, str], body: Any = None, **kw: Any) -> Any:
        sent = client.open(url, method=method.upper(), headers=headers, json=body, **kw)
        return contract.check(method, path, sent, body).get_json()

    comment = {"id": "c1", "text": "You moron, I know where you live", "author": {"id": "u1"}}
    # Submission, reading, scoring, health, the document.
    call("post", "/api/v1/comments", "/api/v1/comments", submit, comment)
    call("post", "/api/v1/comments", "/api/v1/comments", submit, comment)
    call("post", "/api/v1/comments", "/api/v1/comments", submit, {**comment, "text": "other"})  # 409
    call(
        "post",
        "/api/v1/comments",
        "/api/v1/comments",
        submit,
        {**comment, "id": "c2", "text": "x" * (MAX_TEXT + 1)},
    )
    call("get", "/api/v1/comments/{site_id}", "/api/v1/comments/c1", submit)
    call("post", "/api/v1/score", "/api/v1/score", submit, {"text": "hi", "author": {"id": "u1"}})
    call("post", "/api/v1/score", "/api/v1/score", submit, {"text": "x" * (MAX_TEXT + 1)})  # 413
    call("get", "/api/v1/health", "/api/v1/health", {})
    call("get", "/api/v1/openapi.json", "/api/v1/openapi.json", {})
    # Reports.
    report = {"reporter_id": "r1", "reason": "threat", "reporter_created_at": "2020-01-01T00:00:00Z"}
    reports = "/api/v1/comments/{site_id}/reports"
    call("post", reports, "/api/v1/comments/c1/reports", submit, report)
    call("post", reports, "/api/v1/comments/c1/reports", submit, report)  # 200: not counted again
    # The queue, claims, decisions.
    listing = call("get", "/api/v1/queue", "/api/v1/queue?state=decided&sort=newest", mods)
    assert listing["state"] == "decided"
    assert call("get", "/api/v1/queue", "/api/v1/queue", mods)["items"]
    claimed = call("post", "/api/v1/queue/next", "/api/v1/queue/next", mods, data=b"")
    assert claimed["id"] == "c1" and claimed["reports"]
    call("post", "/api/v1/queue/next", "/api/v1/queue/next", mods, {"listing": "flagged"})  # 404: empty
    claim = "/api/v1/comments/{site_id}/claim"
    call("post", claim, "/api/v1/comments/c1/claim", other)  # 409: held by mods
    call("post", claim, "/api/v1/comments/c1/claim", mods)
    decision = "/api/v1/comments/{site_id}/decision"
    call("post", decision, "/api/v1/comments/c1/decision", mods, {"action": "approve", "revision": 0})  # 409
    decided = call(
        "post", decision, "/api/v1/comments/c1/decision", mods, {"action": "reject", "site_rule": "no"}
    )
    assert decided["error"]["code"] == "invalid_field"  # 422: no such site rule
    call(
        "post",
        decision,
        "/api/v1/comments/c1/decision",
        mods,
        {"action": "approve", "revision": claimed["revision"]},
    )
    undo = "/api/v1/comments/{site_id}/undo"
    call("post", undo, "/api/v1/comments/c1/undo", mods)
    call("post", undo, "/api/v1/comments/c1/undo", mods)  # 409: nothing left to undo
    call("get", "/api/v1/comments/{site_id}/audit", "/api/v1/comments/c1/audit", mods)
    # Authors.
    call("get", "/api/v1/authors/{site_id}", "/api/v1/authors/u1", mods)
    noted = call("post", "/api/v1/authors/{site_id}/notes", "/api/v1/authors/u1/notes", mods, {"text": "n"})
    note = "/api/v1/authors/{site_id}/notes/{note_id}"
    call("delete", note, f"/api/v1/authors/u1/notes/{noted['notes'][0]['id']}", mods)
    call("delete", note, f"/api/v1/authors/u1/notes/{noted['notes'][0]['id']}", mods)  # 404: gone
    for flag in ("premoderation", "ban"):
        for method in ("put", "delete"):
            call(method, f"/api/v1/authors/{{site_id}}/{flag}", f"/api/v1/authors/u1/{flag}", mods)
    suspension = "/api/v1/authors/{site_id}/suspension"
    assert call("put", suspension, "/api/v1/authors/u1/suspension", mods, {"hours": 2})["suspended"]
    assert not call("delete", suspension, "/api/v1/authors/u1/suspension", mods)["suspended"]
    featured = "/api/v1/articles/{site_id}/featured"
    on_article = {**comment, "id": "c9", "text": "I was there", "article": {"id": "a1", "title": "A"}}
    call("post", "/api/v1/comments", "/api/v1/comments", submit, on_article)
    picks = call("get", featured, "/api/v1/articles/a1/featured", submit)
    assert picks == {"article_id": "a1", "featured": []}
    stats = call("get", "/api/v1/rules/stats", "/api/v1/rules/stats?since=7d", mods)
    assert stats["days"] == 7 and len(stats["drift"]["days"]) == 7
    deliveries = call("get", "/api/v1/webhooks/deliveries", "/api/v1/webhooks/deliveries?state=pending", mods)
    sequences = [d["sequence"] for d in deliveries["deliveries"]]  # newest first
    assert len(sequences) >= 2 and sequences == list(range(len(sequences), 0, -1))

    # What every operation answers to a missing key, a key without the scope, unknown ids,
    # malformed, oversized and invalid bodies, and invalid query parameters.
    valid = {
        "CommentIn": comment,
        "ReportIn": report,
        "DecisionIn": {"action": "approve"},
        "NoteIn": {"text": "n"},
        "SuspensionIn": {"hours": 1},
    }
    client.get("/api/v1/comments/c1", headers=limited)  # the limited key's one request
    for path, operations in paths.items():
        for method, op in operations.items():
            url = _url(path, note_id="7")  # ids nothing has
            headers = mods if "moderate" in op.get("description", "") else submit
            body_schema = None
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body_schema = ref.rsplit("/", 1)[1]
            if "401" in op["responses"]:
                call(method, path, url, {})
                call(method, path, url, nothing)  # 403
                call(method, path, url, limited)  # 429 (its one request is spent below)
            if "{" in path:
                call(method, path, url, headers, valid.get(body_schema or ""))  # 404
            if body_schema:
                call(method, path, url, headers, data=b"{nope")  # 400
                call(method, path, url, headers, data=b" " * (MAX_BYTES + 1), content_type="application/json")
                properties = contract.document["components"]["schemas"][body_schema]["properties"]
                call(
                    method, path, url, headers, {name: [] for name in properties}
                )  # 422: no field takes a list
            if any(p["in"] == "query" for p in op.get("parameters", [])):
                call(method, path, url + _bad_query(op), headers)  # 422

    # Every answer the outbox holds is what the document's webhook describes.
    event = contract.validator(
        "webhooks", "comment.status_changed", "post", "requestBody", "content", "application/json", "schema"
    )
    with services(app).sessions() as session:
        bodies = [json.loads(d.body) for d in session.scalars(select(WebhookDelivery))]
    assert len(bodies) == len(sequences)
    for body in bodies:
        event.validate(body)

    missing = {seen for seen in contract.declared() if seen[2] != "503"} - contract.seen
    assert not missing, sorted(missing)


def test_a_database_outage_answers_as_documented(make_app: Callable[..., Flask], client: FlaskClient) -> None:
    contract = Contract(_document(client))
    down = make_app(DATABASE_URL=UNREACHABLE_DB, LOG_LEVEL="CRITICAL").test_client()
    headers = {"Authorization": f"Bearer {KEY_PREFIX}abcdef_0123456789"}  # well formed: looked up
    for path, operations in contract.document["paths"].items():
        for method, op in operations.items():
            if "503" not in op["responses"]:
                continue
            body = {} if "requestBody" in op else None
            response = down.open(_url(path, note_id="7"), method=method.upper(), headers=headers, json=body)
            assert response.status_code == 503, (method, path, response.get_json())
            contract.check(method, path, response)
    declared_503 = {seen for seen in contract.declared() if seen[2] == "503"}
    assert declared_503 == contract.seen
