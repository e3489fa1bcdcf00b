"""The example third-party plugin packages under ``plugins/``: installed the way pip would, run
through ``python -m edgerank`` with no edit inside edgerank, and unit-tested on their own.

"Installed the way pip would" without touching the global environment: ``pip install -e`` of a
flat-layout project writes a ``.dist-info`` (with the project's entry points) and puts the
project folder on ``sys.path``. :func:`install_on_path` does exactly that under ``tmp_path``,
reading the entry points from the plugin's own ``pyproject.toml`` (so the test also proves that
file is right), and the subprocess gets both folders through ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import run_cli
from edgerank.errors import ConfigError
from edgerank.registry import build
from ranker_fixtures import ToyPointwise, request, tensors

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
DCN, MMR = PLUGINS / "edgerank-dcn", PLUGINS / "edgerank-mmr"
TINY_VIDEO = [
    "+experiment=video_rerank",
    "+debug=video",
    "data.num_users=60",
    "data.sessions_per_user=2",
    "export.parity_samples=8",
]


def install_on_path(site: Path, project: Path) -> list[str]:
    """What ``pip install -e project`` leaves behind, written under ``site``; returns the path
    entries (the dist-info folder's parent and the project folder) for ``PYTHONPATH``."""
    meta = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    groups = "".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in entries.items()) + "\n"
        for group, entries in meta["entry-points"].items()
    )
    info = site / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    (info / "entry_points.txt").write_text(groups)
    return [str(site), str(project)]


@pytest.fixture
def with_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both plugin distributions visible to subprocesses (and only to them) of this test."""
    paths = dict.fromkeys(install_on_path(tmp_path / "site", DCN) + install_on_path(tmp_path / "site", MMR))  # ordered, no repeats
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")]))


# -- packaging -----------------------------------------------------------------------------------
@pytest.mark.parametrize("project, package, config", [(DCN, "edgerank_dcn", "model/dcn_v2.yaml"), (MMR, "edgerank_mmr", "ranker/mmr.yaml")])
def test_each_plugin_declares_its_code_and_its_configs(project, package, config):
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    groups = meta["project"]["entry-points"]
    assert groups["edgerank.plugins"] == {package: package}
    assert groups["edgerank.configs"] == {package: f"{package}.conf"}
    assert "edgerank" in meta["project"]["dependencies"]
    assert (project / package / "conf" / "__init__.py").is_file()  # pkg:// needs a real package
    assert (project / package / "conf" / config).is_file()
    assert f"{package}.conf" in meta["tool"]["setuptools"]["packages"]  # the yaml gets installed


@pytest.mark.slow  # a 15 s subprocess; tests/test_cli.py proves the listing for a plugin already
def test_plugins_listed_with_their_distributions(tmp_path, with_plugins):
    listing = run_cli([], cwd=tmp_path, module="edgerank.plugins")
    assert listing.returncode == 0, listing.stderr[-2000:]
    rows = [line.split()[:2] for line in listing.stdout.splitlines()]
    assert ["dcn_v2", "edgerank-dcn"] in rows and ["mmr", "edgerank-mmr"] in rows, listing.stdout


# -- end to end through python -m edgerank -------------------------------------------------------
def test_dcn_v2_trains_exports_and_passes_parity_through_the_cli(tmp_path, with_plugins):
    run_dir = tmp_path / "run"
    result = run_cli([*TINY_VIDEO, "model=dcn_v2", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "name: dcn_v2" in config and "cross_layers: 3" in config  # from the plugin's own yaml
    manifest = json.loads((run_dir / "artifact" / "manifest.json").read_text())
    assert manifest["parity"]["passed"] and manifest["parity"]["max_abs_err"] <= 1e-5
    assert {o["name"] for o in manifest["outputs"]} == {"has_next", "effective_view", "like"}
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test/like/auc"] <= 1.0


def test_both_plugins_together_through_the_cli(tmp_path, with_plugins):
    run_dir = tmp_path / "run"
    args = [*TINY_VIDEO, "model=dcn_v2", "ranker=mmr", "ranker.list_size=5", f"hydra.run.dir={run_dir}"]
    result = run_cli(args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((run_dir / "artifact" / "manifest.json").read_text())
    assert manifest["parity"]["passed"] and manifest["parity"]["divergent"] == 0
    assert manifest["parity"]["max_abs_err"] <= 1e-5
    assert {o["name"]: o["shape"] for o in manifest["outputs"]}["ranked"] == [1, 5]
    assert "rerank/true_list_reward" in json.loads((run_dir / "metrics.json").read_text())
    config = (run_dir / ".hydra" / "config.yaml").read_text()
    assert "lam: 0.7" in config and "category_input: cand_cat" in config  # MMROptions' defaults, not in mmr.yaml
    assert set(OmegaConf.load(MMR / "edgerank_mmr" / "conf" / "ranker" / "mmr.yaml")) == {"defaults", "name"}


# -- dcn_v2 on its own ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def video_data():
    """A tiny simulated video datamodule, built through the registry as the pipeline does."""
    small = {"num_users": 20, "num_videos": 100, "sessions_per_user": 1, "seq_len": 6, "max_candidates": 20, "candidates": [5, 20]}
    data = build("data", {"name": "video_synthetic", **small})
    data.setup()
    return data


def import_from_source(project: Path, package: str):
    """The plugin imported from its source folder, as an editable install would (for this
    process, registering into edgerank's global registry like an installed plugin)."""
    import importlib
    import sys

    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    return importlib.import_module(package)


@pytest.fixture(scope="module")
def dcn_module():
    return import_from_source(DCN, "edgerank_dcn")


DCN_VARIANTS = [{}, {"low_rank": 4, "structure": "stacked"}, {"deep_hidden": [], "cross_layers": 1}]


@pytest.mark.parametrize("options", DCN_VARIANTS)
def test_dcn_v2_outputs_probabilities_and_zero_at_padding(video_data, dcn_module, options):
    torch.manual_seed(0)
    graph = dcn_module.DCNv2(video_data.spec, **options).eval().on_device()
    sample = tensors(video_data.parity_samples(1, seed=0)[0])
    with torch.no_grad():
        out = graph(**sample)
    m, padded = video_data.spec.max_candidates, sample["cand_mask"] < 0.5
    assert {k: tuple(v.shape) for k, v in out.items()} == {t: (1, m) for t in ("has_next", "effective_view", "like")}
    for p in out.values():
        assert torch.all((p >= 0) & (p <= 1)) and torch.all(p[padded] == 0)


@pytest.mark.slow
@pytest.mark.parametrize("options", DCN_VARIANTS)
def test_dcn_v2_variants_export_with_parity(video_data, dcn_module, options, tmp_path):
    from edgerank.export.convert import to_tflite
    from edgerank.export.parity import check_parity

    torch.manual_seed(0)
    graph = dcn_module.DCNv2(video_data.spec, **options).eval().on_device()
    samples = video_data.parity_samples(6, seed=0)
    report = check_parity(graph, to_tflite(graph, samples[0], tmp_path / "dcn.tflite"), samples)
    assert report.passed, report.summary()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"cross_layers": 0}, r"model\.cross_layers: must be a positive integer"),
        ({"structure": "diagonal"}, r"model\.structure: must be one of parallel, stacked"),
        ({"low_rank": -2}, r"model\.low_rank: must be a positive integer"),
        ({"deep_hidden": [], "structure": "stacked"}, r"model\.deep_hidden: must list at least one"),
        ({"cross_layer": 2}, r"model\.cross_layer: not an option of model plugin 'dcn_v2'"),
    ],
)
def test_dcn_v2_bad_options_name_the_config_key(video_data, dcn_module, options, message):
    with pytest.raises(ConfigError, match=message):
        build("model", {"name": "dcn_v2", **options}, spec=video_data.spec)


# -- mmr on its own ------------------------------------------------------------------------------
class CategoryPointwise(ToyPointwise):
    """``ToyPointwise`` that also receives the categories (a video model takes every input)."""

    def forward(self, cand_x: torch.Tensor, cand_mask: torch.Tensor, cand_cat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        return super().forward(cand_x, cand_mask)


@pytest.fixture(scope="module")
def mmr_module():
    return import_from_source(MMR, "edgerank_mmr")


@pytest.fixture(scope="module")
def scorer():
    from edgerank.models.scorer import PointwiseScorer

    torch.manual_seed(1)
    return PointwiseScorer(CategoryPointwise()).eval()


def with_categories(seed: int, num_categories: int, m: int = 12, min_valid: int = 4) -> dict[str, np.ndarray]:
    sample = request(seed, m=m, min_valid=min_valid)
    sample["cand_cat"] = np.random.default_rng(1000 + seed).integers(0, num_categories, size=(1, m)).astype(np.int32)
    return sample


def test_mmr_with_lambda_one_is_greedy(mmr_module, scorer):
    from edgerank.rankers.greedy import GreedyRanker

    greedy = GreedyRanker(scorer, list_size=8, alpha=1.0, beta=2.0).eval()
    mmr = mmr_module.MMRRanker(scorer, list_size=8, alpha=1.0, beta=2.0, lam=1.0).eval()
    for seed in range(30):
        sample = tensors(with_categories(seed, 3))
        assert mmr.rank(sample).slots.tolist() == greedy.rank(sample).slots.tolist()


def test_mmr_spreads_categories(mmr_module, scorer):
    """With a strong diversity weight, the first items cover distinct categories; with more
    categories than positions, no two neighbours share one."""
    mmr = mmr_module.MMRRanker(scorer, list_size=6, lam=0.2).eval()
    for seed in range(30):
        sample = with_categories(seed, num_categories=3, m=12, min_valid=6)
        valid = int(sample["cand_mask"].sum())
        slots = mmr.rank(tensors(sample)).slots.tolist()
        cats = sample["cand_cat"][0][slots].tolist()
        distinct = len(set(sample["cand_cat"][0][:valid].tolist()))
        assert len(set(cats[:distinct])) == distinct, (slots, cats)  # every category before any repeat
    for seed in range(30):
        sample = with_categories(seed, num_categories=8, m=12, min_valid=12)
        cats = sample["cand_cat"][0][mmr.rank(tensors(sample)).slots].tolist()
        distinct = len(set(sample["cand_cat"][0].tolist()))
        assert all(a != b for a, b in zip(cats[: distinct], cats[1:distinct])), cats


def test_mmr_lists_are_valid_padded_and_deterministic_on_ties(mmr_module):
    from edgerank.models.scorer import PointwiseScorer

    mmr = mmr_module.MMRRanker(PointwiseScorer(CategoryPointwise()).eval(), list_size=8, lam=0.5).eval()
    for seed in range(20):
        sample = with_categories(seed, 3, m=12, min_valid=2)
        valid = int(sample["cand_mask"].sum())
        slots = mmr.rank(tensors(sample)).slots.tolist()
        filled = min(valid, 8)
        assert len(set(slots[:filled])) == filled and all(0 <= s < valid for s in slots[:filled])
        assert slots[filled:] == [-1] * (8 - filled)
    # every candidate scores the same: ties go to the lowest slot, categories still alternate
    flat = CategoryPointwise()
    torch.nn.init.zeros_(flat.head.weight)
    tied = mmr_module.MMRRanker(PointwiseScorer(flat).eval(), list_size=4, lam=0.5).eval()
    sample = {"cand_x": np.zeros((1, 6, 5), np.float32), "cand_mask": np.ones((1, 6), np.float32), "cand_cat": np.array([[0, 0, 1, 1, 2, 2]], np.int32)}
    assert tied.rank(tensors(sample)).slots.tolist() == [0, 2, 4, 1]


def test_mmr_without_categories_ranks_by_relevance_and_says_so(mmr_module, scorer, caplog):
    from edgerank.rankers.greedy import GreedyRanker

    mmr = mmr_module.MMRRanker(scorer, list_size=6, lam=0.3).eval()
    greedy = GreedyRanker(scorer, list_size=6).eval()
    sample = tensors(request(4))  # no cand_cat
    with caplog.at_level("WARNING"):
        assert mmr.rank(sample).slots.tolist() == greedy.rank(sample).slots.tolist()
    assert "no 'cand_cat' input" in caplog.text and "relevance only" in caplog.text


@pytest.mark.parametrize(
    "options, message",
    [
        ({"lam": 1.5}, r"ranker\.lam: must be in \[0, 1\], got 1\.5"),
        ({"lam": True}, r"ranker\.lam: must be a number, got True"),
        ({"list_size": 0}, r"ranker\.list_size: must be a positive integer"),
        ({"lambda": 0.5}, r"ranker\.lambda: not an option of ranker plugin 'mmr'"),
    ],
)
def test_mmr_bad_options_name_the_config_key(mmr_module, scorer, options, message):
    with pytest.raises(ConfigError, match=message):
        build("ranker", {"name": "mmr", **options}, scorer=scorer)


def test_mmr_exports_with_the_model_and_returns_the_same_lists(mmr_module, scorer, tmp_path):
    from edgerank.export.convert import to_tflite
    from edgerank.export.parity import check_parity

    graph = mmr_module.MMRRanker(scorer, list_size=5, lam=0.4).eval().on_device()
    samples = [with_categories(seed, 3, m=12, min_valid=3) for seed in range(40)]
    path = to_tflite(graph, samples[0], tmp_path / "mmr.tflite")
    report = check_parity(graph, path, samples)
    assert report.passed, report.summary()
    assert report.lists_identical == 1.0 and report.max_abs_err < 1e-5
    assert report.outputs["ranked"].dtype == "int32"
