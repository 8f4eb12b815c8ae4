"""Reading and validating rules.yaml (and the word-list files it names)."""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..categories import RULE_CATEGORIES, Action
from .conditions import ConditionError, ConditionParser
from .reportpolicy import ReportPolicyError, parse_report_policy
from .ruleset import REASON_FIELDS, Rule, RuleSet, SiteRule
from .yamlsource import LineDict, line_of, load_yaml

TOP_KEYS = {"version", "site_rules", "wordlists", "rules", "reports"}
RULE_KEYS = {"id", "site_rule", "category", "action", "priority", "reason", "when", "enabled", "description"}
SITE_RULE_KEYS = {"title", "description"}
WORDLIST_KEYS = {"file", "words"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class RulesError(ValueError):
    """rules.yaml cannot be used; the message names the file, line and rule."""

    def __init__(self, path: str, line: int, message: str, rule: str | None = None) -> None:
        where = f"{path}:{line}" if line else path
        who = f" rule {rule!r}:" if rule else ""
        super().__init__(f"{where}:{who} {message}")
        self.path, self.line, self.rule, self.detail = path, line, rule, message


def _read_wordlist(path: Path, origin: str, line: int) -> list[str]:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise RulesError(origin, line, f"cannot read word list {str(path)!r}: {exc.strerror}") from None
    entries = []
    for raw in text.splitlines():
        entry = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("\\#") else raw.strip()[1:]
        if entry:
            entries.append(entry)
    return entries


def _check_keys(mapping: Any, allowed: set[str], path: str, what: str, rule: str | None = None) -> None:
    for key in mapping:
        if key not in allowed:
            raise RulesError(
                path,
                line_of(mapping, key),
                f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})",
                rule,
            )


def _check_reason(template: Any, path: str, line: int, rule: str) -> str:
    if not isinstance(template, str):
        raise RulesError(path, line, "reason must be a string", rule)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise RulesError(path, line, f"bad reason template: {exc}", rule) from None
    for name in fields:
        if name not in REASON_FIELDS:
            raise RulesError(
                path,
                line,
                f"reason uses unknown field {{{name}}} (use {', '.join(REASON_FIELDS)})",
                rule,
            )
    return template


def parse_rules(text: str, path: str = "rules.yaml", base: Path | None = None) -> RuleSet:
    """Validate and compile rules from YAML text; raises RulesError."""
    base = base or Path(path).resolve().parent
    try:
        doc = load_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise RulesError(path, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise RulesError(path, 0, f"invalid YAML: {exc}") from None
    if not isinstance(doc, LineDict):
        raise RulesError(path, 1, "the file must be a mapping with 'site_rules' and 'rules'")
    _check_keys(doc, TOP_KEYS, path, "the top level")
    if doc.get("version", 1) != 1:
        raise RulesError(path, line_of(doc, "version"), "only version 1 is supported")

    hasher = hashlib.sha256(text.encode())
    files: list[str] = []

    site_rules: dict[str, SiteRule] = {}
    raw_site = doc.get("site_rules")
    if not isinstance(raw_site, Mapping) or not raw_site:
        raise RulesError(path, line_of(doc, "site_rules", 1), "site_rules must map keys to titles")
    for key, spec in raw_site.items():
        line = line_of(raw_site, key)
        if isinstance(spec, str):
            spec = {"title": spec}
        if not isinstance(spec, Mapping) or not isinstance(spec.get("title"), str):
            raise RulesError(path, line, f"site rule {key!r} needs a title")
        _check_keys(spec, SITE_RULE_KEYS, path, f"site rule {key!r}")
        site_rules[str(key)] = SiteRule(str(key), spec["title"], str(spec.get("description", "")))

    wordlists: dict[str, list[str]] = {}
    raw_lists = doc.get("wordlists") or {}
    if not isinstance(raw_lists, Mapping):
        raise RulesError(path, line_of(doc, "wordlists"), "wordlists must be a mapping")
    for name, spec in raw_lists.items():
        line = line_of(raw_lists, name)
        if isinstance(spec, list):
            spec = {"words": spec}
        if not isinstance(spec, Mapping):
            raise RulesError(path, line, f"word list {name!r} needs 'file' or 'words'")
        _check_keys(spec, WORDLIST_KEYS, path, f"word list {name!r}")
        entries = [str(w) for w in spec.get("words", [])]
        if "file" in spec:
            file_path = (base / str(spec["file"])).resolve()
            entries += _read_wordlist(file_path, path, line_of(spec, "file", line))
            hasher.update(file_path.read_bytes())
            files.append(str(file_path))
        if not entries:
            raise RulesError(path, line, f"word list {name!r} is empty")
        wordlists[str(name)] = entries

    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list):
        raise RulesError(path, line_of(doc, "rules", 1), "rules must be a list")
    parser = ConditionParser(wordlists)
    rules: list[Rule] = []
    seen: set[str] = set()
    for raw in raw_rules:
        line = line_of(raw, default=line_of(raw_rules))
        if not isinstance(raw, Mapping):
            raise RulesError(path, line, "each rule must be a mapping")
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            raise RulesError(
                path, line, "each rule needs an id of lower-case letters, digits, '-', '_' or '.'"
            )
        if rule_id in seen:
            raise RulesError(path, line, "duplicate rule id", rule_id)
        seen.add(rule_id)
        _check_keys(raw, RULE_KEYS, path, "a rule", rule_id)
        for required in ("site_rule", "category", "action", "when"):
            if required not in raw:
                raise RulesError(path, line, f"missing {required!r}", rule_id)
        if raw["site_rule"] not in site_rules:
            raise RulesError(
                path,
                line_of(raw, "site_rule"),
                f"unknown site_rule {raw['site_rule']!r} (known: {', '.join(site_rules)})",
                rule_id,
            )
        if raw["category"] not in RULE_CATEGORIES:
            raise RulesError(
                path,
                line_of(raw, "category"),
                f"unknown category {raw['category']!r} (use {', '.join(RULE_CATEGORIES)})",
                rule_id,
            )
        try:
            action = Action(raw["action"])
        except ValueError:
            raise RulesError(
                path,
                line_of(raw, "action"),
                f"unknown action {raw['action']!r} (use {', '.join(a.value for a in Action)})",
                rule_id,
            ) from None
        priority = raw.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise RulesError(path, line_of(raw, "priority"), "priority must be a whole number", rule_id)
        reason = None
        if raw.get("reason") is not None:
            reason = _check_reason(raw["reason"], path, line_of(raw, "reason"), rule_id)
        try:
            condition = parser.parse(raw["when"], line_of(raw, "when"))
        except ConditionError as exc:
            raise RulesError(path, exc.line or line_of(raw, "when"), str(exc), rule_id) from None
        if raw.get("enabled", True) is False:
            continue
        rules.append(
            Rule(
                rule_id,
                site_rules[raw["site_rule"]],
                raw["category"],
                action,
                condition,
                priority,
                reason,
                line,
            )
        )
    try:
        reports = parse_report_policy(doc.get("reports"), line_of(doc, "reports", 1))
    except ReportPolicyError as exc:
        raise RulesError(path, exc.line, str(exc)) from None
    return RuleSet(rules, site_rules, hasher.hexdigest()[:12], path, tuple(files), reports)


def load_rules(path: str | Path) -> RuleSet:
    """Read and compile a rules file; raises RulesError naming the file and line."""
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise RulesError(str(path), 0, f"cannot read rules: {exc.strerror}") from None
    return parse_rules(text, str(path), path.resolve().parent)
