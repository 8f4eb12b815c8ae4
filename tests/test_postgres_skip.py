"""Without a PostgreSQL server, its tests are skipped with the reason, except in CI, where they fail."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).parent
# A test that needs no database (it must still pass), a database test's PostgreSQL run and a module
# that only runs on PostgreSQL. (The SQLite run would migrate a template: seconds, for nothing here.)
SELECTED = [
    "tests/test_normalize.py::test_spans_map_back_to_original_text",
    "tests/test_cli.py::test_rules_check[postgresql]",
    "tests/test_concurrency_pg.py",
]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once it is closed


def _start(tmp: Path, ci: bool, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI" and not k.startswith("PYTEST_")}
    env["TEST_PG_ADMIN_URL"] = f"postgresql://postgres@127.0.0.1:{port}/test"
    if ci:
        env["CI"] = "true"
    args = ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rsE", f"--basetemp={tmp}"]
    return subprocess.Popen(
        [sys.executable, *args, *SELECTED],
        cwd=TESTS.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_unreachable_postgres_skips_outside_ci_and_fails_in_ci(tmp_path: Path) -> None:
    port = _closed_port()
    local = _start(tmp_path / "local", ci=False, port=port)
    ci = _start(tmp_path / "ci", ci=True, port=port)
    local_out, _ = local.communicate(timeout=300)
    ci_out, _ = ci.communicate(timeout=300)

    reason = f"PostgreSQL not reachable at postgresql://postgres@127.0.0.1:{port}/test"
    assert local.returncode == 0, local_out
    assert "1 passed, 7 skipped" in local_out, local_out
    assert reason in local_out and "set TEST_PG_ADMIN_URL or start it (CI fails instead)" in local_out

    assert ci.returncode == 1, ci_out
    assert "1 passed, 7 errors" in ci_out, ci_out
    assert reason in ci_out and "CI=true, so the PostgreSQL tests must run" in ci_out
    assert "skipped" not in ci_out
