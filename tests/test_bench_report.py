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
