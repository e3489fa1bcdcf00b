"""A test-only third-party plugin distribution, written to disk as pip would install it."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_distribution(site: Path, dist: str, module: str, source: str, configs: dict[str, str] | None = None) -> None:
    """A minimal installed distribution (dist-info + module) that importlib.metadata discovers."""
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(textwrap.dedent(source))
    groups = f"[edgerank.plugins]\n{module} = {module}\n"
    if configs:
        conf = site / module / "conf"
        for relative, text in configs.items():
            (conf / relative).parent.mkdir(parents=True, exist_ok=True)
            (conf / relative).write_text(text)
        (conf / "__init__.py").write_text("")
        groups += f"\n[edgerank.configs]\n{module} = {module}.conf\n"
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(groups)


WIDE_TOPK = """
    '''A third-party model: dense_topk with one hidden layer.'''
    from edgerank.models.dense_topk import DenseTopK
    from edgerank.registry import register_model

    @register_model("wide_topk", description="one wide hidden layer (test plugin)")
    def wide_topk(spec, width: int = 32, top_k: int = 5):
        return DenseTopK(spec, hidden=[width], top_k=top_k)
"""
WIDE_TOPK_CONFIG = {"model/wide_topk.yaml": "name: wide_topk\nwidth: 24\ntop_k: 3\n"}
