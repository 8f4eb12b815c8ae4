"""`flask score`: verdicts for a file of comments, as JSON lines, nothing stored.

Kept apart from the other commands because it is the one a backfill starts again and again: the
app that serves only it (``create_app(web=False)``) imports none of the web pages.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
from flask.cli import with_appcontext

from ..models import Author
from ..pipeline import CommentContext, ParallelPipeline, available_cores
from ..verdict import Verdict
from ..workflow.submission import comment_context, find_authors
from .batch import read_records
from .extension import Services, services


@click.command("score")
@with_appcontext
@click.argument("source", default="-", type=click.File("r", encoding="utf-8"))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "jsonl", "csv"]),
    default="auto",
    show_default=True,
    help="Input format; auto looks at the file name and first line.",
)
@click.option("--text-column", default="text", show_default=True, help="CSV column with the text.")
@click.option("--id-column", default="id", show_default=True, help="CSV column with the id, if any.")
@click.option(
    "--author-column", default="author", show_default=True, help="CSV column with the author's id, if any."
)
@click.option("--batch-size", default=256, show_default=True, help="Comments scored at once.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: every core this process may use). Output keeps the input order.",
)
def score_cli(
    source: IO[str],
    fmt: str,
    text_column: str,
    id_column: str,
    author_column: str,
    batch_size: int,
    jobs: int | None,
) -> None:
    """Write one verdict per input comment as JSON lines; nothing is stored.

    A record with an author id gets that author's ban or pre-moderation, as a submission would.
    The input is read as a stream: a file of any length runs in bounded memory.
    """
    name = getattr(source, "name", "-")
    svc = services()
    stream = read_records(source, fmt, Path(name).suffix, text_column, id_column, author_column)
    records: Iterator[dict[str, Any]] = stream

    def batches() -> Iterator[tuple[list[CommentContext], list[tuple[Any, ...]]]]:
        while batch := list(itertools.islice(records, batch_size)):
            yield _contexts(svc, batch), [(r["id"],) if "id" in r else () for r in batch]

    out = sys.stdout
    try:
        head = list(itertools.islice(stream, batch_size + 1))
        records = itertools.chain(head, stream)
        # An input of one batch is scored here: forking workers for it costs more than it saves.
        workers = 1 if len(head) <= batch_size else jobs or available_cores()
        with ParallelPipeline(svc.pipeline, workers) as parallel:
            for lines in parallel.stream_rendered(batches(), _json_lines):
                out.write(lines)
                out.flush()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def _json_lines(verdicts: list[Verdict], ids: list[tuple[Any, ...]]) -> str:
    """One JSON line per verdict, led by the record's id when it had one (made in the worker)."""
    out = []
    for verdict, has_id in zip(verdicts, ids, strict=True):
        line: dict[str, Any] = dict(verdict.to_dict())
        if has_id:
            line = {"id": has_id[0], **line}
        out.append(json.dumps(line, ensure_ascii=False) + "\n")
    return "".join(out)


def _contexts(svc: Services, batch: list[dict[str, Any]]) -> list[CommentContext]:
    known: dict[str, Author] = {}
    wanted = {r["author"] for r in batch if "author" in r}
    if wanted:
        with svc.sessions() as session:
            known = find_authors(session, wanted)
    return [comment_context(r["text"], known.get(r.get("author", ""))) for r in batch]
