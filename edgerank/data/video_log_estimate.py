"""``data.pxtr=estimate``: a leak-free, stale server estimate for logs without server scores.

For every row and task: the smoothed rate of that label over the video's exposures older than
``data.stale_seconds`` before the row's request (all users), shrunk towards the global rate of
exposures older than that moment::

    estimate = (labels_v + a * global_rate) / (exposures_v + a),   a = data.pxtr_smoothing
    global_rate = (labels_all + 0.5) / (exposures_all + 1)

Only exposures strictly older than ``request time - stale_seconds`` count, so a label never
feeds its own feature nor any feature of its request. It is an estimate, not a server's score;
a log that has the server's pXTR should use it (``data.pxtr=log``, the default).

The counts need every user partition's exposures of a video, so they are one pass of their own
between the partitions' ``sessions`` and ``encode`` phases (:func:`stale_counts`): DuckDB runs
it out of core (its sorts, aggregations and window functions spill to ``staging/duckdb.tmp``
beyond ``MEMORY_LIMIT``). Every row's request becomes a *query* at ``request time -
stale_seconds``, unioned with the exposures; running sums over ``(time, query before exposure)``,
per video and overall (the latter over the rows summed per moment), are at each query exactly
the counts of older exposures. They are written partitioned
by user partition, and each partition's ``encode`` phase reads its own (:func:`stale_estimate`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl

from edgerank.core.video_features import TASKS
from edgerank.data.video_log_schema import PXTR
from edgerank.errors import ConfigError

CANON, COUNTS = "canon", "stale_counts"
MEMORY_LIMIT = "2GB"  # DuckDB's working memory; the rest spills to disk
KEYS = ("_part", "_i", "_q")  # the columns :func:`with_query_keys` adds


def with_query_keys(frame: pl.DataFrame, part: int, options: Any) -> pl.DataFrame:
    """The ``sessions`` phase's rows plus their partition, row index and query time."""
    return frame.with_columns(pl.lit(part, pl.Int32).alias("_part"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_i"),
                              (pl.col("ts").min().over("request") - float(options.stale_seconds)).alias("_q"))


def stale_counts(staging: Path) -> None:
    """Per row (``_part``, ``_i``): exposures and label sums older than its query time, of its
    video (``_v_*``) and of all videos (``_g_*``), into ``staging/stale_counts/_part=P/``."""
    import duckdb

    canon, out = staging / CANON, staging / COUNTS
    shutil.rmtree(out, ignore_errors=True)
    files = sorted(canon.glob("*.parquet"))
    if not files:
        return
    source = "read_parquet([" + ", ".join(_quoted(f) for f in files) + "])"
    labels = ", ".join(f'"{t}" AS "{t}"' for t in TASKS)
    zeros = ", ".join(f'0.0 AS "{t}"' for t in TASKS)
    totals = ", ".join(f'sum("{t}") AS "{t}"' for t in TASKS)

    def running(w: str) -> str:
        return ", ".join([f'sum("{t}") OVER {w} AS "_{w}_{t}"' for t in TASKS] + [f"CAST(sum(n) OVER {w} AS BIGINT) AS _{w}_n"])

    with duckdb.connect() as con:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = {_quoted(staging / 'duckdb.tmp')}")
        con.execute("SET preserve_insertion_order = false")
        # overall sums over the rows aggregated per moment first: one sort of distinct times, not of every row
        con.execute(f"""
            COPY (
                WITH events AS (
                    SELECT video_id, ts AS t, 1 AS kind, 1 AS n, {labels}, NULL::INTEGER AS _part, NULL::BIGINT AS _i
                    FROM {source} WHERE exposed > 0.5
                    UNION ALL
                    SELECT video_id, _q AS t, 0 AS kind, 0 AS n, {zeros}, _part, _i FROM {source}
                ),
                per_video AS (
                    SELECT _part, _i, t, kind, {running("v")} FROM events
                    WINDOW v AS (PARTITION BY video_id ORDER BY t, kind ROWS UNBOUNDED PRECEDING)
                    QUALIFY kind = 0
                ),
                moments AS (SELECT t, kind, sum(n) AS n, {totals} FROM events GROUP BY t, kind),
                overall AS (
                    SELECT t, kind, {running("g")} FROM moments
                    WINDOW g AS (ORDER BY t, kind ROWS UNBOUNDED PRECEDING)
                    QUALIFY kind = 0
                )
                SELECT per_video.* EXCLUDE (t, kind), overall.* EXCLUDE (t, kind)
                FROM per_video JOIN overall USING (t, kind)
            ) TO {_quoted(out)} (FORMAT parquet, PARTITION_BY (_part))""")
    shutil.rmtree(staging / "duckdb.tmp", ignore_errors=True)


def _quoted(path: Path) -> str:
    """``path`` as an SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def stale_estimate(frame: pl.DataFrame, staging: Path, part: int, options: Any) -> pl.DataFrame:
    """``frame`` (partition ``part``'s ``sessions`` rows) with ``pxtr_*`` replaced by the estimate."""
    folder = staging / COUNTS / f"_part={part}"
    counts = pl.read_parquet(sorted(folder.glob("*.parquet"))).sort("_i") if folder.is_dir() else None
    if counts is None or counts.height != frame.height or not (counts["_i"] == frame["_i"]).all():
        raise ConfigError("stage", f"partition {part} has no stale counts for its rows: run stage=estimate after "
                                   "every partition's phase=sessions, then phase=encode")
    a = float(options.pxtr_smoothing)
    n_v = counts["_v_n"]
    estimates = []
    for t, p in zip(TASKS, PXTR):
        rate = (counts[f"_g_{t}"] + 0.5) / (counts["_g_n"] + 1.0)
        estimates.append(((counts[f"_v_{t}"] + a * rate) / (n_v + a)).alias(p))
    keep = [c for c in frame.columns if c not in PXTR and c not in KEYS]
    return frame.select(keep).with_columns(estimates)
