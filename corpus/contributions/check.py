"""Validate the contribution corpus and check that its text is original.

python corpus/contributions/check.py [--datasets PATH]

Checks every line's fields and label values, prints the counts per file/label/kind/subtype/topic (for
README.md), checks the targets of issue 14, finds exact and near duplicates inside the corpus (same
normalised text, a shared 8-word shingle, or a token-set Jaccard of 0.8 or more), makes sure the
issue's acceptance sentence stays unseen, and reports any 6-word shingle a line shares with the
moderation corpus (`corpus/*.jsonl`), the evaluation suites (`corpus/suites/*.jsonl`) or the public
data sets' CSVs (`../shared/datasets`, skipped when absent). Exits 1 when anything needs fixing.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent
DATASETS = CORPUS.parent.parent / "shared" / "datasets"

LABELS = ("eyewitness", "background", "constructive")
KINDS = {"contribution", "hard_negative", "plain", "toxic"}
NEGATIVE_SUBTYPES = {
    "empty_anecdote",
    "unsupported_claim",
    "off_topic",
    "press_release",
    "hearsay",
    "reaction",
    "empty_eyewitness",
}
TOXIC_SUBTYPES = {"toxic_eyewitness", "toxic_background"}
TOPICS = {
    "politics",
    "war",
    "crime",
    "sport",
    "local",
    "business",
    "science",
    "religion",
    "health",
    "culture",
    "technology",
    "environment",
    "education",
    "transport",
    "weather",
    "other",
}
REQUIRED = {"text", "contribution", "kind", "topic", "article"}
OPTIONAL = {"subtype", "toxic"}
TARGETS = {"lines": 3000, "eyewitness": 700, "background": 600, "constructive": 700}
MIN_NEGATIVE, MIN_SHARE, MIN_TOXIC = 1300, 0.40, 250
# The acceptance test of issue 14: no line may contain it or share an 8-word run with it.
HELD_OUT = (
    "I was at the border crossing at Ubla last week; the queue of trucks stretched 4 km and "
    "the guards were letting no one through"
)
OWN_SHINGLE, OUTSIDE_SHINGLE = 8, 6
NEAR = 0.8  # token-set Jaccard at or above this counts as a near duplicate
MAX_WORDS = 400


def normalise(text: str) -> list[str]:
    """Lower-case word tokens, punctuation dropped (so 'Hi, all!' == 'hi all')."""
    return re.findall(r"\w+", text.lower().replace("'", "").replace("\u2019", ""))


def shingles(tokens: list[str], size: int) -> set[tuple[str, ...]]:
    """All runs of `size` consecutive tokens."""
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def is_text(cell: str) -> bool:
    """A cell holding at least three words (not an id, a number or a label tuple)."""
    return len(re.findall(r"[^\W\d_]+", cell)) >= 3


def validate(where: str, row: dict) -> list[str]:
    """Field errors of one line."""
    problems = []
    fields = set(row)
    if not fields >= REQUIRED or fields - REQUIRED - OPTIONAL:
        problems.append(f"{where}: fields {sorted(fields)}, want {sorted(REQUIRED)} + {sorted(OPTIONAL)}")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        return [*problems, f"{where}: empty text"]
    if text != text.strip() or len(text.split()) > MAX_WORDS:
        problems.append(f"{where}: untrimmed text or more than {MAX_WORDS} words")
    labels = row.get("contribution")
    if not isinstance(labels, list) or len(set(labels)) != len(labels) or not set(labels) <= set(LABELS):
        problems.append(f"{where}: bad contribution {labels!r}")
        labels = []
    kind, subtype, toxic = row.get("kind"), row.get("subtype"), row.get("toxic")
    if kind not in KINDS:
        problems.append(f"{where}: bad kind {kind!r}")
    elif kind == "contribution" and (not labels or "subtype" in row or "toxic" in row):
        problems.append(f"{where}: a contribution has labels and neither subtype nor toxic")
    elif kind == "plain" and (labels or "subtype" in row or "toxic" in row):
        problems.append(f"{where}: a plain line has no labels, subtype or toxic")
    elif kind == "hard_negative" and (subtype not in NEGATIVE_SUBTYPES or "toxic" in row):
        problems.append(f"{where}: hard negative with subtype {subtype!r} (or a toxic field)")
    elif kind == "toxic" and (labels or toxic is not True or subtype not in TOXIC_SUBTYPES):
        problems.append(f"{where}: a toxic line wants toxic: true, no labels, a toxic_* subtype")
    if row.get("topic") not in TOPICS:
        problems.append(f"{where}: bad topic {row.get('topic')!r}")
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", str(row.get("article", ""))):
        problems.append(f"{where}: bad article slug {row.get('article')!r}")
    return problems


def duplicates(lines: list[tuple[str, str]]) -> list[str]:
    """Exact (after normalising) and near duplicates across all lines, and any echo of HELD_OUT."""
    problems = []
    seen: dict[str, str] = {}
    owners: dict[tuple[str, ...], str] = {}
    held_out = shingles(normalise(HELD_OUT), OWN_SHINGLE)
    sized = []
    for where, text in lines:
        tokens = normalise(text)
        key = " ".join(tokens)
        if key in seen:
            problems.append(f"exact duplicate: {where} = {seen[key]}: {text!r}")
            continue
        seen[key] = where
        own = shingles(tokens, OWN_SHINGLE)
        if own & held_out or " ".join(normalise(HELD_OUT)) in key:
            problems.append(f"echoes the issue's held-out test sentence: {where}: {text!r}")
        for shingle in sorted(own):
            other = owners.setdefault(shingle, where)
            if other != where:
                problems.append(f"near duplicate (shared {' '.join(shingle)!r}): {where} ~ {other}")
                break
        sized.append((len(set(tokens)), where, set(tokens)))
    # Jaccard >= NEAR needs the smaller set to hold at least NEAR of the larger one: sort by size and
    # compare each line only with the lines not much bigger than it.
    sized.sort(key=lambda item: item[0])
    for i, (size, where, tokens) in enumerate(sized):
        if size < 3:
            continue
        for other_size, other, other_tokens in sized[i + 1 :]:
            if size < NEAR * other_size:
                break
            if len(tokens & other_tokens) >= NEAR * len(tokens | other_tokens):
                problems.append(f"near duplicate (Jaccard): {where} ~ {other}")
    return problems


def outside_texts(datasets: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(source, text) of every moderation corpus and suite line and every data set CSV cell."""
    texts: list[tuple[str, str]] = []
    notes = []
    for pattern in ("*.jsonl", "suites/*.jsonl"):
        before = len(texts)
        for path in sorted(CORPUS.glob(pattern)):
            with path.open(encoding="utf-8") as fh:
                name = str(path.relative_to(CORPUS.parent))
                texts.extend((name, json.loads(line)["text"]) for line in fh if line.strip())
        notes.append(f"corpus/{pattern}: {len(texts) - before} comments")
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
                texts.extend((str(path.relative_to(datasets)), cell) for cell in record if is_text(cell))
        notes.append(f"{path.relative_to(datasets)}: {len(texts) - before} cells")
    return texts, notes


def borrowed(lines: list[tuple[str, str]], datasets: Path) -> tuple[list[str], list[str]]:
    """Lines that share a 6-word shingle with a moderation corpus, suite or data set text."""
    owners: dict[tuple[str, ...], list[str]] = {}
    for where, text in lines:
        for shingle in shingles(normalise(text), OUTSIDE_SHINGLE):
            owners.setdefault(shingle, []).append(where)
    hits = set()
    texts, notes = outside_texts(datasets)
    for source, text in texts:
        for shingle in shingles(normalise(text), OUTSIDE_SHINGLE) & owners.keys():
            hits.add(f"shared shingle {' '.join(shingle)!r}: {', '.join(owners[shingle])} and {source}")
    return sorted(hits), notes


def table(title: str, counter: Counter) -> None:
    """Print one count table as Markdown."""
    print(f"\n| {title} | lines |\n|---|---|")
    for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        print(f"| {key} | {count:,} |")


def targets(rows: list[dict]) -> list[str]:
    """Shortfalls against the corpus targets of issue 14."""
    problems = []
    labels = Counter(label for row in rows for label in row.get("contribution", []))
    for name, want in TARGETS.items():
        have = len(rows) if name == "lines" else labels[name]
        if have < want:
            problems.append(f"target: {have} {name}, want at least {want}")
    negative = sum(row.get("kind") in {"hard_negative", "toxic"} for row in rows)
    toxic = sum(row.get("kind") == "toxic" for row in rows)
    if negative < MIN_NEGATIVE or negative < MIN_SHARE * len(rows):
        problems.append(f"target: {negative} hard negatives, want {MIN_NEGATIVE} and {MIN_SHARE:.0%}")
    if toxic < MIN_TOXIC:
        problems.append(f"target: {toxic} toxic lines, want at least {MIN_TOXIC}")
    return problems


def main() -> int:
    """Run every check; print counts and problems."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS, help="folder of public data set CSVs")
    args = parser.parse_args()

    problems: list[str] = []
    rows: list[dict] = []
    lines: list[tuple[str, str]] = []
    files: Counter = Counter()
    for path in sorted(HERE.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for n, raw in enumerate(fh, 1):
                where = f"{path.name}:{n}"
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as error:
                    problems.append(f"{where}: not JSON ({error})")
                    continue
                if not isinstance(row, dict):
                    problems.append(f"{where}: not an object")
                    continue
                problems += validate(where, row)
                rows.append(row)
                lines.append((where, str(row.get("text", ""))))
                files[path.name] += 1

    words = sorted(len(text.split()) for _, text in lines)
    lower = sum(text == text.lower() for _, text in lines)
    articles = len({row.get("article") for row in rows})
    print(f"## {len(rows):,} lines in {len(files)} files, {articles} articles")
    if words:
        print(f"words per line: min {words[0]}, median {words[len(words) // 2]}, max {words[-1]}")
        print(f"short (<= 6 words): {sum(w <= 6 for w in words)}; over 60: {sum(w > 60 for w in words)}")
        print(f"all lower-case: {lower}")
    table("file", files)
    table("label", Counter(label for row in rows for label in row.get("contribution", [])))
    table("label set", Counter("+".join(row.get("contribution", [])) or "(none)" for row in rows))
    table("kind", Counter(row.get("kind") for row in rows))
    table("subtype", Counter(row["subtype"] for row in rows if "subtype" in row))
    table("topic", Counter(row.get("topic") for row in rows))

    problems += targets(rows)
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
