"""The false-positive budget and the recall it buys, measured on rows the model never saw.

The same sets serve ``flask model calibrate`` (on the calibration split, to choose thresholds),
``flask model evaluate`` and ``make bench`` (on the test split, to report). Every figure is about
the whole verdict — rules and model together — as the service gives it: "acted on" means flagged,
held or rejected; "hidden" means held or rejected.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from ..config import PROJECT_ROOT
from .datasets import Example
from .recipe import Recipe, Split

SUITES_DIR = PROJECT_ROOT / "corpus" / "suites"
SUITES = {
    "identity_statements": "identity-statement suite (corpus/suites/identity_statements.jsonl)",
    "news_violence": "news-violence suite (corpus/suites/news_violence.jsonl)",
}


@dataclass(frozen=True)
class Target:
    """One line of the budget: a set, what is measured on it, and the limit."""

    name: str
    label: str
    # "acted" or "hidden" (at most), "acted_min" (at least), "auc_min", "term_max", or "acted_info"
    # (reported beside the budget, with no limit of its own)
    measure: str
    limit: float | None
    sets: tuple[str, ...]


# The budget (clean sets: at most) and the recall it must buy (toxic sets: at least).
TARGETS: tuple[Target, ...] = tuple(
    Target(*fields)
    for fields in (
        ("ts_unmarked_acted", "unmarked ToxicSpans sentences acted on", "acted", 0.03, ("ts_unmarked",)),
        ("ts_unmarked_hidden", "unmarked ToxicSpans sentences hidden", "hidden", 0.005, ("ts_unmarked",)),
        ("jigsaw_clean_acted", "clean Jigsaw comments acted on", "acted", 0.01, ("jigsaw_clean",)),
        ("corpus_clean_acted", "corpus clean + hard negatives acted on", "acted", 0.02, ("corpus_clean",)),
        ("madlibs_acted", "bias_madlibs NOT_BAD acted on", "acted", 0.01, ("madlibs_not_bad",)),
        ("madlibs_term", "bias_madlibs NOT_BAD, worst term", "term_max", 0.02, ("madlibs_not_bad",)),
        ("identity_acted", "identity-statement suite acted on", "acted", 0.02, ("identity_statements",)),
        ("news_violence_acted", "news-violence suite acted on", "acted", 0.02, ("news_violence",)),
        ("ts_posts_acted", "ToxicSpans posts acted on", "acted_min", 0.70, ("ts_posts",)),
        ("ts_threat_acted", "ToxicSpans threat posts acted on", "acted_min", 0.80, ("ts_threat",)),
        ("ts_marked_acted", "sentences marked by half acted on", "acted_min", 0.60, ("ts_marked",)),
        ("auc_unmarked", "ROC-AUC posts vs unmarked sentences", "auc_min", 0.93, ("ts_posts", "ts_unmarked")),
        ("auc_jigsaw", "ROC-AUC posts vs clean Jigsaw", "auc_min", 0.96, ("ts_posts", "jigsaw_clean")),
        # Don't Threaten, where there are more threats than ToxicSpans' few: Jigsaw comments
        # labeled threat (real, few) and the corpus's threats (our own writing: a check, not evidence).
        ("jigsaw_threat_acted", "Jigsaw threat comments acted on", "acted_info", None, ("jigsaw_threat",)),
        ("corpus_threat_acted", "corpus threats acted on (ours)", "acted_info", None, ("corpus_threat",)),
    )
)
CLEAN_SETS = (
    "ts_unmarked",
    "jigsaw_clean",
    "corpus_clean",
    "madlibs_not_bad",
    "identity_statements",
    "news_violence",
)
# The measures that are a share of a set's rows acted on (bench.quality scores its peer on them too).
ACTED_MEASURES = ("acted", "acted_min", "acted_info")
TOXIC_SETS = (
    "ts_posts",
    "ts_threat",
    "ts_marked",
    "jigsaw_toxic",
    "corpus_toxic",
    "jigsaw_threat",
    "corpus_threat",
)


@dataclass
class EvalSets:
    """Named lists of texts (and, for bias_madlibs, each row's identity term)."""

    split: str
    texts: dict[str, list[str]] = field(default_factory=dict)
    terms: list[str] = field(default_factory=list)  # per madlibs_not_bad row


def _clean(e: Example) -> bool:
    return all(v == 0 for v in e.labels.values())


def madlibs_terms(rows: Sequence[Example]) -> list[str]:
    """The identity terms of bias_madlibs ("i am <term>" rows), longest first."""
    terms = {e.text[5:].strip().lower() for e in rows if e.text.lower().startswith("i am ")}
    return sorted(terms, key=len, reverse=True)


def term_of(text: str, terms: Sequence[str]) -> str:
    """The identity term a template sentence is about."""
    words = f" {text.lower().strip(' .')} "
    return next((t for t in terms if f" {t} " in words), "?")


def read_suite(path: Path) -> list[str]:
    """Clean rows of a project JSON-lines suite (rows with labels are not part of the budget)."""
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                if not record.get("labels"):
                    out.append(record["text"])
    return out


def build_sets(recipe: Recipe, split: Split, part: str, suites_dir: Path = SUITES_DIR) -> EvalSets:
    """The budget's sets from one split (the suites are evaluation only and used whole)."""
    sets = EvalSets(part)
    posts = split.rows.get("toxic_spans_posts", {}).get(part, [])
    sentences = split.rows.get("toxic_spans_sentences", {}).get(part, [])
    jigsaw = split.rows.get("jigsaw_sample", {}).get(part, [])
    corpus = split.rows.get("corpus", {}).get(part, [])
    madlibs = split.rows.get("bias_madlibs", {})
    sets.texts["ts_posts"] = [e.text for e in posts]
    sets.texts["ts_threat"] = [e.text for e in posts if e.labels.get("threat") == 1]
    sets.texts["ts_unmarked"] = [e.text for e in sentences if _clean(e)]
    sets.texts["ts_marked"] = [e.text for e in sentences if e.labels["toxicity"] == 1]
    sets.texts["jigsaw_clean"] = [e.text for e in jigsaw if _clean(e)]
    sets.texts["jigsaw_toxic"] = [e.text for e in jigsaw if e.labels["toxicity"] == 1]
    balanced = split.rows.get("jigsaw_balanced", {}).get(part, [])
    sets.texts["jigsaw_threat"] = [e.text for e in (*jigsaw, *balanced) if e.labels.get("threat") == 1]
    sets.texts["corpus_clean"] = [e.text for e in corpus if e.labels["toxicity"] == 0]
    sets.texts["corpus_toxic"] = [e.text for e in corpus if e.labels["toxicity"] == 1]
    sets.texts["corpus_threat"] = [e.text for e in corpus if e.labels.get("threat") == 1]
    if madlibs:
        everything = [e for rows in madlibs.values() for e in rows]
        terms = madlibs_terms(everything)
        # Never trained on: calibration may use every row outside the test split (per-term
        # rates need them, a term has only a few hundred sentences).
        parts = ("train", "calibration") if part == "calibration" else (part,)
        not_bad = [e.text for p in parts for e in madlibs.get(p, []) if e.labels["toxicity"] == 0]
        sets.texts["madlibs_not_bad"] = not_bad
        sets.terms = [term_of(t, terms) for t in not_bad]
    if part == "test":
        for name in SUITES:
            path = suites_dir / f"{name}.jsonl"
            if path.is_file():
                sets.texts[name] = read_suite(path)
    sets.texts = {k: v for k, v in sets.texts.items() if v}
    return sets


@dataclass
class Outcomes:
    """Per set: the model's scores and what the service did with each row."""

    scores: dict[str, np.ndarray]  # set -> (rows, categories)
    acted: dict[str, np.ndarray]
    hidden: dict[str, np.ndarray]
    fired: dict[str, list[list[str]]]  # set -> per row, the rules that matched


def run_service(
    sets: EvalSets, decide_many: Callable[[list[str]], list[Any]], categories: Sequence[str], batch: int = 512
) -> Outcomes:
    """Full verdicts (rules and model) for every set."""
    out = Outcomes({}, {}, {}, {})
    for name, texts in sets.texts.items():
        verdicts = [v for i in range(0, len(texts), batch) for v in decide_many(texts[i : i + batch])]
        out.scores[name] = np.array([[v.scores.get(c, 0.0) for c in categories] for v in verdicts])
        out.acted[name] = np.array([v.status != "approved" for v in verdicts])
        out.hidden[name] = np.array([not v.visible for v in verdicts])
        out.fired[name] = [[m.rule for m in v.matches] for v in verdicts]
    return out


def _auc(positive: np.ndarray, negative: np.ndarray) -> float | None:
    if not len(positive) or not len(negative):
        return None
    y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    return float(roc_auc_score(y, np.r_[positive, negative]))


def term_rates(acted: np.ndarray, terms: Sequence[str]) -> dict[str, float]:
    """Share acted on per identity term, worst first."""
    by: dict[str, list[bool]] = {}
    for flag, term in zip(acted, terms, strict=True):
        by.setdefault(term, []).append(bool(flag))
    rates = {t: float(np.mean(v)) for t, v in by.items() if len(v) >= 20}
    return dict(sorted(rates.items(), key=lambda kv: -kv[1]))


def _holds(target: Target, value: float | None) -> bool | None:
    """Whether a measured value keeps its limit (None: not measured, or reported with no limit)."""
    if value is None or target.limit is None:
        return None
    return value >= target.limit if target.measure.endswith("_min") else value <= target.limit


def budget_table(sets: EvalSets, outcomes: Outcomes, categories: Sequence[str]) -> list[dict[str, Any]]:
    """Every target with its measured value, n and whether it holds."""
    tox = list(categories).index("toxicity")
    rows = []
    for target in TARGETS:
        if any(s not in outcomes.acted for s in target.sets):
            rows.append({**target.__dict__, "value": None, "n": 0, "ok": None})
            continue
        first = target.sets[0]
        n = len(outcomes.acted[first])
        value: float | None
        extra: dict[str, str] = {}
        if target.measure in ACTED_MEASURES:
            value = float(outcomes.acted[first].mean())
        elif target.measure == "hidden":
            value = float(outcomes.hidden[first].mean())
        elif target.measure == "term_max":
            rates = term_rates(outcomes.acted[first], sets.terms)
            term, value = next(iter(rates.items()), ("-", 0.0))
            extra = {"term": term}
        else:
            value = _auc(outcomes.scores[first][:, tox], outcomes.scores[target.sets[1]][:, tox])
            n = n + len(outcomes.acted[target.sets[1]])
        rows.append({**target.__dict__, "value": value, "n": n, "ok": _holds(target, value), **extra})
    return rows


def rules_firing(outcomes: Outcomes, names: Sequence[str] = CLEAN_SETS) -> dict[str, dict[str, float]]:
    """Per clean set, the share of rows each rule matched (which rules cost the budget)."""
    out: dict[str, dict[str, float]] = {}
    for name in names:
        if name not in outcomes.fired:
            continue
        rows = outcomes.fired[name]
        counts: dict[str, int] = {}
        for fired in rows:
            for rule in set(fired):
                counts[rule] = counts.get(rule, 0) + 1
        out[name] = {r: c / len(rows) for r, c in sorted(counts.items(), key=lambda kv: -kv[1])}
    return out


def format_limit(row: Mapping[str, Any]) -> str:
    """A budget line's limit as the tables show it ("≤ 3.0%", "≥ 0.93", or "(report)")."""
    if row["limit"] is None:
        return "(report)"
    sign = "≥" if row["measure"].endswith("_min") else "≤"
    return f"{sign} {row['limit']:.2f}" if row["measure"] == "auc_min" else f"{sign} {row['limit']:.1%}"


def format_budget(rows: Sequence[Mapping[str, Any]], peer: Mapping[str, Any] | None = None) -> str:
    """The budget table as Markdown (with a peer's column when given)."""
    head = "| measure | limit | n | measured | holds |"
    line = "|---|---|---|---|---|"
    if peer is not None:
        head += " alt-profanity-check |"
        line += "---|"
    lines = [head, line]
    for row in rows:
        auc = row["measure"] == "auc_min"
        limit = format_limit(row)
        value = row["value"]
        shown = "-" if value is None else (f"{value:.3f}" if auc else f"{value:.2%}")
        if row.get("term"):
            shown += f" ({row['term']})"
        holds = {True: "yes", False: "**no**", None: "-"}[row["ok"]]
        text = f"| {row['label']} | {limit} | {row['n']:,} | {shown} | {holds} |"
        if peer is not None:
            other = peer.get(row["name"])
            text += " - |" if other is None else (f" {other:.3f} |" if auc else f" {other:.2%} |")
        lines.append(text)
    return "\n".join(lines)


def measure_split(
    recipe: Recipe,
    split: Split,
    part: str,
    decide_many: Callable[[list[str]], list[Any]],
    categories: Sequence[str],
) -> tuple[EvalSets, Outcomes, list[dict[str, Any]]]:
    """Build one split's sets, run the service on them, and fill in the budget table."""
    sets = build_sets(recipe, split, part)
    outcomes = run_service(sets, decide_many, categories)
    return sets, outcomes, budget_table(sets, outcomes, categories)
