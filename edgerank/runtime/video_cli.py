"""``python -m edgerank.runtime video SOURCE EVENTS.jsonl``: replay a raw feed-event log.

Each line of ``EVENTS.jsonl`` is one raw event as :mod:`edgerank.runtime.video` documents it
(``request``, ``exposure``, ``play``, ``like``, ``skip``, ``network``), plus optional ``user``
and ``session`` keys: events of one (user, session) pair share a
:class:`~edgerank.runtime.video.VideoSession`, so interleaved sessions replay correctly. Every
request is served (and recorded to monitoring) as the app would; ``--out FILE`` writes one JSON
line per request (ids, source, error), stdout gets a one-line JSON summary; lines that are not
UTF-8 JSON are skipped and counted (``bad_lines``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgerank.errors import EdgeRankError


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    video = sub.add_parser("video", parents=[common], help="replay a JSON-lines log of raw short-video feed events")
    video.add_argument("events", help="JSON lines, one raw event each (optional 'user' and 'session' keys)")
    video.add_argument("--weights", nargs="*", default=None, metavar="TASK=W",
                       help="order of a plain model: weights per task (default effective_view=1 like=1)")
    video.add_argument("--list-size", type=int, default=None, help="adaptive beam artifacts: positions to fill")
    video.add_argument("--threshold", type=float, default=None, help="adaptive beam artifacts: narrowing threshold")
    video.add_argument("--out", default=None, help="write one JSON line per request here")
    video.add_argument("--limit", type=int, default=None, help="stop after this many events")


def _weights(words: list[str] | None) -> dict[str, float] | None:
    if words is None:
        return None
    out = {}
    for word in words:
        task, sep, value = word.partition("=")
        try:
            out[task] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise EdgeRankError(f"'{word}': weights are TASK=NUMBER (e.g. like=2)")
    return out


def replay(args: argparse.Namespace, source: Any, monitor: Any) -> dict[str, Any]:
    """Serve every event of ``args.events``; returns the summary counts."""
    from edgerank.runtime.video import VideoRuntime, VideoSession

    path = Path(args.events)
    if not path.is_file():
        raise EdgeRankError(f"{path}: no such events file")
    ranker = None
    if args.list_size is not None or args.threshold is not None:
        ranker = {"list_size": args.list_size, "threshold": args.threshold}
    runtime = VideoRuntime(source, weights=_weights(args.weights), ranker=ranker, monitor=monitor, num_threads=args.threads)
    sessions: dict[tuple[str, str], VideoSession] = {}
    counts = {"events": 0, "requests": 0, "model": 0, "fallback": 0, "bad_lines": 0}
    out = Path(args.out).open("w") if args.out else None
    try:
        with path.open("rb") as lines:  # decoded per line: one bad line is one bad line, not the end
            for number, raw in enumerate(lines, 1):
                if args.limit is not None and counts["events"] >= args.limit:
                    break
                if not raw.strip():
                    continue
                counts["events"] += 1
                try:
                    event = json.loads(raw.decode("utf-8"))
                except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
                    counts["bad_lines"] += 1
                    continue
                user = str(event.get("user", "")) if isinstance(event, Mapping) else ""
                key = (user, str(event.get("session", "")) if isinstance(event, Mapping) else "")
                session = sessions.setdefault(key, runtime.session(user or None))
                ranking = runtime.observe(session, event)
                if ranking is None:
                    continue
                counts["requests"] += 1
                counts[ranking.source] += 1
                if out is not None:
                    out.write(json.dumps({"line": number, "user": user, "session": key[1], "source": ranking.source,
                                          "version": ranking.version, "items": ranking.items, "placed": getattr(ranking, "placed", 0),
                                          "latency_ms": ranking.latency_ms, "error": ranking.error}) + "\n")
        counts["skipped_events"] = sum(s.skipped for s in sessions.values())
    finally:
        if out is not None:
            out.close()
        runtime.close()
    return counts
