"""``python -m edgerank.bench RUN_DIR [--requests N] [--threads 1 2] [--no-memory] [--no-floor] [--peers [PEER ...]]``

Prints one JSON object (see :mod:`edgerank.bench.core` for every key), with a progress bar on
stderr; third-party output (converter steps, native-library notices) goes to ``RUN_DIR/bench.log``
unless ``-v``. Exit code 1 when a requested figure could not be measured (named on stderr; the JSON
still holds everything that was), 2 for a directory without an artifact.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

from edgerank import console
from edgerank.errors import reports_errors

LOG_FILE = "bench.log"


@reports_errors("edgerank.bench")
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.bench", description="Latency, size and peak memory of an exported run.")
    parser.add_argument("run_dir", help="a run directory holding artifact/ (and reference/, artifact_int8/ when exported)")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per runtime and thread count")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--no-floor", action="store_true", help="skip ops, MACs, peak GFLOP/s and floor_ratio (edgerank.bench.floor)")
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=["onnxruntime", "executorch"],  # edgerank.bench.peers.PEERS (not imported: it loads torch)
        default=None,
        help="also export the graph to the peers (onnxruntime, executorch; all when none is named), check and time them",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=f"third-party output on the terminal too, not only in RUN_DIR/{LOG_FILE}")
    args = parser.parse_args(argv)
    from edgerank.bench.core import artifacts, benchmark

    log_file = Path(args.run_dir) / LOG_FILE
    with console.session(log_file, verbose=args.verbose), (console.quietly() if artifacts(Path(args.run_dir)) else nullcontext()):
        result = benchmark(args.run_dir, args.requests, args.threads, args.warmup, memory=not args.no_memory, peers=args.peers, floor=not args.no_floor)
    print(json.dumps(result, indent=2))
    from edgerank.bench.core import unmeasured

    failed = unmeasured(result)
    for line in failed:
        print(f"edgerank.bench: error: not measured: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
