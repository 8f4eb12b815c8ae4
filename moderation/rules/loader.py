"""Reading and validating rules.yaml (and the word-list files it names)."""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..categories import FEATURE_CANDIDATE, RULE_CATEGORIES, Action
from .conditions import ConditionError, ConditionParser
from .limits import RuleLimits, setting_for
from .reportpolicy import ReportPolicyError, parse_report_policy
from .ruleset import MODES, REASON_FIELDS, Rule, RuleSet, SiteRule
from .yamlsource import LineDict, item_line, line_of, load_yaml

TOP_KEYS = {"version", "site_rules", "wordlists", "rules", "reports"}
RULE_KEYS = {
    "id",
    "site_rule",
    "category",
    "action",
    "priority",
    "reason",
    "when",
    "enabled",
    "description",
    "mode",
}
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


def _check_size(data: bytes, path: str, limits: RuleLimits) -> None:
    """Refuse a file longer than the limit, naming the line where it passes it."""
    if len(data) > limits.max_file_bytes:
        line = data[: limits.max_file_bytes].count(b"\n") + 1
        raise RulesError(
            path,
            line,
            f"the file passes {limits.max_file_bytes:,} bytes here "
            f"(the limit, {setting_for('max_file_bytes')})",
        )


def _read_limited(path: Path, limits: RuleLimits) -> bytes:
    """Read at most one byte past the limit, so a huge file is refused without loading it."""
    with path.open("rb") as handle:
        data = handle.read(limits.max_file_bytes + 1)
    _check_size(data, str(path), limits)
    return data


def _decode(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError(path, data[: exc.start].count(b"\n") + 1, "the file is not UTF-8 text") from None


def check_entry(entry: str, path: str, line: int, limits: RuleLimits) -> None:
    """Refuse a word-list entry longer than the limit."""
    if len(entry) > limits.max_entry_chars:
        raise RulesError(
            path,
            line,
            f"word-list entry of {len(entry):,} characters; the limit is {limits.max_entry_chars} "
            f"({setting_for('max_entry_chars')})",
        )


def check_count(count: int, name: str, path: str, line: int, limits: RuleLimits) -> None:
    """Refuse a word list with more entries than the limit."""
    if count > limits.max_list_entries:
        raise RulesError(
            path,
            line,
            f"word list {name!r} has more than {limits.max_list_entries:,} entries "
            f"(the limit, {setting_for('max_list_entries')})",
        )


def _read_wordlist(
    path: Path, name: str, origin: str, line: int, limits: RuleLimits
) -> tuple[list[str], bytes]:
    """The entries of a word-list file (and its bytes, for the version hash)."""
    try:
        data = _read_limited(path, limits)
    except OSError as exc:
        raise RulesError(origin, line, f"cannot read word list {str(path)!r}: {exc.strerror}") from None
    entries = []
    for number, raw in enumerate(_decode(data, str(path)).splitlines(), 1):
        entry = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("\\#") else raw.strip()[1:]
        if entry:
            check_entry(entry, str(path), number, limits)
            entries.append(entry)
            check_count(len(entries), name, str(path), number, limits)
    return entries, data


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


def parse_rules(
    text: str,
    path: str = "rules.yaml",
    base: Path | None = None,
    limits: RuleLimits | None = None,
    files_within: Path | None = None,
) -> RuleSet:
    """Validate and compile rules from YAML text; raises RulesError.

    ``limits`` default to the environment's (RULES_MAX_FILE_BYTES, WORDLIST_MAX_*). With
    ``files_within``, a word-list ``file`` outside that folder is refused (rules sent over the web
    must not read the server's other files).
    """
    base = base or Path(path).resolve().parent
    limits = limits or RuleLimits.from_env()
    _check_size(text.encode(), path, limits)
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
        words = spec.get("words") or []
        if not isinstance(words, list):
            raise RulesError(path, line, f"word list {name!r}: words must be a list")
        entries = [str(w) for w in words]
        for index, entry in enumerate(entries):
            check_entry(entry, path, item_line(words, index, line), limits)
        check_count(len(entries), str(name), path, line, limits)
        if "file" in spec:
            file_path = (base / str(spec["file"])).resolve()
            if files_within is not None and not file_path.is_relative_to(files_within.resolve()):
                raise RulesError(
                    path,
                    line_of(spec, "file", line),
                    f"word list {name!r}: the file must be in the rules' folder (or below it)",
                )
            more, data = _read_wordlist(file_path, str(name), path, line_of(spec, "file", line), limits)
            entries += more
            check_count(len(entries), str(name), path, line, limits)
            hasher.update(data)
            files.append(str(file_path))
        if not entries:
            raise RulesError(path, line, f"word list {name!r} is empty")
        wordlists[str(name)] = entries

    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list):
        raise RulesError(path, line_of(doc, "rules", 1), "rules must be a list")
    parser = ConditionParser(wordlists, limits)
    rules: list[Rule] = []
    shadow: list[Rule] = []
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
        feature = raw["action"] == FEATURE_CANDIDATE
        try:
            action = Action.APPROVE if feature else Action(raw["action"])
        except ValueError:
            known = ", ".join([*(a.value for a in Action), FEATURE_CANDIDATE])
            raise RulesError(
                path, line_of(raw, "action"), f"unknown action {raw['action']!r} (use {known})", rule_id
            ) from None
        priority = raw.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise RulesError(path, line_of(raw, "priority"), "priority must be a whole number", rule_id)
        mode = raw.get("mode", "live")
        if mode not in MODES:
            raise RulesError(
                path,
                line_of(raw, "mode"),
                f"unknown mode {mode!r} (use {', '.join(MODES)}: shadow rules are recorded, never acted on)",
                rule_id,
            )
        reason = None
        if raw.get("reason") is not None:
            reason = _check_reason(raw["reason"], path, line_of(raw, "reason"), rule_id)
        try:
            condition = parser.parse(raw["when"], line_of(raw, "when"))
        except ConditionError as exc:
            raise RulesError(path, exc.line or line_of(raw, "when"), str(exc), rule_id) from None
        if raw.get("enabled", True) is False:
            continue
        (shadow if mode == "shadow" else rules).append(
            Rule(
                rule_id,
                site_rules[raw["site_rule"]],
                raw["category"],
                action,
                condition,
                priority,
                reason,
                line,
                mode,
                feature,
            )
        )
    try:
        reports = parse_report_policy(doc.get("reports"), line_of(doc, "reports", 1))
    except ReportPolicyError as exc:
        raise RulesError(path, exc.line, str(exc)) from None
    return RuleSet(rules, site_rules, hasher.hexdigest()[:12], path, tuple(files), reports, shadow)


def load_rules(path: str | Path, limits: RuleLimits | None = None) -> RuleSet:
    """Read and compile a rules file; raises RulesError naming the file and line."""
    path = Path(path)
    limits = limits or RuleLimits.from_env()
    try:
        data = _read_limited(path, limits)
    except OSError as exc:
        raise RulesError(str(path), 0, f"cannot read rules: {exc.strerror}") from None
    return parse_rules(_decode(data, str(path)), str(path), path.resolve().parent, limits)
