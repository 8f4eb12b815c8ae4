"""Print the corpus's counts per label, kind, subtype, topic and length (for corpus/README.md).

python corpus/stats.py
python corpus/stats.py --check corpus/identity_short.jsonl corpus/threats_short.jsonl [--datasets PATH]

With --check, validates the named corpus files instead:
- every line's fields and values, and the rules of the short files in SHORT (length, the label every
  toxic line carries, the hard-negative subtypes, a `group` on identity lines);
- identity groups: each more often clean than toxic, and enough of them;
- no line in one of bias_madlibs' template shapes with its identity terms (an evaluation set: "<Name>
  is a <adj> <identity>", "You are a <adj> <identity>", "Being <identity> is <adj>", ...);
- no exact or near duplicate among the checked lines;
- originality: no 6-word run shared with another corpus file (`corpus/*.jsonl` and the contribution
  corpus, `corpus/contributions/*.jsonl`), the evaluation suites (`corpus/suites/*.jsonl`) or the
  public data sets' CSVs (`../shared/datasets`, skipped when absent); a line under six words must not
  appear whole in any of them (nor, under four words, equal one); and no line closely rewords a suite
  line (word-set overlap of 0.5 or more).
Exits 1 when anything needs fixing.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent

LABELS = {"obscene", "sexual", "threat", "identity_attack", "insult"}
KINDS = {"toxic", "hard_negative", "clean"}
SUBTYPES = {
    "violence_news",
    "figurative",
    "identity_mention",
    "criticism",
    "mild_profanity",
    "eyewitness",
    "quoting",
    "sport",
}
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
    "other",
}
FIELDS = {"text", "labels", "kind", "topic", "subtype", "disguised", "group"}
# Files of short comments (issue 10): their length limit, the label every toxic line carries, the
# hard-negative subtypes they use and, for identity mentions, a `group` slug on every line.
SHORT = {
    "identity_short.jsonl": {
        "max_chars": 70,
        "toxic_label": "identity_attack",
        "subtypes": {"identity_mention"},
        "min_groups": 25,
    },
    "threats_short.jsonl": {
        "max_chars": 90,
        "toxic_label": "threat",
        "subtypes": {"violence_news", "figurative", "sport"},
    },
}
SHINGLE, WHOLE = 6, 4  # shared runs of six words; shorter lines must not appear whole (4+ words)
NEAR, LIKE = 0.8, 0.5  # token-set Jaccard: near duplicate inside the files; rewording of a suite line
MADLIBS = Path("bias_madlibs") / "bias_madlibs_77k.csv"  # an evaluation set: its shapes stay out of training


def counts() -> None:
    """Count and print."""
    rows = [json.loads(line) for path in sorted(HERE.glob("*.jsonl")) for line in path.open(encoding="utf-8")]
    labels, kinds, subtypes, topics, lengths = Counter(), Counter(), Counter(), Counter(), Counter()
    disguised = 0
    for row in rows:
        labels.update(row["labels"] or ["(clean)"])
        kinds[row.get("kind", "?")] += 1
        if row.get("subtype"):
            subtypes[row["subtype"]] += 1
        topics[row.get("topic", "?")] += 1
        disguised += bool(row.get("disguised"))
        words = len(row["text"].split())
        lengths[
            "< 15 words" if words < 15 else "15-60" if words <= 60 else "61-150" if words <= 150 else "> 150"
        ] += 1
    print(f"comments: {len(rows)}; with disguised spellings: {disguised}")
    for title, counter in (
        ("labels", labels),
        ("kinds", kinds),
        ("hard-negative subtypes", subtypes),
        ("topics", topics),
        ("lengths", lengths),
    ):
        print(f"\n{title}:")
        for key, count in counter.most_common():
            print(f"  {key:20s} {count:6d}")


def originality_helpers() -> ModuleType:
    """corpus/contributions/check.py: its tokeniser, shingles and reader of every outside text."""
    spec = importlib.util.spec_from_file_location("contribution_check", HERE / "contributions" / "check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def validate(where: str, row: object, rule: dict | None) -> list[str]:
    """Field errors of one line (and the rules of its short file, if any)."""
    if not isinstance(row, dict):
        return [f"{where}: not an object"]
    problems = []
    if not {"text", "labels", "kind", "topic"} <= set(row) or set(row) - FIELDS:
        problems.append(f"{where}: fields {sorted(row)}, want text, labels, kind, topic (+ {FIELDS})")
    text, labels, kind, subtype = row.get("text"), row.get("labels"), row.get("kind"), row.get("subtype")
    if not isinstance(text, str) or not text.strip() or text != text.strip():
        problems.append(f"{where}: empty or untrimmed text")
        text = ""
    if not isinstance(labels, list) or len(set(labels)) != len(labels) or not set(labels) <= LABELS:
        problems.append(f"{where}: bad labels {labels!r}")
        labels = []
    if kind not in KINDS or (kind == "toxic") != bool(labels):
        problems.append(f"{where}: kind {kind!r} with labels {labels!r}")
    if (kind == "hard_negative") != (subtype is not None) or subtype not in {*SUBTYPES, None}:
        problems.append(f"{where}: {kind} with subtype {subtype!r}")
    if row.get("topic") not in TOPICS:
        problems.append(f"{where}: bad topic {row.get('topic')!r}")
    if "disguised" in row and row["disguised"] is not True:
        problems.append(f"{where}: disguised is true or absent")
    if "group" in row and not re.fullmatch(r"[a-z]+(_[a-z]+)*", str(row["group"])):
        problems.append(f"{where}: bad group slug {row['group']!r}")
    if rule:
        if len(text) > rule["max_chars"]:
            problems.append(f"{where}: {len(text)} characters, want at most {rule['max_chars']}")
        if kind == "toxic" and rule["toxic_label"] not in labels:
            problems.append(f"{where}: a toxic line here carries {rule['toxic_label']!r}")
        if kind == "hard_negative" and subtype not in rule["subtypes"]:
            problems.append(f"{where}: subtype {subtype!r}, want one of {sorted(rule['subtypes'])}")
        if kind == "clean":
            problems.append(f"{where}: every clean line here is a hard negative with a subtype")
        if "min_groups" in rule and "group" not in row:
            problems.append(f"{where}: no group")
    return problems


def madlibs_shapes(datasets: Path) -> re.Pattern[str] | None:
    """bias_madlibs' templates with its identity terms and any one word for the name or adjective.

    "Ana is a kind gay", "You are a nice gay", "Being gay is fine.", "i am gay", "respect gay".
    """
    path = datasets / MADLIBS
    if not path.is_file():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [(row["Text"].lower().rstrip("."), row["Template"]) for row in csv.DictReader(fh)]
    adjectives = {text.split()[3] for text, template in rows if template == "you_occupation"}
    identities = {
        " ".join(words[4:])
        for words, template in ((text.split(), template) for text, template in rows)
        if template == "name_adj" and words[3] in adjectives
    }
    verbs = {text.split()[0] for text, template in rows if template == "verb_adj"}
    term = "(" + "|".join(sorted(map(re.escape, identities), key=len, reverse=True)) + ")"
    return re.compile(
        rf"^(\S+ is an? \S+ {term}|you are an? \S+ {term}|being {term} is \S+|i (am|hate) {term}"
        rf"|({'|'.join(sorted(verbs))}) {term})$"
    )


def groups(rows: list[tuple[str, dict]], min_groups: int) -> list[str]:
    """Print clean/toxic lines per group; each group must be more often clean than toxic."""
    table: dict[str, Counter] = {}
    for _, row in rows:
        table.setdefault(row.get("group", "?"), Counter())[row.get("kind")] += 1
    print("\n| group | clean | toxic |\n|---|---|---|")
    problems = []
    for group, kinds in sorted(table.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        print(f"| {group} | {kinds['hard_negative']} | {kinds['toxic']} |")
        if kinds["toxic"] >= kinds["hard_negative"]:
            problems.append(f"group {group}: {kinds['toxic']} toxic lines, {kinds['hard_negative']} clean")
    if len(table) < min_groups:
        problems.append(f"{len(table)} groups, want at least {min_groups}")
    return problems


def duplicates(lines: list[tuple[str, str]], helpers: ModuleType) -> list[str]:
    """Exact (after normalising) and near duplicates among the checked lines."""
    problems = []
    seen: dict[str, str] = {}
    token_sets = []
    for where, text in lines:
        tokens = helpers.normalise(text)
        key = " ".join(tokens)
        if key in seen:
            problems.append(f"exact duplicate: {where} = {seen[key]}: {text!r}")
        seen.setdefault(key, where)
        token_sets.append((where, set(tokens)))
    token_sets.sort(key=lambda item: len(item[1]))
    for i, (where, mine) in enumerate(token_sets):
        for other, theirs in token_sets[i + 1 :]:
            if len(mine) < NEAR * len(theirs):
                break
            if len(mine) >= 3 and len(mine & theirs) >= NEAR * len(mine | theirs):
                problems.append(f"near duplicate (Jaccard): {where} ~ {other}")
    return problems


def borrowed(lines: list[tuple[str, str]], skip: set[str], datasets: Path, helpers: ModuleType) -> list[str]:
    """Lines sharing a 6-word run with (or, when shorter, appearing whole in) an outside text."""
    wanted: dict[int, dict[tuple[str, ...], list[str]]] = {}
    tiny: dict[str, list[str]] = {}  # lines under WHOLE words: only an identical text counts
    suite_like = []
    for where, text in lines:
        tokens = helpers.normalise(text)
        size = min(SHINGLE, len(tokens))
        if size >= WHOLE:
            for shingle in helpers.shingles(tokens, size):
                wanted.setdefault(size, {}).setdefault(shingle, []).append(where)
        else:
            tiny.setdefault(" ".join(tokens), []).append(where)
        suite_like.append((where, set(tokens)))
    texts, notes = helpers.outside_texts(datasets)
    before = len(texts)
    for path in sorted((HERE / "contributions").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            texts.extend((f"corpus/contributions/{path.name}", json.loads(line)["text"]) for line in fh)
    notes.append(f"corpus/contributions/*.jsonl: {len(texts) - before} comments")
    hits = set()
    for source, text in texts:
        if source in skip:
            continue
        tokens = helpers.normalise(text)
        if " ".join(tokens) in tiny:
            hits.add(f"same text: {', '.join(tiny[' '.join(tokens)])} and {source}: {text!r}")
        for size, owners in wanted.items():
            for shingle in helpers.shingles(tokens, size) & owners.keys():
                hits.add(f"shared run {' '.join(shingle)!r}: {', '.join(owners[shingle])} and {source}")
        if source.startswith("corpus/suites/"):
            outside = set(tokens)
            for where, mine in suite_like:
                if len(mine) >= 4 and len(outside) >= 4 and len(mine & outside) >= LIKE * len(mine | outside):
                    hits.add(f"likely rewording of a suite line: {where} ~ {source}: {text!r}")
    print("\n## originality check\n" + "\n".join(f"- {note}" for note in notes))
    return sorted(hits)


def check(paths: list[Path], datasets: Path) -> int:
    """Validate the named corpus files; print their counts and problems."""
    helpers = originality_helpers()
    problems: list[str] = []
    lines: list[tuple[str, str]] = []
    for path in paths:
        rule = SHORT.get(path.name)
        rows = []
        with path.open(encoding="utf-8") as fh:
            for n, raw in enumerate(fh, 1):
                where = f"{path.name}:{n}"
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as error:
                    problems.append(f"{where}: not JSON ({error})")
                    continue
                problems += validate(where, row, rule)
                if isinstance(row, dict):
                    rows.append((where, row))
                    lines.append((where, str(row.get("text", ""))))
        chars = sorted(len(str(row.get("text", ""))) for _, row in rows)
        median = chars[len(chars) // 2]
        print(f"\n## {path.name}: {len(rows)} lines, {chars[0]}-{chars[-1]} characters (median {median})")
        print(f"disguised: {sum(bool(row.get('disguised')) for _, row in rows)}")
        for title, counter in (
            ("kind", Counter(row.get("kind") for _, row in rows)),
            ("labels", Counter("+".join(row.get("labels") or ["(clean)"]) for _, row in rows)),
            ("subtype", Counter(row["subtype"] for _, row in rows if "subtype" in row)),
            ("topic", Counter(row.get("topic") for _, row in rows)),
        ):
            print(f"\n| {title} | lines |\n|---|---|")
            for key, count in counter.most_common():
                print(f"| {key} | {count} |")
        if rule and "min_groups" in rule:
            problems += groups(rows, rule["min_groups"])
    shapes = madlibs_shapes(datasets)
    for where, text in lines:
        if shapes and shapes.match(" ".join(text.lower().rstrip(".!").split())):
            problems.append(f"{where}: bias_madlibs template shape: {text!r}")
    problems += duplicates(lines, helpers)
    skip = {f"corpus/{path.name}" for path in paths}
    problems += borrowed(lines, skip, datasets, helpers)
    print(f"\n## problems: {len(problems)}")
    for problem in problems:
        print(f"- {problem}")
    return 1 if problems else 0


def main() -> int:
    """Print the counts, or check the named files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", nargs="+", type=Path, metavar="FILE", help="corpus files to validate")
    parser.add_argument(
        "--datasets",
        type=Path,
        default=HERE.parent.parent / "shared" / "datasets",
        help="folder of public data set CSVs",
    )
    args = parser.parse_args()
    if not args.check:
        counts()
        return 0
    return check([path.resolve() for path in args.check], args.datasets)


if __name__ == "__main__":
    sys.exit(main())
