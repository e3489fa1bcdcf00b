"""Time the README's commands as a user runs them; writes results.md (experiments/timings/README.md quotes it).

    python experiments/timings/timings.py [--only LABEL ...] [--suite]

Every command runs in a fresh scratch directory (its outputs/ and a private $EDGERANK_HOME, so
the registry and the monitoring log start empty), one after the other, in the order of the
README, each as the README writes it (later commands use the run of an earlier one: ``<run>``).
For each it records the wall time and the CPU time (user + system of the command and its
children), and the load average of the machine when it started: on a shared machine the wall
time is the figure to distrust. ``--suite`` also times the test command (``python -m pytest``,
about 10 minutes). README commands it does not run (studies and Optuna searches, which cost
their number of jobs times one run; a service; a cluster; data to download) are in
:data:`NOT_TIMED` with the reason.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable

# (label, the command as the README writes it); run in this order, later ones use earlier runs:
# <run> is the newest outputs/product_topk/runs/ entry (made by 'int8'), <date>_<time> the newest
# outputs/video_rerank/runs/ entry (made by 'video_rerank': a default world, whose video ids the
# simulated app events use). tests/test_timings.py checks every README command is here or in NOT_TIMED.
COMMANDS: list[tuple[str, str]] = [
    ("install", "pip install -e ."),
    ("main job", "python -m edgerank +experiment=product_topk"),
    ("install test extra", 'pip install -e ".[test]"'),
    ("video_rerank", "python -m edgerank +experiment=video_rerank"),
    ("simulate app events", "python -m edgerank.simulate events.jsonl --sessions 20"),
    ("runtime video", "python -m edgerank.runtime video --artifact outputs/video_rerank/runs/<date>_<time>/artifact events.jsonl --no-monitor"),
    ("video_rerank features.csf=false", "python -m edgerank +experiment=video_rerank features.csf=false"),
    ("video_rerank adaptive_beam", "python -m edgerank +experiment=video_rerank model=ta_mmoe_ctx ranker=adaptive_beam"),
    ("video_rerank +debug=video", "python -m edgerank +experiment=video_rerank +debug=video"),
    ("simulate feed log, 6,000 sessions", "python -m edgerank.simulate sim_log.parquet --sessions 6000 --seed 0"),
    ("simulate feed log into logs/ (setup)", "python -m edgerank.simulate logs/sim_log.parquet --seed 0"),
    ("video_log", "python -m edgerank +experiment=video_rerank data=video_log data.path=logs/"),
    ("video_log adaptive_beam", "python -m edgerank +experiment=video_rerank data=video_log data.path=logs/ model=ta_mmoe_ctx ranker=adaptive_beam"),
    ("csv data (5,000 rows)", "python -m edgerank +experiment=product_topk data=csv data.path=users.csv data.label=sku data.features=[city,device,gender]"),
    ("small run", "python -m edgerank +experiment=product_topk model.hidden=[32,64] trainer.max_epochs=3 data.num_products=30 hydra.run.dir=runs/small"),
    ("sweep, 2 jobs", "python -m edgerank -m +experiment=product_topk model.hidden=[64,128],[32,64]"),
    ("int8", "python -m edgerank +experiment=product_topk export.quantize=int8"),
    ("registry publish", "python -m edgerank.registry publish outputs/product_topk/runs/<run>/artifact"),
    ("registry publish int8", "python -m edgerank.registry publish outputs/product_topk/runs/<run>/artifact_int8"),
    ("registry list", "python -m edgerank.registry list"),
    ("registry rollout", "python -m edgerank.registry rollout product_topk stable:1=90 canary:2=10"),
    ("registry resolve", "python -m edgerank.registry resolve product_topk alice"),
    ("runtime rank", 'python -m edgerank.runtime rank --artifact outputs/product_topk/runs/<run>/artifact --user bob city=Nanjing "device=vivo X200" gender=male age=31'),
    ("monitor summary", "python -m edgerank.monitor summary"),
    ("monitor plot", "python -m edgerank.monitor plot monitor.png"),
    ("bench", "python -m edgerank.bench outputs/product_topk/runs/<run>"),
    ("install serve extra", 'pip install -e ".[serve]"'),
    ("serve load test", "python -m edgerank.bench.serve"),
    ("sweep, 4 jobs, joblib", "python -m edgerank -m +experiment=product_topk seed=0,1,2,3 hydra/launcher=local_parallel"),
    ("ddp_cpu", "python -m edgerank +experiment=product_topk trainer=ddp_cpu"),
    ("plugins", "python -m edgerank.plugins"),
    ("help", "python -m edgerank --help"),
]
SUITE = ("test suite", "python -m pytest")

# README commands the script does not run, and why (their cost is stated in experiments/timings/README.md).
NOT_TIMED: dict[str, str] = {
    "python -m edgerank +experiment=video_rerank data=video_log data.path=feed.csv data.columns.effective_view=long_view features.csf=false":
        "a log of your own; the same work as 'video_log' on a file of its size",
    "python -m edgerank +experiment=video_rerank data=kuairand data.path=KuaiRand-Pure/data":
        "needs the KuaiRand download (nothing is downloaded at run time); tests train on a file set in its layout",
    "python -m edgerank.prepare data=video_log data.path=logs/ stage=partition_log":
        "staged preparation of a log of hundreds of millions of rows; python -m edgerank.bench.data measures its cost per row",
    "python -m edgerank.prepare -m data=video_log data.path=logs/ stage=partition 'part=range(0,300)' hydra/launcher=local_parallel":
        "300 partitions are a 300M-row log; python -m edgerank.bench.data measures the cost per row",
    "python -m edgerank.prepare data=video_log data.path=logs/ stage=finish":
        "the last stage of the staged preparation above",
    "python -m edgerank.serve --store STORE --port 8080":
        "a service, running until stopped; 'serve load test' times it under 200 devices",
    "python -m edgerank.runtime rank --server http://127.0.0.1:8080 --model product_topk --user bob city=Nanjing gender=male":
        "needs the service above; 'runtime rank' is the same call on a local artifact",
    "python -m edgerank -m +study=product_topk":
        "a study: its number of jobs times one run (12 main jobs)",
    "python -m edgerank +experiment=product_topk hparams_search=product_optuna":
        "20 trials, each one main job",
    "python -m edgerank +experiment=video_rerank hparams_search=video_optuna":
        "20 trials, each one video_rerank run",
    "python -m edgerank -m +experiment=product_topk seed=0,1,2 hydra/launcher=slurm hydra.launcher.partition=cpu":
        "needs a SLURM cluster",
}


def runnable(command: str, scratch: Path) -> str:
    """The README's command as this script runs it: this interpreter, this checkout, the newest runs."""
    command = re.sub(r'pip install -e "?\.(\[\w+\])?"?', lambda m: f"{PY} -m pip install -q -e '{REPO}{m.group(1) or ''}'", command)
    command = re.sub(r"(?<![\w/])python -m ", lambda _: f"{PY} -m ", command)
    for placeholder, task in (("<run>", "product_topk"), ("<date>_<time>", "video_rerank")):
        if placeholder in command:
            runs = sorted((scratch / "outputs" / task / "runs").glob("*"))
            command = command.replace(placeholder, runs[-1].name if runs else "NONE")
    return command


def write_users_csv(path: Path, rows: int = 5000, seed: int = 0) -> None:
    import numpy as np

    rng = np.random.default_rng(seed)
    cities, devices, genders = ["Nanjing", "Beijing", "Shenzhen", "Xi'an"], ["vivo X200", "vivo S19", "iQOO 13"], ["male", "female"]
    lines = ["city,device,gender,sku"]
    for _ in range(rows):
        c, d, g = rng.integers(len(cities)), rng.integers(len(devices)), rng.integers(len(genders))
        sku = 100000 + int((c * 7 + d * 3 + g + rng.integers(3)) % 20)
        lines.append(f"{cities[c]},{devices[d]},{genders[g]},{sku}")
    path.write_text("\n".join(lines) + "\n")


def timed(command: str, cwd: Path, env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"\n$ {command}\n")
        out.flush()
        process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="labels to run (default: all)")
    parser.add_argument("--suite", action="store_true", help="also time the test suite")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.md")))
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="edgerank-timings-"))
    env = {**os.environ, "EDGERANK_HOME": str(scratch / "home")}
    env.pop("EDGERANK_STORE", None)
    env.pop("EDGERANK_MONITOR_DB", None)
    write_users_csv(scratch / "users.csv")
    commands = [*COMMANDS, *([SUITE] if args.suite else [])]
    rows = []
    for label, command in commands:
        if args.only and label not in args.only:
            continue
        command = f"cd {REPO} && {PY} -m pytest -q -p no:cacheprovider" if (label, command) == SUITE else runnable(command, scratch)
        code, wall, cpu, load = timed(command, scratch, env, scratch / "timings.log")
        rows.append((label, code, wall, cpu, load))
        print(f"{label:<34} exit {code}  wall {wall:7.1f} s  cpu {cpu:7.1f} s  load {load:.1f}", flush=True)
    header = (
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, with `python experiments/timings/timings.py"
        f"{' --suite' if args.suite else ''}` (log: {scratch / 'timings.log'}).\n\n"
        "| command | exit | wall s | CPU s | load avg at start |\n| --- | --- | --- | --- | --- |\n"
    )
    table = "".join(f"| {label} | {code} | {wall:.0f} | {cpu:.0f} | {load:.1f} |\n" for label, code, wall, cpu, load in rows)
    Path(args.out).write_text(header + table)
    return max((code for _, code, *_ in rows), default=0)


if __name__ == "__main__":
    raise SystemExit(main())
