"""The dashboard's time series and their plots (inline SVG, drawn by matplotlib).

Events of one model are cut into time buckets (a round width giving at most ~60 buckets over
the span shown); per bucket and version: requests, successes, latencies of successful requests,
unknown and seen categorical fields. The definitions are the monitor summary's
(:mod:`edgerank.monitor.summary`), applied per bucket.

Drawn server-side as SVG with text kept as text: the page needs no JavaScript and no network
(the service may run where no CDN is reachable), and matplotlib is already the project's plot
library. Figures use the object API (no pyplot state), under a lock, so threads can share it.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from edgerank.monitor import Event

BUCKETS_S = (1, 5, 10, 30, 60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 60
PALETTE = ("#2563eb", "#f97316", "#16a34a", "#dc2626", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d")
_LOCK = threading.Lock()


@dataclass
class Series:
    """Per version, per bucket: the raw tallies each plot derives its values from."""

    starts: np.ndarray  # bucket start times (unix seconds)
    width_s: int
    requests: dict[str, np.ndarray] = field(default_factory=dict)
    ok: dict[str, np.ndarray] = field(default_factory=dict)
    latency: dict[str, list[list[float]]] = field(default_factory=dict)
    unknown: dict[str, np.ndarray] = field(default_factory=dict)
    fields: dict[str, np.ndarray] = field(default_factory=dict)


def bucket_width(span_s: float) -> int:
    return next((w for w in BUCKETS_S if span_s / w <= MAX_BUCKETS), BUCKETS_S[-1])


def series(events: Sequence[Event], versions: Sequence[str]) -> Series:
    """Tallies of ``events`` (one model) per version in ``versions`` order and time bucket."""
    ts = np.array([e.ts for e in events], dtype=float)
    width = bucket_width(float(ts.max() - ts.min()) if len(ts) else 0.0)
    first = np.floor(ts.min() / width) * width if len(ts) else 0.0
    index = ((ts - first) // width).astype(int) if len(ts) else np.zeros(0, dtype=int)
    n = int(index.max()) + 1 if len(ts) else 0
    out = Series(first + width * np.arange(n), width)
    for version in versions:
        out.requests[version], out.ok[version] = np.zeros(n), np.zeros(n)
        out.unknown[version], out.fields[version] = np.zeros(n), np.zeros(n)
        out.latency[version] = [[] for _ in range(n)]
    for event, i in zip(events, index):
        v = event.version
        out.requests[v][i] += 1
        out.unknown[v][i] += event.unknown
        out.fields[v][i] += event.fields
        if event.ok:
            out.ok[v][i] += 1
            out.latency[v][i].append(event.latency_ms)
    return out


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    out = np.full(len(bottom), np.nan)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 2.9), dpi=100)
    ax = fig.add_subplot()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _svg(fig, ax, data: Series) -> str:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=7, tz=timezone.utc)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=timezone.utc))
    ax.tick_params(labelsize=8, colors="#374151")
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _times(data: Series) -> list[datetime]:
    return [datetime.fromtimestamp(t + data.width_s / 2, tz=timezone.utc) for t in data.starts]


def charts(data: Series, versions: Sequence[str]) -> dict[str, str]:
    """``{chart id: inline SVG}`` for traffic share, success rate, latency, unknown-field rate."""
    import matplotlib
    from matplotlib.ticker import PercentFormatter

    colour = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(versions)}
    x = _times(data)
    total = sum(data.requests.values()) if versions else np.zeros(0)
    out = {}
    with _LOCK, matplotlib.rc_context({"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9}):
        fig, ax = _figure()
        shares = [_ratio(data.requests[v], total) for v in versions]
        ax.stackplot(x, *[np.nan_to_num(s) for s in shares], labels=versions, colors=[colour[v] for v in versions], alpha=0.85, step=None)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        out["traffic"] = _svg(fig, ax, data)

        fig, ax = _figure()
        lowest = 1.0
        for v in versions:
            rate = _ratio(data.ok[v], data.requests[v])
            ax.plot(x, rate, marker="o", markersize=3, color=colour[v], label=v)
            lowest = min(lowest, float(np.nanmin(rate, initial=1.0)))
        ax.set_ylim(max(0.0, min(0.95, lowest) - 0.01), 1.005)  # a drop from 100 % to 98 % must be visible
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        out["success"] = _svg(fig, ax, data)

        fig, ax = _figure()
        for v in versions:
            for q, style in ((50, "-"), (95, "--"), (99, ":")):
                values = [float(np.percentile(b, q)) if b else np.nan for b in data.latency[v]]
                ax.plot(x, values, linestyle=style, color=colour[v], linewidth=1.6, label=f"{v} p{q}")
        ax.set_ylim(bottom=0)
        ax.set_ylabel("ms", fontsize=8, color="#374151")
        out["latency"] = _svg(fig, ax, data)

        fig, ax = _figure()
        for v in versions:
            ax.plot(x, _ratio(data.unknown[v], data.fields[v]), marker="o", markersize=3, color=colour[v], label=v)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        out["unknown"] = _svg(fig, ax, data)
    return out
