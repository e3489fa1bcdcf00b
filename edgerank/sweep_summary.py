"""A Hydra callback that turns a multirun into a study: raw results, a table and plots.

Add it to a sweep (``hydra.callbacks.summary``, as the ``conf/study/*.yaml`` files do) and at
the end of the multirun it reads every job's ``metrics.json`` (and artifact manifest) and
writes, into the sweep directory:

- ``results.csv``: one row per job - its swept overrides, status and every metric;
- ``summary.md``: one row per configuration (swept values except the ignored ones such as the
  seed), each metric as mean +- std over the jobs that share it;
- one PNG per configured plot.

Hydra imports it only when a config names it; it needs matplotlib only for the plots.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def load_jobs(sweep_dir: Path) -> list[dict[str, Any]]:
    """One dict per job directory: its overrides (``key=value`` as strings), status and metrics."""
    rows = []
    for job in sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
        overrides_file = job / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.exists() else []
        row: dict[str, Any] = {"job": int(job.name)}
        row.update(dict(o.split("=", 1) for o in overrides if "=" in o and not o.startswith(("hydra.", "~"))))
        metrics_file = job / "metrics.json"
        row["status"] = "ok" if metrics_file.exists() else "failed"
        if metrics_file.exists():
            row.update(json.loads(metrics_file.read_text()))
        manifest = job / "artifact" / "manifest.json"
        if manifest.exists():
            row["artifact/size_bytes"] = json.loads(manifest.read_text())["size_bytes"]
        rows.append(row)
    return rows


def swept_keys(rows: Sequence[dict[str, Any]], ignore: Sequence[str]) -> list[str]:
    """Override keys whose value differs between jobs (the study's factors), minus ``ignore``.

    Overrides are the text values of a row (metrics are numbers), so a config-group override
    such as ``study/source@_global_=log`` is a factor too."""
    keys = [k for k in rows[0] if isinstance(rows[0][k], str) and k not in ("job", "status", *ignore)] if rows else []
    return [k for k in keys if len({str(r.get(k)) for r in rows}) > 1]


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def summarise(rows: Sequence[dict[str, Any]], factors: Sequence[str], metrics: Sequence[str]) -> list[dict[str, Any]]:
    """Mean and std of each metric per configuration (value combination of ``factors``)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == "ok":
            groups.setdefault(tuple(str(row.get(f)) for f in factors), []).append(row)
    out = []
    for key, members in groups.items():
        entry: dict[str, Any] = dict(zip(factors, key))
        entry["runs"] = len(members)
        for metric in metrics:
            values = [float(m[metric]) for m in members if metric in m]
            if values:
                entry[metric], entry[f"{metric} std"] = _mean_std(values)
        out.append(entry)
    return out


def markdown(summary: Sequence[dict[str, Any]], factors: Sequence[str], metrics: Sequence[str]) -> str:
    header = [*factors, "runs", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in summary:
        cells = [str(entry[f]) for f in factors] + [str(entry["runs"])]
        for metric in metrics:
            cells.append(f"{entry[metric]:.4g} ± {entry[f'{metric} std']:.2g}" if metric in entry else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(summary: Sequence[dict[str, Any]], factors: Sequence[str], spec: dict[str, Any], path: Path) -> None:
    """A scatter of ``y`` against ``x`` (metrics or factors) with std error bars, one point per
    configuration, labelled by the factors not on an axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = spec["x"], spec["y"]
    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for entry in summary:
        if y not in entry or x not in entry:
            continue
        label = ", ".join(f"{f}={entry[f]}" for f in factors if f not in (x, y)) or str(entry.get(x))
        xv = entry[x]
        numeric_x = isinstance(xv, float)
        axes.errorbar(
            xv if numeric_x else label,
            entry[y],
            yerr=entry.get(f"{y} std", 0.0),
            xerr=entry.get(f"{x} std", 0.0) if numeric_x else None,
            fmt="o",
            capsize=3,
        )
        if numeric_x:
            axes.annotate(label, (xv, entry[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(spec.get("title", f"{y} vs {x}"))
    axes.tick_params(axis="x", labelrotation=spec.get("rotate", 0))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


class SweepSummary(Callback):
    def __init__(
        self,
        metrics: Sequence[str],
        ignore: Sequence[str] = ("seed",),
        plots: dict[str, dict[str, Any]] | None = None,
        title: str = "",
    ) -> None:
        self.metrics, self.ignore = list(metrics), list(ignore)
        self.plots, self.title = dict(plots or {}), title

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = load_jobs(sweep_dir)
        if not rows:
            return
        factors = swept_keys(rows, self.ignore)
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with (sweep_dir / "results.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        summary = summarise(rows, factors, self.metrics)
        failed = sum(r["status"] != "ok" for r in rows)
        note = f"\n{failed} of {len(rows)} jobs failed (see results.csv).\n" if failed else ""
        title = f"# {self.title}\n\n" if self.title else ""
        (sweep_dir / "summary.md").write_text(title + markdown(summary, factors, self.metrics) + note)
        for name, spec in self.plots.items():
            try:
                plot(summary, factors, dict(spec), sweep_dir / f"{name}.png")
            except ImportError:
                log.warning("matplotlib is not installed: skipped plot %s (pip install matplotlib)", name)
        log.info("study summary written to %s", sweep_dir / "summary.md")
