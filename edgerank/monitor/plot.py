"""``monitor plot``: the summary as a picture (traffic share, success rate, latency percentiles,
unknown-category rate per version). matplotlib is an optional extra (``edgerank[plot]``)."""

from __future__ import annotations

from pathlib import Path

from edgerank.errors import EdgeRankError
from edgerank.monitor.summary import VersionSummary


def plot_summary(rows: list[VersionSummary], out: str | Path) -> Path:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise EdgeRankError("monitor plot needs matplotlib: pip install -e '.[plot]'") from exc
    if not rows:
        raise EdgeRankError("no inference events recorded: nothing to plot")
    labels = [f"{r.model}\n{r.version}" + (f" {r.sha256[:8]}" if r.sha256 else "") for r in rows]
    x = list(range(len(rows)))
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax = axes[0][0]
    ax.bar(x, [r.traffic_share for r in rows], color="tab:blue")
    ax.set_title("traffic share")
    ax = axes[0][1]
    ax.bar(x, [r.success_rate for r in rows], color="tab:green")
    ax.set_ylim(0, 1.05)
    ax.set_title("success rate")
    ax = axes[1][0]
    width = 0.27
    for i, (name, key) in enumerate([("p50", "latency_p50_ms"), ("p95", "latency_p95_ms"), ("p99", "latency_p99_ms")]):
        ax.bar([v + (i - 1) * width for v in x], [getattr(r, key) or 0.0 for r in rows], width, label=name)
    ax.set_title("latency (ms, successful requests)")
    ax.legend()
    ax = axes[1][1]
    ax.bar(x, [r.unknown_rate for r in rows], color="tab:orange")
    ax.set_title("unknown-category rate")
    for ax in [a for row in axes for a in row]:
        ax.set_xticks(x)
        ax.set_xticklabels(labels, fontsize=8)
    fig.suptitle("edgerank on-device inference by model version (" + ", ".join(f"{r.version}: {r.requests} req" for r in rows) + ")", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(temp, dpi=110)
    plt.close(fig)
    temp.replace(out)  # a reader never sees half a PNG
    return out
