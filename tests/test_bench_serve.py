"""``python -m edgerank.bench.serve``: load on one service process, no event lost or duplicated."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from appside_fixtures import tiny_run
from serve_fixtures import make_cloud


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def bench(store, *options: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "edgerank.bench.serve", "--store", str(store), *options],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)


def check(result: dict, devices: int) -> None:
    assert result["devices"] == devices and result["failed_requests"] == 0
    assert result["events_lost"] == 0 and result["events_duplicated"] == 0
    assert result["events_stored"] == result["events_acknowledged"] == result["events_sent"] > 0
    assert result["resent_batches"] == result["resends_recognised_as_duplicates"]
    assert result["downloads"] == devices  # each device downloaded its version once
    assert result["latency"]["resolve"]["n"] > 0 and result["latency"]["events"]["n"] > 0
    assert result["requests_per_s"] > 0 and result["latency"]["all"]["p99_ms"] >= result["latency"]["all"]["p50_ms"]


def test_a_short_load_stores_every_event_once(run, tmp_path):
    cloud = make_cloud(run, tmp_path)
    cloud.rollout("stable:1=90", "canary:2=10")
    check(bench(cloud.store.root, "--devices", "20", "--seconds", "2", "--warmup", "0.5", "--resend", "0.2"), 20)


@pytest.mark.slow
def test_two_hundred_devices_for_thirty_seconds(run, tmp_path):
    cloud = make_cloud(run, tmp_path)
    cloud.rollout("stable:1=90", "canary:2=10")
    check(bench(cloud.store.root, "--devices", "200", "--seconds", "30"), 200)
