"""Monitoring numbers on a known event log, the CLI table, and the plot."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from edgerank.monitor import Event, EventLog, summarize


def known_log(path):
    log = EventLog(path, flush_every=3)
    events = []
    # v3: 8 requests, 1 failure; latencies of successes 1..7 ms; 4 fields each, 3 unknown in all
    for i in range(7):
        events.append(Event(1000.0 + i, "product_topk", "v3", "stable", True, float(i + 1), unknown=1 if i < 3 else 0, fields=4))
    events.append(Event(1010.0, "product_topk", "v3", "stable", False, 50.0, 0, 0, "ArtifactError: gone"))
    # v4: 2 requests, both fine, one with 2 unknown fields
    events.append(Event(1011.0, "product_topk", "v4", "canary", True, 10.0, 2, 4))
    events.append(Event(1012.0, "product_topk", "v4", "canary", True, 20.0, 0, 4))
    log.extend(events)
    log.close()
    return log


def test_summary_numbers_on_a_known_log(tmp_path):
    log = known_log(tmp_path / "events.sqlite")
    assert len(list(log.events())) == 10
    v3, v4 = summarize(log.events())
    assert (v3.version, v3.requests, v3.failures) == ("v3", 8, 1)
    assert v3.success_rate == pytest.approx(7 / 8)
    assert v3.traffic_share == pytest.approx(0.8) and v4.traffic_share == pytest.approx(0.2)
    # percentiles over successful requests, linear interpolation: 1..7 ms
    assert v3.latency_p50_ms == pytest.approx(4.0)
    assert v3.latency_p95_ms == pytest.approx(1 + 0.95 * 6)
    assert v3.latency_p99_ms == pytest.approx(1 + 0.99 * 6)
    assert v3.unknown_rate == pytest.approx(3 / 28)  # the failure saw no fields
    assert v3.top_error == "ArtifactError: gone"
    assert (v4.requests, v4.success_rate, v4.latency_p50_ms) == (2, 1.0, pytest.approx(15.0))
    assert v4.unknown_rate == pytest.approx(2 / 8)


def test_monitor_cli_summary_and_plot(tmp_path):
    known_log(tmp_path / "events.sqlite")
    done = run_cli(["--db", str(tmp_path / "events.sqlite"), "summary"], tmp_path, 60, module="edgerank.monitor")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["model", "version", "requests", "success"]
    assert lines[1].split()[:4] == ["product_topk", "v3", "8", "87.50%"] and "80.0%" in lines[1]
    as_json = run_cli(["--db", str(tmp_path / "events.sqlite"), "summary", "--json"], tmp_path, 60, module="edgerank.monitor")
    assert json.loads(as_json.stdout)[1]["latency_p50_ms"] == pytest.approx(15.0)
    missing = run_cli(["--db", str(tmp_path / "none.sqlite"), "summary"], tmp_path, 60, module="edgerank.monitor")
    assert missing.returncode == 2 and "no event log" in missing.stderr

    pytest.importorskip("matplotlib")
    out = tmp_path / "plots" / "monitor.png"
    drawn = run_cli(["--db", str(tmp_path / "events.sqlite"), "plot", str(out)], tmp_path, 120, module="edgerank.monitor")
    assert drawn.returncode == 0, drawn.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
