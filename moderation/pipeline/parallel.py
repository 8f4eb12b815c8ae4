"""Running the pipeline on several processes: backfills (`flask score`) and `flask rules reapply`.

Scoring is CPU-bound Python, so threads only queue on the interpreter lock; processes use every
core. Workers are forked from a process that has already loaded the rules and the classifier,
so they start at once and share its memory until they write to it. They get a snapshot of the
rules in force when the pool starts: a reload during a backfill does not mix two rule versions
in one run. Results always come back in input order, and at most two batches per worker are in
flight, so a stream of any length runs in bounded memory.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from ..verdict import Verdict
from .context import CommentContext
from .run import Pipeline

# The pipeline a forked worker runs: set in the parent just before the workers are forked.
_worker_pipeline: Pipeline | None = None


T = TypeVar("T")
# What a worker turns a batch's verdicts into before sending them back, with what the caller
# gave along with the batch (a module-level function: it is sent to the worker by name).
Render = Callable[[list[Verdict], Any], T]


def _run_in_worker(comments: Sequence[CommentContext]) -> list[Verdict]:
    if _worker_pipeline is None:  # pragma: no cover - only reachable if forking failed to copy it
        raise RuntimeError("worker started without a pipeline")
    return _worker_pipeline.run(comments)


def _render_in_worker(render: Render[T], comments: Sequence[CommentContext], extra: Any) -> T:
    return render(_run_in_worker(comments), extra)


def available_cores() -> int:
    """Cores this process may run on (what `--jobs` defaults to)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class ParallelPipeline:
    """``pipeline.run`` spread over ``jobs`` worker processes; ``jobs=1`` runs in this process.

    Use as a context manager: the workers live as long as the ``with`` block.
    """

    def __init__(self, pipeline: Pipeline, jobs: int) -> None:
        if jobs < 1:
            raise ValueError("jobs must be at least 1")
        self.pipeline = pipeline.frozen()
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ParallelPipeline:
        if self.jobs > 1:
            global _worker_pipeline
            _worker_pipeline = self.pipeline
            self._pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("fork"))
            # Fork every worker now, before the caller opens database connections they would inherit.
            self._pool.submit(os.getpid).result()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _worker_pipeline
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        _worker_pipeline = None

    def run(self, comments: Sequence[CommentContext]) -> list[Verdict]:
        """Verdicts for one batch, its comments shared among the workers, in order."""
        if self._pool is None or len(comments) < 2:
            return self.pipeline.run(comments)
        size = -(-len(comments) // self.jobs)
        starts = range(0, len(comments), size)
        parts = [self._pool.submit(_run_in_worker, comments[i : i + size]) for i in starts]
        return [verdict for part in parts for verdict in part.result()]

    def stream(self, batches: Iterable[Sequence[CommentContext]]) -> Iterator[list[Verdict]]:
        """Verdicts for each batch of a stream, in order, with at most two batches per worker
        in flight (the stream is read only as fast as the workers score it)."""
        if self._pool is None:
            for batch in batches:
                yield self.pipeline.run(batch)
            return
        window: deque[Future[list[Verdict]]] = deque()
        for batch in batches:
            window.append(self._pool.submit(_run_in_worker, batch))
            if len(window) >= 2 * self.jobs:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

    def stream_rendered(
        self, batches: Iterable[tuple[Sequence[CommentContext], Any]], render: Render[T]
    ) -> Iterator[T]:
        """Like :meth:`stream`, but each batch's verdicts are turned into ``render(verdicts,
        extra)`` where they were made, for each ``(batch, extra)``: a worker sends back, say, the
        output lines instead of the verdicts, so the parent neither unpickles nor serialises them
        (on a small machine the parent shares the cores with the workers)."""
        if self._pool is None:
            for batch, extra in batches:
                yield render(self.pipeline.run(batch), extra)
            return
        window: deque[Future[T]] = deque()
        for batch, extra in batches:
            window.append(self._pool.submit(_render_in_worker, render, batch, extra))
            if len(window) >= 2 * self.jobs:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
