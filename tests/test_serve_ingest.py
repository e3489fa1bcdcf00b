"""POST /events: validated per record, stored once per batch id, never half a batch."""

from __future__ import annotations

import sqlite3
import threading

import httpx
import pytest

from edgerank.monitor import EventLog, summarize
from edgerank.modelstore import ModelStore
from edgerank.serve import BackgroundServer, create_app
from edgerank.serve.ingest import IngestStore


def event(i: int, **changes):
    return {"ts": 1_700_000_000.0 + i, "model": "product_topk", "version": "v1", "grp": "stable", "ok": True,
            "latency_ms": 0.25 + i / 1000, "unknown": 1, "fields": 4, "error": "", **changes}


@pytest.fixture
def service(tmp_path):
    ModelStore(tmp_path / "store")
    with BackgroundServer(create_app(tmp_path / "store", tmp_path / "monitor.sqlite")) as server, \
            httpx.Client(base_url=server.url, timeout=10) as http:
        yield http, tmp_path / "monitor.sqlite"


def test_events_posted_twice_are_stored_once(service):
    http, db = service
    batch = {"batch_id": "device-1:7", "events": [event(i) for i in range(5)]}
    first = http.post("/events", json=batch)
    assert first.status_code == 200
    assert first.json() == {"batch_id": "device-1:7", "accepted": 5, "rejected": 0, "duplicate": False, "errors": []}
    again = http.post("/events", json=batch)
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["accepted"] == 5
    stored = list(EventLog(db).events())
    assert len(stored) == 5 and [e.latency_ms for e in stored] == [0.25 + i / 1000 for i in range(5)]
    reused = http.post("/events", json={"batch_id": "device-1:7", "events": [event(9)]})
    assert reused.status_code == 409 and "already used" in reused.json()["error"]
    assert http.get("/healthz").json()["ingestion"] == {"batches": 1, "accepted": 5, "rejected": 0}
    assert len(list(EventLog(db).events())) == 5


def test_bad_records_are_rejected_and_counted_the_rest_stored_whole(service):
    http, db = service
    bad = [
        ("latency_ms", {"latency_ms": -1}, "finite number >= 0"),
        ("latency_ms", {"latency_ms": "fast"}, "must be a number"),
        ("ok", {"ok": 1}, "true or false"),
        ("unknown", {"unknown": 5}, "5 unknown fields out of 4"),
        ("fields", {"fields": 2.5}, "whole number"),
        ("model", {"model": ""}, "empty"),
        ("error", {"ok": False, "error": "x" * 501}, "at most 500"),
        ("ts", {"ts": None}, "must be a number"),
    ]
    records = [event(0), *[event(i + 1, **change) for i, (_, change, _) in enumerate(bad)], "not an object", event(20)]
    missing = event(21)
    del missing["latency_ms"]
    records.append(missing)
    answer = http.post("/events", json={"batch_id": "b-2", "events": records}).json()
    assert (answer["accepted"], answer["rejected"]) == (2, len(bad) + 2)
    messages = {e["index"]: e["error"] for e in answer["errors"]}
    for i, (name, _, text) in enumerate(bad):
        assert f"'{name}'" in messages[i + 1] and text in messages[i + 1], messages[i + 1]
    assert "JSON object" in messages[len(bad) + 1] and messages[len(bad) + 3] == "field 'latency_ms': missing"
    assert [e.ts for e in EventLog(db).events()] == [event(0)["ts"], event(20)["ts"]]
    extra = http.post("/events", json={"batch_id": "b-3", "events": [event(30, sha256="abc", app="1.2")]}).json()
    assert extra["accepted"] == 1  # keys a newer app sends are ignored, not a reason to lose the event
    assert http.get("/healthz").json()["ingestion"] == {"batches": 2, "accepted": 3, "rejected": len(bad) + 2}


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b"{not json", 400, "not JSON"),
        (b"[]", 400, "JSON object"),
        (b'{"events": []}', 400, "batch_id"),
        (b'{"batch_id": "../x", "events": []}', 400, "batch_id"),
        (b'{"batch_id": "ok", "events": {}}', 400, "events"),
        (b'{"batch_id": "ok", "events": [' + b",".join([b"{}"] * 1001) + b"]}", 413, "at most 1000"),
        (b'{"batch_id": "ok", "events": ["' + b"x" * (1 << 20) + b'"]}', 413, "bytes"),
    ],
)
def test_envelopes_that_are_not_a_batch_store_nothing(service, body, status, text):
    http, db = service
    answer = http.post("/events", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status and text in answer.json()["error"]
    assert list(EventLog(db).events()) == []
    assert http.get("/healthz").json()["ingestion"]["batches"] == 0


def test_concurrent_retries_of_one_batch_store_it_once_and_summaries_match(tmp_path):
    store = IngestStore(tmp_path / "monitor.sqlite")
    batches = [{"batch_id": f"d{i}", "events": [event(100 * i + j, version=f"v{1 + i % 2}", ok=j % 7 != 0) for j in range(20)]}
               for i in range(10)]
    receipts = []

    def post(batch):
        receipts.append(store.write(batch))

    threads = [threading.Thread(target=post, args=(b,)) for b in batches * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(not r.duplicate for r in receipts) == 10 and sum(r.duplicate for r in receipts) == 30
    stored = list(EventLog(tmp_path / "monitor.sqlite").events())
    assert len(stored) == 200 and len({e.ts for e in stored}) == 200
    by_version = {s.version: s for s in summarize(stored)}
    assert by_version["v1"].requests == 100 and by_version["v1"].failures == 5 * 3
    with sqlite3.connect(tmp_path / "monitor.sqlite") as db:
        assert db.execute("SELECT COUNT(*), SUM(accepted) FROM ingested_batches").fetchone() == (10, 200)
    store.close()
