"""A Hydra callback that turns a multirun into a study: raw results, a table and plots.

It is on for every multirun (``conf/hydra/default.yaml``); the ``conf/study/*.yaml`` files only
say which metrics and plots they want. At the end of the multirun it reads every job's
``metrics.json`` (and artifact manifest) and writes, into the sweep directory:

- ``results.csv``: one row per job - its swept overrides, status and every metric;
- ``summary.md``: one row per configuration (swept values except the ignored ones such as the
  seed), each metric as mean +- std over the jobs that share it (by default the optimised
  metric, else every metric);
- one PNG per configured plot (by default the optimised metric against each swept parameter).
  Every number on a plot comes from the data: a ``reference`` metric is drawn as a line at its
  measured mean, labelled with that value.

``python -m edgerank.sweep_summary SWEEP_DIR [--study NAME]`` rebuilds summary.md and the plots
from a ``results.csv`` (e.g. the committed results under experiments/) without rerunning.

Hydra imports it only when a config names it; it needs matplotlib only for the plots.
"""

from __future__ import annotations

import argparse
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

from edgerank.core.manifest import MANIFEST_FILE, read_manifest

log = logging.getLogger(__name__)
RESULTS_FILE = "results.csv"
SUMMARY_FILE = "summary.md"


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
        if (job / "artifact" / MANIFEST_FILE).exists():
            row["artifact/size_bytes"] = read_manifest(job / "artifact")["size_bytes"]
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


def summarize(rows: Sequence[dict[str, Any]], factors: Sequence[str], metrics: Sequence[str]) -> list[dict[str, Any]]:
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


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _cell(mean: float, std: float) -> str:
    if float(mean).is_integer() and float(std).is_integer():
        return f"{mean:,.0f} ± {std:,.0f}"
    return f"{mean:.4g} ± {std:.2g}"


def markdown(summary: Sequence[dict[str, Any]], factors: Sequence[str], metrics: Sequence[str]) -> str:
    header = [*factors, "runs", *metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for entry in summary:
        cells = [str(entry[f]) for f in factors] + [str(entry["runs"])]
        for metric in metrics:
            cells.append(_cell(entry[metric], entry[f"{metric} std"]) if metric in entry else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(summary: Sequence[dict[str, Any]], factors: Sequence[str], spec: dict[str, Any], path: Path) -> None:
    """``y`` against ``x`` (a metric or a swept parameter) with std error bars: one point per
    configuration, one series per combination of the other swept parameters. ``reference``
    (a metric, e.g. a baseline) is drawn as a horizontal line at its mean over the configurations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = spec["x"], spec["y"]
    others = [f for f in factors if f not in (x, y)]
    entries = [e for e in summary if x in e and y in e]
    categorical = any(_number(e[x]) is None for e in entries) or x in factors
    categories = list(dict.fromkeys(str(e[x]) for e in entries))
    series: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        series.setdefault(", ".join(f"{f}={entry[f]}" for f in others), []).append(entry)
    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    for name, members in series.items():
        xs = [categories.index(str(e[x])) if categorical else float(e[x]) for e in members]
        axes.errorbar(
            xs,
            [e[y] for e in members],
            yerr=[e.get(f"{y} std", 0.0) for e in members],
            xerr=None if categorical else [e.get(f"{x} std", 0.0) for e in members],
            fmt="o",
            capsize=3,
            label=name or None,
        )
        if not categorical and others:
            for xv, e in zip(xs, members):
                axes.annotate(name, (xv, e[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    reference = spec.get("reference")
    values = [e[reference] for e in summary if reference in e]
    if values:
        level = sum(values) / len(values)
        axes.axhline(level, color="grey", linestyle="--", linewidth=1, label=f"{reference} = {level:.3g}")
    if categorical:
        axes.set_xticks(range(len(categories)), categories)
    if (others and categorical) or values:
        axes.legend(fontsize=7)
    axes.set_xlabel(x)
    axes.set_ylabel(y)
    axes.set_title(spec.get("title") or f"{y} by {x}")
    axes.tick_params(axis="x", labelrotation=spec.get("rotate", 0))
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def default_metrics(rows: Sequence[dict[str, Any]], optimized: str | None) -> list[str]:
    """The optimised metric when the sweep has one, else every metric a job reported."""
    found = list(dict.fromkeys(k for row in rows for k in row if "/" in k))
    return [optimized] if optimized and optimized in found else found


def write_summary(
    sweep_dir: Path,
    rows: Sequence[dict[str, Any]],
    *,
    metrics: Sequence[str],
    ignore: Sequence[str] = ("seed",),
    plots: dict[str, dict[str, Any]] | None = None,
    title: str = "",
    optimized: str | None = None,
) -> None:
    """summary.md and the plots of ``rows`` into ``sweep_dir``; by default the optimised metric
    against each swept parameter."""
    factors = swept_keys(rows, ignore)
    metrics = list(metrics) or default_metrics(rows, optimized)
    summary = summarize(rows, factors, metrics)
    failed = sum(r["status"] != "ok" for r in rows)
    note = f"\n{failed} of {len(rows)} jobs failed (see {RESULTS_FILE}).\n" if failed else ""
    heading = f"# {title}\n\n" if title else ""
    (sweep_dir / SUMMARY_FILE).write_text(heading + markdown(summary, factors, metrics) + note)
    if plots is None:
        plots = {f"{optimized.replace('/', '_')}_by_{f}": {"x": f, "y": optimized} for f in factors} if optimized else {}
    for name, spec in plots.items():
        try:
            plot(summary, factors, dict(spec), sweep_dir / f"{name}.png")
        except ImportError:
            log.warning("matplotlib is not installed: skipped plot %s (pip install matplotlib)", name)
    log.info("sweep summary written to %s", sweep_dir / SUMMARY_FILE)


class SweepSummary(Callback):
    def __init__(
        self,
        metrics: Sequence[str] | None = None,
        ignore: Sequence[str] = ("seed",),
        plots: dict[str, dict[str, Any]] | None = None,
        title: str = "",
    ) -> None:
        self.metrics, self.ignore = list(metrics or []), list(ignore)
        self.plots, self.title = (dict(plots) if plots is not None else None), title

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = load_jobs(sweep_dir) if sweep_dir.is_dir() else []
        if not rows:
            return
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with (sweep_dir / RESULTS_FILE).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        write_summary(
            sweep_dir, rows, metrics=self.metrics, ignore=self.ignore, plots=self.plots, title=self.title,
            optimized=config.get("optimized_metric"),
        )


def load_results(path: Path) -> list[dict[str, Any]]:
    """The rows of a results.csv, metrics as numbers (empty cells dropped)."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for row in rows:
        entry: dict[str, Any] = {}
        for key, value in row.items():
            if value == "":
                continue
            number = _number(value) if "/" in key else None
            entry[key] = number if number is not None else value
        entry["job"] = int(entry["job"])
        out.append(entry)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgerank.sweep_summary", description="Rebuild summary.md and plots from results.csv.")
    parser.add_argument("sweep_dir")
    parser.add_argument("--study", help="take metrics, plots and title from conf/study/NAME.yaml")
    args = parser.parse_args(argv)
    sweep_dir = Path(args.sweep_dir)
    spec: dict[str, Any] = {}
    if args.study:
        import edgerank.conf

        study = yaml.safe_load((Path(edgerank.conf.__file__).parent / "study" / f"{args.study}.yaml").read_text())
        spec = dict(study["hydra"]["callbacks"]["summary"])
        spec.pop("_target_", None)
    rows = load_results(sweep_dir / RESULTS_FILE)
    write_summary(sweep_dir, rows, metrics=spec.get("metrics") or [], ignore=spec.get("ignore", ["seed"]),
                  plots=spec.get("plots"), title=spec.get("title", ""))
    print(sweep_dir / SUMMARY_FILE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
