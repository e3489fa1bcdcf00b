"""``python -m edgerank.runtime``: the app-side runtime from a shell, without torch.

    rank   SOURCE [--user ID] [--eligible SKU ...] KEY=VALUE ...   one request, JSON out
    replay SOURCE USERS.csv [--limit N]                            every row is a request
    video  SOURCE EVENTS.jsonl [--out FILE]                        short-video feed events (see video_cli)

SOURCE is ``--artifact DIR`` (one published artifact), ``--model NAME`` (the registry and its
rollout; ``--store DIR``, else ``$EDGERANK_STORE``, else ``~/.edgerank/registry``) or ``--server URL --model NAME`` (the ``python -m edgerank.serve``
service: resolved there, downloaded into ``--cache``, served from the cache when the server is
away; events are then posted to the server instead of a local log). Each request is recorded to the monitoring log (``--db FILE``,
default ``$EDGERANK_MONITOR_DB`` or ``~/.edgerank/monitor.sqlite``; ``--no-monitor`` to skip),
so ``replay`` followed by ``python -m edgerank.monitor summary`` shows a canary at work.
A replay CSV has a ``user_id`` column (optional) and one column per raw attribute.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from edgerank.errors import EdgeRankError, reports_errors


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m edgerank.runtime", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--artifact", help="artifact directory (manifest.json + model.tflite)")
    where.add_argument("--store", help="model registry directory (default: $EDGERANK_STORE or ~/.edgerank/registry)")
    where.add_argument("--server", help="URL of an edgerank.serve service (use with --model)")
    common.add_argument("--model", help="model name in the registry or on the server")
    common.add_argument("--cache", default=None, help="--server: local model cache (default: $EDGERANK_CACHE or ~/.edgerank/cache)")
    common.add_argument("--timeout", type=float, default=2.0, help="--server: seconds per HTTP request (default 2)")
    common.add_argument("--fallback", type=int, nargs="*", default=None, help="static fallback SKU ids, best first")
    common.add_argument("--db", default=None, help="monitoring log (default: $EDGERANK_MONITOR_DB or ~/.edgerank/monitor.sqlite; "
                        "with --server the events are posted to the server instead)")
    common.add_argument("--no-monitor", action="store_true")
    common.add_argument("--threads", type=int, default=None)
    sub = parser.add_subparsers(dest="command", required=True)
    rank = sub.add_parser("rank", parents=[common], help="rank one user given KEY=VALUE raw attributes")
    rank.add_argument("--user", default=None)
    rank.add_argument("--eligible", type=int, nargs="*", default=None, help="SKU ids that may be shown (default: all)")
    rank.add_argument("attributes", nargs="*", metavar="KEY=VALUE")
    replay = sub.add_parser("replay", parents=[common], help="rank every row of a CSV of raw users")
    replay.add_argument("csv")
    replay.add_argument("--limit", type=int, default=None)
    from edgerank.runtime.video_cli import add_parser as add_video_parser

    add_video_parser(sub, common)
    return parser


@reports_errors("edgerank.runtime")
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from edgerank.locations import default_monitor_db, default_store
    from edgerank.monitor.events import EventLog
    from edgerank.runtime.product import ProductRuntime
    from edgerank.runtime.sources import FixedArtifact, StoreSource

    if args.server and not args.model:
        raise EdgeRankError("--server needs --model NAME")
    if not args.artifact and not args.model:
        raise EdgeRankError("say which model: --artifact DIR, or --model NAME (from the registry, or with --server)")
    if args.artifact and args.model:
        raise EdgeRankError("--artifact and --model exclude each other")
    if not args.server:
        source = FixedArtifact(args.artifact) if args.artifact else StoreSource(args.store or default_store(), args.model)
        monitor = None if args.no_monitor else EventLog(Path(args.db) if args.db else default_monitor_db())
    else:
        from edgerank.core.names import url_name_problem
        from edgerank.locations import default_cache
        from edgerank.runtime.remote import EventUploader, ServerSource

        problem = url_name_problem(args.model)  # the device would only ever fall back: a usage error here
        if problem:
            raise EdgeRankError(problem)
        cache = Path(args.cache) if args.cache else default_cache()
        source = ServerSource(args.server, args.model, cache, timeout_s=args.timeout)
        monitor = None if args.no_monitor else EventUploader(args.server, timeout_s=args.timeout)
    if args.command == "video":  # the short-video scenario: a raw event log, not product users
        from edgerank.runtime.video_cli import replay as replay_video

        print(json.dumps(replay_video(args, source, monitor)))
        return 0
    runtime = ProductRuntime(source, fallback_skus=args.fallback, monitor=monitor, num_threads=args.threads)
    if args.command == "rank":
        attributes = {}
        for word in args.attributes:
            key, sep, value = word.partition("=")
            if not sep:
                raise EdgeRankError(f"'{word}': attributes are KEY=VALUE (e.g. city=Nanjing)")
            attributes[key] = value
        print(json.dumps(asdict(runtime.rank(args.user, attributes, args.eligible))))
    else:
        path = Path(args.csv)
        if not path.is_file():
            raise EdgeRankError(f"{path}: no such CSV file")
        counts = {"model": 0, "fallback": 0}
        with path.open(newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                if args.limit is not None and i >= args.limit:
                    break
                user = row.pop("user_id", None) or f"row-{i}"
                counts[runtime.rank(user, row).source] += 1
        print(json.dumps({"requests": sum(counts.values()), **counts}))
    runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
