"""Monitoring never slows or breaks serving: off the request path, bounded, survives a corrupt
database, keyed by the artifact's sha256. Each test reproduces a fault that once hurt serving."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from appside_fixtures import tiny_run
from conftest import run_cli
from edgerank.monitor import Event, EventLog, summarize
from edgerank.runtime import FixedArtifact, ProductRuntime

USER = {"city": "Nanjing", "device": "vivo X200", "gender": "male", "age": "31"}


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory)


def event(i: int, sha: str = "", version: str = "v1") -> Event:
    return Event(1000.0 + i, "product_topk", version, "", True, 1.0 + i, sha256=sha)


class Locked:
    """Another process's exclusive lock on the event log: every write to it waits."""

    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("BEGIN EXCLUSIVE")

    def release(self):
        self.db.execute("ROLLBACK")
        self.db.close()


# -- item 14: off the request path ------------------------------------------------------------
def test_a_stalled_event_log_never_blocks_a_request_and_latency_is_what_the_caller_saw(run, tmp_path):
    path = tmp_path / "events.sqlite"
    log = EventLog(path)
    runtime = ProductRuntime(FixedArtifact(run.artifact), monitor=log)
    runtime.rank("warm-up", USER)
    log.flush()
    lock = Locked(path)  # the database is stuck (a backup, a reader holding a lock, a slow disk)
    walls, returned = [], []
    for i in range(200):
        start = time.perf_counter()
        ranking = runtime.rank(f"user-{i}", USER)
        walls.append((time.perf_counter() - start) * 1000.0)
        returned.append(ranking.latency_ms)
        assert ranking.ok
    # The old log wrote synchronously every 64 events and waited up to 30 s for the lock.
    assert max(walls) < 1000.0, max(walls)
    lock.release()
    log.flush()
    recorded = [e.latency_ms for e in log.events()][1:]
    assert recorded == returned  # the monitor keeps exactly what the caller was handed
    assert all(wall >= ms for wall, ms in zip(walls, recorded))
    assert log.status()["dropped"] == 0 and log.status()["written"] == 201
    runtime.close()


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path):
    path = tmp_path / "events.sqlite"
    log = EventLog(path, capacity=8)
    log.record(event(-1))
    log.flush()
    lock = Locked(path)
    start = time.perf_counter()
    for i in range(50):
        log.record(event(i))
    assert time.perf_counter() - start < 1.0
    status = log.status()
    assert status["dropped"] >= 50 - 8 - status["batch_size"] and status["dropped"] > 0
    lock.release()
    log.close()
    status = log.status()
    assert status["written"] - 1 + status["dropped"] == 50
    assert len(list(EventLog(path).events())) == status["written"]


# -- item 15: a corrupt monitor database ------------------------------------------------------
def test_a_corrupt_event_log_disables_monitoring_and_serving_goes_on(run, tmp_path):
    path = tmp_path / "events.sqlite"
    path.write_bytes(b"not a database at all" * 200)
    log = EventLog(path)
    assert "not a usable SQLite event log" in log.status()["disabled"]
    runtime = ProductRuntime(FixedArtifact(run.artifact), monitor=log)
    assert runtime.rank("u1", USER).ok
    runtime.close()  # never raises into the caller
    log.close()
    assert log.status()["dropped"] == 1


def test_an_event_log_corrupted_while_serving_never_raises_into_the_caller(run, tmp_path):
    path = tmp_path / "events.sqlite"
    log = EventLog(path)
    runtime = ProductRuntime(FixedArtifact(run.artifact), monitor=log)
    assert runtime.rank("u1", USER).ok
    log.flush()
    for leftover in tmp_path.glob("events.sqlite-*"):
        leftover.unlink()
    path.write_bytes(b"garbage" * 1000)
    for i in range(5):
        assert runtime.rank(f"u{i}", USER).ok
    runtime.close()
    status = log.status()
    assert "not a usable SQLite event log" in status["disabled"] and status["dropped"] == 5


def test_runtime_and_monitor_cli_on_a_corrupt_event_log(run, tmp_path):
    db = tmp_path / "events.sqlite"
    db.write_bytes(b"not a database at all" * 200)
    served = run_cli(["rank", "--artifact", str(run.artifact), "--db", str(db), *[f"{k}={v}" for k, v in USER.items()]],
                     tmp_path, 120, module="edgerank.runtime")
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)["source"] == "model"
    assert "monitoring disabled" in served.stderr and "Traceback" not in served.stderr
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"type": "request", "candidates": [{"video_id": 4}, {"video_id": 2}]}) + "\n")
    video = run_cli(["video", "--artifact", str(tmp_path / "no_artifact"), "--db", str(db), str(events)], tmp_path, 120,
                    module="edgerank.runtime")
    assert video.returncode == 0 and json.loads(video.stdout)["fallback"] == 1, video.stderr
    assert "monitoring disabled" in video.stderr and "Traceback" not in video.stderr
    summary = run_cli(["--db", str(db), "summary"], tmp_path, 60, module="edgerank.monitor")
    assert summary.returncode == 2 and "not a usable SQLite event log" in summary.stderr
    assert "Traceback" not in summary.stderr
    # a reader says what is wrong once, and does not talk of disabling the app's monitoring
    assert "monitoring disabled" not in summary.stderr and len(summary.stderr.strip().splitlines()) == 1, summary.stderr


# -- item 16: invalid UTF-8 in a replayed event log ------------------------------------------
def test_video_replay_skips_and_counts_invalid_utf8_lines(tmp_path):
    log = tmp_path / "events.jsonl"
    request = {"type": "request", "candidates": [{"video_id": 1, "pxtr": {}}], "user": "u", "session": "s"}
    log.write_bytes(json.dumps(request).encode() + b"\n\xff\xfe{\"type\": \"play\"}\n" + b"{bad json\n" + json.dumps(request).encode() + b"\n")
    done = run_cli(["video", "--artifact", str(tmp_path / "no_artifact"), "--no-monitor", str(log)], tmp_path, 120,
                   module="edgerank.runtime")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)
    assert counts["bad_lines"] == 2 and counts["events"] == 4 and counts["requests"] == 2


def test_observe_without_a_session_serves_an_anonymous_one(tmp_path):
    from edgerank.runtime import VideoRuntime

    runtime = VideoRuntime(FixedArtifact(tmp_path / "no_artifact"))
    ranking = runtime.observe(None, {"type": "request", "candidates": [{"video_id": 7}, {"video_id": 3}]})
    assert ranking.source == "fallback" and ranking.items == [7, 3]
    assert runtime.observe(None, {"type": "play", "video_id": 7}) is None


# -- item 17: keyed by sha256 ----------------------------------------------------------------
def test_two_artifacts_sharing_name_and_version_are_two_rows(tmp_path):
    log = EventLog(tmp_path / "events.sqlite")
    log.extend([event(i, sha="a" * 64) for i in range(3)] + [event(i, sha="b" * 64) for i in range(3, 4)])
    log.close()
    rows = summarize(log.events())
    assert [(r.version, r.sha256, r.requests) for r in rows] == [("v1", "a" * 64, 3), ("v1", "b" * 64, 1)]
    assert [r.traffic_share for r in rows] == [0.75, 0.25]
    table = run_cli(["--db", str(tmp_path / "events.sqlite"), "summary"], tmp_path, 60, module="edgerank.monitor").stdout
    assert "aaaaaaaaaaaa" in table and "bbbbbbbbbbbb" in table


def test_the_runtime_records_the_sha256_of_the_model_that_served(run, tmp_path):
    log = EventLog(tmp_path / "events.sqlite")
    runtime = ProductRuntime(FixedArtifact(run.artifact), monitor=log)
    runtime.rank("u1", USER)
    runtime.close()
    (recorded,) = log.events()
    assert recorded.sha256 == json.loads((run.artifact / "manifest.json").read_text())["sha256"]


def test_an_event_log_written_before_sha256_was_recorded_still_opens(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE events (ts REAL NOT NULL, model TEXT NOT NULL, version TEXT NOT NULL, grp TEXT NOT NULL, "
                   "ok INTEGER NOT NULL, latency_ms REAL NOT NULL, unknown INTEGER NOT NULL, fields INTEGER NOT NULL, "
                   "error TEXT NOT NULL)")
        db.execute("INSERT INTO events VALUES (1.0, 'm', 'v1', '', 1, 2.0, 0, 0, '')")
    log = EventLog(path)
    log.record(event(1, sha="c" * 64))
    log.close()
    assert [(e.version, e.sha256) for e in log.events()] == [("v1", ""), ("v1", "c" * 64)]
