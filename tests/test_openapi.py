"""The OpenAPI document is valid and matches what the API does."""

from __future__ import annotations

import re

import jsonschema
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

SPEC_PATH = "/api/v1/openapi.json"


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule).replace("{site_id}", "{id}")


def _spec(client: FlaskClient) -> dict:
    return client.get(SPEC_PATH).get_json()


def _response_schema(spec: dict, path: str, method: str, status: int) -> dict:
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


def _check(spec: dict, path: str, method: str, resp) -> None:
    schema = _response_schema(spec, path, method, resp.status_code)
    jsonschema.validate(resp.get_json(), schema, cls=jsonschema.Draft202012Validator)


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    validate(_spec(client))


def test_every_api_route_is_documented(app: Flask, client: FlaskClient) -> None:
    spec = _spec(client)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = _openapi_path(rule.rule)
        assert path in spec["paths"], f"{path} is not in the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], f"{method} {path} is not documented"
    documented = {(p, m) for p, ops in spec["paths"].items() for m in ops}
    served = {
        (_openapi_path(r.rule), m.lower())
        for r in app.url_map.iter_rules()
        for m in r.methods - {"HEAD", "OPTIONS"}
    }
    assert documented <= served, documented - served


def test_responses_match_the_document(client: FlaskClient, auth: dict) -> None:
    spec = _spec(client)
    body = {"id": "x1", "text": "You moron, I know where you live", "author": {"id": "u"}}
    created = client.post("/api/v1/comments", json=body, headers=auth)
    _check(spec, "/api/v1/comments", "post", created)
    _check(spec, "/api/v1/comments", "post", client.post("/api/v1/comments", json=body, headers=auth))
    for bad in ({"id": 1}, {"id": "x1", "text": "other", "author": {"id": "u"}}):
        _check(spec, "/api/v1/comments", "post", client.post("/api/v1/comments", json=bad, headers=auth))
    _check(spec, "/api/v1/comments", "post", client.post("/api/v1/comments", json=body))
    _check(spec, "/api/v1/comments/{id}", "get", client.get("/api/v1/comments/x1", headers=auth))
    _check(spec, "/api/v1/comments/{id}", "get", client.get("/api/v1/comments/none", headers=auth))
    _check(spec, "/api/v1/score", "post", client.post("/api/v1/score", json={"text": "hi"}, headers=auth))
    _check(spec, "/api/v1/health", "get", client.get("/api/v1/health"))


def test_moderation_responses_match_the_document(client: FlaskClient, auth: dict, mod_auth: dict) -> None:
    spec = _spec(client)
    client.post(
        "/api/v1/comments",
        json={"id": "q1", "text": "I know where you live", "author": {"id": "u"}},
        headers=auth,
    )
    report = client.post(
        "/api/v1/comments/q1/reports", json={"reporter_id": "r", "reason": "threat"}, headers=auth
    )
    _check(spec, "/api/v1/comments/{id}/reports", "post", report)
    _check(spec, "/api/v1/queue", "get", client.get("/api/v1/queue", headers=mod_auth))
    _check(spec, "/api/v1/queue/next", "post", client.post("/api/v1/queue/next", json={}, headers=mod_auth))
    _check(spec, "/api/v1/queue/next", "post", client.post("/api/v1/queue/next", json={}, headers=mod_auth))
    decided = client.post("/api/v1/comments/q1/decision", json={"action": "approve"}, headers=mod_auth)
    _check(spec, "/api/v1/comments/{id}/decision", "post", decided)
    _check(
        spec, "/api/v1/comments/{id}/undo", "post", client.post("/api/v1/comments/q1/undo", headers=mod_auth)
    )
    _check(
        spec, "/api/v1/comments/{id}/audit", "get", client.get("/api/v1/comments/q1/audit", headers=mod_auth)
    )
    _check(spec, "/api/v1/authors/{id}", "get", client.get("/api/v1/authors/u", headers=mod_auth))
    noted = client.post("/api/v1/authors/u/notes", json={"text": "n"}, headers=mod_auth)
    _check(spec, "/api/v1/authors/{id}/notes", "post", noted)
    _check(spec, "/api/v1/authors/{id}/ban", "put", client.put("/api/v1/authors/u/ban", headers=mod_auth))
    deliveries = client.get("/api/v1/webhooks/deliveries", headers=mod_auth)
    _check(spec, "/api/v1/webhooks/deliveries", "get", deliveries)


def test_request_schema_rejects_what_the_api_rejects(client: FlaskClient) -> None:
    spec = _spec(client)
    schema = {**spec["components"]["schemas"]["CommentIn"], "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"id": "a", "text": "t", "author": {"id": "u"}})
    assert not validator.is_valid({"id": "a", "author": {"id": "u"}})
    assert not validator.is_valid({"id": "a", "text": "t", "author": {"id": 3}})
