"""``data.pxtr=estimate``: a leak-free, stale server estimate for logs without server scores.

For every row and task: the smoothed rate of that label over the video's exposures older than
``data.stale_seconds`` before the row's request (all users), shrunk towards the global rate of
exposures older than that moment::

    estimate = (labels_v + a * global_rate) / (exposures_v + a),   a = data.pxtr_smoothing
    global_rate = (labels_all + 0.5) / (exposures_all + 1)

Only exposures strictly older than ``request time - stale_seconds`` count, so a label never
feeds its own feature nor any feature of its request. It is an estimate, not a server's score;
a log that has the server's pXTR should use it (``data.pxtr=log``, the default). Computed with
Polars as-of joins against the exposures of every partition (those are held in memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from edgerank.data.video_features import TASKS
from edgerank.data.video_log_schema import PXTR


def stale_estimate(frame: pl.DataFrame, canon: Path, options: Any) -> pl.DataFrame:
    """``frame`` with its ``pxtr_*`` columns replaced by the estimate."""
    exposures = (pl.scan_parquet(canon / "*.parquet").filter(pl.col("exposed") > 0.5)
                 .select("video_id", "ts", *TASKS).sort("ts").collect(engine="streaming"))
    cast = frame.schema["video_id"]
    per_video = exposures.with_columns(
        *[pl.col(t).cum_sum().over("video_id").alias(f"_v_{t}") for t in TASKS],
        pl.int_range(1, pl.len() + 1).over("video_id").alias("_v_n"),
    ).select("video_id", "ts", *[f"_v_{t}" for t in TASKS], "_v_n").with_columns(pl.col("video_id").cast(cast))
    overall = exposures.select(
        "ts", *[pl.col(t).cum_sum().alias(f"_g_{t}") for t in TASKS], pl.int_range(1, pl.len() + 1).alias("_g_n"))
    request_start = pl.col("ts").min().over("request")
    queries = (frame.with_row_index("_order")
               .with_columns((request_start - float(options.stale_seconds)).alias("_q")).sort("_q"))
    joined = queries.join_asof(per_video, left_on="_q", right_on="ts", by="video_id", strategy="backward",
                               allow_exact_matches=False, suffix="_v")
    joined = joined.join_asof(overall, left_on="_q", right_on="ts", strategy="backward",
                              allow_exact_matches=False, suffix="_g")
    a = float(options.pxtr_smoothing)
    n_v = pl.col("_v_n").fill_null(0)
    estimates = []
    for t, p in zip(TASKS, PXTR):
        rate = (pl.col(f"_g_{t}").fill_null(0.0) + 0.5) / (pl.col("_g_n").fill_null(0) + 1.0)
        estimates.append(((pl.col(f"_v_{t}").fill_null(0.0) + a * rate) / (n_v + a)).alias(p))
    out = joined.with_columns(estimates).sort("_order")
    return out.select([c for c in frame.columns if c not in PXTR] + list(PXTR))
