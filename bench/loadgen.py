"""An HTTP load generator for POST /api/v1/comments, run in its own process.

    python -m bench.loadgen --url http://127.0.0.1:8000 --key KEY --mode saturate --seconds 10
    python -m bench.loadgen --url ... --key KEY --mode rate --rate 200 --seconds 10

Plain asyncio over keep-alive HTTP/1.1 connections (no client library in the way). In `rate`
mode requests are scheduled at fixed times and latency is measured from the scheduled time, so a
slow server cannot hide its queueing (no coordinated omission). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from urllib.parse import urlsplit

from bench.generate import generate


class Connection:
    """One keep-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, key: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        close = False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            if name.lower() == "connection" and value.strip().lower() == "close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(url: str, key: str, mode: str, seconds: float, rate: float, connections: int) -> dict:
    parts = urlsplit(url)
    texts = generate(4000, seed=11)
    run_id = uuid.uuid4().hex[:8]
    counter = 0
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0

    def body() -> bytes:
        nonlocal counter
        counter += 1
        text = texts[counter % len(texts)]
        return json.dumps(
            {
                "id": f"bench-{run_id}-{counter}",
                "text": text,
                "author": {"id": f"reader-{counter % 500}"},
                "article": {"id": f"a{counter % 20}"},
            }
        ).encode()

    async def one(conn: Connection, started: float) -> None:
        nonlocal errors
        try:
            status = await conn.post("/api/v1/comments", body(), key)
            statuses[status] = statuses.get(status, 0) + 1
            latencies.append((time.perf_counter() - started) * 1000)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            conn.writer = None

    pool = [Connection(parts.hostname or "127.0.0.1", parts.port or 80) for _ in range(connections)]
    begin = time.perf_counter()
    if mode == "saturate":

        async def worker(conn: Connection) -> None:
            while time.perf_counter() - begin < seconds:
                await one(conn, time.perf_counter())

        await asyncio.gather(*(worker(c) for c in pool))
    else:
        free: asyncio.Queue[Connection] = asyncio.Queue()
        for conn in pool:
            free.put_nowait(conn)
        tasks = []
        total = int(rate * seconds)

        async def scheduled(at: float) -> None:
            conn = await free.get()
            try:
                await one(conn, at)
            finally:
                free.put_nowait(conn)

        for i in range(total):
            at = begin + i / rate
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(scheduled(at)))
        await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - begin
    for conn in pool:
        if conn.writer is not None:
            conn.writer.close()
    acknowledged = sum(n for s, n in statuses.items() if 200 <= s < 300)
    return {
        "mode": mode,
        "seconds": round(elapsed, 2),
        "offered_rate": rate if mode == "rate" else None,
        "connections": connections,
        "sent": counter,
        "acknowledged": acknowledged,
        "statuses": statuses,
        "errors": errors,
        "throughput": round(acknowledged / elapsed, 1),
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "run_id": run_id,
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--mode", choices=("saturate", "rate"), default="saturate")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(
        json.dumps(asyncio.run(run(args.url, args.key, args.mode, args.seconds, args.rate, args.connections)))
    )


if __name__ == "__main__":
    main()
