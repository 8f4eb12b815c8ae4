"""No comment can hold a worker: word lists run on RE2 in linear time, and the rules have a budget.

The backtracking patterns used before took cubic time in a run of one letter: "x" * 800 + "a"
took seconds against the shipped list, "x" * 10000 would have taken hours. The proof here has two
parts. One is structural and deterministic: every pattern the rules run on comment text is an RE2
automaton. The other runs the worst inputs we could build through the rules and the verdict path,
in a subprocess under a watchdog: it finishes in seconds now, and the watchdog (minutes, not a
speed assertion) only trips on catastrophic behaviour, which no thread of the test process could
interrupt since a backtracking search holds the interpreter lock.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import re2

from moderation.config import PROJECT_ROOT
from moderation.rules import load_rules, parse_rules
from moderation.rules.conditions import All, AnyOf, Not, Regex, RegexWords, Words
from moderation.text.wordmatch import LEET, MASKS, SEPARATORS

WATCHDOG_SECONDS = 240
LENGTH = 10_000  # MAX_TEXT_LENGTH, the longest comment the API accepts

# Lists a site could write without thinking of the cost (all accepted by `flask rules check`).
ADVERSARIAL_LISTS: dict[str, list[str]] = {
    "one_letter": ["aaaaaaaaaaaa"],
    "xxx": ["xxx"],
    "spaced_phrase": ["a a a a"],
    "leet_heavy": ["1337", "l33t", "5h1t", "a$$", "@a4^", "!i!i"],
    "separators_and_masks": ["a.-.b", "a**b", "x - x - x", "i!|1", "s#$t"],
    "prefixes_of_each_other": ["i", "ii", "iii", "iiiz", "iiiiiiiiiiiiiiiiiiiz", "i i i z"],
}


def adversarial_rules_yaml() -> str:
    """Every adversarial list in every match mode, as one rules file."""
    lists = "".join(f"  {name}: {json.dumps(entries)}\n" for name, entries in ADVERSARIAL_LISTS.items())
    rules = "".join(
        f"  - {{id: {name}-{mode}, site_rule: clean, category: obscene, action: flag, "
        f"when: {{words: {{list: {name}, match: {mode}}}}}}}\n"
        for name in ADVERSARIAL_LISTS
        for mode in ("word", "prefix", "suffix", "substring")
    )
    return f"site_rules: {{clean: Keep it Clean}}\nwordlists:\n{lists}rules:\n{rules}"


def worst_inputs(alphabet: str) -> dict[str, str]:
    """Comments of LENGTH characters built to make a matcher work hardest."""
    inputs = {}
    for char in dict.fromkeys(alphabet):
        run = char * LENGTH
        inputs[f"run {char!r}"] = run
        for last in ("a", "1", "!", "z"):  # a run that almost matches, then fails at the end
            if last != char:
                inputs[f"run {char!r} then {last!r}"] = run[:-1] + last
    for pair in ("a*", "a ", "a.", "a_", "i!", "!*", "*!", "s$", "1i", "x ", "f*", "a@", "i|", "t+", "x-"):
        inputs[f"alternating {pair!r}"] = (pair * LENGTH)[:LENGTH]
        inputs[f"alternating {pair!r} then 'z'"] = (pair * LENGTH)[: LENGTH - 1] + "z"
    for phrase in ("f u c k ", "s.h.i.t.", "fuck", "a$$ ", "x x x ", "iiiz ", "i i i z"):
        inputs[f"repeated {phrase!r}"] = (phrase * LENGTH)[:LENGTH]
    rng = random.Random(20261130)
    noise = LEET["a"] + LEET["i"] + LEET["s"] + MASKS + SEPARATORS + "aeiostxz"
    for n in range(3):
        inputs[f"random mix {n}"] = "".join(rng.choice(noise) for _ in range(LENGTH))
    return inputs


def shipped_alphabet() -> str:
    """Every character a shipped word-list pattern gives a meaning to."""
    rules = load_rules(PROJECT_ROOT / "rules.yaml")
    letters = {
        c
        for r in rules.rules
        if isinstance(r.condition, Words)
        for e in r.condition.matcher.entries
        for c in e
    }
    chars = sorted(c for c in letters if not c.isspace())
    return "".join(chars) + "".join(LEET.values()) + MASKS + SEPARATORS + "\u2028—"


def run_battery() -> dict[str, Any]:
    """Evaluate the worst inputs: shipped rules (with the classifier when its artifact is there)
    and the adversarial lists. Reports the slowest inputs; the caller only watches the clock."""
    from moderation.classifier import artifact
    from moderation.pipeline import Pipeline

    shipped = load_rules(PROJECT_ROOT / "rules.yaml")
    adversarial = parse_rules(adversarial_rules_yaml(), "adversarial.yaml")
    adversarial_alphabet = "".join(e for entries in ADVERSARIAL_LISTS.values() for e in entries)
    timings: dict[str, float] = {}
    statuses: dict[str, str] = {}
    issue = {"x * 800 + a": "x" * 800 + "a", "x * 10000": "x" * 10_000, "a * 601": "a" * 601}
    for label, rules, inputs in (
        ("issue", shipped, issue),
        ("issue, one letter", adversarial, issue),
        ("shipped", shipped, worst_inputs(shipped_alphabet())),
        ("adversarial", adversarial, worst_inputs(adversarial_alphabet + MASKS + SEPARATORS)),
    ):
        for name, text in inputs.items():
            started = time.perf_counter()
            statuses[f"{label}: {name}"] = rules.evaluate(text).status  # no budget: the search itself
            timings[f"{label}: {name}"] = time.perf_counter() - started
    # The whole verdict path (classifier scores, rules, spans) on a sample of the same inputs.
    scorer = artifact.load(artifact.DEFAULT_MODEL) if artifact.DEFAULT_MODEL.exists() else None
    pipeline = Pipeline(shipped, scorer, model_required=scorer is not None)
    sample = dict(list(worst_inputs("xai1$* ").items())[::7])
    for name, text in sample.items():
        started = time.perf_counter()
        statuses[f"verdict: {name}"] = pipeline.assess_texts([text])[0].status
        timings[f"verdict: {name}"] = time.perf_counter() - started
    slowest = sorted(timings.items(), key=lambda item: -item[1])[:5]
    return {
        "inputs": len(timings),
        "classifier": scorer is not None,
        "statuses": statuses,
        "slowest": [(name, round(seconds * 1000, 1)) for name, seconds in slowest],
        "total_seconds": round(sum(timings.values()), 2),
    }


def _patterns(condition: Any) -> list[Any]:
    """Every compiled pattern inside a condition tree."""
    if isinstance(condition, Words):
        return [condition.matcher.pattern]
    if isinstance(condition, Regex):
        return [condition.pattern]
    if isinstance(condition, RegexWords):
        return list(condition.patterns)
    if isinstance(condition, (All, AnyOf)):
        return [p for part in condition.parts for p in _patterns(part)]
    if isinstance(condition, Not):
        return _patterns(condition.part)
    return []


def test_every_text_pattern_of_the_rules_is_an_re2_automaton() -> None:
    for rules in (load_rules(PROJECT_ROOT / "rules.yaml"), parse_rules(adversarial_rules_yaml(), "a.yaml")):
        patterns = [p for rule in rules.rules for p in _patterns(rule.condition)]
        word_lists = [rule for rule in rules.rules if isinstance(rule.condition, Words)]
        assert word_lists and patterns
        assert all(isinstance(p, re2._Regexp) for p in patterns), [type(p) for p in patterns]


def test_the_matcher_does_not_use_pythons_backtracking_re() -> None:
    import moderation.text.wordmatch as wordmatch

    source = Path(wordmatch.__file__).read_text()
    assert "import re\n" not in source and "from re " not in source


def test_worst_inputs_finish_under_a_watchdog() -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, __file__],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=WATCHDOG_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"the worst inputs did not finish in {WATCHDOG_SECONDS} s: catastrophic matching"
        ) from None
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    print(
        f"{report['inputs']} worst inputs in {time.monotonic() - started:.1f} s; slowest: {report['slowest']}"
    )
    statuses = report["statuses"]
    # What the lists say about these inputs, whatever the time it took to say it.
    assert statuses["issue: x * 800 + a"] == "flagged"  # flooding (a repeated character), nothing more
    # "xxx" stretched (a shipped sexual-mention entry, flagged) and flooding; not rejected any more
    # since "xxx" is as often a placeholder ("Mr XXX") as porn.
    assert statuses["issue: x * 10000"] == "flagged"
    assert statuses["issue, one letter: a * 601"] == "flagged"  # "aaaaaaaaaaaa" stretched
    assert statuses["shipped: repeated 'f u c k '"] == "rejected"
    assert statuses["adversarial: run 'z'"] == "approved"


if __name__ == "__main__":
    print(json.dumps(run_battery()))
