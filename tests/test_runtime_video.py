"""The video runtime rebuilds the offline inputs from raw events and gives the offline results.

Simulated sessions are replayed as the phone's raw event stream (see
:mod:`video_runtime_fixtures`); for every request the runtime's model inputs must equal
``encode_requests`` on the simulator's ``Request`` and its outputs the PyTorch ``RerankGraph``'s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from edgerank.core.video_features import TASKS, encode_requests
from edgerank.export.reference import load_graph
from edgerank.monitor import EventLog, summarize
from edgerank.runtime import FixedArtifact, VideoRuntime
from video_runtime_fixtures import event_stream, replay_requests, tiny_video_run

GAPS = ("seq_time_gap",)  # rebuilt from absolute timestamps: equal up to float rounding


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_video_run(tmp_path_factory)


def offline_order(probs: dict[str, np.ndarray], m: int) -> tuple[list[int], np.ndarray]:
    key = probs["effective_view"][0, :m].astype(np.float64) + probs["like"][0, :m]
    return list(np.argsort(-key, kind="stable")), key


def test_runtime_from_raw_events_equals_offline_encoding_and_pytorch(run):
    manifest = run.manifest
    shapes, vocab = manifest["fixed_shapes"], manifest["vocab"]
    graph = load_graph(run.run_dir)
    requests = replay_requests(manifest, num_users=3)
    runtime = VideoRuntime(FixedArtifact(run.artifact), num_threads=1)
    session, current, identical, truncated = None, None, 0, 0
    for index, events in event_stream(requests):
        r = requests[index]
        if r.session != current:
            current, session = r.session, runtime.session(f"user-{r.user}")
        for event in events[:-1]:
            assert runtime.observe(session, event) is None
        assert not session.problems, list(session.problems)
        ranking = runtime.observe(session, events[-1])
        assert ranking is not None and ranking.ok, ranking.error
        truncated += len(r.seq_id) > shapes["seq_len"]

        offline = encode_requests([r], shapes["candidates"], shapes["seq_len"], vocab["num_videos"], vocab["num_categories"])
        assert set(ranking.inputs) == {i["name"] for i in manifest["inputs"]}
        for name, value in ranking.inputs.items():
            assert value.dtype == offline[name].dtype and value.shape == offline[name].shape, name
            if name in GAPS:
                np.testing.assert_allclose(value, offline[name], rtol=1e-6, atol=1e-6, err_msg=name)
            else:
                np.testing.assert_array_equal(value, offline[name], err_msg=f"request {index}: {name}")

        with torch.no_grad():
            reference = {k: v.numpy() for k, v in graph(**{k: torch.from_numpy(offline[k]) for k in ranking.inputs}).items()}
        for task in TASKS:
            np.testing.assert_allclose(ranking.outputs[task], reference[task], atol=1e-5, rtol=0, err_msg=task)
        m = len(r.cand_id)
        order, key = offline_order(reference, m)
        expected = [int(r.cand_id[s]) for s in order]
        assert sorted(ranking.items) == sorted(int(v) for v in r.cand_id) and ranking.placed == m
        if ranking.items == expected:
            identical += 1
        else:  # only candidates whose scores tie within float error may swap
            for j, (got, want) in enumerate(zip(ranking.items, expected)):
                if got != want:
                    assert abs(key[list(r.cand_id).index(got)] - key[order[j]]) <= 2e-5, (index, j)
        np.testing.assert_allclose(ranking.scores, key[order], atol=2e-5)
    assert truncated > 0, "no request exercised the seq_len recency window"
    assert identical >= 0.95 * len(requests)


def _candidates(ids, category=1):
    return [{"video_id": v, "category": category, "duration": 20.0 + v, "preload": 0.5,
             "pxtr": [0.9, min(0.4 + 0.01 * v, 0.99), 0.1]} for v in ids]  # probabilities


def test_session_window_feedback_and_gaps(run):
    runtime = VideoRuntime(FixedArtifact(run.artifact))
    seq_len = run.manifest["fixed_shapes"]["seq_len"]
    session = runtime.session("u")
    runtime.observe(session, {"type": "network", "ts": 0.0, "mbps": 8.0})
    ids = list(range(1, seq_len + 6))
    assert runtime.observe(session, {"type": "request", "ts": 100.0, "candidates": _candidates(ids)}).ok
    for i, video in enumerate(ids):
        ts = 100.0 + 10 * i
        runtime.observe(session, {"type": "exposure", "ts": ts, "video_id": video})
        if video != ids[-1]:
            runtime.observe(session, {"type": "play", "ts": ts + 5, "video_id": video, "watched_seconds": 0.6 * (20.0 + video)})
        if video % 3 == 0:
            runtime.observe(session, {"type": "like", "ts": ts + 6, "video_id": video})
        if video != ids[-1]:
            runtime.observe(session, {"type": "skip", "ts": ts + 7, "video_id": video})
    runtime.observe(session, {"type": "play", "ts": 1.0, "video_id": ids[-seq_len], "watched_seconds": 1.0})  # stays effective
    runtime.observe(session, {"type": "play", "ts": 1.0, "video_id": ids[-1], "watched_seconds": 30.0, "effective_view": False})
    assert not session.problems
    # the request comes 5 s *before* the last exposure's timestamp (clock jump): gap clamped to 0
    last_ts = 100.0 + 10 * (len(ids) - 1)
    ranking = runtime.observe(session, {"type": "request", "ts": last_ts - 5.0, "network_speed": 2.0,
                                        "candidates": _candidates([900, 901])})
    assert ranking.ok, ranking.error
    x = ranking.inputs
    window = ids[-seq_len:]  # the most recent seq_len, oldest first
    np.testing.assert_array_equal(x["seq_id"][0], window)
    np.testing.assert_array_equal(x["seq_mask"][0], np.ones(seq_len))
    np.testing.assert_array_equal(x["seq_feedback"][0, :, 2], [float(v % 3 == 0) for v in window])
    np.testing.assert_array_equal(x["seq_feedback"][0, :, 0], [float(v != ids[-1]) for v in window])
    np.testing.assert_array_equal(x["seq_feedback"][0, :, 1], [float(v != ids[-1]) for v in window])
    positions = np.arange(len(ids))[-seq_len:]
    np.testing.assert_allclose(x["seq_pos_gap"][0], np.log1p(len(ids) - positions), rtol=1e-6)
    np.testing.assert_allclose(x["seq_time_gap"][0, -1], 0.0)
    np.testing.assert_allclose(x["seq_time_gap"][0, 0], np.log1p(last_ts - 5.0 - (100.0 + 10 * (len(ids) - seq_len))), rtol=1e-6)
    np.testing.assert_allclose(x["network_speed"][0, :2], math.log(2.0), rtol=1e-6)
    assert np.all(x["cand_mask"][0] == [1, 1] + [0] * (x["cand_mask"].shape[1] - 2))
    assert sorted(ranking.items) == [900, 901]


def test_bad_requests_fall_back_to_server_order_and_are_recorded(run, tmp_path):
    log = EventLog(tmp_path / "events.sqlite")
    runtime = VideoRuntime(FixedArtifact(run.artifact), monitor=log)
    limit = run.manifest["fixed_shapes"]["candidates"]
    num_videos = run.manifest["vocab"]["num_videos"]
    nan = _candidates([5, 6, 7])
    nan[1]["pxtr"] = [0.9, float("nan"), 0.1]
    cases = {
        "no network": ({"type": "request", "ts": 1.0, "candidates": _candidates([3, 2, 1])}, [3, 2, 1], "network"),
        "zero candidates": ({"type": "request", "ts": 1.0, "network_speed": 4.0, "candidates": []}, [], "zero candidates"),
        "too many": ({"type": "request", "ts": 1.0, "network_speed": 4.0, "candidates": _candidates(range(limit + 1))},
                     list(range(limit + 1)), "more than"),
        "nan": ({"type": "request", "ts": 1.0, "network_speed": 4.0, "candidates": nan}, [5, 6, 7], "NaN"),
        "unknown id": ({"type": "request", "ts": 1.0, "network_speed": 4.0, "candidates": _candidates([4, num_videos + 3])},
                       [4, num_videos + 3], "vocabulary"),
        "bad speed": ({"type": "request", "ts": 1.0, "network_speed": -1.0, "candidates": _candidates([8, 9])}, [8, 9], "positive"),
        "malformed": ({"type": "request", "ts": 1.0, "candidates": [{"video_id": 11}, {"video_id": 12, "category": "x"}]},
                      [11, 12], "candidate 0"),
        "not a list": ({"type": "request", "ts": 1.0, "candidates": "12,13"}, [], "must be a list"),
    }
    for name, (request, order, message) in cases.items():
        ranking = runtime.rank(runtime.session("u"), request)
        assert not ranking.ok and ranking.items == order and message in ranking.error, (name, ranking.error)
        assert ranking.scores is None
    unknown = runtime.rank(runtime.session("u"), cases["unknown id"][0])
    assert unknown.unknown == [f"cand_id={num_videos + 3}"] and unknown.fields > 0

    session = runtime.session("u")
    for bad in ({"type": "exposure", "ts": 1.0, "video_id": 77}, {"type": "like", "video_id": 3}, {"type": "teleport"},
                "not an event", {"type": "network", "mbps": "fast"}):
        assert runtime.observe(session, bad) is None
    assert len(session.problems) == 5 and "no recent request" in session.problems[0]
    runtime.observe(session, {"type": "network", "ts": 0.0, "mbps": 3.0})
    assert runtime.observe(session, {"type": "request", "ts": 1.0, "candidates": _candidates([1, 2, 3])}).ok
    log.flush()
    (summary,) = summarize(log.events())
    assert summary.requests == len(cases) + 2 and summary.failures == len(cases) + 1


def test_corrupt_model_is_a_recorded_failure_with_the_server_order(run, tmp_path):
    import shutil

    copy = shutil.copytree(run.artifact, tmp_path / "artifact")
    data = bytearray((copy / "model.tflite").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.tflite").write_bytes(bytes(data))
    log = EventLog(tmp_path / "events.sqlite")
    runtime = VideoRuntime(FixedArtifact(copy), monitor=log)
    session = runtime.session("u")
    runtime.observe(session, {"type": "network", "ts": 0.0, "mbps": 3.0})
    for _ in range(2):
        ranking = runtime.observe(session, {"type": "request", "ts": 1.0, "candidates": _candidates([30, 10, 20])})
        assert not ranking.ok and ranking.items == [30, 10, 20] and "sha256" in ranking.error
    runtime.observe(session, {"type": "exposure", "ts": 2.0, "video_id": 10})  # the session still tracks events
    assert not session.problems and len(session.watched) == 1
    log.flush()
    (summary,) = summarize(log.events())
    assert (summary.requests, summary.failures) == (2, 2) and "ArtifactError" in summary.top_error


def test_a_drifted_transform_declaration_is_refused(run, tmp_path):
    import json
    import shutil

    copy = shutil.copytree(run.artifact, tmp_path / "artifact")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["input_transforms"]["seq_time_gap"] = "log1p(minutes between the watched exposure and this request)"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    runtime = VideoRuntime(FixedArtifact(copy))
    session = runtime.session("u")
    runtime.observe(session, {"type": "network", "ts": 0.0, "mbps": 3.0})
    ranking = runtime.observe(session, {"type": "request", "ts": 1.0, "candidates": _candidates([2, 1])})
    assert not ranking.ok and ranking.items == [2, 1] and "refusing to guess" in ranking.error


def test_weights_choose_the_order(run):
    only_like = VideoRuntime(FixedArtifact(run.artifact), weights={"like": 1.0})
    session = only_like.session("u")
    only_like.observe(session, {"type": "network", "ts": 0.0, "mbps": 3.0})
    ranking = only_like.observe(session, {"type": "request", "ts": 1.0, "candidates": _candidates(range(1, 30))})
    likes = ranking.outputs["like"][0, :29]
    assert ranking.ok and ranking.scores == pytest.approx(sorted(likes, reverse=True), abs=1e-7)
    with pytest.raises(Exception, match="weights"):
        VideoRuntime(FixedArtifact(run.artifact), weights={"watch_time": 1.0})
