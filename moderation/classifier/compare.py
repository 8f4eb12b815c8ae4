"""Live model against a candidate, on the same labelled comments (`flask model compare`).

Both models run inside the whole verdict, with the same (live) rules, so "acted on" means what
the service would do: flag, hold or reject. Per category, a model acts when its score reaches
the lowest threshold at which a live rule acts on that category.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..pipeline import Pipeline
from ..verdict import Verdict
from .datasets import Example
from .heldout import format_limit

SERVICE = "service (whole verdict)"


class CachedVerdicts:
    """One pipeline's verdicts by text, so sets that share rows are scored once."""

    def __init__(self, pipeline: Pipeline, batch: int = 512) -> None:
        self.pipeline, self.batch = pipeline, batch
        self._seen: dict[str, Verdict] = {}

    def __call__(self, texts: Sequence[str]) -> list[Verdict]:
        """Verdicts for texts (the pipeline's ``assess_texts``, remembered)."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._seen))
        for start in range(0, len(todo), self.batch):
            chunk = todo[start : start + self.batch]
            self._seen.update(zip(chunk, self.pipeline.assess_texts(chunk), strict=True))
        return [self._seen[t] for t in texts]


def rates(labels: Sequence[bool], acted: Sequence[bool]) -> dict[str, Any]:
    """Precision and recall of acting, and the share acted on."""
    n = len(labels)
    positives = sum(labels)
    acted_count = sum(acted)
    hits = sum(1 for y, a in zip(labels, acted, strict=True) if y and a)
    return {
        "n": n,
        "positives": positives,
        "acted": acted_count,
        "precision": hits / acted_count if acted_count else None,
        "recall": hits / positives if positives else None,
        "acted_rate": acted_count / n if n else None,
    }


@dataclass
class Comparison:
    """Per measure (the service, then each category), each model's rates; and status changes."""

    title: str
    n: int
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)  # "approved->flagged" -> count

    @property
    def changed_total(self) -> int:
        """Comments whose status differs between the two models."""
        return sum(self.changed.values())

    def to_dict(self) -> dict[str, Any]:
        """For --json."""
        return {
            "title": self.title,
            "n": self.n,
            "rows": self.rows,
            "status_changes": self.changed,
            "changed": self.changed_total,
        }


def compare(
    title: str,
    examples: Sequence[Example],
    decide: Mapping[str, Callable[[Sequence[str]], list[Verdict]]],
    thresholds: Mapping[str, float],
    categories: Sequence[str],
) -> Comparison:
    """Score the examples with each model (``decide``: name -> verdicts for texts, live first)."""
    texts = [e.text for e in examples]
    verdicts = {name: fn(texts) for name, fn in decide.items()}
    out = Comparison(title, len(examples))
    labelled = [i for i, e in enumerate(examples) if "toxicity" in e.labels]
    out.rows[SERVICE] = {
        name: rates(
            [examples[i].labels["toxicity"] == 1 for i in labelled],
            [got[i].status != "approved" for i in labelled],
        )
        for name, got in verdicts.items()
    }
    for category in categories:
        if category not in thresholds:
            continue
        rows = [i for i, e in enumerate(examples) if category in e.labels]
        if not rows:
            continue
        out.rows[category] = {
            name: rates(
                [examples[i].labels[category] == 1 for i in rows],
                [got[i].scores.get(category, 0.0) >= thresholds[category] for i in rows],
            )
            for name, got in verdicts.items()
        }
    first, *others = verdicts.values()
    if others:
        moves = Counter(
            f"{a.status}->{b.status}" for a, b in zip(first, others[0], strict=True) if a.status != b.status
        )
        out.changed = dict(moves.most_common())
    return out


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def format_comparison(result: Comparison, names: Sequence[str]) -> str:
    """The comparison as a Markdown table, then the status changes."""
    head = "| measure | n | positive |"
    line = "|---|---|---|"
    for name in names:
        head += f" {name} precision | {name} recall | {name} acted on |"
        line += "---|---|---|"
    lines = [f"{result.title}: {result.n:,} comments", "", head, line]
    for measure, by_model in result.rows.items():
        some = next(iter(by_model.values()))
        cells = f"| {measure} | {some['n']:,} | {some['positives']:,} |"
        for name in names:
            r = by_model[name]
            cells += f" {_pct(r['precision'])} | {_pct(r['recall'])} | {_pct(r['acted_rate'])} |"
        lines.append(cells)
    moves = ", ".join(f"{k.replace('->', ' → ')} {v:,}" for k, v in result.changed.items())
    lines.append("")
    lines.append(
        f"status would change on {result.changed_total:,} of {result.n:,} comments"
        + (f": {moves}" if moves else "")
    )
    return "\n".join(lines)


def _budget_value(row: Mapping[str, Any]) -> str:
    value = row["value"]
    if value is None:
        return "-"
    text = f"{value:.3f}" if row["measure"] == "auc_min" else f"{value:.2%}"
    if row.get("term"):
        text += f" ({row['term']})"
    return text + (" **misses**" if row["ok"] is False else "")


def format_budget_pair(live: Sequence[Mapping[str, Any]], candidate: Sequence[Mapping[str, Any]]) -> str:
    """The model card's budget and recall targets (``heldout.budget_table``) for both models."""
    lines = ["| measure | limit | n | live | candidate |", "|---|---|---|---|---|"]
    for mine, theirs in zip(live, candidate, strict=True):
        if mine["value"] is None and theirs["value"] is None:
            continue  # a set this recipe does not have
        values = (_budget_value(mine), _budget_value(theirs))
        cells = (mine["label"], format_limit(mine), f"{mine['n']:,}", *values)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
