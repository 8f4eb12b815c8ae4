"""Labeled comments: the shipped corpus, Jigsaw-format CSVs and evaluation data sets.

Every reader yields ``Example``s whose ``labels`` maps a category to 0 or 1;
a category a data set does not label is absent (and not scored against).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..categories import SCORED_CATEGORIES
from ..config import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "corpus"
LABELS = tuple(c for c in SCORED_CATEGORIES if c != "toxicity")
FORMATS = ("auto", "project", "jigsaw", "jigsaw_balanced", "toxic_spans", "bias_madlibs", "davidson", "ethos")

csv.field_size_limit(10_000_000)


@dataclass(frozen=True, slots=True)
class Example:
    """One labeled comment."""

    text: str
    labels: dict[str, int]
    group: str = ""  # where the row comes from (splits are drawn per group)
    key: str = ""  # the row's id within its group (a post id, or a hash of the text)
    kind: str = ""  # the corpus's kind: toxic, clean or hard_negative


class DatasetError(ValueError):
    """A data file is not in a format we read."""


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """The shipped corpus files, in a fixed order."""
    return sorted(directory.glob("*.jsonl"))


def files_sha256(paths: list[Path]) -> str:
    """One hash over the names and contents of files (the corpus fingerprint)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def read_project(path: Path) -> Iterator[Example]:
    """The project's JSON lines: ``{"text", "labels": [category, ...]}``; [] means clean."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text, labels = record["text"], record["labels"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DatasetError(f"{path}:{number}: expected {{'text', 'labels'}} ({exc})") from None
            unknown = set(labels) - set(SCORED_CATEGORIES)
            if unknown:
                raise DatasetError(f"{path}:{number}: unknown labels {sorted(unknown)}")
            marks = {c: int(c in labels) for c in LABELS}
            marks["toxicity"] = int(bool(labels))
            yield Example(text, marks, kind=str(record.get("kind", "")))


def _flag(row: dict[str, str], column: str, threshold: float = 0.5) -> int:
    return int(float(row[column] or 0) >= threshold)


def jigsaw_labels(row: dict[str, str]) -> dict[str, int]:
    """Jigsaw's columns as the six categories (toxic or severe_toxic, or any other mark, is toxicity)."""
    labels = {
        "obscene": _flag(row, "obscene"),
        "threat": _flag(row, "threat"),
        "insult": _flag(row, "insult"),
        "identity_attack": _flag(row, "identity_hate"),
    }
    labels["toxicity"] = int(_flag(row, "toxic") or _flag(row, "severe_toxic") or any(labels.values()))
    return labels


def _csv_columns(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return next(csv.reader([first], delimiter=delimiter), [])


def read_csv_dataset(path: Path, fmt: str) -> Iterator[Example]:
    """Jigsaw's training CSV and the evaluation sets in ../shared/datasets."""
    with path.open(encoding="utf-8", newline="") as handle:
        yield from _read_rows(csv.DictReader(handle, delimiter=";" if fmt == "ethos" else ","), path, fmt)


def _read_rows(rows: Iterator[dict[str, str]], path: Path, fmt: str) -> Iterator[Example]:
    if fmt == "jigsaw":
        for row in rows:
            yield Example(row["comment_text"], jigsaw_labels(row))
    elif fmt == "jigsaw_balanced":
        for row in rows:
            marks = {
                "toxicity": _flag(row, "toxic"),
                "threat": _flag(row, "threat"),
                "insult": _flag(row, "insult"),
                "identity_attack": _flag(row, "discrimination"),
            }
            yield Example(row["comment"], marks)
    elif fmt == "toxic_spans":
        for row in rows:
            marks = {
                "toxicity": 1,
                "threat": _flag(row, "frac_threat"),
                "identity_attack": _flag(row, "frac_identity_based_attack"),
                "insult": _flag(row, "frac_insult"),
                "obscene": _flag(row, "frac_profane_obscene"),
            }
            yield Example(row["comment_text"], marks)
    elif fmt == "bias_madlibs":
        for row in rows:
            yield Example(row["Text"], {"toxicity": int(row["Label"] == "BAD")})
    elif fmt == "davidson":  # class 0 hate speech, 1 offensive, 2 neither
        for row in rows:
            yield Example(
                row["tweet"],
                {"toxicity": int(row["class"] != "2"), "identity_attack": int(row["class"] == "0")},
            )
    elif fmt == "ethos":
        for row in rows:
            yield Example(row["comment"], {"toxicity": int(float(row["isHate"]) >= 0.5)})
    else:
        raise DatasetError(f"{path}: unknown format {fmt!r}")


def detect_format(path: Path) -> str:
    """Guess a file's format from its name and columns."""
    if path.suffix in (".jsonl", ".ndjson"):
        return "project"
    columns = _csv_columns(path)
    if {"comment_text", "toxic", "identity_hate"} <= set(columns):
        return "jigsaw"
    if {"comment", "toxic", "discrimination"} <= set(columns):
        return "jigsaw_balanced"
    if {"comment_text", "frac_threat"} <= set(columns):
        return "toxic_spans"
    if {"Text", "Label"} <= set(columns):
        return "bias_madlibs"
    if {"tweet", "class", "hate_speech"} <= set(columns):
        return "davidson"
    if {"comment", "isHate"} <= set(columns):
        return "ethos"
    raise DatasetError(f"{path}: cannot tell the format from columns {columns}; pass --format")


def read_dataset(path: Path, fmt: str = "auto") -> list[Example]:
    """Read a labeled file in any supported format."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "project":
        return list(read_project(path))
    return list(read_csv_dataset(path, fmt))


def read_corpus(directory: Path = CORPUS_DIR) -> list[Example]:
    """The shipped training corpus."""
    files = corpus_files(directory)
    if not files:
        raise DatasetError(f"no corpus files (*.jsonl) in {directory}")
    return [example for path in files for example in read_project(path)]
