"""The install itself: every package folder is shipped, the configs travel with the package."""

from __future__ import annotations

import importlib.resources
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "edgerank").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_configs_are_importable_from_the_installed_package():
    conf = importlib.resources.files("edgerank.conf")
    assert conf.joinpath("train.yaml").is_file()
    assert conf.joinpath("experiment", "product_topk.yaml").is_file()


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.13.0" in deps
