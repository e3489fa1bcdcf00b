"""``python -m edgerank.bench.data [--sizes 1000000 4000000 16000000]``: feed-log preparation speed and memory.

For each size a fast vectorised generator (not the event-by-event simulator) writes a feed log
of that many rows as Parquet shards of 1M rows (every column of the format, ids as int64 above
2^31), then a **fresh process** prepares it (``data=video_log``: check, partition by user,
sessions, encode into memory-mapped shards) and reports its wall time and peak resident set.
Prints one JSON object: per size ``rows``, ``seconds``, ``rows_per_s``, ``cpu_seconds`` (user +
system time of every thread of the preparing process: what a busy shared machine does not
inflate as it does wall time), ``rows_per_cpu_s``, ``cpu_s_per_1m_rows`` by stage (the CPU time
of every thread while the main thread was inside that stage's function, from :mod:`cProfile`
with a process-CPU clock), ``peak_rss_mb``, ``shard_mb``, and ``rss_ratio_vs_smallest``, plus
the machine's load average before and after. Targets: >= 1M rows/s, RSS at 16M <= 1.5x RSS at 1M.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgerank.bench.memory import _peak_mb

CHUNK_ROWS = 1_000_000
REQUEST = 10  # rows per request
OPTIONS = {"max_candidates": REQUEST, "seq_len": 20, "request_size": REQUEST, "rows_per_partition": 1_000_000}
# the preparation's stages (README "Bring your own feed logs"), by the function that runs each
STAGES = {"content_hash": "content_key", "read_check_partition": "partition_log",
          "sessions_and_requests": "sessions_and_requests", "encode": "encode_partition", "split": "finish"}


def generate(folder: Path, rows: int, seed: int = 0) -> None:
    """``rows`` feed-log rows (whole requests of 10), written chunk by chunk (bounded memory)."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    per_session, per_user = 6, 3  # requests per session, sessions per user
    written, request0 = 0, 0
    while written < rows:
        n = min(CHUNK_ROWS, rows - written) // REQUEST * REQUEST
        r = n // REQUEST
        request = request0 + np.arange(r)
        session = request // per_session
        user = session // per_user
        slot = np.tile(np.arange(REQUEST), r)
        in_session = np.repeat(request % per_session, REQUEST)
        ts = (1_700_000_000.0 + np.repeat(user, REQUEST) * 7.0 + np.repeat(session % per_user, REQUEST) * 86_400.0
              + in_session * 120.0 + slot * 8.0)
        shown = slot < rng.integers(1, REQUEST + 1, r).repeat(REQUEST)
        video = rng.zipf(1.3, n) % 5_000_000 + 3_000_000_000  # int64 ids above 2^31
        pxtr = rng.random((n, 3))
        labels = (rng.random((n, 3)) < pxtr) & shown[:, None]
        frame = pl.DataFrame({
            "user_id": np.repeat(user, REQUEST) + 10_000_000_000, "session_id": np.repeat(session, REQUEST),
            "request_id": np.repeat(request, REQUEST), "position": slot, "ts": ts, "video_id": video,
            "category": video % 97, "duration": rng.lognormal(3.2, 0.8, n), "preload": rng.exponential(0.8, n),
            "network_speed": np.repeat(rng.lognormal(1.4, 1.0, r), REQUEST) + 0.1,
            "pxtr_has_next": pxtr[:, 0], "pxtr_effective_view": pxtr[:, 1], "pxtr_like": pxtr[:, 2],
            "has_next": labels[:, 0].astype(np.int8), "effective_view": labels[:, 1].astype(np.int8),
            "like": labels[:, 2].astype(np.int8), "exposed": shown.astype(np.int8),
        })
        frame.write_parquet(folder / f"part-{written // CHUNK_ROWS:05d}.parquet")
        written += n
        request0 += r


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def prepare_once(log: Path, cache: Path) -> dict[str, Any]:
    """Prepare ``log`` in this process (the fresh one) and report time and peak memory."""
    from edgerank.data.video_log_options import PrepareOptions
    from edgerank.data.video_log_prepare import prepare

    options = PrepareOptions(path=str(log), groups={g: True for g in ("pxtr", "static", "csf", "rts", "fe")}, **OPTIONS)
    profile = cProfile.Profile(time.process_time)  # the process's CPU clock: every thread's time
    start, cpu = time.perf_counter(), _cpu_seconds()
    folder = profile.runcall(prepare, options, cache)
    seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    meta = json.loads((folder / "prepared.json").read_text())
    size = sum(p.stat().st_size for p in (folder / "shards").rglob("*.npy"))
    return {"rows": meta["rows"], "seconds": round(seconds, 2), "rows_per_s": round(meta["rows"] / seconds),
            "cpu_seconds": round(cpu, 2), "rows_per_cpu_s": round(meta["rows"] / cpu),
            "cpu_s_per_1m_rows": _stage_cpu(profile, 1e6 / meta["rows"]),
            "peak_rss_mb": round(_peak_mb(), 1), "shard_mb": round(size / 2**20, 1), "partitions": meta["partitions"],
            "requests": sum(meta["requests"].values())}


def _stage_cpu(profile: cProfile.Profile, scale: float) -> dict[str, float]:
    """CPU seconds (times ``scale``) inside each stage's function, summed over its calls."""
    cumulative = {func[2]: stats[3] for func, stats in pstats.Stats(profile).stats.items()
                  if func[0].endswith("video_log_prepare.py")}
    return {stage: round(cumulative.get(name, 0.0) * scale, 3) for stage, name in STAGES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.bench.data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 4_000_000, 16_000_000])
    parser.add_argument("--workdir", type=Path, default=None, help="where logs and shards go (default: a temp dir, removed)")
    parser.add_argument("--prepare-one", nargs=2, type=Path, metavar=("LOG", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare_one:
        print(json.dumps(prepare_once(*args.prepare_one)))
        return 0
    root = args.workdir or Path(tempfile.mkdtemp(prefix="edgerank-bench-data-"))
    results, load_before = [], os.getloadavg()
    try:
        for rows in args.sizes:
            log, cache = root / f"log-{rows}", root / f"cache-{rows}"
            start = time.perf_counter()
            generate(log, rows)
            generated = time.perf_counter() - start
            done = subprocess.run([sys.executable, "-m", "edgerank.bench.data", "--prepare-one", str(log), str(cache)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                return done.returncode
            result = json.loads(done.stdout.strip().splitlines()[-1])
            result["generate_seconds"] = round(generated, 2)
            results.append(result)
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(log, ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    smallest = results[0]["peak_rss_mb"]
    for r in results:
        r["rss_ratio_vs_smallest"] = round(r["peak_rss_mb"] / smallest, 2)
    load = {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count()}
    print(json.dumps({"engine": "polars (streaming) + numpy", "options": OPTIONS, "load_average": load, "sizes": results},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
