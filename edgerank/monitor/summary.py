"""Per-version summary of an event log: what a release manager looks at during a canary.

Definitions (so numbers mean the same everywhere):
- a row is one (model, version, sha256): two different model files published under the same
  name and version (two runs exported as ``product_topk`` ``1``) are never merged;
- ``requests``: events of that row; ``traffic_share``: its fraction of all events of the same
  model;
- ``success_rate``: fraction served by the model (the rest got the fallback order);
- latency percentiles (p50/p95/p99, milliseconds) are over *successful* requests only, because a
  failure's time measures the fallback, not the model (failures show in ``success_rate``);
- ``unknown_rate``: unknown or missing categorical inputs / categorical inputs seen, i.e. the
  share of attribute values that lit an ``unknown`` slot (vocabulary drift shows up here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np

from edgerank.monitor.events import Event


@dataclass
class VersionSummary:
    model: str
    version: str
    sha256: str
    requests: int
    success_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    traffic_share: float
    unknown_rate: float
    failures: int
    top_error: str

    def to_dict(self) -> dict:
        return asdict(self)


def _percentile(values: list[float], q: float) -> float | None:
    # 'linear' interpolation: numpy's default, stated so the test's expectations are explicit
    return float(np.percentile(values, q, method="linear")) if values else None


def summarize(events: Iterable[Event]) -> list[VersionSummary]:
    """One :class:`VersionSummary` per (model, version, sha256), sorted by model, version, sha256."""
    groups: dict[tuple[str, str, str], list[Event]] = {}
    for event in events:
        groups.setdefault((event.model, event.version, event.sha256), []).append(event)
    per_model: dict[str, int] = {}
    for (model, _, _), rows in groups.items():
        per_model[model] = per_model.get(model, 0) + len(rows)
    out = []
    for (model, version, sha), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], _version_key(kv[0][1]), kv[0][2])):
        ok_latency = [e.latency_ms for e in rows if e.ok]
        errors = [e.error for e in rows if not e.ok]
        fields = sum(e.fields for e in rows)
        top_error = max(set(errors), key=errors.count) if errors else ""
        out.append(
            VersionSummary(
                model=model,
                version=version,
                sha256=sha,
                requests=len(rows),
                success_rate=len(ok_latency) / len(rows),
                latency_p50_ms=_percentile(ok_latency, 50),
                latency_p95_ms=_percentile(ok_latency, 95),
                latency_p99_ms=_percentile(ok_latency, 99),
                traffic_share=len(rows) / per_model[model],
                unknown_rate=sum(e.unknown for e in rows) / fields if fields else 0.0,
                failures=len(errors),
                top_error=top_error,
            )
        )
    return out


def _version_key(version: str) -> tuple[int, int | str]:
    digits = version.lstrip("v")
    return (0, int(digits)) if digits.isdigit() else (1, version)


def format_summary(rows: list[VersionSummary], as_json: bool = False) -> str:
    if as_json:
        return json.dumps([r.to_dict() for r in rows], indent=2)
    if not rows:
        return "no inference events recorded"
    header = ["model", "version", "requests", "success", "p50 ms", "p95 ms", "p99 ms", "share", "unknown", "sha256", "top error"]
    ms = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    table = [
        [r.model, r.version, str(r.requests), f"{r.success_rate:.2%}", ms(r.latency_p50_ms), ms(r.latency_p95_ms),
         ms(r.latency_p99_ms), f"{r.traffic_share:.1%}", f"{r.unknown_rate:.2%}", r.sha256[:12] or "-", r.top_error[:60]]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in column) for column in zip(header, *table)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *table]]
    return "\n".join(lines)
