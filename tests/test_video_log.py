"""``data=video_log``: a simulator log read back gives the synthetic tensors; splits, ids, caching,
the stale estimate; and bad logs are errors naming file, column and row (exit 2) before training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import run_cli
from edgerank.data.video import VideoSyntheticData
from edgerank.core.video_ids import IdMap
from edgerank.data.video_log import VideoLogData
from edgerank.data.video_log_options import PrepareOptions
from edgerank.errors import ConfigError, DataError
from edgerank.simulate import main as simulate_main

WORLD = dict(num_videos=300, num_categories=12)
SHAPES = dict(max_candidates=50, seq_len=8)


@pytest.fixture(scope="module")
def sim_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("simlog") / "sim_log.parquet"
    assert simulate_main([str(path), "--sessions", "60", "--seed", "3", "--set", "num_videos=300"]) == 0
    return path


def log_data(path, tmp_path, **options):
    return VideoLogData(path=str(path), cache_dir=str(tmp_path / "cache"), **{**SHAPES, **options})


def test_simulator_log_read_back_gives_exactly_the_synthetic_tensors(sim_log, tmp_path):
    synthetic = VideoSyntheticData(num_users=20, seed=3, **WORLD, **SHAPES)
    synthetic.setup()
    logged = log_data(sim_log, tmp_path, ids="identity", id_buckets=300, category_buckets=12, split="session", seed=3)
    logged.setup()
    for split in ("train", "val", "test"):
        want = {k: v.numpy() for k, v in synthetic._splits[split].tensors.items()}
        got = logged.split_arrays(split)
        assert set(got) == set(want) and len(got["cand_mask"]) == len(want["cand_mask"]) > 0
        for name in want:
            assert got[name].dtype == want[name].dtype, name
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{split}/{name}")
    assert logged.spec.manifest_fields()["ids"]["video_id"] == {"kind": "identity", "size": 300, "dtype": "int"}


def test_time_split_puts_the_latest_sessions_in_test_and_a_second_run_reuses_the_shards(sim_log, tmp_path):
    data = log_data(sim_log, tmp_path)
    data.setup()
    meta = data.shards.meta
    assert meta["options"]["split"] == "time" and meta["sessions"] == 60
    sessions = pl.concat(pl.read_parquet(d / "sessions.parquet") for d in data.shards.dirs)
    split = np.concatenate(data.shards.splits)
    starts = np.repeat(sessions["session_start"].to_numpy(), sessions["requests"].to_numpy())
    assert starts[split == 2].min() >= starts[split != 2].max()  # the test set is later than all else
    assert round(60 * 0.2) == len(np.unique(starts[split == 2]))
    again = log_data(sim_log, tmp_path)
    again.setup()
    assert again.shards.folder == data.shards.folder
    (data.shards.folder / "prepared.json").write_text(json.dumps({**meta, "sessions": -1}))  # a reused cache is not rebuilt
    third = log_data(sim_log, tmp_path)
    third.setup()
    assert third.shards.meta["sessions"] == -1
    other = log_data(sim_log, tmp_path, seq_len=4)  # another option: another preparation
    other.setup()
    assert other.shards.folder != data.shards.folder


def test_hashed_ids_are_stable_bounded_and_typed():
    ids = IdMap("hash", 1000)
    values = np.array([0, 17, 2**40 + 5, -3], dtype=np.int64)
    assert ids.apply(values).tolist() == ids.apply(values).tolist()
    assert ids.apply(values).min() >= 0 and ids.apply(values).max() < 1000
    text = IdMap("hash", 1000, "str")
    assert text.apply(np.array(["a", "17"])).tolist() == [text.apply(np.array(["a"]))[0], text.apply(np.array([text.event_id(17)]))[0]]
    # the declared function, spelled out: splitmix64 of the int, and of BLAKE2b-64 of the text
    import hashlib

    def mix(z):
        m = (1 << 64) - 1
        z = (z + 0x9E3779B97F4A7C15) & m
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        return z ^ (z >> 31)

    assert ids.apply(np.array([2**40 + 5]))[0] == mix(2**40 + 5) % 1000
    mixed = np.array([ids.event_id(v) for v in ("17", 17, "x")], dtype=object)  # an app's events
    assert ids.apply(mixed).tolist() == [ids.apply(np.array([17]))[0]] * 2 + [text.apply(np.array(["x"]))[0]]
    assert ids.apply(np.array([-3]))[0] == mix((1 << 64) - 3) % 1000
    digest = int.from_bytes(hashlib.blake2b(b"a", digest_size=8).digest(), "little")
    assert text.apply(np.array(["a"]))[0] == mix(digest) % 1000


def _feed(tmp_path, rows, name="feed.csv", **extra):
    frame = pl.DataFrame(rows)
    path = tmp_path / name
    frame.write_csv(path) if name.endswith(".csv") else frame.write_parquet(path)
    return path


def _rows(n=12, **changes):
    rows = {"user_id": ["u1"] * (n // 2) + ["u2"] * (n - n // 2), "ts": [str(1000 + 10 * i) for i in range(n)],
            "video_id": [f"v{i % 5}" for i in range(n)], "effective_view": [i % 2 for i in range(n)],
            "like": [int(i % 3 == 0) for i in range(n)], "category": ["c1"] * n, "duration": [20.0] * n,
            "network_speed": [3.0] * n, "preload": [0.5] * n, "pxtr_has_next": [0.9] * n,
            "pxtr_effective_view": [0.4] * n, "pxtr_like": [0.1] * n}
    rows.update(changes)
    return rows


def test_string_ids_sessions_requests_and_derived_has_next(tmp_path):
    """Without session/request ids: sessions cut by gap, requests of request_size rows, has_next derived."""
    ts = [0, 10, 20, 30, 5000, 5010, 0, 10, 20, 30, 40, 50]
    path = _feed(tmp_path, _rows(ts=[str(1_700_000_000 + t) for t in ts]))
    data = log_data(path, tmp_path, request_size=2, val_fraction=0.0, test_fraction=0.3)
    data.setup()
    meta = data.shards.meta
    assert meta["sessions"] == 3 and sum(meta["requests"].values()) == 2 + 1 + 3
    arrays = {k: np.concatenate([data.split_arrays(s)[k] for s in ("train", "test")]) for k in ("cand_mask", "labels", "seq_mask")}
    assert arrays["cand_mask"].sum() == 12
    # has_next: 1 on every shown row but the last of its session (3 sessions -> 3 zeros)
    assert arrays["labels"][..., 0].sum() == 12 - 3
    assert meta["id_dtypes"]["video_id"] == "str" and data.spec.manifest_fields()["ids"]["video_id"]["kind"] == "hash"


def test_pxtr_estimate_is_stale_and_leak_free(tmp_path):
    """The estimate for a request only counts exposures older than stale_seconds before it."""
    n = 8
    rows = _rows(n, user_id=[f"u{i}" for i in range(n)], video_id=["v"] * n, like=[1] * n,
                 ts=[str(1_700_000_000 + 100 * i) for i in range(n)])
    for p in ("pxtr_has_next", "pxtr_effective_view", "pxtr_like"):
        del rows[p]
    path = _feed(tmp_path, rows)
    data = log_data(path, tmp_path, pxtr="estimate", stale_seconds=150.0, pxtr_smoothing=1.0, request_size=1,
                    split="session", test_fraction=0.5, val_fraction=0.0)
    data.setup()
    got = np.concatenate([data.split_arrays(s)["cand_pxtr"][:, 0, 2] for s in ("train", "test")])
    # user i's request at t=100 i sees the likes of exposures strictly before 100 i - 150: i - 1 of them for i >= 2
    expected = []
    for i in range(n):
        seen = max(0, i - 1) if i >= 2 else 0
        rate = (seen + 0.5) / (seen + 1)
        expected.append((seen + 1.0 * rate) / (seen + 1.0))
    assert sorted(np.round(got, 5)) == sorted(np.round(np.array(expected, np.float32), 5))
    assert data.spec.manifest_fields()["data_source"]["pxtr"].startswith("stale estimate")



def _in_memory_estimate(frame: pl.DataFrame, stale: float, a: float) -> pl.DataFrame:
    """The reference: every exposure of the log in memory, per-video and global running sums,
    Polars as-of joins (strictly older than request time - stale) per row."""
    tasks = ("has_next", "effective_view", "like")
    exposures = frame.filter(pl.col("exposed") > 0.5).select("video_id", "ts", *tasks).sort("ts")
    per_video = exposures.with_columns(*[pl.col(t).cum_sum().over("video_id").alias(f"v_{t}") for t in tasks],
                                       pl.int_range(1, pl.len() + 1).over("video_id").alias("v_n")).drop(tasks)
    overall = exposures.select("ts", *[pl.col(t).cum_sum().alias(f"g_{t}") for t in tasks],
                               pl.int_range(1, pl.len() + 1).alias("g_n"))
    queries = frame.select("_part", "_i", "video_id", pl.col("_q").alias("q")).sort("q")
    joined = (queries.join_asof(per_video, left_on="q", right_on="ts", by="video_id", allow_exact_matches=False)
              .join_asof(overall, left_on="q", right_on="ts", allow_exact_matches=False).fill_null(0))
    return joined.select("_part", "_i", *[
        ((pl.col(f"v_{t}") + a * ((pl.col(f"g_{t}") + 0.5) / (pl.col("g_n") + 1.0))) / (pl.col("v_n") + a)).alias(f"pxtr_{t}")
        for t in tasks]).sort("_part", "_i")


def test_out_of_core_stale_estimate_equals_the_in_memory_as_of_join(tmp_path):
    """The DuckDB pass over all partitions' exposures gives, row by row, exactly what one in-memory
    as-of join over the whole log gives (ties in time, videos spread over user partitions)."""
    from edgerank.data import video_log_prepare as prep
    from edgerank.data.video_log_estimate import stale_counts, stale_estimate

    rng = np.random.default_rng(0)
    n = 3000
    rows = {"user_id": rng.integers(0, 40, n), "ts": np.floor(rng.uniform(0, 4000, n) / 7) * 7,  # many equal times
            "video_id": rng.integers(0, 25, n), "effective_view": rng.integers(0, 2, n), "like": rng.integers(0, 2, n),
            "exposed": (rng.random(n) < 0.7).astype(int), "category": np.zeros(n, int), "duration": np.full(n, 9.0),
            "network_speed": np.full(n, 2.0), "preload": np.zeros(n)}
    path = _feed(tmp_path, rows, "feed.parquet")
    options = PrepareOptions(path=str(path), pxtr="estimate", stale_seconds=90.0, pxtr_smoothing=3.0, partitions=3,
                                  request_size=4, max_candidates=4, session_gap_s=300.0,
                                  groups={"pxtr": True, "static": True, "csf": True, "rts": True, "fe": True})
    staging = tmp_path / "it's staging"  # a quote in the path: SQL string literals are escaped
    assert prep.partition_log(options, prep.check_log(options), staging) == 3
    for p in range(3):
        prep.prepare_partition(staging, p, "sessions")
    canon = [pl.read_parquet(staging / "canon" / f"part-{p:05d}.parquet") for p in range(3)]
    want = _in_memory_estimate(pl.concat(canon), 90.0, 3.0)
    with pytest.raises(ConfigError, match="partition 0 has no stale counts for its rows: run stage=estimate"):
        prep.prepare_partition(staging, 0, "encode")
    stale_counts(staging)
    got = pl.concat(stale_estimate(c, staging, p, options).with_columns(c["_part"], c["_i"]) for p, c in enumerate(canon))
    got = got.select(want.columns).sort("_part", "_i")
    assert got.height == n and want["pxtr_like"].n_unique() > 50
    assert got.equals(want)  # bit for bit

@pytest.mark.parametrize(
    "changes, options, message",
    [
        ({"ts": None}, {}, "no column 'ts'"),
        ({"ts": ["1000"] * 5 + ["soon"] + ["1001"] * 6}, {}, "row 6: column 'ts' is empty or does not parse"),
        ({"like": [1, 0, 1, None, 0, 0, 1, 0, 1, 0, 0, 0]}, {}, "row 4: column 'like' is NaN/empty on a shown row"),
        ({"network_speed": None}, {}, "features.csf needs column 'network_speed'; switch the group off with features.csf=false"),
        ({"exposed": [0] * 12}, {}, "no row was shown"),
        ({"session_id": [1] * 12, "request_id": [7] * 12}, {"max_candidates": 5, "request_size": 5}, "row 1: column 'request_id': a request of 6 candidates, more than data.max_candidates=5"),
        ({"long_view": [0] * 12, "effective_view": None}, {"columns": {"effective_view": "watched"}}, "no column 'effective_view' (data.columns.effective_view='watched'"),
    ],
)
def test_bad_logs_are_errors_naming_file_column_and_row(tmp_path, changes, options, message):
    rows = _rows()
    for key, value in changes.items():
        if value is None:
            rows.pop(key)
        else:
            rows[key] = value
    path = _feed(tmp_path, rows)
    with pytest.raises(DataError) as error:
        log_data(path, tmp_path, **options).setup()
    assert message in str(error.value) and (str(path) in str(error.value) or "features." in message)
    assert not list((tmp_path / "cache").glob("*/prepared.json")) if (tmp_path / "cache").exists() else True


def test_renamed_columns_and_an_empty_log(tmp_path):
    rows = _rows()
    rows["long_view"] = rows.pop("effective_view")
    data = log_data(_feed(tmp_path, rows, "feed.parquet"), tmp_path, columns={"effective_view": "long_view"})
    data.setup()
    assert sum(data.shards.meta["requests"].values()) > 0
    rows["ts"] = [str(int(t) * 1000) for t in rows["ts"]]  # milliseconds
    in_ms = log_data(_feed(tmp_path, rows, "feed_ms.csv"), tmp_path, columns={"effective_view": "long_view"}, ts_unit="ms")
    in_ms.setup()
    for split in ("train", "test"):
        a, b = data.split_arrays(split), in_ms.split_arrays(split)
        assert all(np.array_equal(a[k], b[k]) for k in a), split
    empty = _feed(tmp_path, {k: [] for k in _rows()}, "empty.parquet")
    with pytest.raises(DataError, match="empty.parquet: the log has no rows"):
        log_data(empty, tmp_path).setup()


def test_a_bad_log_exits_2_before_training(tmp_path):
    path = _feed(tmp_path, _rows(ts=["1000"] * 5 + ["soon"] + ["1001"] * 6))
    result = run_cli(["+experiment=video_rerank", "data=video_log", f"data.path={path}", f"data.cache_dir={tmp_path / 'c'}",
                      f"hydra.run.dir={tmp_path / 'run'}", "logger=none"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"{path} row 6: column 'ts' is empty or does not parse as a number (value 'soon')" in result.stderr
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "artifact").exists()


def test_partitions_run_as_independent_jobs_through_the_joblib_launcher(sim_log, tmp_path):
    """stage=partition_log, then one joblib job per partition, then stage=finish: the same shards
    as one process preparing everything, found by a training run's datamodule in the cache."""
    from hydra import compose, initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from edgerank.prepare import run as prepare_stage

    jobs = tmp_path / "jobs"
    common = ["data=video_log", f"data.path={sim_log}", "data.partitions=2", f"data.cache_dir={jobs}"]

    def stage(*overrides):
        GlobalHydra.instance().clear()
        with initialize_config_module(config_module="edgerank.conf", version_base="1.3"):
            return prepare_stage(compose(config_name="prepare", overrides=[*common, *overrides]))

    assert json.loads(stage("stage=partition_log"))["partitions"] == 2
    done = run_cli(["-m", *common, "stage=partition", "part=range(0,2)", "hydra/launcher=local_parallel",
                    f"hydra.sweep.dir={tmp_path / 'sweep'}"], cwd=tmp_path, module="edgerank.prepare")
    assert done.returncode == 0, done.stderr[-3000:]
    published = Path(stage("stage=finish"))
    by_jobs = VideoLogData(path=str(sim_log), cache_dir=str(jobs), partitions=2)
    by_jobs.setup()  # a cache hit: the jobs' result
    assert by_jobs.shards.folder == published and [p.name for p in jobs.iterdir()] == [published.name]
    at_once = VideoLogData(path=str(sim_log), cache_dir=str(tmp_path / "once"), partitions=2)
    at_once.setup()
    assert len(at_once.shards.dirs) == 2
    for split in ("train", "test"):
        a, b = by_jobs.split_arrays(split), at_once.split_arrays(split)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), split


def test_readme_schema_table_is_the_declared_one():
    import edgerank
    from edgerank.data.video_log_schema import schema_table

    readme = (Path(edgerank.__file__).parent.parent / "README.md").read_text()
    table = readme.split("<!-- schema-table -->\n")[1].split("\n<!-- /schema-table -->")[0]
    assert table == schema_table()


def test_the_stream_splits_requests_across_ranks_and_workers_and_reshuffles_per_epoch(sim_log, tmp_path):
    from edgerank.data.video_stream import StreamingRequests

    data = log_data(sim_log, tmp_path, partitions=3, batch_size=16, num_workers=2, split="session")
    data.setup()
    n = data.shards.count("train")
    stream = StreamingRequests(data.shards, "train", 16, shuffle=True, seed=1)
    plans = [stream._plan(rank, 2) for rank in (0, 1)]
    picked = [{(int(s), int(r)) for shard, rows in plan for s, r in zip(shard, rows)} for plan in plans]
    assert len(plans[0]) == len(plans[1]) and len(picked[0]) == len(picked[1]) == n // 2 and not picked[0] & picked[1]
    loader = data.train_dataloader()
    epochs = []
    for _ in range(2):
        ids = [tuple(b["cand_id"][:, 0].tolist()) for b in loader]
        assert sum(len(i) for i in ids) == n  # two workers, every request once
        epochs.append(ids)
    assert sorted(sum(map(list, epochs[0]), [])) == sorted(sum(map(list, epochs[1]), [])) and epochs[0] != epochs[1]
