"""The complete model plugin of plugins/README.md, run exactly as written there.

The test extracts the guide's code blocks (the Python module, its YAML file, its
``pyproject.toml``), writes them as an installed distribution under ``tmp_path`` (the
``.dist-info`` pip would write, from the block's entry points), composes ``model=tiny_mlp``
through Hydra and builds and runs the model through the registry.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from edgerank.data.video import VideoSyntheticData
from edgerank.errors import ConfigError
from edgerank.registry import build, load_plugins

GUIDE = Path(__file__).resolve().parent.parent / "plugins" / "README.md"


def guide_blocks() -> dict[str, str]:
    """The first fenced block of each language in section 1 of the guide."""
    text = GUIDE.read_text()
    section = text[text.index("## 1. A complete model plugin") : text.index("## 2. ")]
    blocks: dict[str, str] = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S):
        blocks.setdefault(language, body)
    return blocks


def test_the_guide_plugin_is_complete_and_short():
    blocks = guide_blocks()
    lines = sum(len([line for line in blocks[k].splitlines() if line.strip()]) for k in ("python", "yaml", "toml"))
    assert lines < 60, lines
    imports = set(re.findall(r"^from (edgerank\S*) import", blocks["python"], flags=re.M))
    assert imports == {"edgerank.models.api"}


@pytest.fixture
def guide_plugin(tmp_path, monkeypatch):
    blocks = guide_blocks()
    project = tmp_path / "edgerank-tiny"
    meta = tomllib.loads(blocks["toml"])["project"]
    (project / "edgerank_tiny" / "conf" / "model").mkdir(parents=True)
    (project / "edgerank_tiny" / "__init__.py").write_text(blocks["python"])
    (project / "edgerank_tiny" / "conf" / "__init__.py").write_text("")
    (project / "edgerank_tiny" / "conf" / "model" / "tiny_mlp.yaml").write_text(blocks["yaml"])
    info = project / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    (info / "entry_points.txt").write_text(
        "".join(f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n" for g, entries in meta["entry-points"].items())
    )
    monkeypatch.syspath_prepend(str(project))
    return importlib.import_module("edgerank_tiny")


def test_the_guide_plugin_composes_builds_and_runs(guide_plugin, make_cfg):
    cfg = make_cfg("+experiment=video_rerank", "model=tiny_mlp", "model.hidden=[32,16]")
    options = OmegaConf.to_container(cfg.model, resolve=True)
    assert options == {"name": "tiny_mlp", "embed_dim": 8, "attention_dim": 16, "hidden": [32, 16], "tower_hidden": [16], "dropout": 0.0}

    data = VideoSyntheticData(num_users=8, num_videos=60, sessions_per_user=1, candidates=[5, 10], max_candidates=10, seq_len=4)
    data.setup()
    torch.manual_seed(0)
    net = build("model", options, spec=data.spec)
    assert isinstance(net, guide_plugin.TinyMLP) and net.bottom[0].out_features == 32
    batch = next(iter(data.train_dataloader()))
    graph = net.on_device().eval()
    with torch.no_grad():
        out = graph(**{k: batch[k] for k in data.spec.input_names})
    assert set(out) == {"has_next", "effective_view", "like"}
    for p in out.values():
        assert p.shape == batch["cand_mask"].shape and torch.all(p[batch["cand_mask"] == 0] == 0)
        assert torch.all((p > 0) | (batch["cand_mask"] == 0))

    with pytest.raises(ConfigError, match=r"^model\.hidden: must list at least one layer size$"):
        build("model", {**options, "hidden": []}, spec=data.spec)
    with pytest.raises(ConfigError, match=r"^model\.hiden: not an option of model plugin 'tiny_mlp'"):
        build("model", {"name": "tiny_mlp", "hiden": [8]}, spec=data.spec)


def test_the_guides_ranker_error_names_a_data_plugin_without_ranking_requests():
    """The error table quotes the message for a ranker over a data plugin that has no requests to rank."""
    (name,) = re.findall(r"`ranker: data plugin '(\w+)' has no ranking ground truth", GUIDE.read_text())
    assert not hasattr(load_plugins().get("data", name).factory, "ranking_requests"), name
