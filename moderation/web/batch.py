"""Reading comments in bulk (JSON lines or CSV) for backfills and evaluation."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from typing import IO, Any

# A JSON line can spell a lone surrogate (backslash-u d800): not text, and nothing downstream can encode it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _sniff(first: str, suffix: str) -> str:
    if suffix.lower() in (".csv", ".tsv"):
        return "csv"
    if suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "jsonl" if first.lstrip().startswith("{") else "csv"


def read_records(
    stream: IO[str],
    fmt: str = "auto",
    suffix: str = "",
    text_column: str = "text",
    id_column: str = "id",
    author_column: str = "author",
) -> Iterator[dict[str, Any]]:
    """Yield ``{"text", "id"?, "author"?}`` records; a bad line raises ValueError naming its line number.

    A JSON line's ``author`` is the site's author id, or an object with an ``id`` (as the API takes).
    """
    first = stream.readline()
    if not first:
        return
    if fmt == "auto":
        fmt = _sniff(first, suffix)

    def lines() -> Iterator[str]:
        yield first
        yield from stream

    if fmt == "jsonl":
        for number, line in enumerate(lines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError(f"line {number}: needs a JSON object with a string 'text'")
            if _SURROGATE.search(record["text"]):
                raise ValueError(f"line {number}: 'text' holds a lone surrogate, not valid Unicode")
            out: dict[str, Any] = {"text": record["text"]}
            if "id" in record:
                out["id"] = record["id"]
            author = record.get("author")
            if isinstance(author, dict):
                author = author.get("id")
            if author is not None:
                if not isinstance(author, str):
                    raise ValueError(
                        f"line {number}: 'author' must be an author id or an object with an 'id'"
                    )
                if _SURROGATE.search(author):
                    raise ValueError(f"line {number}: 'author' holds a lone surrogate, not valid Unicode")
                out["author"] = author
            yield out
        return
    reader = csv.DictReader(lines())
    if reader.fieldnames is None or text_column not in reader.fieldnames:
        raise ValueError(f"CSV has no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])})")
    for row in reader:
        out = {"text": row[text_column] or ""}
        if id_column in row:
            out["id"] = row[id_column]
        if row.get(author_column):
            out["author"] = row[author_column]
        yield out
