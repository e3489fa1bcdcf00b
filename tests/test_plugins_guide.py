"""plugins/README.md's "Writing a ranker plugin" example, run exactly as printed.

The guide's first Python block is extracted from the README, executed as a module (registering
its ranker as an installed plugin would) and built through the registry, so the guide fails
here the moment it drifts from the API.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from edgerank.errors import ConfigError
from edgerank.registry import build, get
from ranker_fixtures import ToyScorer, request, tensors

GUIDE = Path(__file__).resolve().parents[1] / "plugins" / "README.md"


def guide_blocks(language: str) -> list[str]:
    section = GUIDE.read_text().split("## Writing a ranker plugin", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"^```{language}\n(.*?)^```", section, flags=re.S | re.M)


@pytest.fixture(scope="module")
def guide_module() -> types.ModuleType:
    module = types.ModuleType("guide_patience_ranker")
    sys.modules[module.__name__] = module  # dataclasses and type hints look their module up
    exec(compile(guide_blocks("python")[0], str(GUIDE), "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def scorer() -> ToyScorer:
    torch.manual_seed(3)
    return ToyScorer().eval()


def test_the_guide_ranker_is_a_complete_plugin_in_under_60_lines(guide_module):
    blocks = guide_blocks("python") + guide_blocks("yaml")
    assert sum(len(block.splitlines()) for block in blocks) < 60
    plugin = get("ranker", "patience")
    assert plugin.factory is guide_module.PatienceRanker and plugin.options is guide_module.PatienceOptions
    yaml = guide_blocks("yaml")[0]
    assert "options/PatienceOptions@_here_" in yaml and "gamma" not in yaml  # the yaml only overrides


def test_the_guide_ranker_sorts_by_its_key(guide_module, scorer):
    ranker = build("ranker", {"name": "patience", "gamma": 2.0, "list_size": 5, "beta": 2.0}, scorer=scorer).eval()
    assert ranker.gamma == 2.0 and ranker.list_size == 5
    for seed in range(10):
        sample = tensors(request(seed, m=12, min_valid=3))
        with torch.no_grad():
            probs = scorer.score(scorer.prepare(sample), torch.zeros(1, scorer.context_dim))[0].numpy()
        key = (probs[:, 1] + 2.0 * probs[:, 2]) * probs[:, 0] ** 2.0
        valid = np.flatnonzero(sample["cand_mask"].numpy()[0] > 0.5)
        expected = valid[np.argsort(-key[valid], kind="stable")][:5].tolist()
        expected += [-1] * (5 - len(expected))
        ranking = ranker.rank(sample)
        assert ranking.slots.tolist() == expected and ranking.evaluations == len(valid)


def test_the_guide_ranker_with_gamma_zero_is_greedy(guide_module, scorer):
    from edgerank.rankers.greedy import GreedyRanker

    patience = build("ranker", {"name": "patience", "gamma": 0.0, "list_size": 6}, scorer=scorer).eval()
    greedy = GreedyRanker(scorer, list_size=6).eval()
    for seed in range(10):
        sample = tensors(request(seed))
        assert patience.rank(sample).slots.tolist() == greedy.rank(sample).slots.tolist()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"gamma": 5.0}, r"^ranker\.gamma: must be in \[0, 4\], got 5\.0$"),
        ({"gamma": "high"}, r"^ranker\.gamma: must be a number, got 'high'$"),
        ({"gama": 1.0}, r"^ranker\.gama: not an option of ranker plugin 'patience' \(options: alpha, beta, gamma, list_size\)$"),
        ({"list_size": 0}, r"^ranker\.list_size: must be a positive integer, got 0$"),
    ],
)
def test_the_guide_ranker_options_are_checked_naming_the_key(guide_module, scorer, options, message):
    with pytest.raises(ConfigError, match=message):
        build("ranker", {"name": "patience", **options}, scorer=scorer)


def test_the_guide_ranker_exports_with_parity(guide_module, scorer, tmp_path):
    from edgerank.export.convert import to_tflite
    from edgerank.export.parity import check_parity

    graph = build("ranker", {"name": "patience", "gamma": 1.5, "list_size": 5}, scorer=scorer).eval().on_device()
    samples = [request(seed, m=12, min_valid=3) for seed in range(20)]
    path = to_tflite(graph, samples[0], tmp_path / "patience.tflite")
    report = check_parity(graph, path, samples)
    assert report.passed, report.summary()
    assert report.lists_identical == 1.0 and report.max_abs_err < 1e-5


def edgerank_imports(source: str) -> set[str]:
    import ast

    tree = ast.parse(source)
    used = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("edgerank.")}
    return used | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if a.name.startswith("edgerank.")}


@pytest.mark.parametrize("where", ["guide", "edgerank_mmr/ranker.py", "edgerank_mmr/conf/__init__.py"])
def test_ranker_plugins_use_only_the_public_api(where):
    mmr = GUIDE.parent / "edgerank-mmr"
    source = "\n".join(guide_blocks("python")) if where == "guide" else (mmr / where).read_text()
    assert edgerank_imports(source) == {"edgerank.rankers.api"}
