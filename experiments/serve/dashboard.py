"""The dashboard picture in the README: six hours of a canary, drawn by the real service.

    python experiments/serve/dashboard.py [--store STORE] [--out experiments/serve/dashboard.png]

Publishes a tiny product model as v1 (float) and v2 (int8) with a 50/50 rollout (as
``python -m edgerank.bench.serve`` does; or serves ``--store``), posts 200,000 synthetic events
through ``POST /events`` (v2's share ramping from 5 % to 50 %, a ten-minute incident of failures
on v2, unknown cities slowly drifting up), and screenshots ``GET /`` in headless Chromium.
The events are synthetic; everything drawing them is the service's own code.
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from edgerank.bench.serve import prepare_store
from edgerank.modelstore import ModelStore, Rollout
from edgerank.serve import BackgroundServer, create_app


def synthetic_events(n: int, hours: float, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    end = time.time()
    start = end - hours * 3600
    out = []
    for i in range(n):
        ts = start + (end - start) * i / n
        progress = (ts - start) / (end - start)
        v2 = rng.random() < min(0.5, 0.05 + 0.6 * progress)
        incident = v2 and abs(progress - 0.62) < 0.015
        ok = rng.random() > (0.25 if incident else 0.003)
        latency = rng.lognormvariate(math.log(0.075 if v2 else 0.08), 0.3) * (6 if rng.random() < 0.01 else 1)
        out.append({"ts": ts, "model": "product_topk", "version": "v2" if v2 else "v1", "grp": "canary" if v2 else "stable",
                    "ok": ok, "latency_ms": latency, "unknown": int(rng.random() < 0.02 + 0.03 * progress), "fields": 4,
                    "error": "" if ok else "ArtifactError: model.tflite: LiteRT cannot load it"})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=None)
    parser.add_argument("--out", default=str(Path(__file__).with_name("dashboard.png")))
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs Debian's chromium: apt-get install -y chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as temp:
        store = Path(args.store) if args.store else prepare_store(Path(temp))[0]
        ModelStore(store).set_rollout("product_topk", Rollout.parse(["stable:1=50", "canary:2=50"], "product_topk"))
        with BackgroundServer(create_app(store, Path(temp) / "monitor.sqlite")) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            events = synthetic_events(args.events, hours=6)
            for i in range(0, len(events), 1000):
                assert http.post("/events", json={"batch_id": f"demo-{i}", "events": events[i:i + 1000]}).status_code == 200
            flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--hide-scrollbars", f"--user-data-dir={Path(temp) / 'profile'}",
                     "--window-size=1400,1500", f"--screenshot={Path(args.out).resolve()}"]
            subprocess.run([chromium, *flags, server.url + "/"], check=True, capture_output=True, timeout=120)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
