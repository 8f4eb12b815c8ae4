"""Each rule condition, modifier and composition, through rules.yaml text."""

from __future__ import annotations

import textwrap

import pytest

from moderation.rules import parse_rules
from moderation.verdict import AuthorFacts

HEADER = """
site_rules:
  clean: Keep it Clean
  nice: Be Nice
rules:
"""


def rules_with(*bodies: str):
    """A rule set made of rules given as YAML snippets."""
    text = HEADER + "".join(textwrap.indent(textwrap.dedent(b), "  ") for b in bodies)
    return parse_rules(text, "test.yaml")


def rule(rule_id: str, when: str, action: str = "reject", category: str = "obscene", **extra: str) -> str:
    lines = [f"- id: {rule_id}", "  site_rule: clean", f"  category: {category}", f"  action: {action}"]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    lines.append("  when:")
    lines += ["    " + line for line in textwrap.dedent(when).strip().splitlines()]
    return "\n".join(lines) + "\n"


def test_words_list_inline() -> None:
    rules = rules_with(rule("w", "words: [darn, heck]"))
    verdict = rules.evaluate("Oh darn it")
    assert verdict.status == "rejected"
    assert [(m.start, m.end, m.text) for m in verdict.matches] == [(3, 7, "darn")]
    assert rules.evaluate("darning socks").status == "approved"


@pytest.mark.parametrize(
    ("mode", "hit", "miss"),
    [
        ("prefix", "frakking hell", "unfrak"),
        ("suffix", "unfrak", "frakking"),
        ("substring", "unfrakking", "fra k"),
    ],
)
def test_words_match_modifiers(mode: str, hit: str, miss: str) -> None:
    rules = rules_with(rule("w", f"words: {{entries: [frak], match: {mode}}}"))
    assert rules.evaluate(hit).status == "rejected"
    assert rules.evaluate(miss).status == "approved"


def test_words_allow_list_and_named_list() -> None:
    text = HEADER.replace("\nrules:", "\nwordlists:\n  bad: [cunt]\n  ok: [scunthorpe]\nrules:")
    text += textwrap.indent(rule("w", "words: {list: bad, match: substring, allow_list: ok}"), "  ")
    rules = parse_rules(text, "t.yaml")
    assert rules.evaluate("Scunthorpe").status == "approved"
    assert rules.evaluate("c u n t").status == "rejected"


def test_word_list_file_relative_to_rules(tmp_path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "bad.txt").write_text("# comment line\nfrak\n\ngorram  # inline comment\n")
    body = HEADER.replace("\nrules:", "\nwordlists:\n  bad: {file: lists/bad.txt}\nrules:")
    body += textwrap.indent(rule("w", "words: {list: bad}"), "  ")
    path = tmp_path / "rules.yaml"
    path.write_text(body)
    from moderation.rules import load_rules

    rules = load_rules(path)
    assert rules.evaluate("gorram it").status == "rejected"
    assert rules.evaluate("comment line").status == "approved"
    assert str((tmp_path / "lists" / "bad.txt").resolve()) in rules.files


def test_words_regex_entries_run_on_folded_text() -> None:
    rules = rules_with(rule("w", r"words: {regex: true, entries: ['\bsp[a@]m+\b']}"))
    verdict = rules.evaluate("SPAMMM here")
    assert verdict.status == "rejected"
    assert verdict.matches[0].text == "SPAMMM"


def test_regex_on_normalized_and_original() -> None:
    rules = rules_with(
        rule("norm", r"regex: 'buy\s+now'", action="flag", category="spam"),
        rule("orig", "regex: {pattern: 'BUY', field: original}", action="hold", category="spam"),
    )
    verdict = rules.evaluate("Ｂuy now")
    assert [m.rule for m in verdict.matches] == ["norm"]
    assert verdict.matches[0].text == "Ｂuy now"
    assert rules.evaluate("BUY now").status == "pending"


def test_a_group_named_hit_is_the_span_a_regex_reports() -> None:
    # The words around it decide whether the rule holds ("stupid" said to someone, ending a
    # clause); the moderator sees the word itself highlighted, on the folded and original text.
    rules = rules_with(
        rule("norm", r"regex: '(^|[,.]\s*)(?P<hit>stupid)\s*([.!?]|$)'", action="flag", category="insult"),
        rule("orig", r"regex: {pattern: 'NO, (?P<hit>DUMMY)!', field: original}", action="flag"),
    )
    text = "Not me, ＳＴＵＰＩＤ. NO, DUMMY!"
    spans = {(m.rule, m.text) for m in rules.evaluate(text).matches}
    assert spans == {("norm", "ＳＴＵＰＩＤ"), ("orig", "DUMMY")}
    assert rules.evaluate("That was a stupid idea.").status == "approved"


def test_length_condition() -> None:
    rules = rules_with(rule("long", "length: {gt: 20}", action="hold", category="spam"))
    assert rules.evaluate("x" * 21).status == "pending"
    assert rules.evaluate("x" * 20).status == "approved"


def test_links_condition_reports_each_link() -> None:
    rules = rules_with(rule("links", "links: {gte: 2}", action="hold", category="spam"))
    text = "see https://a.example/x and www.b.com now"
    verdict = rules.evaluate(text)
    assert verdict.status == "pending"
    assert [m.text for m in verdict.matches] == ["https://a.example/x", "www.b.com"]
    assert rules.evaluate("just https://a.example").status == "approved"


def test_caps_condition_needs_enough_letters() -> None:
    rules = rules_with(
        rule("caps", "caps: {ratio: {gte: 0.8}, min_letters: 10}", action="flag", category="spam")
    )
    assert rules.evaluate("THIS IS OUTRAGEOUS AND WRONG").status == "flagged"
    assert rules.evaluate("NATO AND EU").status == "approved"  # too few letters to be shouting
    assert rules.evaluate("This is outrageous and wrong").status == "approved"


def test_repeated_characters_condition() -> None:
    rules = rules_with(rule("rep", "repeated: {min: 6}", action="flag", category="spam"))
    verdict = rules.evaluate("nooooooo!!!")
    assert verdict.status == "flagged"
    assert verdict.matches[0].text == "ooooooo"
    assert rules.evaluate("noooo!!!").status == "approved"


def test_author_conditions() -> None:
    rules = rules_with(
        rule("new", "author: {account_age_days: {lt: 1}}", action="flag", category="spam"),
        rule("offender", "author: {rejected_count: {gte: 3}}", action="hold", category="other"),
    )
    assert rules.evaluate("hi", AuthorFacts(account_age_days=0.5)).status == "flagged"
    assert rules.evaluate("hi", AuthorFacts(account_age_days=30)).status == "approved"
    assert rules.evaluate("hi", AuthorFacts(account_age_days=None)).status == "approved"
    assert rules.evaluate("hi", AuthorFacts(30, 10, 3)).status == "pending"


def test_score_thresholds() -> None:
    rules = rules_with(rule("ml", "score: {threat: {gte: 0.8}}", action="hold", category="threat"))
    assert rules.evaluate("x", scores={"threat": 0.85}).status == "pending"
    assert rules.evaluate("x", scores={"threat": 0.5}).status == "approved"
    assert rules.evaluate("x", scores=None).status == "approved"
    assert rules.evaluate("x", scores={"threat": 0.85}).scores == {"threat": 0.85}


def test_all_any_not_compose() -> None:
    rules = rules_with(
        rule(
            "combo",
            """
            all:
              - any:
                  - words: [frak]
                  - words: [gorram]
              - not:
                  author: {comment_count: {gte: 100}}
            """,
            action="hold",
        )
    )
    assert rules.evaluate("gorram", AuthorFacts(10, 5, 0)).status == "pending"
    assert rules.evaluate("gorram", AuthorFacts(10, 500, 0)).status == "approved"
    assert rules.evaluate("nothing", AuthorFacts(10, 5, 0)).status == "approved"


def test_several_keys_in_one_condition_must_all_hold() -> None:
    rules = rules_with(
        rule("both", "{links: {gte: 1}, author: {account_age_days: {lt: 1}}}", action="hold", category="spam")
    )
    assert rules.evaluate("www.x.com", AuthorFacts(0.1)).status == "pending"
    assert rules.evaluate("www.x.com", AuthorFacts(5)).status == "approved"


def test_strongest_action_wins_and_every_hit_is_recorded() -> None:
    rules = rules_with(
        rule("flagger", "words: [frak]", action="flag", priority="1"),
        rule("rejecter", "words: [gorram]", action="reject", priority="1"),
        rule("holder", "words: [smeg]", action="hold", priority="9"),
        rule("approver", "words: [shiny]", action="approve"),
    )
    verdict = rules.evaluate("frak gorram smeg shiny")
    assert verdict.status == "rejected"
    assert not verdict.visible
    assert [m.rule for m in verdict.matches] == ["holder", "flagger", "rejecter", "approver"]
    assert rules.evaluate("frak").status == "flagged"
    assert rules.evaluate("frak").visible
    assert rules.evaluate("frak smeg").status == "pending"
    assert rules.evaluate("shiny").status == "approved"


def test_reason_template_fields() -> None:
    rules = rules_with(rule("r", "words: [frak]", reason="'{rule} / {site_rule} / {category} / {match}'"))
    assert rules.evaluate("oh FRAK").reasons == ["r / Keep it Clean / obscene / FRAK"]


def test_default_reason_names_the_site_rule() -> None:
    rules = rules_with(rule("r", "words: [frak]"))
    assert rules.evaluate("frak").reasons == ["Keep it Clean: obscene"]


def test_disabled_rule_is_skipped() -> None:
    rules = rules_with(rule("r", "words: [frak]", enabled="false"))
    assert rules.evaluate("frak").status == "approved"


def test_site_rule_title_is_cited() -> None:
    rules = rules_with(rule("r", "words: [frak]"))
    assert rules.evaluate("frak").matches[0].site_rule == "Keep it Clean"
