"""What monitoring costs a request: product requests served in-process with monitoring off, on,
and on while another process holds the event log's lock (a backup, a reader, a slow disk).

    python experiments/monitoring/overhead.py ARTIFACT_DIR [--requests 6400] [--out results.json]

Per mode: the wall time each ``rank`` call took as its caller saw it (p50/p99/max, calls over
1 ms), the p99 the monitor recorded, whether every recorded latency equals the one returned to
the caller, and how many events were written or dropped. The modes run in turns of 200 requests
so machine noise hits them alike; ratios are against "off" from the same run.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from edgerank.monitor import EventLog
from edgerank.runtime import FixedArtifact, ProductRuntime

USERS = [{"city": c, "device": d, "gender": g, "age": a} for c in ("Nanjing", "Beijing", "Chengdu", "Nowhere")
         for d in ("vivo X200", "vivo Y100") for g in ("male", "female") for a in ("19", "31", "55")]
TURN = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifact")
    parser.add_argument("--requests", type=int, default=6400)
    parser.add_argument("--out", default=None)
    parser.add_argument("--no-locked", action="store_true", help="skip the locked mode (a synchronous log would wait 30 s per write)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="monitor_overhead_"))
    logs = {"on": EventLog(folder / "on.sqlite")}
    if not args.no_locked:
        logs["on, log locked"] = EventLog(folder / "locked.sqlite")
    runtimes = {"off": ProductRuntime(FixedArtifact(args.artifact), num_threads=1)}
    runtimes.update({mode: ProductRuntime(FixedArtifact(args.artifact), monitor=log, num_threads=1) for mode, log in logs.items()})
    for runtime in runtimes.values():
        runtime.rank("warm-up", USERS[0])
    for log in logs.values():
        log.flush()
    lock = sqlite3.connect(folder / "locked.sqlite", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # held for the whole timed part
    walls: dict[str, list[float]] = {mode: [] for mode in runtimes}
    returned: dict[str, list[float]] = {mode: [] for mode in runtimes}
    for turn in range(args.requests // TURN):
        for mode, runtime in runtimes.items():
            for i in range(TURN):
                user = turn * TURN + i
                start = time.perf_counter()
                ranking = runtime.rank(f"user-{user}", USERS[user % len(USERS)])
                walls[mode].append((time.perf_counter() - start) * 1e3)
                returned[mode].append(ranking.latency_ms)
    lock.execute("ROLLBACK")
    lock.close()
    results = {"requests_per_mode": len(walls["off"]), "modes": {}}
    for mode, wall in walls.items():
        w = np.asarray(wall)
        row = {"wall_p50_ms": float(np.percentile(w, 50)), "wall_p99_ms": float(np.percentile(w, 99)),
               "wall_max_ms": float(w.max()), "calls_over_1ms": int((w > 1.0).sum())}
        if mode in logs:
            log = logs[mode]
            log.flush()
            recorded = [e.latency_ms for e in log.events()][1:]  # after the warm-up
            status = log.status() if hasattr(log, "status") else {}
            row.update(recorded_p99_ms=float(np.percentile(recorded, 99)) if recorded else None,
                       recorded_equals_returned=recorded == returned[mode], written=status.get("written"),
                       dropped=status.get("dropped"))
        results["modes"][mode] = row
    off = results["modes"]["off"]
    for mode, row in results["modes"].items():
        row["wall_p99_vs_off"] = row["wall_p99_ms"] / off["wall_p99_ms"]
        if row.get("recorded_p99_ms"):  # > 1: the monitor under-reports what callers waited
            row["wall_p99_vs_recorded_p99"] = row["wall_p99_ms"] / row["recorded_p99_ms"]
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
