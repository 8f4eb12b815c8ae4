"""Print the corpus's counts per label, kind, subtype, topic and length (for corpus/README.md).

python corpus/stats.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
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


if __name__ == "__main__":
    main()
