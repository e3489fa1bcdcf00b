"""Tiny trained + exported video runs, and simulated sessions replayed as the phone's raw events.

Training is the slow part, so every ``test_runtime_video*`` module reuses the runs made here (one
per ranker, cached for the pytest process), like :mod:`appside_fixtures` does for products.

:func:`event_stream` turns simulated sessions into what an app would log - ``network``,
``request``, then per watched item ``exposure``, ``play``, ``like``, ``skip`` - so a test can
check that the runtime rebuilds, from those raw events alone, exactly the inputs the offline
encoding builds from the simulator's :class:`~edgerank.data.video_simulator.Request` objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conftest import compose_config, debug

from edgerank.core.video_features import TASKS  # the order of a candidate's pxtr list

OVERRIDES = ["+experiment=video_rerank", "data.num_users=40", "trainer.max_epochs=1", "export.parity_samples=8"]
UNIX_T0 = 1_764_000_000.0  # a realistic clock: the runtime must only use differences


@dataclass(frozen=True)
class VideoRun:
    run_dir: Path
    cfg: Any

    @property
    def artifact(self) -> Path:
        return self.run_dir / "artifact"

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.artifact / "manifest.json").read_text())


_CACHE: dict[str, VideoRun] = {}


def tiny_video_run(tmp_path_factory: Any, ranker: str | None = None) -> VideoRun:
    """The run for ``ranker`` (None: the plain ta_mmoe model), trained once per pytest process."""
    key = ranker or "plain"
    if key not in _CACHE:
        from edgerank.pipeline import run

        run_dir = tmp_path_factory.mktemp(f"tiny_video_{key}")
        cfg = compose_config(debug(*OVERRIDES, *([f"ranker={ranker}"] if ranker else [])), run_dir)
        run(cfg, run_dir)
        _CACHE[key] = VideoRun(run_dir, cfg)
    return _CACHE[key]


def replay_requests(manifest: dict[str, Any], num_users: int = 3, seed: int = 11) -> list[Any]:
    """Fresh simulated requests (a different seed than training) in the artifact's vocabulary."""
    from edgerank.data.video_simulator import SimConfig, simulate

    sim = dict(manifest["simulator"])
    sim.update(num_users=num_users, seed=seed)
    sim["requests_per_session"], sim["candidates"] = tuple(sim["requests_per_session"]), tuple(sim["candidates"])
    requests, _ = simulate(SimConfig(**sim))
    return requests


def event_stream(requests: Sequence[Any]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Per request (index into ``requests``): the raw events up to and including its ``request``.

    A new session starts whenever ``request.session`` changes (the caller opens a new
    :class:`~edgerank.runtime.video.VideoSession`). Watched items become visible in the next
    request's logged sequence; their events (exposure at its time, then feedback) are emitted
    before that request. ``play`` carries only watched seconds (80% of the video for an
    effective view, 20% otherwise) so the runtime's effective-view rule is exercised too.
    """
    emitted, session = 0, None
    for index, r in enumerate(requests):
        if r.session != session:
            session, emitted = r.session, 0
        t0 = UNIX_T0 + 10_000.0 * r.session
        events: list[dict[str, Any]] = []
        for j in range(emitted, len(r.seq_id)):
            video, ts = int(r.seq_id[j]), t0 + (r.time - float(r.seq_time_gap[j]))
            has_next, effective, like = (float(x) for x in r.seq_feedback[j])
            events.append({"type": "exposure", "ts": ts, "video_id": video})
            fraction = 0.8 if effective else 0.2
            events.append({"type": "play", "ts": ts + 1.0, "video_id": video, "watched_seconds": fraction * float(r.seq_duration[j])})
            if like:
                events.append({"type": "like", "ts": ts + 1.5, "video_id": video})
            if has_next:
                events.append({"type": "skip", "ts": ts + 2.0, "video_id": video})
        emitted = len(r.seq_id)
        events.append({"type": "network", "ts": t0 + r.time - 0.5, "mbps": float(r.network_speed)})
        events.append(request_event(r, t0 + r.time))
        yield index, events


def request_event(r: Any, ts: float) -> dict[str, Any]:
    """The server response of a simulated request, as raw JSON-like candidates."""
    return {
        "type": "request",
        "ts": ts,
        "candidates": [
            {
                "video_id": int(r.cand_id[i]),
                "category": int(r.cand_cat[i]),
                "duration": float(r.cand_duration[i]),
                "preload": float(r.preload_time[i]),
                "pxtr": dict(zip(TASKS, (float(p) for p in r.cand_pxtr[i]))),
            }
            for i in range(len(r.cand_id))
        ],
    }


SCENARIO_FIELDS = ("scenario", "tasks", "outputs_are", "fixed_shapes", "padding", "feature_groups", "vocab",
                   "input_transforms", "simulator")
RANKER_OPTIONS = {"greedy": {"list_size": 10}, "adaptive_beam": {"list_size": 10, "beam_size": 4, "threshold": 0.9}}


def build_ranker(run: VideoRun, name: str) -> Any:
    """The ranker ``name`` over the run's trained model, assembled as the pipeline does."""
    from edgerank.export.reference import load_graph
    from edgerank.rankers.adaptive_beam import AdaptiveBeamRanker
    from edgerank.rankers.greedy import GreedyRanker
    from edgerank.models.scorer import PointwiseScorer

    graph = load_graph(run.run_dir)
    scorer = graph.net.scorer() if hasattr(graph.net, "scorer") else PointwiseScorer(graph)
    return {"greedy": GreedyRanker, "adaptive_beam": AdaptiveBeamRanker}[name](scorer, **RANKER_OPTIONS[name]).eval()


def ranker_artifact(run: VideoRun, tmp_path_factory: Any, name: str) -> tuple[Path, Any]:
    """A ranker exported over the tiny run's model (convert + parity), cached per process.

    Built here rather than with ``ranker=NAME`` on the command line so the runtime tests do not
    depend on the datamodule's ranking ground truth (``ranking_requests``), which only the
    ranker *evaluation* needs.
    """
    key = f"ranker:{name}"
    if key not in _CACHE:
        from edgerank.export.artifact import export_artifact
        from edgerank.export.reference import load_samples

        ranker = build_ranker(run, name)
        destination = tmp_path_factory.mktemp(f"tiny_video_{name}") / "artifact"
        fields = {k: run.manifest[k] for k in SCENARIO_FIELDS}
        export_artifact(ranker.on_device(), load_samples(run.run_dir), destination, name=f"video_{name}", version="1",
                        tolerance=1e-5, metrics={}, fields=fields)
        _CACHE[key] = (destination, ranker)  # type: ignore[assignment]
    return _CACHE[key]  # type: ignore[return-value]
