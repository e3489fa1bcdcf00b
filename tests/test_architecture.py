"""The layers of ARCHITECTURE.md hold: import-linter's contracts from pyproject.toml, in-process."""

from __future__ import annotations

import logging
import re
import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

import edgerank

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
LAYERS = next(c for c in CONTRACTS if c["id"] == "layers")["layers"]


def test_no_module_imports_upward_and_the_app_side_imports_no_training_stack(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    loggers = {name: logger.disabled for name, logger in logging.root.manager.loggerDict.items() if isinstance(logger, logging.Logger)}
    try:
        status = lint_imports(no_cache=True, no_logo=True)
    finally:  # its logging.config.dictConfig disables every logger that exists, edgerank's for the later tests
        for name, disabled in loggers.items():
            logging.getLogger(name).disabled = disabled
    assert status == 0, capsys.readouterr().out[-4000:]
    assert not logging.getLogger("edgerank").disabled


def test_every_module_of_the_package_has_a_layer():
    package = Path(edgerank.__file__).parent
    modules = {p.stem for p in package.glob("*.py") if p.stem != "__init__"} | {
        p.parent.name for p in package.glob("*/__init__.py")
    }
    layered = {name.strip().removeprefix("edgerank.") for layer in LAYERS for name in re.split(r"[|:]", layer)}
    assert modules - layered == set(), "add these to the layers in pyproject.toml and ARCHITECTURE.md"
    assert layered - modules == set()


def test_architecture_md_draws_the_enforced_layers():
    text = (ROOT / "ARCHITECTURE.md").read_text()
    drawn = re.search(r"<!-- layers:.*?-->\n```\n(.*?)```\n<!-- /layers -->", text, re.S)
    assert drawn, "ARCHITECTURE.md lost its layer block"
    assert drawn.group(1).splitlines() == LAYERS

