"""``python -m edgerank.simulate sim_log.parquet --sessions 6000 --seed 0``: the simulator's
sessions written as a feed log (the fixed columns of ``data=video_log``, plus the simulator's
ground truth ``true_<task>``), so a log pipeline can be tried end to end on a known world. A
``.jsonl`` path writes the same sessions as the raw events an app sends instead
(:mod:`edgerank.data.video_log_events`), the input of ``python -m edgerank.runtime video``.

``--sessions N`` simulates ``ceil(N / sessions_per_user)`` users; ``--set key=value`` changes any
other knob of :class:`~edgerank.data.video_simulator.SimConfig` (as ``data.<key>`` does for
``data=video_synthetic``). The file is written to a temporary name and moved into place, and
its format follows the suffix (.parquet, .csv, .tsv, .jsonl).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

import polars as pl

from edgerank.data.video_log_events import app_events
from edgerank.data.video_sim_log import log_columns
from edgerank.data.video_simulator import SimConfig, simulate
from edgerank.errors import ConfigError, reports_errors


def sim_config(sessions: int, seed: int, settings: list[str]) -> SimConfig:
    fields = {f.name: f for f in dataclasses.fields(SimConfig)}
    values: dict[str, object] = {}
    for item in settings:
        key, sep, raw = item.partition("=")
        if not sep or key not in fields or key in ("seed", "num_users"):
            raise ConfigError("--set", f"expects key=value with a simulator knob ({', '.join(k for k in fields if k not in ('seed', 'num_users'))}), got {item!r}")
        default = getattr(SimConfig(), key)
        try:
            values[key] = tuple(int(v) for v in raw.strip("[]()").split(",")) if isinstance(default, tuple) else type(default)(raw)
        except ValueError:
            raise ConfigError(f"--set {key}", f"cannot read {raw!r} as {type(default).__name__}") from None
    per_user = int(values.get("sessions_per_user", SimConfig().sessions_per_user))
    if sessions < 1:
        raise ConfigError("--sessions", f"must be a positive integer, got {sessions}")
    return SimConfig(num_users=math.ceil(sessions / per_user), seed=seed, **values)


def write_log(columns: dict, path: Path) -> None:
    frame = pl.DataFrame(columns)
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.write_parquet(staging)
    elif suffix in (".csv", ".tsv"):
        frame.write_csv(staging, separator="," if suffix == ".csv" else "\t")
    elif suffix == ".jsonl":
        with staging.open("w") as out:
            out.writelines(json.dumps(event) + "\n" for event in app_events(frame))
    else:
        raise ConfigError("path", f"must end in .parquet, .csv, .tsv or .jsonl, got {path.name!r}")
    staging.replace(path)


@reports_errors("edgerank.simulate")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.simulate", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="output .parquet/.csv/.tsv (a feed log) or .jsonl (app events)")
    parser.add_argument("--sessions", type=int, default=1800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    cfg = sim_config(args.sessions, args.seed, args.settings)
    requests, _ = simulate(cfg)
    columns = log_columns(requests)
    args.path.parent.mkdir(parents=True, exist_ok=True)
    write_log(columns, args.path)
    print(f"wrote {len(columns['ts'])} rows ({len(requests)} requests, {cfg.num_users * cfg.sessions_per_user} sessions) to {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
