"""The benchmark report's figure relative to the peer measured in the same run."""

from __future__ import annotations

from bench.run import OURS, PEER, relative_to_peer


def test_our_figures_are_given_as_shares_of_the_peers_in_the_same_run() -> None:
    inprocess = {
        OURS: {"batch_per_second": 1_600.0, "p50_ms": 1.0},
        PEER: {"batch_per_second": 25_600.0, "p50_ms": 5.0},
    }
    line = relative_to_peer(inprocess)
    assert line is not None
    assert "batch rate 6.2% of its rate" in line
    assert "p50 0.20 times its p50" in line


def test_no_relative_figure_without_the_peer() -> None:
    assert relative_to_peer({OURS: {"batch_per_second": 1.0, "p50_ms": 1.0}}) is None


def test_the_http_row_is_the_median_run_with_every_run_beside_it() -> None:
    from bench.run import median_run

    def run(saturated: float, p99: float, lost: int) -> dict:
        return {"saturate": {"throughput": saturated, "lost": lost}, "rate": {"p99_ms": p99, "lost": 0}}

    row = median_run([run(777, 6.9, 0), run(541, 6.0, 1), run(539, 5.9, 0)])
    assert row["saturate"]["throughput"] == 541 and row["rate"]["p99_ms"] == 6.0
    assert row["runs"] == {
        "saturated_per_second": [777, 541, 539],
        "p99_ms_at_rate": [6.9, 6.0, 5.9],
        "lost": [0, 1, 0],
    }
