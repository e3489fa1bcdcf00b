"""``python -m edgerank.serve [--store STORE] [--db MONITOR_DB] [--host HOST] [--port PORT]``

The cloud side as a service: model distribution (GET /models/NAME/resolve?user=ID, then
checksummed downloads), event ingestion from devices into the monitoring store (POST /events),
and the dashboard at /. No endpoint writes models: publish and rollout stay on the registry CLI.

The store is ``--store``, else ``$EDGERANK_STORE``, else ``~/.edgerank/registry``; the monitoring
log ``--db``, else ``$EDGERANK_MONITOR_DB``, else ``~/.edgerank/monitor.sqlite`` (the files the
registry and monitor CLIs use). ``--port 0`` picks a free port; the first line printed says which.
"""

from __future__ import annotations

import argparse
import socket
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from edgerank.errors import reports_errors
from edgerank.locations import default_monitor_db, default_store


@reports_errors("edgerank.serve")
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.serve", description=__doc__.split("\n\n")[1].replace("\n", " "))
    parser.add_argument("--store", default=None, help="model registry directory (default: $EDGERANK_STORE or ~/.edgerank/registry)")
    parser.add_argument("--db", default=None, help="monitoring log (default: $EDGERANK_MONITOR_DB or ~/.edgerank/monitor.sqlite)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one, printed on start)")
    parser.add_argument("--files-url", default="/models",
                        help="URL prefix the resolve answer points downloads at (a CDN holding a copy of STORE/models)")
    parser.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: {args.port} is not a TCP port")

    import uvicorn

    from edgerank.serve.app import create_app

    store = Path(args.store) if args.store else default_store()
    db = Path(args.db) if args.db else default_monitor_db()
    try:
        app = create_app(store, db, files_url=args.files_url)
    except (sqlite3.Error, OSError) as exc:  # e.g. a store index that is not a database
        print(f"edgerank.serve: error: {store}: cannot open the model store ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    try:  # bound here, so the port (also a free one for --port 0) is known before serving
        sock = socket.create_server((args.host, args.port), family=socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    except OSError as exc:
        print(f"edgerank.serve: error: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    print(f"edgerank.serve: http://{args.host}:{port} (store {store}, monitoring {db})", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=False)).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
