"""Each data plugin's options are declared once (its dataclass); its YAML file only overrides.

``video_synthetic`` has its own such test in test_video_data.py.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

import edgerank.conf
from edgerank.data.choice_options import CsvOptions, ProductSyntheticOptions
from edgerank.data.video_log_options import KuaiRandOptions, VideoLogOptions
from edgerank.registry import get
from edgerank.registry.defaults import defaults_of

# plugin, its options, the experiment it is composed in, the keys its YAML file sets
PLUGINS = [
    ("product_synthetic", ProductSyntheticOptions, "product_topk", {"name", "seed"}),
    ("csv", CsvOptions, "product_topk", {"name", "seed"}),
    ("video_log", VideoLogOptions, "video_rerank", {"name", "seed", "features"}),
    ("kuairand", KuaiRandOptions, "video_rerank", {"name", "seed", "features"}),
]


def plain(value):
    return [plain(v) for v in value] if isinstance(value, (tuple, list)) else value


@pytest.mark.parametrize("name, options, experiment, overridden", PLUGINS, ids=[p[0] for p in PLUGINS])
def test_every_option_is_declared_once_and_composed(make_cfg, name, options, experiment, overridden):
    """The composed config (what ``--cfg job`` prints) lists every option of the dataclass at its
    default (``???`` where it has none); the YAML file sets only the keys it overrides."""
    assert get("data", name).options is options
    cfg = make_cfg(f"+experiment={experiment}", f"data={name}", "seed=7", small=False)
    composed = OmegaConf.to_container(cfg.data, resolve=True)
    assert set(composed) == {"name"} | {f.name for f in fields(options)}
    defaults = {k: plain(v) for k, v in defaults_of(options).items()}
    assert {k: v for k, v in composed.items() if k not in overridden} == {k: v for k, v in defaults.items() if k not in overridden}
    assert composed["name"] == name and composed["seed"] == 7
    conf = yaml.safe_load((Path(edgerank.conf.__file__).parent / "data" / f"{name}.yaml").read_text())
    assert conf["defaults"] == [f"options/{options.__name__}@_here_", "_self_"]
    assert set(conf) - {"defaults"} == overridden
    assert not {k: v for k, v in conf.items() if k in defaults and v == defaults[k]}  # no default repeated


def test_required_options_show_as_missing_first():
    """``csv`` has no default file, label column or features: ``???`` (listed first) until set."""
    assert list(defaults_of(CsvOptions))[:3] == ["path", "label", "features"]
    assert all(v == "???" for v in list(defaults_of(CsvOptions).values())[:3])
    assert "???" not in defaults_of(ProductSyntheticOptions).values()


@pytest.mark.parametrize(
    "cfg, message",
    [
        ({"name": "product_synthetic", "num_users": 5}, r"^data\.num_users: must be at least 10, got 5$"),
        ({"name": "product_synthetic", "num_users": "many"}, r"^data\.num_users: must be an integer, got 'many'$"),
        ({"name": "product_synthetic", "features": []}, r"^data\.features: list at least one feature column$"),
        ({"name": "product_synthetic", "batch_size": 0}, r"^data\.batch_size: must be a positive integer, got 0$"),
        ({"name": "product_synthetic", "val_fraction": 1.0}, r"^data\.val_fraction: must be in \[0, 1\), got 1\.0$"),
        ({"name": "product_synthetic", "groups": {"town": {"bins": [1]}}}, r"^data\.groups\.town: is not one of the feature columns"),
        ({"name": "product_synthetic", "groups": {"age": {"bins": [3, 1]}}}, r"^data\.groups\.age\.bins: must be a non-empty increasing list"),
        ({"name": "product_synthetic", "products": [1, 2]}, r"^data\.products: not an option of data plugin 'product_synthetic'"),
        ({"name": "csv", "path": "u.csv", "label": "", "features": ["city"]}, r"^data\.label: set data\.label to the column"),
        ({"name": "csv", "path": "u.csv", "label": "sku", "features": ["city", "sku"]}, r"^data\.label: 'sku' is also listed in data\.features$"),
        ({"name": "video_log", "path": ""}, r"^data\.path: set data\.path to your log file or folder$"),
        ({"name": "video_log", "path": "logs", "pxtr": "server"}, r"^data\.pxtr: must be 'log' \(the pxtr_\* columns\) or 'estimate'"),
        ({"name": "video_log", "path": "logs", "batch_size": 0}, r"^data\.batch_size: must be a positive integer, got 0$"),
        ({"name": "video_log", "path": "logs", "session_gap_s": "long"}, r"^data\.session_gap_s: must be a number, got 'long'$"),
        ({"name": "kuairand", "path": "kr", "columns": {"like": "is_like"}}, r"^data\.columns: KuaiRandData reads a fixed published layout"),
    ],
)
def test_options_are_checked_once_under_the_key_the_user_wrote(cfg, message):
    from edgerank.errors import ConfigError
    from edgerank.registry import build

    with pytest.raises(ConfigError, match=message):
        build("data", cfg)


def test_the_generators_groups_cover_only_the_listed_features():
    from edgerank.data.product_synthetic import SyntheticProductData

    data = SyntheticProductData(num_users=30, features=["city", "gender"])
    assert set(data.feature_groups) == {"city", "gender"} and data.feature_groups["city"].mapping["Nanjing"] == "east"
    with pytest.raises(TypeError, match="takes a ProductSyntheticOptions or option keywords, not both"):
        SyntheticProductData(ProductSyntheticOptions(), num_users=30)


@pytest.mark.parametrize("name, experiment", [("csv", "product_topk"), ("video_log", "video_rerank"), ("kuairand", "video_rerank")])
def test_a_job_without_a_required_option_fails_naming_it(make_cfg, name, experiment):
    from edgerank.errors import ConfigError
    from edgerank.pipeline import plain

    with pytest.raises(ConfigError, match=r"^data\.path: is required \(it is '\?\?\?' in the config\)"):
        plain(make_cfg(f"+experiment={experiment}", f"data={name}"), "data")
