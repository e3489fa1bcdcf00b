"""Train -> export -> parity through ``data=video_log``, then zero training/serving skew: the log
replayed as the phone's raw events through ``VideoRuntime`` gives, request by request, the
model inputs the loader prepared for training. And ``data=kuairand`` on KuaiRand's layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import compose_config, debug, run_cli
from edgerank.core.video_features import TASKS
from edgerank.data.video_log_events import log_requests, request_events
from edgerank.data.video_log_prepare import PREPARED
from edgerank.data.video_stream import Shards
from edgerank.pipeline import run
from edgerank.runtime import FixedArtifact, VideoRuntime
from edgerank.simulate import main as simulate_main

SHAPES = ["data.max_candidates=50", "data.seq_len=8", "data.id_buckets=4096", "data.category_buckets=64", "data.partitions=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("video_log_run")
    log = root / "sim_log.parquet"
    assert simulate_main([str(log), "--sessions", "90", "--seed", "5", "--set", "num_videos=400"]) == 0
    cfg = compose_config(debug("+experiment=video_rerank", "data=video_log", f"data.path={log}",
                          f"data.cache_dir={root / 'cache'}", "trainer.max_epochs=1", "export.parity_samples=16", *SHAPES),
                         root / "run")
    metrics = run(cfg, root / "run")
    return root, log, metrics


def test_train_export_parity_through_video_log(trained):
    root, _, metrics = trained
    manifest = json.loads((root / "run" / "artifact" / "manifest.json").read_text())
    assert manifest["parity"]["passed"] and manifest["parity"]["max_abs_err"] <= 1e-5
    assert manifest["ids"]["video_id"] == {"kind": "hash", "size": 4096, "dtype": "int"}
    assert manifest["data_source"]["data"] == "video_log" and manifest["data_source"]["split"] == "time"
    assert {f"test/{t}/gauc" for t in TASKS} <= set(metrics) and all(0 <= metrics[f"pxtr/{t}/auc"] <= 1 for t in TASKS)
    assert manifest["size_bytes"] < 6 * 1024 * 1024  # the paper's bound, whatever the number of distinct ids


def test_replaying_the_log_through_the_runtime_gives_the_training_inputs(trained):
    root, log, _ = trained
    prepared = next((root / "cache").glob(f"*/{PREPARED}")).parent
    shards = Shards(prepared)
    assert len(shards.dirs) == 1
    offline = shards.tensors(0)
    runtime = VideoRuntime(FixedArtifact(root / "run" / "artifact"), num_threads=1)
    session, checked, long_history = None, 0, 0
    requests = log_requests(pl.read_parquet(log))
    assert len(requests) == len(offline["cand_mask"])
    for index, (new_session, user, _, events) in enumerate(request_events(requests)):
        if new_session:
            session = runtime.session(user)
        for event in events[:-1]:
            runtime.observe(session, event)
        assert not session.problems, list(session.problems)
        ranking = runtime.observe(session, events[-1])
        assert ranking is not None and ranking.ok, ranking.error
        for name, value in ranking.inputs.items():
            np.testing.assert_array_equal(value[0], offline[name][index], err_msg=f"request {index}: {name}")
        checked += 1
        long_history += offline["seq_mask"][index].sum() == 8
    assert checked == len(requests) and long_history > 0


def test_simulated_app_events_replay_through_the_runtime_cli(trained, tmp_path):
    """``python -m edgerank.simulate events.jsonl`` is a sample input of ``runtime video``: every
    request of it is served by the model, one request per request of the same sessions' log."""
    root, _, _ = trained
    events, log = tmp_path / "events.jsonl", tmp_path / "log.parquet"
    for path in (events, log):
        assert simulate_main([str(path), "--sessions", "6", "--seed", "7", "--set", "num_videos=400"]) == 0
    done = run_cli(["video", "--artifact", str(root / "run" / "artifact"), str(events), "--no-monitor", "--threads", "1"],
                   cwd=tmp_path, module="edgerank.runtime")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    requests = pl.read_parquet(log)["request_id"].n_unique()
    assert summary["requests"] == summary["model"] == requests and summary["bad_lines"] == summary["fallback"] == 0


def test_an_id_never_seen_in_training_is_ranked_by_the_model(trained):
    root, _, _ = trained
    runtime = VideoRuntime(FixedArtifact(root / "run" / "artifact"), num_threads=1)
    session = runtime.session("new-user")
    candidates = [{"video_id": 10**12 + v, "category": 99_999 + v, "duration": 20.0, "preload": 0.5,
                   "pxtr": [0.9, 0.4, 0.1]} for v in range(5)]
    ranking = runtime.observe(session, {"type": "request", "ts": 1.0, "network_speed": 3.0, "candidates": candidates})
    assert ranking.ok and ranking.unknown == [] and sorted(ranking.items) == sorted(c["video_id"] for c in candidates)


def write_kuairand(folder: Path, users: int = 12, per_user: int = 40, seed: int = 0) -> None:
    """A small file set in KuaiRand's exact published column layout."""
    rng = np.random.default_rng(seed)
    n, videos = users * per_user, 60
    video = rng.integers(0, videos, n)
    t0 = 1_649_000_000_000
    time_ms = np.concatenate([t0 + u * 86_400_000 + np.cumsum(rng.integers(5_000, 60_000, per_user)) for u in range(users)])
    duration = 5_000 + (video * 997) % 60_000
    play = (duration * rng.uniform(0.05, 1.2, n)).astype(np.int64)
    pl.DataFrame({
        "user_id": np.repeat(np.arange(users), per_user), "video_id": video,
        "date": [20220408] * n, "hourmin": [1300] * n, "time_ms": time_ms,
        "is_click": rng.integers(0, 2, n), "is_like": (rng.random(n) < 0.2).astype(int), "is_follow": [0] * n,
        "is_comment": [0] * n, "is_forward": [0] * n, "is_hate": [0] * n, "long_view": (play > 0.5 * duration).astype(int),
        "play_time_ms": play, "duration_ms": duration, "profile_stay_time": [0] * n, "comment_stay_time": [0] * n,
        "is_profile_enter": [0] * n, "is_rand": [0] * n, "tab": rng.integers(0, 3, n),
    }).write_csv(folder / "log_standard_4_08_to_4_21_pure.csv")
    pl.DataFrame({
        "video_id": np.arange(videos), "author_id": np.arange(videos) % 7, "video_type": ["NORMAL"] * videos,
        "upload_dt": ["2022-03-01"] * videos, "upload_type": ["ShortImport"] * videos, "visible_status": ["public"] * videos,
        "video_duration": 5_000 + (np.arange(videos) * 997) % 60_000, "server_width": [720] * videos,
        "server_height": [1280] * videos, "music_id": np.arange(videos), "music_type": [9] * videos,
        "tag": [f"{v % 9},{v % 4}" if v % 10 else None for v in range(videos)],
    }).write_csv(folder / "video_features_basic_pure.csv")


def test_kuairand_layout_trains_through_the_preset(tmp_path):
    folder = tmp_path / "KuaiRand-Pure" / "data"
    folder.mkdir(parents=True)
    write_kuairand(folder)
    cfg = compose_config(debug("+experiment=video_rerank", "data=kuairand", f"data.path={folder}",
                          f"data.cache_dir={tmp_path / 'cache'}", "trainer.max_epochs=1", "export.enabled=false",
                          "data.id_buckets=512", "data.category_buckets=32"), tmp_path / "run")
    metrics = run(cfg, tmp_path / "run")
    assert {f"test/{t}/auc" for t in TASKS} | {f"pxtr/{t}/auc" for t in TASKS} <= set(metrics)
    meta = json.loads(next((tmp_path / "cache").glob(f"*/{PREPARED}")).read_text())
    assert meta["rows"] == 12 * 40 and meta["options"]["pxtr"] == "estimate" and meta["options"]["groups"]["csf"] is False
    assert meta["id_dtypes"] == {"user_id": "int", "video_id": "int", "category": "str"}
    assert sum(meta["requests"].values()) == 12 * 4  # each user one session (gaps < 30 min), 40 rows in requests of 10


@pytest.mark.slow
def test_video_log_study_command_on_a_tiny_setting(tmp_path):
    """``python -m edgerank -m +study=video_log`` sweeps both sources and both models (tiny training)."""
    import os
    import subprocess
    import sys

    log = tmp_path / "sim_log.parquet"
    assert simulate_main([str(log), "--sessions", "6000", "--seed", "0"]) == 0
    out = tmp_path / "study"
    env = {**os.environ, "EDGERANK_STUDY_LOG": str(log)}
    args = ["-m", "+study=video_log", "seed=0", "trainer.max_epochs=1", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
            "logger=none", f"hydra.sweep.dir={out}"]
    result = subprocess.run([sys.executable, "-m", "edgerank", *args], cwd=tmp_path, capture_output=True, text=True, env=env,
                            timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 5 and "video_log_source" in rows[0]


def test_rankers_on_a_log_are_scored_by_the_logged_labels(trained, tmp_path):
    root, log, _ = trained
    cfg = compose_config(debug("+experiment=video_rerank", "data=video_log", f"data.path={log}",
                          f"data.cache_dir={root / 'cache'}", "model=ta_mmoe_ctx", "ranker=greedy", "trainer.max_epochs=1",
                          "export.enabled=false", "data.rank_eval_requests=40", *SHAPES), tmp_path)
    metrics = run(cfg, tmp_path)
    assert {"rerank/ndcg@10", "rerank/map@10", "rerank/server_ndcg@10"} <= set(metrics)
    assert "rerank/true_list_reward" not in metrics  # a log has no ground truth
    assert 0.0 < metrics["rerank/server_ndcg@10"] <= 1.0
