"""Preparing a feed log for training: out of core, partitioned by user, into memory-mapped shards.

Stages (see README "Bring your own feed logs"):

1. **check and partition** (one streaming Polars pass over the whole log): rows go to
   ``partitions`` Arrow IPC partitions by a hash of ``user_id``, so every session lies in one
   partition, while every row is checked; the first bad row is an error naming file, column and row;
2. **sessions and requests** (per partition): sessions cut by gap unless ``session_id`` is
   given, requests grouped unless ``request_id`` is given, ``has_next`` derived where absent;
3. **stale server estimate** (``pxtr=estimate`` only): one out-of-core DuckDB pass over every
   partition's exposures between the ``sessions`` and ``encode`` phases
   (:mod:`edgerank.data.video_log_estimate`);
4. **encode** (per partition): ids mapped (:mod:`edgerank.core.video_ids`), rows encoded by the
   contract (:func:`edgerank.core.video_contract.encode_rows`) in blocks of whole sessions on
   every core, one ``.npy`` per tensor (:mod:`edgerank.data.video_log_encode`);
5. **split** (sessions only, small): by time (later sessions are the test set) or by session.

Stages 2-4 of one partition depend on nothing but that partition (and, for the estimate, the
counts of stage 3), so :func:`prepare_partition` is the unit a Hydra launcher can run as one
job per partition. The result is cached under ``cache_dir/<key>``, the key hashing the files'
contents, the options and the contract version; a second run reuses it.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc  # noqa: F401  (pa.ipc)

from edgerank.core.video_features import TASKS
from edgerank.data.video_log_encode import encode_blocks, map_ids
from edgerank.data.video_log_estimate import CANON, COUNTS, stale_counts, stale_estimate, with_query_keys
from edgerank.data.video_log_read import (
    LogFile, count_rows, first_problem, id_types, log_files, log_summary, resolve_columns, typed)
from edgerank.data.video_log_options import PrepareOptions
from edgerank.errors import DataError

CONTRACT_VERSION = 1  # bump when the encoding of prepared shards changes
PREPARED = "prepared.json"
SPLITS = ("train", "val", "test")


def content_key(files: list[Path], options: PrepareOptions) -> str:
    """blake2b over the files' names and SHA-256 digests, the options and the versions that shape the output."""
    digest = hashlib.blake2b(digest_size=16)
    with ThreadPoolExecutor(pl.thread_pool_size()) as pool:  # hashlib releases the GIL: files hashed on every core
        for path, file_digest in zip(files, pool.map(_file_digest, files)):
            digest.update(str(path.name).encode())
            digest.update(file_digest)
    settings = {k: v for k, v in asdict(options).items() if k not in ("path", "groups")}  # groups only pick inputs
    digest.update(json.dumps([settings, CONTRACT_VERSION, pl.__version__], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    """The file's SHA-256 (CPUs hash it in hardware, about twice blake2b's speed), read through a
    memory map (no copy into Python)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size:
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
                digest.update(view)
    return digest.digest()


def check_log(options: PrepareOptions) -> list[LogFile]:
    """Column checks only (names, renames, feature groups): cheap, before anything is prepared."""
    return resolve_columns(log_files(options.path), options.columns, options.groups, options.pxtr)


def prepare(options: PrepareOptions, cache_dir: str | Path) -> Path:
    """The prepared folder of ``options`` (cached): checks, partitions, encodes and splits."""
    files = check_log(options)
    final = Path(cache_dir).expanduser() / content_key([f.path for f in files], options)
    if (final / PREPARED).is_file():
        return final
    staging = final.parent / f".{final.name}.{os.getpid()}.tmp"
    try:
        partitions = partition_log(options, files, staging)
        for phase in phases(options):  # the estimate reads every partition's exposures: sessions first
            for p in range(partitions):
                prepare_partition(staging, p, phase)
            if phase == "sessions":
                stale_counts(staging)
        return publish(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def phases(options: PrepareOptions) -> tuple[str, ...]:
    return ("sessions", "encode") if options.pxtr == "estimate" else ("all",)


def staging_of(options: PrepareOptions, cache_dir: str | Path) -> tuple[Path, Path]:
    """(staging, final) folders shared by the jobs of one preparation (``python -m edgerank.prepare``)."""
    final = Path(cache_dir).expanduser() / content_key([f.path for f in check_log(options)], options)
    return final.parent / f".{final.name}.staging", final


def publish(staging: Path, final: Path) -> Path:
    """Stage 5 and the move into place (another process that finished first wins)."""
    finish(staging)
    if not (final / PREPARED).is_file():
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
    return final


def partition_log(options: PrepareOptions, files: list[LogFile], staging: Path) -> int:
    """Stage 1: one streaming pass writes the log partitioned by user and checks every row (a bad
    row is reported, and the partitions removed, before anything else); returns the partition count.
    The partitions are uncompressed Arrow IPC: a transient copy, cheaper to write and to read back
    than Parquet (2.6x the bytes of LZ4 Parquet; README "Bring your own feed logs")."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    types = id_types(files)
    frame = typed(files, options.ts_unit, options.effective_view_ratio, types)
    names = list(files[0].columns)
    partitions = int(options.partitions) or max(1, math.ceil(count_rows(frame) / int(options.rows_per_partition)))
    sink = (frame.with_columns((pl.col("user_id").hash(seed=0) % partitions).cast(pl.Int32).alias("_part"))
            .sink_ipc(pl.PartitionBy(staging / "raw", key="_part", include_key=False), compression=None,
                      mkdir=True, lazy=True))
    _, summary = pl.collect_all([sink, log_summary(frame, names)], engine="streaming")
    rows, shown = int(summary["rows"][0]), int(summary["shown"][0] or 0)
    problem = first_problem(frame, names, files) if summary["bad"][0] else None
    if problem or rows == 0 or shown == 0:
        shutil.rmtree(staging, ignore_errors=True)
    if problem:
        raise DataError(problem)
    if rows == 0:
        raise DataError(f"{options.path}: the log has no rows")
    if shown == 0:
        raise DataError(f"{options.path}: no row was shown (exposed=1): nothing to learn from")
    meta = {"options": asdict(options), "partitions": partitions, "rows": rows,
            "files": [{"path": str(f.path), "columns": f.columns} for f in files],
            "id_dtypes": {k: "int" if v == pl.Int64 else "str" for k, v in types.items()}}
    (staging / "meta.json").write_text(json.dumps(meta, indent=1))
    return partitions


def _meta(staging: Path) -> tuple[dict[str, Any], PrepareOptions]:
    meta = json.loads((staging / "meta.json").read_text())
    return meta, PrepareOptions(**meta["options"])


def prepare_partition(staging: Path, p: int, phase: str = "all") -> None:
    """Stages 2-4 of partition ``p`` into shard ``p``. ``phase``: ``all``, or with
    ``pxtr=estimate`` first ``sessions`` for every partition, then :func:`stale_counts` once,
    then ``encode`` for every one."""
    meta, options = _meta(staging)
    source = staging / "raw" / f"_part={p}"
    canon = staging / CANON / f"part-{p:05d}.parquet"
    out = staging / "shards" / f"part-{p:05d}"
    out.mkdir(parents=True, exist_ok=True)
    if phase in ("all", "sessions"):
        if not source.is_dir():  # no user hashed here
            return
        frame = _check_request_sizes(sessions_and_requests(read_staged(sorted(source.rglob("*.ipc"))), options), options, meta)
        if phase == "sessions":
            canon.parent.mkdir(exist_ok=True)
            with_query_keys(frame, p, options).write_parquet(canon)
            return
    else:
        if not canon.is_file():
            return
        frame = stale_estimate(pl.read_parquet(canon), staging, p, options)
    encode_partition(frame, options, meta, out)


def read_staged(files: list[Path]) -> pl.DataFrame:
    """A partition's staged rows, memory-mapped: uncompressed Arrow IPC is read zero-copy, so
    reading a partition back costs no CPU and the page cache holds its only copy."""
    tables = [pa.ipc.open_file(pa.memory_map(str(f))).read_all() for f in files]
    return pl.from_arrow(pa.concat_tables(tables), rechunk=False)


def sessions_and_requests(frame: pl.DataFrame, options: PrepareOptions) -> pl.DataFrame:
    """Sorted rows with ``session``/``request`` (0.. within the partition), ``session_start``,
    ``has_next`` (derived where absent) and no labels on rows that were not shown.

    ``frame`` is in file order (``_file``, ``_row``), so stable sorts break ties by it without
    sorting on those two columns; once re-sorted by time for the session cut, they are explicit."""
    order: list[str] = []  # the tie-breakers the frame's current order does not give
    if "session_id" in frame.columns:
        frame = frame.with_columns(pl.col("ts").min().over("user_id", "session_id").alias("session_start"))
        session_key = ["session_start", "session_id"]
    else:
        frame = frame.sort(["user_id", "ts"], maintain_order=True)
        new = (pl.col("user_id") != pl.col("user_id").shift(1)).fill_null(True) | (
            (pl.col("ts") - pl.col("ts").shift(1)).fill_null(0.0) > float(options.session_gap_s))
        frame = frame.with_columns(new.cum_sum().alias("_cut"))
        frame = frame.with_columns(pl.col("ts").min().over("_cut").alias("session_start"))
        session_key, order = ["session_start", "_cut"], ["_file", "_row"]
    within = ["position", *order] if "position" in frame.columns else order
    if "request_id" in frame.columns:
        frame = frame.with_columns(pl.col("ts").min().over("user_id", session_key[-1], "request_id").alias("_request_start"))
        frame = frame.sort(["user_id", *session_key, "_request_start", "request_id", *within], maintain_order=True)
    else:
        if "session_id" in frame.columns or "position" in frame.columns:  # else already in this order
            frame = frame.sort(["user_id", *session_key, "ts", *within], maintain_order=True)
        ordinal = pl.int_range(pl.len()).over("user_id", *session_key)
        frame = frame.with_columns((ordinal // int(options.request_size)).alias("request_id"))
    frame = frame.with_columns(
        pl.struct("user_id", *session_key).rle_id().alias("session"),
    ).with_columns(pl.struct("session", "request_id").rle_id().alias("request"))
    shown = pl.col("exposed") > 0.5
    if "has_next" not in frame.columns:  # another exposure follows in the session
        later = pl.col("exposed").cum_sum(reverse=True).over("session") - pl.col("exposed")
        frame = frame.with_columns((shown & (later > 0.5)).cast(pl.Float64).alias("has_next"))
    # a row only sent carries labels only if the log gives them (a simulator's do)
    labelled = shown | pl.all_horizontal([pl.col(t).is_not_null() & pl.col(t).is_not_nan() for t in TASKS])
    frame = frame.with_columns(labelled.alias("labelled")).with_columns(
        [pl.when(pl.col("labelled")).then(pl.col(t)).otherwise(0.0).alias(t) for t in TASKS])
    return frame.drop([c for c in ("_cut", "_request_start") if c in frame.columns])


def _where(meta: Mapping[str, Any], file_index: int, row: int) -> str:
    return f"{meta['files'][file_index]['path']} row {row}"


def _check_request_sizes(frame: pl.DataFrame, options: PrepareOptions, meta: Mapping[str, Any]) -> pl.DataFrame:
    sizes = frame.group_by("request", maintain_order=True).agg(pl.len().alias("n"), pl.first("_file"), pl.first("_row"))
    big = sizes.filter(pl.col("n") > int(options.max_candidates))
    if big.height:
        r = big.row(0, named=True)
        column = "request_id" if "request_id" in meta["files"][0]["columns"] else "rows of one request"
        raise DataError(f"{_where(meta, r['_file'], r['_row'])}: column '{column}': a request of {r['n']} candidates, "
                        f"more than data.max_candidates={options.max_candidates} (candidates are never dropped; raise it)")
    return frame


def encode_partition(frame: pl.DataFrame, options: PrepareOptions, meta: Mapping[str, Any], out: Path) -> None:
    """Stage 4: ids mapped, rows checked and encoded by the contract, one ``.npy`` per tensor
    (:mod:`edgerank.data.video_log_encode`), and the partition's sessions."""
    columns = {c: frame[c].to_numpy() for c in frame.columns if c not in ("user_id", "session_id")}
    where = lambda i: _where(meta, int(columns["_file"][i]), int(columns["_row"][i]))  # noqa: E731
    map_ids(frame, columns, lambda name: options.id_map(name, meta["id_dtypes"].get(name, "int")), where)
    first = encode_blocks(columns, options.max_candidates, options.seq_len, out, where)
    sessions = frame[first].select("user_id", "session_start", "session").group_by("session", maintain_order=True).agg(pl.first("user_id"), pl.first("session_start"), pl.len().alias("requests"))
    sessions.write_parquet(out / "sessions.parquet")


def finish(staging: Path) -> None:
    """Stage 5: the split of every request (by its session), and the prepared manifest."""
    meta, options = _meta(staging)
    parts = [staging / "shards" / f"part-{p:05d}" for p in range(meta["partitions"])]
    tables = [pl.read_parquet(d / "sessions.parquet").with_columns(pl.lit(i).alias("part"))
              for i, d in enumerate(parts) if (d / "sessions.parquet").is_file()]
    sessions = pl.concat(tables)
    by = ["user_id", "session_start"] if options.split == "session" else ["session_start", "user_id"]
    sessions = sessions.sort(by).with_row_index("global")
    n = sessions.height
    codes = np.zeros(n, np.int8)  # 0 train, 1 val, 2 test, in the order sorted above
    if options.split == "session":
        order = np.random.default_rng(options.seed).permutation(n)
    else:  # the latest sessions are the test set, the ones before them validation
        order = np.arange(n)[::-1]
    n_test = max(1, round(n * options.test_fraction))
    n_val = max(1, round((n - n_test) * options.val_fraction)) if options.val_fraction > 0 else 0
    codes[order[:n_test]], codes[order[n_test : n_test + n_val]] = 2, 1
    sessions = sessions.with_columns(pl.Series("split", codes[sessions["global"].to_numpy()]))
    counts = {s: 0 for s in SPLITS}
    for i, d in enumerate(parts):
        if not (d / "sessions.parquet").is_file():
            continue
        table = sessions.filter(pl.col("part") == i).sort("session")
        split = np.repeat(table["split"].to_numpy(), table["requests"].to_numpy()).astype(np.int8)
        np.save(d / "split.npy", split)
        for code, name in enumerate(SPLITS):
            counts[name] += int((split == code).sum())
    for work in ("raw", CANON, COUNTS):
        shutil.rmtree(staging / work, ignore_errors=True)
    meta.update(sessions=n, requests=counts, shards=[d.name for d in parts if (d / "split.npy").is_file()])
    (staging / PREPARED).write_text(json.dumps(meta, indent=1))
