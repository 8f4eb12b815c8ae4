"""A broken rules.yaml fails with the file, the line and the rule; reloads keep good rules."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from moderation.accounts.apikeys import create_key
from moderation.config import PROJECT_ROOT
from moderation.rules import RulesError, RulesReloader, load_rules, parse_rules
from moderation.web.extension import services

GOOD = """\
site_rules:
  clean: Keep it Clean
rules:
  - id: frak
    site_rule: clean
    category: obscene
    action: reject
    when:
      words: [frak]
"""


def error_for(text: str) -> RulesError:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "rules.yaml")
    return info.value


def test_shipped_rules_load() -> None:
    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    assert len(rules.rules) >= 10
    assert {r.site_rule.title for r in rules.rules} >= {"Keep it Clean", "Don't Threaten", "Be Nice"}


def test_bad_yaml_names_file_and_line() -> None:
    err = error_for(GOOD.replace("    action: reject", "    action: [reject"))
    assert err.path == "rules.yaml"
    assert err.line in (7, 8, 9)
    assert "invalid YAML" in str(err)
    assert str(err).startswith("rules.yaml:")


def test_unknown_rule_key() -> None:
    err = error_for(GOOD.replace("    action: reject", "    action: reject\n    acton: flag"))
    assert (err.line, err.rule) == (8, "frak")
    assert "unknown key 'acton'" in str(err)
    assert str(err).startswith("rules.yaml:8: rule 'frak':")


def test_unknown_condition_key() -> None:
    err = error_for(GOOD.replace("      words: [frak]", "      wrds: [frak]"))
    assert (err.line, err.rule) == (9, "frak")
    assert "unknown condition 'wrds'" in str(err)


def test_bad_pattern_is_refused() -> None:
    err = error_for(GOOD.replace("      words: [frak]", "      regex: '(unclosed'"))
    assert (err.line, err.rule) == (9, "frak")
    assert "bad regex" in str(err)


def test_backreferences_are_refused_since_re2_cannot_backtrack() -> None:
    err = error_for(GOOD.replace("      words: [frak]", r"      regex: '(a+)+\1'"))
    assert err.rule == "frak"


def test_unknown_category() -> None:
    err = error_for(GOOD.replace("category: obscene", "category: rudeness"))
    assert (err.line, err.rule) == (6, "frak")
    assert "unknown category 'rudeness'" in str(err)


def test_unknown_action_site_rule_and_word_list() -> None:
    assert "unknown action" in str(error_for(GOOD.replace("action: reject", "action: delete")))
    assert "unknown site_rule" in str(error_for(GOOD.replace("site_rule: clean", "site_rule: polite")))
    assert "unknown word list 'nope'" in str(error_for(GOOD.replace("words: [frak]", "words: {list: nope}")))


def test_duplicate_rule_ids_and_keys() -> None:
    twice = GOOD + GOOD.split("\nrules:\n", 1)[1]
    assert "duplicate rule id" in str(error_for(twice))
    assert "duplicate key" in str(
        error_for(GOOD.replace("    action: reject", "    action: reject\n    action: flag"))
    )


def test_bad_comparison_and_reason_field() -> None:
    err = error_for(GOOD.replace("words: [frak]", "length: {more: 3}"))
    assert "unknown comparison 'more'" in str(err)
    err = error_for(GOOD.replace("    action: reject", "    action: reject\n    reason: '{whom}'"))
    assert "unknown field {whom}" in str(err)


def test_missing_word_list_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD.replace("\nrules:\n", "\nwordlists:\n  x: {file: missing.txt}\nrules:\n"))
    with pytest.raises(RulesError) as info:
        load_rules(path)
    assert "cannot read word list" in str(info.value)
    assert str(path) in str(info.value)


def _touch_later(path: Path, text: str) -> None:
    path.write_text(text)
    stamp = time.time() + 5
    os.utime(path, (stamp, stamp))


def test_reload_picks_up_changes_and_keeps_old_rules_when_broken(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    reloader = RulesReloader(path, interval=0)
    first = reloader.rules.version
    assert reloader.rules.evaluate("frak").status == "rejected"

    _touch_later(path, GOOD.replace("words: [frak]", "words: [gorram]"))
    assert reloader.rules.evaluate("gorram").status == "rejected"
    second = reloader.rules.version
    assert second != first

    _touch_later(path, GOOD.replace("category: obscene", "category: bogus"))
    assert reloader.rules.version == second
    assert reloader.rules.evaluate("gorram").status == "rejected"
    assert "unknown category 'bogus'" in (reloader.last_error or "")

    path.write_text(GOOD)
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert reloader.rules.version == first
    assert reloader.last_error is None


def test_reload_follows_word_list_files(tmp_path: Path) -> None:
    (tmp_path / "words.txt").write_text("frak\n")
    path = tmp_path / "rules.yaml"
    path.write_text(
        GOOD.replace("\nrules:\n", "\nwordlists:\n  w: {file: words.txt}\nrules:\n").replace(
            "words: [frak]", "words: {list: w}"
        )
    )
    reloader = RulesReloader(path, interval=0)
    assert reloader.rules.evaluate("smeg").status == "approved"
    _touch_later(tmp_path / "words.txt", "frak\nsmeg\n")
    assert reloader.rules.evaluate("smeg").status == "rejected"


def test_first_load_of_a_broken_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [")
    with pytest.raises(RulesError):
        RulesReloader(path)


class GatedLoad:
    """Stands in for load_rules: tells when a reload starts and holds it until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import moderation.rules.reloader as reloader_module

        self.started = threading.Event()
        self.release = threading.Event()
        self.real = reloader_module.load_rules
        monkeypatch.setattr(reloader_module, "load_rules", self)

    def __call__(self, *args: Any) -> Any:
        self.started.set()
        assert self.release.wait(30), "the test never released the reload"
        return self.real(*args)


def _within(seconds: float, what: Callable[[], Any]) -> Any:
    """Run ``what`` in a thread; fail if it has not returned within ``seconds`` (it is blocked)."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(what()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"still waiting after {seconds} s"
    return result[0]


def _until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background reload never happened"
        time.sleep(0.01)


def test_reload_runs_in_the_background_and_never_makes_a_reader_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    reloader = RulesReloader(path, interval=0.01)
    try:
        first = reloader.rules.version
        gate = GatedLoad(monkeypatch)
        _touch_later(path, GOOD.replace("words: [frak]", "words: [gorram]"))
        assert gate.started.wait(30), "no reload started in the background"
        # The reload is in progress (and held): readers get the rules in force, at once.
        rules = _within(5, lambda: reloader.rules)
        assert rules.version == first and rules.evaluate("frak").status == "rejected"
        gate.release.set()
        _until(lambda: reloader.rules.version != first)
        assert reloader.rules.evaluate("gorram").status == "rejected"
        assert reloader.rules.evaluate("frak").status == "approved"
    finally:
        reloader.close()


def test_a_broken_edit_found_in_the_background_keeps_the_old_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    reloader = RulesReloader(path, interval=0.01)
    try:
        first = reloader.rules.version
        _touch_later(path, GOOD.replace("category: obscene", "category: bogus"))
        _until(lambda: reloader.last_error is not None)
        assert "unknown category 'bogus'" in (reloader.last_error or "")
        assert reloader.rules.version == first
    finally:
        reloader.close()


def test_requests_keep_the_old_rules_while_a_reload_compiles(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GOOD)
    app = make_app(MODERATION_RULES=str(path), RULES_RELOAD_SECONDS=0.01)
    with services(app).sessions() as session, session.begin():
        auth = {"Authorization": f"Bearer {create_key(session, 'reload-test')}"}
    client = app.test_client()

    def score(text: str) -> str:
        return client.post("/api/v1/score", json={"text": text}, headers=auth).get_json()["status"]

    assert score("frak") == "rejected"
    gate = GatedLoad(monkeypatch)
    _touch_later(path, GOOD.replace("words: [frak]", "words: [gorram]"))
    try:
        assert gate.started.wait(30), "no reload started in the background"
        assert _within(5, lambda: score("frak")) == "rejected"  # answered during the reload
        assert _within(5, lambda: score("gorram")) == "approved"
    finally:
        gate.release.set()
    _until(lambda: score("gorram") == "rejected")
