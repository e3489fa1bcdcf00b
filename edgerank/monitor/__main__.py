"""``python -m edgerank.monitor summary [--db FILE] [--model NAME] [--json]`` and
``python -m edgerank.monitor plot OUT.png [--db FILE] [--model NAME]``.

The event log defaults to ``$EDGERANK_MONITOR_DB`` or ``~/.edgerank/monitor.sqlite``
(see :mod:`edgerank.locations`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from edgerank.errors import EdgeRankError, reports_errors
from edgerank.locations import default_monitor_db


@reports_errors("edgerank.monitor")
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.monitor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=None, help="event log (default: $EDGERANK_MONITOR_DB or ~/.edgerank/monitor.sqlite)")
    sub = parser.add_subparsers(dest="command", required=True)
    summary = sub.add_parser("summary", help="per version: requests, success rate, latency p50/p95/p99, share, unknown rate")
    summary.add_argument("--model", default=None)
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plot = sub.add_parser("plot", help="draw the summary into a PNG")
    plot.add_argument("out")
    plot.add_argument("--model", default=None)
    for p in (summary, plot):
        p.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from edgerank.monitor.events import read_events
    from edgerank.monitor.summary import format_summary, summarize

    path = Path(args.db) if args.db else default_monitor_db()
    if not path.exists():
        raise EdgeRankError(f"no event log at {path} (set --db or $EDGERANK_MONITOR_DB)")
    rows = summarize(read_events(path, model=args.model))
    if args.command == "summary":
        print(format_summary(rows, as_json=args.json))
    else:
        from edgerank.monitor.plot import plot_summary

        print(plot_summary(rows, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
