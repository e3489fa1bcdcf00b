"""The public plugin API (``edgerank.models.api``): option checks and named building blocks."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import torch

from edgerank.errors import ConfigError
from edgerank.models import api
from edgerank.registry import build

ROOT = Path(__file__).resolve().parent.parent
SPEC = api.VideoSpec(num_videos=30, num_categories=4, max_candidates=5, seq_len=3, groups={g: True for g in ("pxtr", "static", "csf", "rts", "fe")})


@pytest.mark.parametrize(
    "check, value, message",
    [
        (api.positive_int, True, r"^k: must be a positive integer, got True$"),
        (api.positive_int, 2.0, r"^k: must be a positive integer, got 2\.0$"),
        (api.positive_int, "3", r"^k: must be a positive integer, got '3'$"),
        (api.positive_number, math.nan, r"^k: must be a positive number, got nan$"),
        (api.positive_number, False, r"^k: must be a positive number, got False$"),
        (api.non_negative, math.nan, r"^k: must be >= 0, got nan$"),
        (api.non_negative, -0.5, r"^k: must be >= 0, got -0\.5$"),
        (api.positive_int_list, "64", r"^k: must be a list of positive integers, got '64'$"),
        (api.positive_int_list, [64, True], r"^k: must be a list of positive integers, got \[64, True\]$"),
        (api.int_range, [5, 2], r"^k: must be \[min, max\] with 1 <= min <= max, got \[5, 2\]$"),
        (api.int_range, [1, 2, 3], r"^k: must be \[min, max\]"),
        (api.boolean, "yes", r"^k: must be true or false, got 'yes'$"),
    ],
)
def test_option_checks_reject_what_python_lets_through(check, value, message):
    with pytest.raises(ConfigError, match=message):
        check("k", value)


def test_option_checks_return_the_normalised_value():
    assert api.positive_int("k", 3) == 3 and api.positive_number("k", 2) == 2.0
    assert api.positive_int_list("k", (4, 5)) == [4, 5] and api.int_range("k", [2, 3]) == (2, 3)
    assert api.in_range("k", 0.0, 0, 1) == 0.0 and api.one_of("k", "a", ("a", "b")) == "a"
    with pytest.raises(ConfigError, match=r"^k: must be in \(0, 1\), got 1$"):
        api.in_range("k", 1, 0, 1, low_open=True)
    with pytest.raises(ConfigError, match=r"^k: must be in \[0, 1\), got nan$"):
        api.in_range("k", math.nan, 0, 1)
    with pytest.raises(ConfigError, match=r"^k: must be one of a, b, got 'c'$"):
        api.one_of("k", "c", ("a", "b"))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"name": "ta_mmoe", "num_experts": True}, r"^model\.num_experts: must be an integer, got True$"),
        ({"name": "ta_mmoe", "dropout": math.nan}, r"^model\.dropout: must be in \[0, 1\), got nan$"),
        ({"name": "ta_mmoe", "expert_hidden": "64"}, r"^model\.expert_hidden: must be a list of positive integers, got '64'$"),
        ({"name": "ta_mmoe_ctx", "context_width": True}, r"^model\.context_width: must be an integer, got True$"),
    ],
)
def test_models_reject_bools_nan_and_strings_under_the_key(options, message):
    with pytest.raises(ConfigError, match=message):
        build("model", options, spec=SPEC)


def test_blocks_have_named_parts():
    torch.manual_seed(0)
    heads = api.TaskHeads(6, [4], dropout=0.0)
    x = torch.randn(2, 5, 6)
    tower = heads.towers["like"]
    assert isinstance(tower.first, torch.nn.Linear) and tower.width == 4
    torch.testing.assert_close(heads(x)["like"], tower.rest(tower.first(x)).sum(-1))
    bare = api.Tower(6, [], dropout=0.2)
    assert bare.width == 1 and len(bare.rest) == 0
    mmoe = api.MMoE(6, num_experts=3, expert_hidden=[8], expert_dim=4)
    assert (mmoe.in_dim, mmoe.num_experts, len(mmoe.experts)) == (6, 3, 3) and set(mmoe.gates) == set(api.TASKS)
    assert {t: tuple(v.shape) for t, v in mmoe(x).items()} == {t: (2, 5, 4) for t in api.TASKS}


@pytest.mark.parametrize("path", ["plugins/edgerank-dcn/edgerank_dcn/model.py", "edgerank/models/ta_mmoe_context.py"])
def test_example_plugins_use_only_the_public_api(path):
    tree = ast.parse((ROOT / path).read_text())
    used = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("edgerank")}
    used |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names if a.name.startswith("edgerank")}
    assert used == {"edgerank.models.api"}


@pytest.mark.parametrize(
    "experiment, model", [("product_topk", "dense_topk"), *(("video_rerank", m) for m in ("ta_mmoe", "ta_mmoe_ctx", "dnn", "edgerec", "prm"))]
)
def test_every_model_option_is_declared_once_and_composed(make_cfg, experiment, model):
    """``--cfg job`` shows the options dataclass's every field at its default; the YAML adds only ``name``."""
    from dataclasses import asdict

    import yaml
    from omegaconf import OmegaConf

    import edgerank.conf
    from edgerank.registry import get

    declared = get("model", model).options
    cfg = make_cfg(f"+experiment={experiment}", f"model={model}", small=False)
    defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(declared()).items()}
    assert OmegaConf.to_container(cfg.model, resolve=True) == {"name": model, **defaults}
    conf = yaml.safe_load((Path(edgerank.conf.__file__).parent / "model" / f"{model}.yaml").read_text())
    assert conf == {"defaults": [f"options/{declared.__name__}@_here_", "_self_"], "name": model}
