"""Collect the study's metrics.json files into the README tables (markdown).

``python summarise.py OUT_DIR`` prints one study; ``python summarise.py DIR1 DIR2 ...`` (the same
study with different ``seed=``) prints the mean and the per-seed spread (max - min).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

TASKS = ("has_next", "effective_view", "like")


def label(run_dir: Path) -> str:
    overrides = yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())
    picked = [o for o in overrides if o.startswith(("model=", "features."))]
    return " ".join(picked) or "default"


def collect(root: str) -> dict[str, tuple[dict[str, float], int | str]]:
    rows: dict[str, tuple[dict[str, float], int | str]] = {}
    for metrics_file in sorted(Path(root).glob("*/*/metrics.json")):
        metrics = json.loads(metrics_file.read_text())
        manifest = metrics_file.parent / "artifact" / "manifest.json"
        size = json.loads(manifest.read_text())["size_bytes"] if manifest.exists() else ""
        rows[label(metrics_file.parent)] = (metrics, size)
    if not rows:
        raise SystemExit(f"no metrics.json under {root}")
    return rows


def main(roots: list[str]) -> None:
    studies = [collect(r) for r in roots]
    names = list(studies[0])
    first = next(iter(studies[0].values()))[0]
    cols = [f"{t} GAUC" for t in TASKS] + [f"{t} AUC" for t in TASKS]
    print("| run | " + " | ".join(cols) + " | .tflite bytes |")
    print("|" + "---|" * (2 + len(cols)))

    def cell(values: list[float]) -> str:
        if len(values) == 1:
            return f"{values[0]:.4f}"
        return f"{np.mean(values):.4f} ±{(max(values) - min(values)) / 2:.4f}"

    def row(name: str, prefix: str, key: str | None, size: object = "") -> str:
        found = [s[key][0] if key else next(iter(s.values()))[0] for s in studies if key is None or key in s]
        values = [[m[f"{prefix}/{t}/{k}"] for m in found] for k in ("gauc", "auc") for t in TASKS]
        return f"| {name} | " + " | ".join(cell(v) for v in values) + f" | {size} |"

    assert first  # every run carries the pxtr reference
    print(row("pxtr (server score)", "pxtr", None))
    for name in names:
        print(row(name, "test", name, studies[0][name][1]))


if __name__ == "__main__":
    main(sys.argv[1:] or ["outputs/video_rerank_study"])
