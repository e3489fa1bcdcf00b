"""``GET /``: the monitoring dashboard, one section per model.

Per model: headline figures, the rollout in force, four plots over time (traffic share per
version, success rate, latency p50/p95/p99, unknown-field rate), the per-version table the
``python -m edgerank.monitor summary`` CLI prints (same function, same formatting), and the
published versions with their checksums, metrics and whether the service currently serves them.
Plain HTML and inline SVG: no script, nothing fetched from elsewhere.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np

from edgerank.modelstore import VersionRecord
from edgerank.monitor import Event, VersionSummary, summarize
from edgerank.serve.charts import PALETTE, charts, series

CHART_TITLES = {
    "traffic": "Traffic share per version",
    "success": "Success rate (model answered, no fallback)",
    "latency": "Latency of successful requests: p50 — p95 -- p99 ·· (ms)",
    "unknown": "Unknown-field rate (unknown / categorical fields seen)",
}
STYLE = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --card:#ffffff; --bg:#f3f4f6; --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink); background:var(--bg); }
header { background:#0f172a; color:#f8fafc; padding:14px 28px; display:flex; gap:24px; align-items:baseline; flex-wrap:wrap; }
header h1 { font-size:18px; margin:0; font-weight:600; }
header nav a { color:#cbd5e1; margin-right:14px; text-decoration:none; }
header nav a:hover { color:#fff; }
header .asof { margin-left:auto; color:#94a3b8; font-size:12px; }
main { padding:20px 28px 40px; max-width:1500px; margin:0 auto; }
section.model { margin-bottom:36px; }
h2 { font-size:20px; margin:8px 0 12px; }
h3 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:0 0 8px; font-weight:600; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(160px, 1fr)); gap:12px; margin-bottom:14px; }
.kpi, .card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 16px; }
.kpi .value { font-size:24px; font-weight:600; }
.kpi .label { color:var(--muted); font-size:12px; }
.kpi.bad .value { color:#dc2626; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(560px, 1fr)); gap:14px; margin-bottom:14px; }
.card svg { width:100%; height:auto; display:block; }
.card.wide { margin-bottom:14px; overflow-x:auto; }
.split { display:grid; grid-template-columns:minmax(300px, 1fr) minmax(0, 2.2fr); gap:14px; }
.split .card { overflow-x:auto; }
@media (max-width: 1100px) { .split { grid-template-columns:1fr; } }
table { border-collapse:collapse; width:100%; font-variant-numeric: tabular-nums; }
th, td { text-align:left; padding:6px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--muted); font-weight:600; font-size:12px; }
td.num, th.num { text-align:right; }
td.err { white-space:normal; color:#991b1b; font-size:12px; min-width:260px; }
.swatch { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; vertical-align:middle; }
.ok { color:#15803d; } .no { color:#dc2626; }
.empty { color:var(--muted); padding:16px 0; }
code { font-size:12px; }
footer { color:var(--muted); font-size:12px; padding:0 28px 24px; max-width:1500px; margin:0 auto; }
"""


def pct(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}%}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _e(value: Any) -> str:
    return html.escape(str(value))


def _version_order(rows: Iterable[VersionSummary], records: Iterable[VersionRecord]) -> list[str]:
    seen = [r.version for r in rows]
    return seen + [r.label for r in records if r.label not in seen]


def _kpis(rows: Sequence[VersionSummary], events: Sequence[Event]) -> str:
    requests = sum(r.requests for r in rows)
    ok = sum(e.ok for e in events)
    fields = sum(e.fields for e in events)
    success = ok / requests if requests else None
    latencies = [e.latency_ms for e in events if e.ok]
    p99 = float(np.percentile(latencies, 99)) if latencies else None
    items = [
        ("requests", f"{requests:,}", False),
        ("success rate", pct(success) if success is not None else "-", success is not None and success < 0.99),
        ("latency p99 (ms)", ms(p99), False),
        ("unknown-field rate", pct(sum(e.unknown for e in events) / fields) if fields else "-", False),
        ("versions seen", str(len(rows)), False),
    ]
    return '<div class="kpis">' + "".join(
        f'<div class="kpi{" bad" if bad else ""}"><div class="value">{_e(value)}</div><div class="label">{_e(label)}</div></div>'
        for label, value, bad in items
    ) + "</div>"


def _rollout(rollout: Mapping[str, Any] | None, records: Sequence[VersionRecord], colour: Mapping[str, str]) -> str:
    if rollout is None:
        latest = f"v{max(r.version for r in records)}" if records else "-"
        return f'<div class="card"><h3>Rollout in force</h3><p>No rollout configured: every user gets the latest version, <b>{_e(latest)}</b>.</p></div>'
    rows = ""
    for g in rollout["groups"]:
        label, share = f"v{g['version']}", rollout["shares"][g["name"]]
        rows += (f'<tr><td>{_e(g["name"])}</td><td><span class="swatch" style="background:{colour.get(label, "#9ca3af")}"></span>'
                 f'{_e(label)}</td><td class="num">{pct(share, 1)}</td></tr>')
    pins = f'{len(rollout["pins"])} pinned user(s)' if rollout.get("pins") else "no pinned users"
    return (
        '<div class="card"><h3>Rollout in force</h3><table><tr><th>group</th><th>version</th><th class="num">users</th></tr>'
        f'{rows}</table><p class="label">salt <code>{_e(rollout["salt"])}</code> · {pins} · users are assigned by sha256(salt, user id)</p></div>'
    )


def _summary_table(rows: Sequence[VersionSummary], colour: Mapping[str, str]) -> str:
    if not rows:
        return '<p class="empty">No inference events received for this model yet.</p>'
    head = ("version", "requests", "share", "success", "p50 ms", "p95 ms", "p99 ms", "unknown", "failures", "top error")
    body = "".join(
        f'<tr data-version="{_e(r.version)}"><td><span class="swatch" style="background:{colour.get(r.version, "#9ca3af")}"></span>{_e(r.version)}</td>'
        f'<td class="num" data-key="requests">{r.requests}</td><td class="num" data-key="traffic_share">{pct(r.traffic_share, 1)}</td>'
        f'<td class="num" data-key="success_rate">{pct(r.success_rate)}</td><td class="num" data-key="latency_p50_ms">{ms(r.latency_p50_ms)}</td>'
        f'<td class="num" data-key="latency_p95_ms">{ms(r.latency_p95_ms)}</td><td class="num" data-key="latency_p99_ms">{ms(r.latency_p99_ms)}</td>'
        f'<td class="num" data-key="unknown_rate">{pct(r.unknown_rate)}</td><td class="num" data-key="failures">{r.failures}</td>'
        f'<td class="err">{_e(r.top_error[:120])}</td></tr>'
        for r in rows
    )
    cells = "".join(f'<th class="{"" if h in ("version", "top error") else "num"}">{h}</th>' for h in head)
    return f'<table class="summary"><tr>{cells}</tr>{body}</table>'


def _versions_table(records: Sequence[VersionRecord], served: Mapping[int, bool], colour: Mapping[str, str]) -> str:
    if not records:
        return '<p class="empty">Not in the model store.</p>'
    head = '<tr><th>version</th><th>variant</th><th class="num">size</th><th>sha256</th><th>published (UTC)</th><th>test metrics</th><th>parity</th><th>served</th></tr>'
    body = ""
    for r in records:
        metrics = " ".join(f"{k.split('/', 1)[1]}={v:.4f}" for k, v in sorted(r.metrics.items()) if k.startswith("test/") and isinstance(v, (int, float)))
        parity = "passed" if r.parity.get("passed") else "failed"
        ok = served.get(r.version, False)
        body += (
            f'<tr data-published="{_e(r.label)}"><td><span class="swatch" style="background:{colour.get(r.label, "#9ca3af")}"></span>{_e(r.label)}</td>'
            f'<td>{_e(r.variant)}</td><td class="num">{r.size_bytes / 1024:.1f} KiB</td><td><code title="{_e(r.sha256)}">{_e(r.sha256[:12])}</code></td>'
            f'<td>{_e(r.published.replace("T", " ")[:16])}</td><td>{_e(metrics)}</td><td>{parity}</td>'
            f'<td class="{"ok" if ok else "no"}">{"yes" if ok else "no: files do not match their checksums"}</td></tr>'
        )
    return f"<table>{head}{body}</table>"


def model_section(name: str, events: Sequence[Event], records: Sequence[VersionRecord], served: Mapping[int, bool],
                  rollout: Mapping[str, Any] | None) -> str:
    rows = summarize(events)
    versions = _version_order(rows, records)
    colour = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(versions)}
    parts = [f'<section class="model" id="{_e(name)}" data-model="{_e(name)}"><h2>{_e(name)}</h2>', _kpis(rows, events)]
    if events:
        seen = [r.version for r in rows]
        svgs = charts(series(events, seen), seen)
        parts.append('<div class="grid">' + "".join(
            f'<div class="card chart" data-chart="{key}"><h3>{CHART_TITLES[key]}</h3>{svg}</div>' for key, svg in svgs.items()
        ) + "</div>")
    parts.append(f'<div class="card wide"><h3>Per version (as <code>python -m edgerank.monitor summary</code>)</h3>{_summary_table(rows, colour)}</div>')
    parts.append('<div class="split">' + _rollout(rollout, records, colour)
                 + f'<div class="card"><h3>Published versions</h3>{_versions_table(records, served, colour)}</div></div></section>')
    return "".join(parts)


def page(sections: Mapping[str, str], ingestion: Mapping[str, int], store: str, monitor_db: str, hours: float) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    window = f"events of the last {hours:g} h" if hours else "all events"
    nav = "".join(f'<a href="#{_e(name)}">{_e(name)}</a>' for name in sections)
    body = "".join(sections.values()) or '<p class="empty">No published models and no events yet. Publish one with <code>python -m edgerank.registry publish ARTIFACT_DIR</code>.</p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>edgerank · models</title><style>{STYLE}</style></head><body>'
        f'<header><h1>edgerank · on-device models</h1><nav>{nav}</nav><span class="asof">{window} · as of {now}</span></header>'
        f'<main>{body}</main>'
        f'<footer>Store <code>{_e(store)}</code> · monitoring <code>{_e(monitor_db)}</code> · ingested '
        f'{ingestion["batches"]:,} batches, {ingestion["accepted"]:,} events accepted, {ingestion["rejected"]:,} rejected · '
        'API: <code>GET /models</code>, <code>GET /models/NAME/resolve?user=ID</code>, <code>POST /events</code></footer>'
        "</body></html>"
    )
