"""Epoch time of ``+experiment=video_rerank`` alone and as 2 parallel jobs, by ``threads`` setting.

    python experiments/threads/epochs.py [--epochs 2] [--out experiments/threads/results.json] [OVERRIDE ...]

Each configuration is a real ``python -m edgerank`` command (2 epochs, no export); the 2
parallel jobs are a Hydra multirun on the joblib launcher (``hydra/launcher=local_parallel``,
 ``threads=auto`` is the default; ``threads=<cores>`` is what PyTorch picks on its own
(one thread per core in every job), i.e. the behaviour before the setting existed. The epoch
figure is the last epoch's wall time (the first one also pays for warm-up), the mean over the
jobs of a configuration; the 1-minute load average before each configuration is recorded
because the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(threads: str, parallel: bool, epochs: int, root: Path, overrides: list[str]) -> dict:
    out = root / f"{'2jobs' if parallel else '1job'}_threads_{threads}"
    timer = ["+callbacks.epoch_timer._target_=epoch_timer.EpochTimer", "+callbacks.epoch_timer.path=${hydra:runtime.output_dir}/epochs.json"]
    common = ["+experiment=video_rerank", f"trainer.max_epochs={epochs}", "export.enabled=false", "logger=none",
              "trainer.enable_progress_bar=false", "~callbacks.progress_bar", f"threads={threads}", *timer, *overrides]
    if parallel:
        args = ["-m", *common, "seed=0,1", "hydra/launcher=local_parallel", f"hydra.sweep.dir={out}"]
    else:
        args = [*common, f"hydra.run.dir={out}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "edgerank", *args], capture_output=True, text=True, env=env, timeout=3600)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    files = sorted(out.glob("*/epochs.json")) if parallel else [out / "epochs.json"]
    jobs = [json.loads(f.read_text()) for f in files]
    last = [job[-1] for job in jobs]
    return {
        "jobs": len(jobs),
        "threads": threads,
        "torch_threads": [e["torch_threads"] for e in last],
        "epoch_wall_s": round(sum(e["wall_s"] for e in last) / len(last), 2),
        "epoch_cpu_s": round(sum(e["cpu_s"] for e in last) / len(last), 2),
        "command_wall_s": round(time.perf_counter() - start, 1),
        "load_avg_1min_before": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("overrides", nargs="*", help="more Hydra overrides for every job (e.g. data.num_users=60 for a smoke run)")
    args = parser.parse_args()
    cores = str(len(os.sched_getaffinity(0)))
    configs = [("auto", False), (cores, False), ("auto", True), (cores, True)]
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(t, p, args.epochs, Path(tmp), args.overrides) for t, p in configs]
    Path(args.out).write_text(json.dumps({"cores": int(cores), "rows": rows}, indent=2) + "\n")
    print("| jobs | threads | torch threads/job | epoch wall s | epoch CPU s | load avg before |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['jobs']} | {r['threads']} | {r['torch_threads'][0]} | {r['epoch_wall_s']} | {r['epoch_cpu_s']} | {r['load_avg_1min_before']} |")


if __name__ == "__main__":
    main()
