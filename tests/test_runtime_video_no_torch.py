"""The video runtime is what a phone runs: importing and serving with it must not import torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from video_runtime_fixtures import tiny_video_run


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_video_run(tmp_path_factory)


def test_video_runtime_serves_a_session_without_torch(run, tmp_path):
    script = textwrap.dedent(
        f"""
        import json, sys
        from edgerank.runtime import FixedArtifact, VideoRuntime
        from edgerank.core.app_loop import drive  # the adaptive beam app loop too
        from edgerank.monitor import EventLog, summarize
        log = EventLog({str(tmp_path / "events.sqlite")!r})
        runtime = VideoRuntime(FixedArtifact({str(run.artifact)!r}), monitor=log)
        session = runtime.session("user-1")
        candidates = [{{"video_id": v, "category": v % 5, "duration": 15.0 + v, "preload": 0.4,
                        "pxtr": {{"has_next": 0.9, "effective_view": 0.3 + 0.01 * v, "like": 0.1}}}} for v in range(12)]
        events = [{{"type": "network", "ts": 0.0, "mbps": 5.0}}, {{"type": "request", "ts": 1.0, "candidates": candidates}},
                  {{"type": "exposure", "ts": 2.0, "video_id": 3}}, {{"type": "play", "ts": 9.0, "video_id": 3, "watched_seconds": 16.0}},
                  {{"type": "like", "ts": 9.5, "video_id": 3}}, {{"type": "skip", "ts": 10.0, "video_id": 3}},
                  {{"type": "request", "ts": 11.0, "candidates": candidates[4:]}}]
        rankings = [r for r in (runtime.observe(session, e) for e in events) if r is not None]
        assert all(r.ok for r in rankings), [r.error for r in rankings]
        log.flush()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in {{"torch", "lightning", "hydra", "litert_torch"}})
        print(json.dumps({{"heavy": heavy, "items": rankings[-1].items, "requests": sum(r.requests for r in summarize(log.events()))}}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"the video runtime imported {result['heavy']}"
    assert sorted(result["items"]) == list(range(4, 12)) and result["requests"] == 2
