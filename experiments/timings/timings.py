"""Time the README's commands as a user runs them; writes experiments/timings/README.md's table.

    python experiments/timings/timings.py [--only LABEL ...] [--suite]

Every command runs in a fresh scratch directory (its outputs/ and a private $EDGERANK_HOME, so
the registry and the monitoring log start empty), one after the other, in the order of the
README (later commands use the run of an earlier one: ``{run}``). For each it records the wall
time and the CPU time (user + system of the command and its children), and the load average of
the machine when it started: on a shared machine the wall time is the figure to distrust.
``--suite`` also times the test command (``python -m pytest``, about 10 minutes).
Studies and the 20-trial Optuna searches are not run (hours); the README derives their duration
from the per-job figure measured here.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
RUN = "{run}"  # the newest outputs/product_topk/runs/<run> (made by 'int8')

COMMANDS: list[tuple[str, str]] = [
    ("install", f"{PY} -m pip install -e {REPO} -q"),
    ("main job", f"{PY} -m edgerank +experiment=product_topk"),
    ("install test extra", f"{PY} -m pip install -e '{REPO}[test]' -q"),
    ("video_rerank", f"{PY} -m edgerank +experiment=video_rerank"),
    ("video_rerank features.csf=false", f"{PY} -m edgerank +experiment=video_rerank features.csf=false"),
    ("video_rerank adaptive_beam", f"{PY} -m edgerank +experiment=video_rerank model=ta_mmoe_ctx ranker=adaptive_beam"),
    ("csv data (5,000 rows)", f"{PY} -m edgerank +experiment=product_topk data=csv data.path=users.csv data.label=sku data.features=[city,device,gender]"),
    ("small run", f"{PY} -m edgerank +experiment=product_topk model.hidden=[32,64] trainer.max_epochs=3 data.num_products=30 hydra.run.dir=runs/small"),
    ("sweep, 2 jobs", f"{PY} -m edgerank -m +experiment=product_topk model.hidden=[64,128],[32,64]"),
    ("int8", f"{PY} -m edgerank +experiment=product_topk export.quantize=int8"),
    ("registry publish", f"{PY} -m edgerank.registry publish {RUN}/artifact"),
    ("registry publish int8", f"{PY} -m edgerank.registry publish {RUN}/artifact_int8"),
    ("registry list", f"{PY} -m edgerank.registry list"),
    ("registry rollout", f"{PY} -m edgerank.registry rollout product_topk stable:1=90 canary:2=10"),
    ("registry resolve", f"{PY} -m edgerank.registry resolve product_topk alice"),
    ("runtime rank", f"{PY} -m edgerank.runtime rank --artifact {RUN}/artifact --user bob city=Nanjing 'device=vivo X200' gender=male age=31"),
    ("monitor summary", f"{PY} -m edgerank.monitor summary"),
    ("monitor plot", f"{PY} -m edgerank.monitor plot monitor.png"),
    ("bench", f"{PY} -m edgerank.bench {RUN}"),
    ("sweep, 4 jobs, joblib", f"{PY} -m edgerank -m +experiment=product_topk seed=0,1,2,3 hydra/launcher=local_parallel"),
    ("ddp_cpu", f"{PY} -m edgerank +experiment=product_topk trainer=ddp_cpu"),
    ("plugins", f"{PY} -m edgerank.plugins"),
    ("help", f"{PY} -m edgerank --help"),
]
SUITE = ("test suite", f"cd {REPO} && {PY} -m pytest -q -p no:cacheprovider")


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
        if RUN in command:
            runs = sorted((scratch / "outputs" / "product_topk" / "runs").glob("*"))
            command = command.replace(RUN, str(runs[-1]) if runs else "outputs/product_topk/runs/NONE")
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
