"""The admin area's rules replay (review page): admins only, CSRF, limits, errors with lines."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from conftest import csrf_token, make_moderator
from flask.testing import FlaskClient
from test_review_views import login
from test_rules_replay import CANDIDATE, seeded, snapshot

URL = "/review/admin/rules/test"


def _admin(make_app, tmp_path: Path, **config):
    app = seeded(lambda **base: make_app(**base, **config), tmp_path)
    make_moderator(app, "boss", "admin")
    client = app.test_client()
    login(client, "boss")
    return app, client


def _post(client: FlaskClient, **data):
    return client.post(URL, data={"csrf_token": csrf_token(client, URL), **data})


def _text(resp) -> str:
    """The page's visible text, tags dropped and spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True))).split())


def test_pasted_rules_are_replayed_and_nothing_changes(make_app, tmp_path: Path) -> None:
    app, client = _admin(make_app, tmp_path)
    assert "data-replay-link" in client.get("/review/admin").get_data(as_text=True)
    assert client.get(URL).status_code == 200
    before = snapshot(app)

    resp = _post(client, rules_text=CANDIDATE, since="7d", limit="2000")

    assert resp.status_code == 200
    assert snapshot(app) == before
    page = _text(resp)
    assert "7 of 10 comments would change status" in page
    assert "flagged approved 4" in page and "approved rejected 3" in page
    assert "added gorram (reject) 3" in page and "gone darn (flag) 4" in page
    assert "rejected 3 1 2" in page and "approved 3 2 0" in page  # decided, in force, candidate
    assert "g3 approved → rejected +gorram (reject) gorram again" in page
    assert "calm 2" in page  # the candidate's shadow rule
    assert "gorram, what" not in page  # comment text is escaped into cells, never raw HTML


def test_an_uploaded_file_with_word_lists_from_the_rules_folder(make_app, tmp_path: Path) -> None:
    _, client = _admin(make_app, tmp_path)
    (tmp_path / "words").mkdir()
    (tmp_path / "words" / "mild.txt").write_text("gorram\n")
    (tmp_path / "secret.txt").write_text("hunter2\n")
    uploaded = CANDIDATE.replace("{words: [gorram]}", "{words: {list: mild}}")
    with_list = "wordlists:\n  mild: {file: words/mild.txt}\n" + uploaded
    resp = client.post(
        URL,
        data={
            "csrf_token": csrf_token(client, URL),
            "rules_file": (io.BytesIO(with_list.encode()), "candidate.yaml"),
            "since": "7d",
            "limit": "5",
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, _text(resp)
    assert "stopped at 5 comments" in _text(resp)

    outside = with_list.replace("words/mild.txt", "../" + tmp_path.name + "/../outside.txt")
    refused = _post(client, rules_text=outside)
    assert refused.status_code == 422
    assert "pasted rules:2: word list 'mild': the file must be in the rules' folder" in _text(refused)


def test_errors_are_shown_with_lines(make_app, tmp_path: Path) -> None:
    _, client = _admin(make_app, tmp_path, RULES_MAX_FILE_BYTES=2000)
    broken = _post(client, rules_text=CANDIDATE.replace("mode: shadow", "mode: quiet"))
    assert broken.status_code == 422
    assert "pasted rules:5: rule 'calm': unknown mode 'quiet'" in _text(broken)
    assert "mode: quiet" in broken.get_data(as_text=True)  # the text stays in the form to fix
    assert "Paste a rules file" in _text(_post(client, rules_text="  "))
    too_big = _post(client, rules_text=CANDIDATE + "#" * 2000)
    assert too_big.status_code == 422 and "over 2,000 bytes" in _text(too_big)
    for field, value, message in (
        ("limit", "2001", "Limit: from 1 to 2,000 comments"),
        ("limit", "many", "Limit: a whole number"),
        ("since", "forever", "Window: must be"),
    ):
        resp = _post(client, rules_text=CANDIDATE, **{field: value})
        assert resp.status_code == 422 and message in _text(resp), field


def test_admins_only_and_csrf(make_app, tmp_path: Path) -> None:
    app, client = _admin(make_app, tmp_path)
    refused = client.post(URL, data={"rules_text": CANDIDATE}, follow_redirects=True)  # no CSRF token
    assert "Please do it again" in refused.get_data(as_text=True)
    assert "would change status" not in refused.get_data(as_text=True)
    make_moderator(app, "mo")
    other = app.test_client()
    login(other, "mo")
    assert other.get(URL).status_code == 403
    assert (
        other.post(
            URL, data={"csrf_token": csrf_token(other, "/review/stats"), "rules_text": CANDIDATE}
        ).status_code
        == 403
    )
    anonymous = app.test_client()
    assert anonymous.get(URL).status_code == 302
