"""Validate the evaluation suites and check that their text is original.

python corpus/suites/check.py [--datasets PATH]

Checks every line's fields, prints the counts per group/form/topic (for README.md), finds exact and
near duplicates inside the suites, and reports any 6-word shingle a suite line shares with the
training corpus (`corpus/*.jsonl`) or with the public data sets' CSVs (`../shared/datasets`, skipped
when absent). Exits 1 when anything needs fixing.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent
DATASETS = CORPUS.parent.parent / "shared" / "datasets"

FORMS = {"first_person", "plural", "positive", "neutral_fact", "question", "reporting", "policy"}
TOPICS = {
    "war",
    "terrorism",
    "crime",
    "court",
    "history",
    "sport",
    "figurative",
    "games",
    "police",
    "analysis",
}
SUITES = {
    "identity_statements.jsonl": {"min_lines": 650, "key": "group", "min_keys": 24},
    "news_violence.jsonl": {"min_lines": 330, "key": "topic", "min_keys": len(TOPICS)},
}
SHINGLE = 6
NEAR = 0.8  # token-set Jaccard at or above this counts as a near duplicate inside the suites
LIKE = 0.5  # ... and this, against the corpus or a data set, counts as a likely paraphrase
MIN_WORDS, MAX_WORDS = 2, 30


def normalise(text: str) -> list[str]:
    """Lower-case word tokens, punctuation dropped (so 'Hi, all!' == 'hi all')."""
    return re.findall(r"\w+", text.lower().replace("'", "").replace("\u2019", ""))


def shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    """All runs of SHINGLE consecutive tokens."""
    return {tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1)}


def is_text(cell: str) -> bool:
    """A cell holding at least three words (not an id, a number or a label tuple)."""
    return len(re.findall(r"[^\W\d_]+", cell)) >= 3


def validate(name: str, rows: list[dict]) -> list[str]:
    """Field errors of one suite."""
    problems = []
    for n, row in enumerate(rows, 1):
        where = f"{name}:{n}"
        text = row.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: empty text")
            continue
        if not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
            problems.append(f"{where}: {len(text.split())} words, want {MIN_WORDS}-{MAX_WORDS}")
        if row.get("expected") != "approved":
            problems.append(f"{where}: expected must be 'approved'")
        if name.startswith("identity"):
            want = {"text", "group", "form", "expected"}
            if not re.fullmatch(r"[a-z_]+", str(row.get("group", ""))):
                problems.append(f"{where}: bad group slug {row.get('group')!r}")
            if row.get("form") not in FORMS:
                problems.append(f"{where}: bad form {row.get('form')!r}")
        else:
            want = {"text", "topic", "expected"}
            if row.get("topic") not in TOPICS:
                problems.append(f"{where}: bad topic {row.get('topic')!r}")
        if set(row) != want:
            problems.append(f"{where}: fields {sorted(row)}, want {sorted(want)}")
    return problems


def duplicates(lines: list[tuple[str, str]]) -> list[str]:
    """Exact (after normalising) and near duplicates across all suite lines."""
    problems = []
    seen: dict[str, str] = {}
    token_sets = []
    for where, text in lines:
        key = " ".join(normalise(text))
        if key in seen:
            problems.append(f"exact duplicate: {where} = {seen[key]}: {text!r}")
        seen.setdefault(key, where)
        token_sets.append((where, text, set(key.split())))
    for (w1, t1, s1), (w2, t2, s2) in itertools.combinations(token_sets, 2):
        if len(s1) >= 3 and len(s2) >= 3 and len(s1 & s2) / len(s1 | s2) >= NEAR and s1 != s2:
            problems.append(f"near duplicate: {w1} {t1!r} ~ {w2} {t2!r}")
    return problems


def outside_texts(datasets: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(source, text) of every corpus comment and every dataset CSV cell, and notes on what was read."""
    texts: list[tuple[str, str]] = []
    notes = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts.extend((f"corpus/{path.name}", json.loads(line)["text"]) for line in fh if line.strip())
    notes.append(f"corpus/*.jsonl: {len(texts)} comments")
    if not datasets.is_dir():
        notes.append(f"{datasets}: absent, skipped")
        return texts, notes
    csv.field_size_limit(sys.maxsize)
    for path in sorted(datasets.rglob("*.csv")):
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            header = fh.readline()
            fh.seek(0)
            delimiter = ";" if header.count(";") > header.count(",") else ","
            before = len(texts)
            for record in csv.reader(fh, delimiter=delimiter):
                # Every cell of three words or more: text columns differ per set, and shorter or
                # numeric cells can neither share a shingle nor reach LIKE against a 4-word line.
                texts.extend((str(path.relative_to(datasets)), cell) for cell in record if is_text(cell))
        notes.append(f"{path.relative_to(datasets)}: {len(texts) - before} cells")
    return texts, notes


def jaccard(a: set[str], b: set[str]) -> float:
    """Token-set overlap."""
    return len(a & b) / len(a | b)


def borrowed(lines: list[tuple[str, str]], datasets: Path) -> tuple[list[str], list[str]]:
    """Suite lines that share a 6-word shingle with, or closely reword, a corpus or data set text."""
    owners: dict[tuple[str, ...], list[str]] = {}
    token_sets = []
    for where, text in lines:
        tokens = normalise(text)
        token_sets.append((where, set(tokens)))
        for shingle in shingles(tokens):
            owners.setdefault(shingle, []).append(where)
    # Index suite lines by their less common words, so each outside text is compared only with
    # suite lines it shares at least two of them with.
    frequency = Counter(token for _, tokens in token_sets for token in tokens)
    index: dict[str, list[int]] = {}
    for n, (_, tokens) in enumerate(token_sets):
        for token in tokens:
            if frequency[token] <= len(token_sets) // 20:
                index.setdefault(token, []).append(n)
    hits = []
    texts, notes = outside_texts(datasets)
    for source, text in texts:
        tokens = normalise(text)
        for shingle in shingles(tokens) & owners.keys():
            hits.append(f"shared shingle {' '.join(shingle)!r}: {', '.join(owners[shingle])} and {source}")
        outside = set(tokens)
        if len(outside) > 60:
            continue  # a long text cannot reach LIKE against a line of at most MAX_WORDS words
        candidates = Counter(n for token in outside for n in index.get(token, ()))
        for n, shared in candidates.items():
            where, mine = token_sets[n]
            if shared >= 2 and len(mine) >= 4 and jaccard(mine, outside) >= LIKE:
                hits.append(f"likely paraphrase: {where} ~ {source}: {text[:120]!r}")
    return sorted(set(hits)), notes


def table(title: str, counter: Counter) -> None:
    """Print one count table as Markdown."""
    print(f"\n| {title} | lines |\n|---|---|")
    for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"| {key} | {count} |")


def main() -> int:
    """Run every check; print counts and problems."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="folder of public data set CSVs")
    args = parser.parse_args()

    problems: list[str] = []
    lines: list[tuple[str, str]] = []
    for name, spec in SUITES.items():
        with (HERE / name).open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        problems += validate(name, rows)
        lines += [(f"{name}:{n}", row.get("text", "")) for n, row in enumerate(rows, 1)]
        keys = Counter(row.get(spec["key"]) for row in rows)
        if len(rows) < spec["min_lines"]:
            problems.append(f"{name}: {len(rows)} lines, want at least {spec['min_lines']}")
        if len(keys) < spec["min_keys"]:
            problems.append(f"{name}: {len(keys)} {spec['key']}s, want at least {spec['min_keys']}")
        words = [len(row.get("text", "").split()) for row in rows]
        lower = sum(row.get("text", "") == row.get("text", "").lower() for row in rows)
        print(f"\n## {name}: {len(rows)} lines, {len(keys)} {spec['key']}s")
        print(f"words per line: min {min(words)}, median {sorted(words)[len(words) // 2]}, max {max(words)}")
        print(f"short (<= 6 words): {sum(w <= 6 for w in words)}; all lower-case: {lower}")
        table(spec["key"], keys)
        if "form" in rows[0]:
            table("form", Counter(row.get("form") for row in rows))

    problems += duplicates(lines)
    hits, notes = borrowed(lines, args.datasets)
    problems += hits
    print("\n## originality check\n" + "\n".join(f"- {note}" for note in notes))
    print(f"\n## problems: {len(problems)}")
    for problem in problems:
        print(f"- {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
