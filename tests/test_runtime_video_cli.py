"""``python -m edgerank.runtime video``: a raw feed-event log replayed from a shell, visible in monitoring."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from edgerank.runtime import FixedArtifact, VideoRuntime
from video_runtime_fixtures import event_stream, replay_requests, tiny_video_run


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_video_run(tmp_path_factory)


def test_replay_an_event_log_then_summarize(run, tmp_path):
    requests = replay_requests(run.manifest, num_users=2)
    lines, expected = [], []
    runtime, sessions = VideoRuntime(FixedArtifact(run.artifact)), {}
    for index, events in event_stream(requests):
        r = requests[index]
        session = sessions.setdefault(r.session, runtime.session(str(r.user)))
        for event in events:
            lines.append(json.dumps({**event, "user": r.user, "session": r.session}))
            ranking = runtime.observe(session, event)
        expected.append(ranking.items)
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"type": "like", "video_id": 123456, "user": 0, "session": 0}))  # never exposed
    log = tmp_path / "events.jsonl"
    log.write_text("\n".join(lines) + "\n")
    db, out = tmp_path / "monitor.sqlite", tmp_path / "rankings.jsonl"
    done = run_cli(["video", "--artifact", str(run.artifact), "--db", str(db), "--out", str(out), str(log)],
                   tmp_path, 120, module="edgerank.runtime")
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary == {"events": len(lines), "requests": len(requests), "model": len(requests), "fallback": 0,
                       "bad_lines": 1, "skipped_events": 1}
    served = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["items"] for s in served] == expected and all(s["source"] == "model" for s in served)
    (row,) = json.loads(run_cli(["--db", str(db), "summary", "--json"], tmp_path, 60, module="edgerank.monitor").stdout)
    assert row["requests"] == len(requests) and row["success_rate"] == 1.0

    bad = run_cli(["video", "--artifact", str(run.artifact), "--no-monitor", str(log), "--weights", "like"],
                  tmp_path, 60, module="edgerank.runtime")
    assert bad.returncode == 2 and "TASK=NUMBER" in bad.stderr
