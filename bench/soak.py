"""`make soak`: a bounded load on two service instances sharing a throwaway PostgreSQL, through a
killed worker, a database restart and a receiver outage; then the invariants a site relies on.

    python -m bench.soak               # the full soak (a few minutes)
    python -m bench.soak --quick       # a small one

What it starts, all on loopback and all stopped at the end (also when something fails):
- a PostgreSQL cluster of its own (`initdb` and `pg_ctl` in a temporary folder, on a free port:
  never the machine's shared server), migrated with `flask db upgrade`;
- two gunicorn masters with the production settings (`gunicorn.conf.py` when present), sharing
  that database;
- two `flask webhooks deliver` workers posting to a receiver in this process (bench/receiver.py).

The load: client threads round-robin over both instances with a mix of new comments (some toxic,
so they queue), re-posts of an id, two posts of a new id at once, reports from many readers
(also twenty readers on one comment at once), moderators taking queue items and deciding with the
revision they saw, decisions and undos on any comment, reads and `/score`. A client retries 503s
and connection errors with backoff on the next instance (every call here is safe to repeat); a
call is acknowledged when it got a 2xx.

The chaos, at set points of the load: `kill -9` of one gunicorn worker of instance 1; a database
outage (`pg_ctl stop`, a pause, `pg_ctl start`); a receiver outage (answering 503, then refusing
connections). After the load, the webhooks drain (with a deadline), then `verify` checks the
invariants. Writes bench/results/soak.md and soak.json; exits 1 when an invariant fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bench.pgcluster import Cluster, free_port
from bench.receiver import Receiver
from bench.soak_checks import database_state, markdown, summary, undelivered, verify
from bench.soak_load import Load, Plan
from moderation.config import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
GUNICORN_CONF = PROJECT_ROOT / "gunicorn.conf.py"


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Settings:
    """The size of the soak and when the chaos happens (fractions of the load issued)."""

    requests: int = 6000
    seconds: float = 75.0
    clients: int = 12
    workers: tuple[int, int] = (2, 1)
    threads: int = 16  # gunicorn.conf.py's: comments that arrive together are submitted as a group
    kill_at: float = 0.2
    db_at: float = 0.4
    db_down: float = 5.0
    db_stop_mode: str = "fast"
    outage_at: float = 0.6
    outage: float = 15.0
    drain: float = 180.0
    give_up_after: float = 90.0
    model: str | None = None
    seed: int = 7
    results: Path = RESULTS
    command: str = "python -m bench.soak"


QUICK = {
    "requests": 500,
    "seconds": 12.0,
    "clients": 6,
    "workers": (1, 1),
    "db_down": 2.0,
    "outage": 4.0,
    "drain": 90.0,
    "model": "none",
}


# -- processes -------------------------------------------------------------------


@dataclass
class Processes:
    """Everything the soak started, stopped in reverse order by ``stop_all``."""

    logdir: Path
    started: list[tuple[str, subprocess.Popen[bytes], TextIO]] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start a process, its output to ``logdir/name.log``."""
        out = (self.logdir / f"{name}.log").open("a")
        proc = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT)
        self.started.append((name, proc, out))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGTERM, then SIGKILL after 20 s; by process id, only our own children."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every process started, newest first."""
        for _, proc, out in reversed(self.started):
            try:
                self.stop(proc)
            finally:
                out.close()

    def logs(self) -> dict[str, Path]:
        """Each process's log file."""
        return {name: self.logdir / f"{name}.log" for name, _, _ in self.started}


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (a gunicorn master's workers)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def flask(args: list[str], env: dict[str, str]) -> str:
    """Run `flask --app app ...` and return its stdout."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def create_keys(url: str) -> dict[str, str]:
    """The site's `submit` key and three moderators' keys (what `flask api-key create` stores)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from moderation.accounts.apikeys import create_key
    from moderation.database import normalize_url

    engine = create_engine(normalize_url(url))
    with Session(engine) as session, session.begin():
        keys = {"site": create_key(session, "soak-site")}
        for i in range(3):
            keys[f"mod{i}"] = create_key(session, f"soak-mod-{i}", ("moderate",))
    engine.dispose()
    return keys


def gunicorn_command(port: int, workers: int, threads: int) -> list[str]:
    """The production command, with this soak's worker count and port."""
    command = [str(BIN / "gunicorn")]
    if GUNICORN_CONF.exists():
        command += ["-c", GUNICORN_CONF.name]
    return [
        *command,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        f"127.0.0.1:{port}",
        "app:app",
    ]


def wait_healthy(port: int, timeout: float = 240) -> None:
    """Wait until an instance answers its health check with 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the instance on port {port} did not become healthy")


# -- load ------------------------------------------------------------------------


@dataclass  # -- chaos -----------------------------------------------------------------------
@dataclass
class Chaos:
    """The three disruptions, each at its point of the load, and what was seen."""

    settings: Settings
    load: Load
    instance1: subprocess.Popen[bytes]
    instance1_port: int
    cluster: Cluster
    receiver: Receiver
    events: list[dict[str, Any]] = field(default_factory=list)
    db_window: tuple[float, float] | None = None
    outage_window: tuple[float, float] | None = None
    outage_wall: tuple[float, float] | None = None  # the same, as Unix times (webhook bodies' `at`)
    error: str | None = None

    def _wait_for(self, fraction: float) -> None:
        while self.load.progress < fraction and self.load.finished_at == 0.0:
            time.sleep(0.05)

    def note(self, what: str, **details: Any) -> None:
        """Record a timeline entry."""
        entry = {"t": round(self.load.now(), 2), "what": what, **details}
        self.events.append(entry)
        log(f"chaos t={entry['t']}s: {what} {details or ''}")

    def kill_worker(self) -> None:
        """`kill -9` one worker of instance 1 and time its replacement."""
        before = children(self.instance1.pid)
        if not before:
            self.note("no worker to kill")
            return
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()
        self.note("kill -9 worker of instance 1", pid=victim)
        deadline = started + 120
        while time.monotonic() < deadline:
            now = children(self.instance1.pid)
            if victim not in now and len(now) >= len(before):
                spawned = time.monotonic() - started
                break
            time.sleep(0.02)
        else:
            self.note("worker not replaced within 120 s")
            return
        wait_healthy(self.instance1_port, 120)
        self.note(
            "worker replaced",
            new_process_after_s=round(spawned, 3),
            instance_answering_after_s=round(time.monotonic() - started, 3),
        )

    def restart_database(self) -> None:
        """Stop the database, keep it down a while, start it again."""
        down = self.load.now()
        self.note(f"database stop (-m {self.settings.db_stop_mode})")
        self.cluster.stop(self.settings.db_stop_mode)
        time.sleep(self.settings.db_down)
        self.cluster.start()
        self.db_window = (down, self.load.now())
        self.note("database started", down_for_s=round(self.db_window[1] - down, 2))

    def receiver_outage(self) -> None:
        """The site's receiver answers 503 for half the outage, then refuses connections."""
        start, wall = self.load.now(), time.time()
        self.note("receiver answers 503")
        self.receiver.set_mode("error")
        time.sleep(self.settings.outage / 2)
        self.note("receiver refuses connections")
        self.receiver.set_mode("refuse")
        time.sleep(self.settings.outage / 2)
        self.receiver.set_mode("ok")
        self.outage_window = (start, self.load.now())
        self.outage_wall = (wall, time.time())
        self.note("receiver back")

    def run(self) -> None:
        """Each disruption when the load reaches its point."""
        try:
            plan = sorted(
                [
                    (self.settings.kill_at, self.kill_worker),
                    (self.settings.db_at, self.restart_database),
                    (self.settings.outage_at, self.receiver_outage),
                ],
                key=lambda step: step[0],
            )
            for at, step in plan:
                self._wait_for(at)
                step()
        except Exception as exc:  # reported as a failed invariant, never swallowed
            self.error = f"{type(exc).__name__}: {exc}"
            log(f"chaos failed: {self.error}")
            if self.receiver.mode != "ok":
                self.receiver.set_mode("ok")
            if not self.cluster.running():
                self.cluster.start()


# -- main ------------------------------------------------------------------------


def run(settings: Settings) -> dict[str, Any]:
    """Set everything up, load, disrupt, drain, verify, tear down; returns the report."""
    run_id = uuid.uuid4().hex[:8]
    settings.results.mkdir(parents=True, exist_ok=True)
    logdir = settings.results / "soak-logs"
    logdir.mkdir(exist_ok=True)
    for old in logdir.glob("*.log"):
        old.unlink()
    processes = Processes(logdir)
    cluster = Cluster()
    secret = f"soak-secret-{run_id}"
    receiver = Receiver(secret)
    phases: dict[str, float] = {}
    started = time.monotonic()
    try:
        log(f"throwaway PostgreSQL on port {cluster.port} in {cluster.root}")
        cluster.init()
        receiver.start()
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "SECRET_KEY": f"soak-{run_id}",
            "WEBHOOK_URL": receiver.url,
            "WEBHOOK_SECRET": secret,
            "WEBHOOK_RETRY_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            "API_RATE_LIMIT": "0",  # the invariants are about outages, not the per-key limit
        }
        if settings.model:
            env["MODERATION_MODEL"] = settings.model
        tools_env = {**env, "MODERATION_MODEL": "none"}  # migrations, keys and delivery never score
        flask(["db", "upgrade"], tools_env)
        keys = create_keys(cluster.url)
        ports = [free_port(), free_port()]
        commands = [
            gunicorn_command(port, w, settings.threads)
            for port, w in zip(ports, settings.workers, strict=True)
        ]
        instances = [processes.start(f"instance{i + 1}", cmd, env) for i, cmd in enumerate(commands)]
        workers = [
            processes.start(
                f"webhooks{i + 1}", [str(BIN / "flask"), "--app", "app", "webhooks", "deliver"], tools_env
            )
            for i in range(2)
        ]
        for port in ports:
            wait_healthy(port)
        phases["setup_s"] = round(time.monotonic() - started, 1)
        log(
            f"instances on ports {ports} healthy; "
            f"load: {settings.requests} operations over {settings.seconds:.0f} s"
        )

        plan = Plan(
            settings.requests, settings.seconds, settings.clients, settings.seed, settings.give_up_after
        )
        load = Load(plan, ports, keys, run_id)
        chaos = Chaos(settings, load, instances[0], ports[0], cluster, receiver)
        chaos_thread = threading.Thread(target=chaos.run, name="chaos", daemon=True)
        load_thread = threading.Thread(target=load.run, name="load", daemon=True)
        load_thread.start()
        while load.begin == 0.0:
            time.sleep(0.01)
        chaos_thread.start()
        load_thread.join()
        log(f"load done in {load.finished_at:.1f} s; waiting for the chaos to finish")
        chaos_thread.join()

        worker_deaths = []
        for i, proc in enumerate(workers):
            if proc.poll() is not None:
                worker_deaths.append(f"webhooks{i + 1} exited with status {proc.returncode}")
                workers[i] = processes.start(
                    f"webhooks{i + 1}-restarted",
                    [str(BIN / "flask"), "--app", "app", "webhooks", "deliver"],
                    tools_env,
                )
        log("draining webhooks ...")
        drain_started = time.monotonic()
        deadline = drain_started + settings.drain
        drained = False
        while time.monotonic() < deadline:
            if undelivered(cluster.url) == 0:
                drained = True
                break
            time.sleep(1)
        phases["drain_s"] = round(time.monotonic() - drain_started, 1)
        time.sleep(1.5)  # a delivery acknowledged just now may still be committing
        for proc in workers:
            processes.stop(proc)
        db = database_state(cluster.url, run_id)
        checks = verify(load, receiver, db, chaos, worker_deaths, processes.logs(), drained)
        postgres = cluster.bindir.parent.name
        return {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{os.cpu_count()} CPUs",
            "command": settings.command,
            "run_id": run_id,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()},
            "gunicorn": [" ".join(c[1:-3]) for c in commands],
            "postgres": postgres,
            "postgres_port": cluster.port,
            "passed": all(c.ok for c in checks),
            "checks": [asdict(c) for c in checks],
            "figures": {**summary(load, receiver, chaos, db), **phases},
        }
    finally:
        processes.stop_all()
        receiver.close()
        cluster.destroy()


def main(argv: list[str] | None = None) -> int:
    """Run the soak and write bench/results/soak.md and soak.json; 1 when an invariant fails."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small soak (about a minute)")
    parser.add_argument("--requests", type=int, help="operations in the load (default 6000)")
    parser.add_argument("--seconds", type=float, help="pace the operations over this long (default 75)")
    parser.add_argument("--clients", type=int, help="client threads (default 12)")
    parser.add_argument("--workers", help="gunicorn workers of instance 1 and 2, e.g. 2,1 (the default)")
    parser.add_argument("--db-down", type=float, help="seconds the database stays down (default 5)")
    parser.add_argument(
        "--db-stop-mode", choices=("fast", "immediate"), help="pg_ctl stop mode (default fast)"
    )
    parser.add_argument("--outage", type=float, help="seconds of receiver outage (default 15)")
    parser.add_argument("--model", help="MODERATION_MODEL for the instances ('none': rules only)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--results", type=Path, help="where soak.md and soak.json go (default bench/results)")
    args = parser.parse_args(argv)
    values: dict[str, Any] = dict(QUICK) if args.quick else {}
    for name in (
        "requests",
        "seconds",
        "clients",
        "db_down",
        "db_stop_mode",
        "outage",
        "model",
        "seed",
        "results",
    ):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.workers:
        first, second = (int(w) for w in args.workers.split(","))
        values["workers"] = (first, second)
    settings = Settings(
        **values, command=" ".join(["python -m bench.soak", *(argv if argv is not None else sys.argv[1:])])
    )

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    report = run(settings)
    settings.results.mkdir(parents=True, exist_ok=True)
    (settings.results / "soak.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (settings.results / "soak.md").write_text(markdown(report))
    for c in report["checks"]:
        log(f"{'pass' if c['ok'] else 'FAIL'}: {c['name']}: {c['detail']}")
    log(f"wrote {settings.results / 'soak.md'}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
