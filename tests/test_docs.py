"""The README documents every setting, endpoint, command and rule condition."""

from __future__ import annotations

import re

from flask import Flask

from moderation.config import PROJECT_ROOT, SETTINGS
from moderation.rules.conditions import AUTHOR_FACTS, CONDITION_KEYS

README = (PROJECT_ROOT / "README.md").read_text()


def test_readme_leads_with_the_two_commands() -> None:
    head = README[:600]
    assert "make run" in head and "make test" in head


def test_every_setting_is_documented() -> None:
    for setting in SETTINGS:
        assert f"`{setting.name}`" in README, setting.name


def test_every_api_endpoint_has_a_curl_example(app: Flask) -> None:
    curls = [line for line in README.splitlines() if "curl " in line]
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        parts = re.split(r"(<[^>]+>)", rule.rule)
        path = "".join('[^/\\s?"]+' if part.startswith("<") else re.escape(part) for part in parts)
        methods = rule.methods - {"HEAD", "OPTIONS"}
        for method in methods:
            flag = "" if method == "GET" else f"-X {method} " if method in ("PUT", "DELETE") else ""
            pattern = re.compile(rf"curl -s {flag}.*http://127\.0\.0\.1:5000{path}(?:[?\"' ]|$)")
            assert any(pattern.search(line) for line in curls), f"{method} {rule.rule}"


def test_every_condition_and_author_fact_is_documented() -> None:
    for key in CONDITION_KEYS:
        assert f"`{key}`" in README, key
    for fact in AUTHOR_FACTS:
        assert fact in README, fact


def test_settings_come_from_the_environment() -> None:
    from moderation.config import Config

    values = Config.from_env({"MAX_TEXT_LENGTH": "123", "RULES_RELOAD_SECONDS": "0.5", "SECRET_KEY": "s"})
    assert values["MAX_TEXT_LENGTH"] == 123
    assert values["RULES_RELOAD_SECONDS"] == 0.5
    assert values["DATABASE_URL"].startswith("sqlite:///")
