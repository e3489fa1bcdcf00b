"""``python -m edgerank.bench.serve``: the cloud side under load, on loopback.

N simulated devices (default 200) run for a fixed time (default 30 s) against **one**
``python -m edgerank.serve`` process. Each device, in a closed loop without think time: resolves
its user's version, downloads the model once (then only when its version changes), and posts a
batch of inference events with a fresh batch id; a share of batches (``--resend``) is posted a
second time, as a device does when an answer is lost, and a post that fails is retried with the
same id. Afterwards the monitoring store is read back: every event acknowledged must be there
exactly once (each event carries a unique timestamp, so lost and duplicated events are counted,
not assumed).

Requests of the first ``--warmup`` seconds (every device's first download falls there) and of
rounds finishing after the end are not timed. ``--think S`` makes each device pause (exponentially distributed, mean S) between rounds,
for latency at a given offered load instead of at saturation. Prints one JSON object: requests/s, latency p50/p99 per endpoint and overall (client-side,
milliseconds), CPU seconds of the service and of the load generator, batches, resends and the duplicates the service recognised, events sent, stored,
lost and duplicated. Without ``--store``, a tiny product model is trained and published first
(``python -m edgerank +experiment=product_topk`` on 2,000 users, 1 epoch) with a 90/10 rollout.
The load generator (asyncio + aiohttp, one process) shares the machine with the service, so on a
small machine the figures are a floor of what the service does alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None}
    array = np.asarray(values) * 1000.0
    return {"n": len(values), "p50_ms": round(float(np.percentile(array, 50)), 3), "p99_ms": round(float(np.percentile(array, 99)), 3)}


def prepare_store(workdir: Path) -> tuple[Path, str]:
    """Train, export and publish a tiny product model (float and int8) with a 90/10 rollout."""
    run_dir = workdir / "run"
    train = [sys.executable, "-m", "edgerank", "+experiment=product_topk", "data.num_users=2000", "trainer.max_epochs=1",
             "export.quantize=int8", "export.quantization.max_metric_drop=0.05", "logger=none", f"hydra.run.dir={run_dir}"]
    subprocess.run(train, check=True, capture_output=True, timeout=900)
    store = workdir / "store"
    for artifact in ("artifact", "artifact_int8"):
        subprocess.run([sys.executable, "-m", "edgerank.registry", "--store", str(store), "publish", str(run_dir / artifact)],
                       check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "edgerank.registry", "--store", str(store), "rollout", "product_topk",
                    "stable:1=90", "canary:2=10"], check=True, capture_output=True, timeout=300)
    return store, "product_topk"


class Load:
    def __init__(self, url: str, model: str, devices: int, seconds: float, warmup: float, batch: int, resend: float, think: float,
                 seed: int) -> None:
        self.url, self.model, self.devices, self.seconds, self.batch, self.resend = url, model, devices, seconds, batch, resend
        self.warmup, self.think = warmup, think
        self.window = (0.0, 0.0)  # monotonic start and end of the timed part
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = {"resolve": [], "download": [], "events": []}
        self.untimed = 0  # requests of the warm-up and of rounds finishing after the end
        self.downloads = 0
        self.failures = 0
        self.batches = self.resent = self.recognised = self.retries = 0
        self.events_acknowledged = 0
        self.t0 = time.time()
        self._next = 0

    def _stamp(self) -> float:
        self._next += 1  # one event loop, no lock needed; 10 us apart: distinct float64 timestamps
        return self.t0 + self._next * 1e-5

    async def _request(self, client: Any, kind: str, method: str, path: str, **options: Any) -> tuple[int, Any]:
        """``(status, JSON body or None)``, timed from sending to the last byte read."""
        start = time.monotonic()
        async with client.request(method, path, **options) as response:
            body = await response.read()
        if self.window[0] <= start < self.window[1]:
            self.latency[kind].append(time.monotonic() - start)
        else:
            self.untimed += 1
        is_json = response.content_type == "application/json" and body
        return response.status, json.loads(body) if is_json else None

    async def _post(self, client: Any, body: dict[str, Any], deadline: float) -> dict[str, Any] | None:
        """Post until answered (a device keeps its batch until the service has it)."""
        while time.monotonic() < deadline:
            try:
                status, receipt = await self._request(client, "events", "POST", "/events", json=body)
                if status == 200:
                    return receipt
            except Exception:  # noqa: BLE001 - counted; the device retries with the same id
                pass
            self.failures += 1
            self.retries += 1
            await asyncio.sleep(0.05)
        return None

    async def device(self, client: Any, index: int, stop: float) -> None:
        user, sha, seq = f"bench-user-{index}", None, 0
        while time.monotonic() < stop:
            try:
                _, resolved = await self._request(client, "resolve", "GET", f"/models/{self.model}/resolve", params={"user": user})
                if resolved["sha256"] != sha:
                    headers = {"If-None-Match": f'"{sha}"'} if sha else {}
                    await self._request(client, "download", "GET", resolved["model_url"], headers=headers)
                    self.downloads += 1
                    sha = resolved["sha256"]
            except Exception:  # noqa: BLE001 - counted; a device would keep its cached model
                self.failures += 1
                continue
            seq += 1
            events = [{"ts": self._stamp(), "model": self.model, "version": resolved["label"], "grp": resolved["group"],
                       "ok": self.rng.random() > 0.01, "latency_ms": self.rng.lognormvariate(-2.0, 0.4), "unknown": 0, "fields": 4}
                      for _ in range(self.batch)]
            body = {"batch_id": f"bench-{index}-{seq}", "events": events}
            receipt = await self._post(client, body, stop + 30.0)
            if receipt is None:
                continue
            self.batches += 1
            self.events_acknowledged += receipt["accepted"]  # a retry may hear "duplicate": it was stored the first time
            if self.rng.random() < self.resend:  # the answer "was lost": the device sends it again
                self.resent += 1
                again = await self._post(client, body, stop + 30.0)
                self.recognised += bool(again and again["duplicate"])
            if self.think:
                await asyncio.sleep(min(self.rng.expovariate(1.0 / self.think), max(0.0, stop - time.monotonic())))

    async def run(self) -> float:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=self.devices)  # one connection per device, kept alive
        async with aiohttp.ClientSession(self.url, connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as client:
            start = time.monotonic()
            stop = start + self.warmup + self.seconds
            self.window = (start + self.warmup, stop)
            await asyncio.gather(*(self.device(client, i, stop) for i in range(self.devices)))
            return time.monotonic() - start


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) the service process used so far; None where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


def start_service(store: Path, db: Path) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, "-m", "edgerank.serve", "--store", str(store), "--db", str(db), "--port", "0", "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("edgerank.serve: http://"):
        process.kill()
        raise RuntimeError(f"the service did not start: {line}{process.stderr.read()[-2000:]}")
    return process, line.split()[1]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.bench.serve", description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("--store", default=None, help="a model store to serve (default: train and publish a tiny model)")
    parser.add_argument("--model", default="product_topk")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0, help="timed seconds, after the warm-up")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of load before timing starts (every device's first download falls in it)")
    parser.add_argument("--batch", type=int, default=20, help="events per posted batch")
    parser.add_argument("--resend", type=float, default=0.05, help="share of batches posted twice (lost answers)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a device waits between rounds (default 0: closed loop, the service saturated)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="edgerank-bench-serve-") as temp:
        workdir = Path(temp)
        store, model = (Path(args.store), args.model) if args.store else prepare_store(workdir)
        db = workdir / "monitor.sqlite"
        process, url = start_service(store, db)
        try:
            load = Load(url, model, args.devices, args.seconds, args.warmup, args.batch, args.resend, args.think, args.seed)
            client_cpu, service_cpu = time.process_time(), _cpu_seconds(process.pid)
            elapsed = asyncio.run(load.run())
            client_cpu = time.process_time() - client_cpu
            after = _cpu_seconds(process.pid)
            service_cpu = None if after is None or service_cpu is None else round(after - service_cpu, 2)
        finally:
            process.terminate()
            process.wait(timeout=30)
        with sqlite3.connect(db) as connection:
            stored, distinct = connection.execute("SELECT COUNT(*), COUNT(DISTINCT ts) FROM events").fetchone()
    requests = sum(len(v) for v in load.latency.values())
    sent = load._next
    result = {
        "devices": args.devices,
        "think_s": args.think,
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "wall_s": round(elapsed, 2),
        "service_cpu_s": service_cpu,  # over wall_s; on a shared machine the service may get less than a core
        "requests_per_service_cpu_s": round((requests + load.untimed) / service_cpu, 1) if service_cpu else None,
        "client_cpu_s": round(client_cpu, 2),
        "requests": requests,
        "untimed_requests": load.untimed,
        "requests_per_s": round(requests / args.seconds, 1),
        "latency": {"all": _percentiles([x for v in load.latency.values() for x in v]),
                    **{kind: _percentiles(values) for kind, values in load.latency.items()}},
        "failed_requests": load.failures,
        "downloads": load.downloads,
        "batches": load.batches,
        "resent_batches": load.resent,
        "resends_recognised_as_duplicates": load.recognised,
        "events_sent": sent,
        "events_acknowledged": load.events_acknowledged,
        "events_stored": stored,
        "events_lost": load.events_acknowledged - distinct,
        "events_duplicated": stored - distinct,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["events_lost"] == 0 and result["events_duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
