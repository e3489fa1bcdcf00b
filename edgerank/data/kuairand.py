"""``data=kuairand``: KuaiRand's published files (Gao et al., CIKM 2022) as a feed log.

``data.path`` is the folder of a KuaiRand release (e.g. ``KuaiRand-Pure/data``) holding
``log_standard_*.csv`` (user_id, video_id, date, hourmin, time_ms, is_click, is_like, is_follow,
is_comment, is_forward, is_hate, long_view, play_time_ms, duration_ms, profile_stay_time,
comment_stay_time, is_profile_enter, is_rand, tab) and ``video_features_basic_*.csv``
(video_id, author_id, video_type, upload_dt, upload_type, visible_status, video_duration,
server_width, server_height, music_id, music_type, tag). Nothing is downloaded.

The mapping (one lazy Polars plan, written once to a Parquet file in ``data.cache_dir``):

=================  ==============================================================
``ts``             ``time_ms`` / 1000
``effective_view``  ``long_view``
``like``            ``is_like``
``duration``        ``duration_ms`` / 1000 (else the video's ``video_duration`` / 1000)
``watch_seconds``   ``play_time_ms`` / 1000
``category``        the video's first ``tag`` (``video_type`` where it has none)
=================  ==============================================================

Every row of the standard log was shown (``exposed`` = 1); sessions are cut by gap and requests
grouped by ``data.request_size`` (KuaiRand logs neither), ``has_next`` is derived. KuaiRand has
no server scores (the preset uses ``data.pxtr=estimate``) and no network speed or preload time,
so the preset switches the ``csf`` group off (a warning says so).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import polars as pl

from edgerank.data.video_log import VideoLogData
from edgerank.data.video_log_options import KuaiRandOptions
from edgerank.errors import DataError
from edgerank.registry import register_data

log = logging.getLogger(__name__)
LOG_COLUMNS = ("user_id", "video_id", "date", "hourmin", "time_ms", "is_click", "is_like", "is_follow", "is_comment",
               "is_forward", "is_hate", "long_view", "play_time_ms", "duration_ms", "profile_stay_time",
               "comment_stay_time", "is_profile_enter", "is_rand", "tab")
VIDEO_COLUMNS = ("video_id", "author_id", "video_type", "upload_dt", "upload_type", "visible_status", "video_duration",
                 "server_width", "server_height", "music_id", "music_type", "tag")
USED_LOG = ("user_id", "video_id", "time_ms", "is_like", "long_view", "play_time_ms", "duration_ms")
USED_VIDEO = ("video_id", "video_type", "video_duration", "tag")
UNAVAILABLE = ("csf",)  # no network speed, no preload time


def kuairand_files(folder: Path) -> tuple[list[Path], list[Path]]:
    if not folder.is_dir():
        raise DataError(f"data.path: {folder} is not a folder (data=kuairand reads a KuaiRand release's data/ folder)")
    logs = sorted(folder.rglob("log_standard_*.csv"))
    videos = sorted(folder.rglob("video_features_basic_*.csv"))
    if not logs:
        raise DataError(f"{folder}: no log_standard_*.csv (KuaiRand's standard logs)")
    if not videos:
        raise DataError(f"{folder}: no video_features_basic_*.csv (KuaiRand's video features)")
    for path, expected in [*((p, USED_LOG) for p in logs), *((p, USED_VIDEO) for p in videos)]:
        header = path.open(encoding="utf-8").readline().strip().split(",")
        missing = [c for c in expected if c not in header]
        if missing:
            raise DataError(f"{path}: no column '{missing[0]}' (KuaiRand's layout; columns: {', '.join(header)})")
    return logs, videos


def to_feed_log(folder: Path, out: Path) -> Path:
    """KuaiRand's files as one feed-log Parquet file (cached by the files' sizes and times)."""
    logs, videos = kuairand_files(folder)
    stamp = hashlib.blake2b(digest_size=8)
    for path in (*logs, *videos):
        stat = path.stat()
        stamp.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    target = out / f"kuairand-{stamp.hexdigest()}.parquet"
    if target.is_file():
        return target
    video = (pl.scan_csv(videos, infer_schema=False).select(USED_VIDEO)
             .with_columns(pl.col("video_id").cast(pl.Int64),
                           pl.col("video_duration").cast(pl.Float64, strict=False),
                           pl.coalesce(pl.col("tag").str.split(",").list.first().str.strip_chars(), pl.col("video_type"),
                                       pl.lit("none")).alias("category"))
             .unique("video_id", keep="first"))
    rows = (pl.scan_csv(logs, infer_schema=False).select(USED_LOG)
            .with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in ("user_id", "video_id"))
            .join(video, on="video_id", how="left")
            .select(
                "user_id", "video_id",
                (pl.col("time_ms").cast(pl.Float64, strict=False) / 1000.0).alias("ts"),
                pl.col("long_view").cast(pl.Float64, strict=False).alias("effective_view"),
                pl.col("is_like").cast(pl.Float64, strict=False).alias("like"),
                (pl.coalesce(pl.col("duration_ms").cast(pl.Float64, strict=False), pl.col("video_duration")) / 1000.0)
                .fill_null(0.0).alias("duration"),
                (pl.col("play_time_ms").cast(pl.Float64, strict=False) / 1000.0).alias("watch_seconds"),
                pl.col("category").fill_null("none"),
            ))
    out.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    rows.sink_parquet(staging, engine="streaming")
    staging.replace(target)
    return target


@register_data("kuairand", description="KuaiRand's published log_standard/video_features_basic files as a feed log")
class KuaiRandData(VideoLogData):
    """``data=kuairand data.path=KuaiRand-Pure/data``; every ``video_log`` option applies
    (:class:`KuaiRandOptions`: the stale estimate in place of server scores)."""

    Options = KuaiRandOptions

    def source_groups(self, groups: dict[str, bool]) -> dict[str, bool]:
        off = [g for g in UNAVAILABLE if groups.get(g)]
        if off:
            log.warning("kuairand: KuaiRand logs no network speed or preload time: features.%s is off", off[0])
        return {**groups, **{g: False for g in UNAVAILABLE}}

    def log_path(self, path: str, cache_dir: str) -> Path:
        return to_feed_log(Path(path).expanduser(), Path(cache_dir).expanduser() / "sources")

    renames = False  # KuaiRand's layout is fixed; the mapping above is the preset
