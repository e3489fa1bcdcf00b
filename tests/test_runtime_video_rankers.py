"""Rankers on the device: the runtime returns the exported ranker's list, as PyTorch does.

The adaptive beam search's app loop is the torch-free :func:`edgerank.core.app_loop.drive`, the
same code PyTorch eager evaluation runs. Exporting ranker graphs takes a while, so those tests
are ``slow``.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from edgerank.core.video_features import encode_requests
from edgerank.graph import eager_runners
from edgerank.rankers import adaptive_beam
from edgerank.runtime import FixedArtifact, VideoRuntime
from video_runtime_fixtures import RANKER_OPTIONS, build_ranker, event_stream, ranker_artifact, replay_requests, tiny_video_run


@pytest.fixture(scope="session")
def run(tmp_path_factory):
    return tiny_video_run(tmp_path_factory)


def offline(run, requests):
    shapes, vocab = run.manifest["fixed_shapes"], run.manifest["vocab"]
    names = [i["name"] for i in run.manifest["inputs"]]
    for r in requests:
        arrays = encode_requests([r], shapes["candidates"], shapes["seq_len"], vocab["num_videos"], vocab["num_categories"])
        yield {k: arrays[k] for k in names}


def replay(runtime, requests):
    session, current = None, None
    for index, events in event_stream(requests):
        r = requests[index]
        if r.session != current:
            current, session = r.session, runtime.session(f"user-{r.user}")
        for event in events[:-1]:
            runtime.observe(session, event)
        yield r, runtime.observe(session, events[-1])


def check_lists(runtime, requests, reference, run):
    identical = 0
    for (r, ranking), inputs in zip(replay(runtime, requests), offline(run, requests)):
        assert ranking.ok, ranking.error
        slots, gains = reference(inputs)
        head = [int(r.cand_id[s]) for s in slots if s >= 0]
        assert ranking.placed == len(head) and sorted(ranking.items) == sorted(int(v) for v in r.cand_id)
        rest = [int(v) for v in r.cand_id if int(v) not in head]
        assert ranking.items[len(head):] == [v for v in ranking.items if v not in ranking.items[: len(head)]]
        if ranking.items == head + rest:
            identical += 1
            np.testing.assert_allclose(ranking.scores, gains[: len(head)], atol=1e-5)
    assert identical >= 0.95 * len(requests)


@pytest.mark.slow
def test_greedy_artifact_returns_the_rankers_list(run, tmp_path_factory):
    artifact, ranker = ranker_artifact(run, tmp_path_factory, "greedy")

    def reference(inputs):
        with torch.no_grad():
            out = ranker(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        return out["ranked"][0].numpy(), out["gains"][0].numpy()

    runtime = VideoRuntime(FixedArtifact(artifact), num_threads=1)
    check_lists(runtime, replay_requests(run.manifest, num_users=3), reference, run)


@pytest.mark.slow
def test_adaptive_beam_artifact_runs_its_loop_on_the_device(run, tmp_path_factory):
    artifact, ranker = ranker_artifact(run, tmp_path_factory, "adaptive_beam")
    options = RANKER_OPTIONS["adaptive_beam"]
    runners = eager_runners(ranker.on_device())

    def reference(inputs):
        with torch.no_grad():
            result = adaptive_beam.drive(runners, inputs, options["list_size"], options["threshold"])
        return result.slots, result.gains

    runtime = VideoRuntime(FixedArtifact(artifact), ranker=options, num_threads=1)
    requests = replay_requests(run.manifest, num_users=3)
    check_lists(runtime, requests, reference, run)

    # without list_size/threshold (not in this manifest) the artifact cannot be driven: server order
    bare = VideoRuntime(FixedArtifact(artifact))
    _, ranking = next(replay(bare, requests[:1]))
    assert not ranking.ok and ranking.items == [int(v) for v in requests[0].cand_id] and "list_size" in ranking.error

    # an adaptive artifact from before 'finish' (prepare/step/step_single) is refused by name
    old = tmp_path_factory.mktemp("old_adaptive") / "artifact"
    shutil.copytree(artifact, old)
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["signatures"]["step_single"] = manifest["signatures"].pop("finish")
    (old / "manifest.json").write_text(json.dumps(manifest))
    _, ranking = next(replay(VideoRuntime(FixedArtifact(old), ranker=options), requests[:1]))
    assert not ranking.ok and ranking.items == [int(v) for v in requests[0].cand_id]
    assert "'step_single'" in ranking.error and "re-export" in ranking.error
