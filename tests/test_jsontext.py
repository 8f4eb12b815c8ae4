"""JSON written by orjson (moderation/jsontext.py) says what json.dumps said, stored and sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from conftest import post_comment
from flask import Flask
from flask.testing import FlaskClient

from moderation import jsontext


def stdlib(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize(
    "value",
    [
        {"status": "rejected", "scores": {"toxicity": 0.9731, "threat": 0.0001}, "visible": False},
        {"floats": [0.1 + 0.2, 1e16, 0.0001, -0.0, 1.7976931348623157e308, 123456789.125]},
        {"ints": [0, -1, 2**53 + 1, 2**63 - 1], "none": None, "flags": [True, False]},
        {"text": 'café ☕ \u2028 "quoted" \\ \n\t end', "spans": [[0, 4], [10, 12]]},
        [{"rule": "obscene", "mode": "live", "category": None, "action": "reject", "spans": []}],
    ],
)
def test_the_same_text_as_json_dumps(value: object) -> None:
    assert jsontext.dumps(value) == stdlib(value)
    assert json.loads(jsontext.dumps(value)) == value


def test_tiny_floats_keep_their_value_spelled_otherwise() -> None:
    value = [1e-7, 5e-324, 2.5e-05]
    assert jsontext.dumps(value) == "[1e-7,5e-324,0.000025]"  # json.dumps: 1e-07, 2.5e-05
    assert json.loads(jsontext.dumps(value)) == value


def test_numpy_values_as_json_dumps_would_write_their_python_values() -> None:
    value = {"f64": np.float64(0.25), "f32": np.float32(0.5), "i64": np.int64(7), "row": np.arange(3)}
    assert json.loads(jsontext.dumps(value)) == {"f64": 0.25, "f32": 0.5, "i64": 7, "row": [0, 1, 2]}


def test_what_json_dumps_refuses_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsontext.dumps({"x": object()})


def test_the_api_answers_compact_utf8_json_with_dates_as_before(
    app: Flask, client: FlaskClient, auth: dict
) -> None:
    text = "Ein schöner Tag, café ☕ — danke"
    resp = client.post("/api/v1/score", json={"text": text}, headers=auth)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.data.endswith(b"}\n") and b'": ' not in resp.data  # compact, one line
    assert resp.get_json()["status"] == "approved"
    with app.test_request_context():
        dated = app.json.response({"at": datetime(2026, 12, 1, 23, 0, tzinfo=UTC), "word": "schön"})
    assert json.loads(dated.get_data()) == {"at": "Tue, 01 Dec 2026 23:00:00 GMT", "word": "schön"}
    assert "schön".encode() in dated.get_data()


def test_a_stored_verdict_reads_back_as_it_was_sent(client: FlaskClient, auth: dict) -> None:
    sent = post_comment(client, auth, "json-1", "Schöne Grüße — you are a fucking idiot ☕")
    stored = client.get("/api/v1/comments/json-1", headers=auth).get_json()
    for key in ("status", "visible", "scores", "matches"):
        assert stored[key] == sent[key]
    assert sent["status"] == "rejected" and sent["matches"]
