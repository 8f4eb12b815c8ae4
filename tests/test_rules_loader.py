"""A broken rules.yaml fails with the file, the line and the rule; reloads keep good rules."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from moderation.config import PROJECT_ROOT
from moderation.rules import RulesError, RulesReloader, load_rules, parse_rules

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
