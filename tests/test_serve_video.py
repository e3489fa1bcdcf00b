"""The short-video runtime on a model from the service: the same lists as the local artifact."""

from __future__ import annotations

import pytest

from edgerank.modelstore import ModelStore
from edgerank.runtime import FixedArtifact, ServerSource, VideoRuntime
from serve_fixtures import Cloud, serving
from video_runtime_fixtures import event_stream, replay_requests, tiny_video_run


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_video_run(tmp_path_factory)


def test_video_runtime_serves_the_downloaded_model_and_keeps_it_when_the_server_goes(run, tmp_path):
    store = ModelStore(tmp_path / "store")
    record, _ = store.publish(run.artifact)
    name = record.name
    requests = replay_requests(run.manifest, num_users=2)
    local = VideoRuntime(FixedArtifact(run.artifact), num_threads=1)
    with serving(Cloud(store, tmp_path / "monitor.sqlite")) as (server, _):
        remote = VideoRuntime(ServerSource(server.url, name, tmp_path / "cache", ttl_s=0, retry_s=0, timeout_s=0.5), num_threads=1)
        sessions: dict = {}
        served = 0
        for index, events in event_stream(requests):
            r = requests[index]
            if index == len(requests) // 2:
                server.stop()  # the second half is served from the device's cache
            if r.session not in sessions:
                sessions[r.session] = (local.session(f"user-{r.user}"), remote.session(f"user-{r.user}"))
            for runtime, session in zip((local, remote), sessions[r.session]):
                for event in events[:-1]:
                    runtime.observe(session, event)
            want, got = (runtime.observe(session, events[-1]) for runtime, session in zip((local, remote), sessions[r.session]))
            assert got.ok, got.error
            assert (got.items, got.version) == (want.items, record.label)
            served += 1
    assert served == len(requests) > 4
    assert remote.source.last_error  # the server was gone for the second half
