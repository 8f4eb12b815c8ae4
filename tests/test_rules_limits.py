"""Absurd word lists are refused at load with `file:line`, before any time or memory goes into them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from moderation.rules import RulesError, load_rules, parse_rules
from moderation.rules.limits import RuleLimits

SMALL = RuleLimits(max_file_bytes=10_000, max_list_entries=3, max_entry_chars=10, max_total_chars=40)


def rules_file(tmp_path: Path, wordlists: str, when: str = "{words: {list: bad}}") -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "site_rules: {clean: Keep it Clean}\n"
        f"wordlists:\n{textwrap.indent(wordlists.rstrip() + chr(10), '  ')}"
        "rules:\n"
        f"  - {{id: bad-words, site_rule: clean, category: obscene, action: flag, when: {when}}}\n"
    )
    return path


def error(path: Path, limits: RuleLimits = SMALL) -> str:
    with pytest.raises(RulesError) as info:
        load_rules(path, limits)
    return str(info.value)


def test_a_list_file_with_too_many_entries_is_refused_at_the_entry_past_the_limit(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("# header\nfrak\ngorram\n\nsmeg\nfrell  # the fourth\n")
    message = error(rules_file(tmp_path, "bad: {file: bad.txt}"))
    assert message.startswith(f"{tmp_path / 'bad.txt'}:6: word list 'bad' has more than 3 entries")
    assert "WORDLIST_MAX_ENTRIES" in message


def test_a_too_long_entry_is_refused_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("frak\n" + "a" * 11 + "\n")
    message = error(rules_file(tmp_path, "bad: {file: bad.txt}"))
    assert message.startswith(f"{tmp_path / 'bad.txt'}:2: word-list entry of 11 characters; the limit is 10")
    assert "WORDLIST_MAX_ENTRY_CHARS" in message
    inline = rules_file(tmp_path, "bad:\n  - frak\n  - " + "b" * 12 + "\n")
    assert error(inline).startswith(f"{inline}:5: word-list entry of 12 characters")
    in_rule = rules_file(tmp_path, "ok: [x]\n", when=f"{{words: [frak, {'c' * 13}]}}")
    assert error(in_rule).startswith(f"{in_rule}:5: rule 'bad-words': words: an entry of 13 characters")


def test_a_rule_with_a_list_and_its_own_entries_counts_them_together(tmp_path: Path) -> None:
    path = rules_file(tmp_path, "bad: [frak, gorram]\n", when="{words: {list: bad, entries: [smeg, frell]}}")
    assert error(path).startswith(f"{path}:5: rule 'bad-words': words: 4 entries; the limit is 3")


def test_the_entries_of_all_rules_add_up(tmp_path: Path) -> None:
    path = rules_file(tmp_path, "bad: [aaaaaaaaaa, bbbbbbbbbb, cccccccccc]\n")
    text = path.read_text() + (
        "  - {id: again, site_rule: clean, category: obscene, action: hold, when: {words: {list: bad}}}\n"
    )
    message = error_text(text, path)
    assert message.startswith(f"{path}:6: rule 'again': words: the rules' word lists add up to more than 40")
    assert "WORDLISTS_MAX_TOTAL_CHARS" in message


def error_text(text: str, path: Path) -> str:
    with pytest.raises(RulesError) as info:
        parse_rules(text, str(path), path.parent, SMALL)
    return str(info.value)


def test_a_huge_list_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    # Ten megabytes, the size that once took 87 s and 2.98 GB to check.
    (tmp_path / "bad.txt").write_bytes(b"aaaaaaaaa\n" * 1_048_576)
    message = error(rules_file(tmp_path, "bad: {file: bad.txt}"), RuleLimits())
    # 1,000,000 bytes of 10-byte lines end on line 100,000; the file passes the limit on the next.
    assert message.startswith(f"{tmp_path / 'bad.txt'}:100001: the file passes 1,000,000 bytes here")
    assert "RULES_MAX_FILE_BYTES" in message


def test_a_huge_rules_file_is_refused(tmp_path: Path) -> None:
    path = rules_file(tmp_path, "bad: [frak]\n")
    path.write_text(path.read_text() + "# padding\n" * 2_000)
    assert error(path).startswith(f"{path}:")
    assert "the file passes 10,000 bytes here" in error(path)


def test_entries_that_fold_to_nothing_are_an_error_not_a_crash(tmp_path: Path) -> None:
    path = rules_file(tmp_path, "ok: [x]\n", when='{words: ["  ", "\\u200b"]}')
    assert error(path, RuleLimits()).startswith(f"{path}:5: rule 'bad-words': words: the word list is empty")


def test_lists_within_the_limits_load(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("frak\ngorram\nsmeg\n")
    rules = load_rules(rules_file(tmp_path, "bad: {file: bad.txt}"), SMALL)
    assert rules.evaluate("what the frak").status == "flagged"


def test_rules_check_refuses_a_ten_megabyte_list(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bad.txt").write_bytes(b"aaaaaaaaa\n" * 1_048_576)
    path = rules_file(tmp_path, "bad: {file: bad.txt}")
    result = app.test_cli_runner().invoke(args=["rules", "check", str(path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 'bad.txt'}:100001: the file passes 1,000,000 bytes here" in result.output
    (tmp_path / "bad.txt").write_text("frak\ngorram\nsmeg\n")
    assert app.test_cli_runner().invoke(args=["rules", "check", str(path)]).exit_code == 0
    monkeypatch.setenv("WORDLIST_MAX_ENTRIES", "2")
    result = app.test_cli_runner().invoke(args=["rules", "check", str(path)])
    assert (
        result.exit_code == 1
        and f"{tmp_path / 'bad.txt'}:3: word list 'bad' has more than 2" in result.output
    )


def test_rules_check_accepts_a_list_that_used_to_hang_workers(app: Flask, tmp_path: Path) -> None:
    path = rules_file(tmp_path, "bad: [aaaaaaaaaaaa]\n")
    assert app.test_cli_runner().invoke(args=["rules", "check", str(path)]).exit_code == 0
    assert load_rules(path).evaluate("a" * 601).status == "flagged"


def test_the_service_takes_its_limits_from_its_settings(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    path = rules_file(tmp_path, "bad: [frak, gorram, smeg]\n")
    make_app(MODERATION_RULES=str(path))
    with pytest.raises(RulesError, match="more than 2 entries"):
        make_app(MODERATION_RULES=str(path), WORDLIST_MAX_ENTRIES=2)
