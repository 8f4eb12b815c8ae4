"""A fixed, realistic comment stream for benchmarks: the shipped corpus, recombined.

Comments are drawn with a fixed seed; about a third are joined with one to three others so that
lengths run from a few words to several paragraphs, as on a real comment section.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from moderation.config import PROJECT_ROOT


def generate(n: int = 5000, seed: int = 7, corpus: Path = PROJECT_ROOT / "corpus") -> list[str]:
    """``n`` comment texts, the same for the same seed and corpus."""
    lines = [
        json.loads(line)["text"]
        for path in sorted(corpus.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [rng.choice(lines)]
        if rng.random() < 0.33:
            parts += rng.sample(lines, rng.randint(1, 3))
        out.append("\n\n".join(parts))
    return out
