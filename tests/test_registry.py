"""Plugin registry: lookup errors, duplicate names, entry-point discovery of a third-party package."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from edgerank.errors import ConfigError, PluginError
from edgerank.plugins import format_plugins
from edgerank.registry import Registry, core, load_plugins
from plugin_fixtures import WIDE_TOPK, WIDE_TOPK_CONFIG, write_distribution


def test_unknown_name_lists_known_names_and_suggests_close_match():
    registry = Registry()
    registry.register("model", "dense_topk")(lambda: None)
    registry.register("model", "ta_mmoe")(lambda: None)
    with pytest.raises(PluginError) as info:
        registry.get("model", "dense_topkk")
    message = str(info.value)
    assert "unknown model plugin 'dense_topkk'" in message
    assert "Did you mean: dense_topk?" in message
    assert "Known model plugins: dense_topk, ta_mmoe" in message


def test_a_module_that_a_plugin_imports_registers_under_its_own_package():
    """A plugin importing edgerank.models.api imports (and so registers) ta_mmoe while the
    plugin's entry point loads; ta_mmoe still belongs to edgerank, not to the plugin."""
    registry = Registry()

    def own():
        """own"""

    def imported():
        """imported"""

    own.__module__, imported.__module__ = "edgerank_dcn.model", "edgerank.models.ta_mmoe"
    with registry._attributing_to("edgerank-dcn", "edgerank_dcn"):
        registry.register("model", "dcn_v2")(own)
        registry.register("model", "ta_mmoe")(imported)
    assert registry.get("model", "dcn_v2").package == "edgerank-dcn"
    assert registry.get("model", "ta_mmoe").package == "edgerank"


def test_unknown_kind_says_none_registered():
    with pytest.raises(PluginError, match=r"unknown ranker plugin 'beam'\. Known ranker plugins: \(none registered\)"):
        Registry().get("ranker", "beam")


def test_two_packages_registering_one_name_is_an_error_naming_both():
    registry = Registry()

    def first():
        """first"""

    def second():
        """second"""

    second.__module__ = "other_pkg.models"
    with registry._attributing_to("pkg-a"):
        registry.register("model", "same")(first)
    with registry._attributing_to("pkg-b"), pytest.raises(PluginError) as info:
        registry.register("model", "same")(second)
    assert "'pkg-a'" in str(info.value) and "'pkg-b'" in str(info.value)
    assert registry.get("model", "same").factory is first


def test_build_reports_unknown_option_and_bad_value_under_the_config_key():
    registry = Registry()

    @registry.register("model", "sized")
    def sized(size: int = 1, spec=None):
        if size < 1:
            raise ConfigError("size", f"must be positive, got {size}")
        return size

    assert registry.build("model", {"name": "sized", "size": 3}, spec=object()) == 3
    with pytest.raises(ConfigError, match=r"^model\.colour: not an option of model plugin 'sized' \(options: size\)"):
        registry.build("model", {"name": "sized", "colour": "red"}, spec=None)
    with pytest.raises(ConfigError, match=r"^model\.size: must be positive, got 0"):
        registry.build("model", {"name": "sized", "size": 0}, spec=None)
    with pytest.raises(ConfigError, match=r"^model\.name: missing"):
        registry.build("model", {"size": 0})


def test_builtins_register_through_entry_points_with_their_package():
    registry = load_plugins()
    assert {"dense_topk"} <= set(registry.names("model"))
    assert {"product_synthetic", "csv"} <= set(registry.names("data"))
    assert registry.get("model", "dense_topk").package == "edgerank"
    listing = format_plugins(registry)
    assert "model:" in listing and "dense_topk" in listing and "edgerank" in listing


@pytest.fixture
def registry(monkeypatch) -> Registry:
    """A copy of the global registry (built-ins loaded) that decorators of newly imported modules
    write into, as they would in a fresh process; discovery has yet to run."""
    load_plugins()
    isolated = copy.deepcopy(core.REGISTRY)
    isolated._loaded_entry_points = False
    monkeypatch.setattr(core, "REGISTRY", isolated)
    before = set(sys.modules)
    yield isolated
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.fixture
def third_party_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    write_distribution(site, "edgerank-wide", "edgerank_wide", WIDE_TOPK, WIDE_TOPK_CONFIG)
    return site


def test_entry_point_discovery_of_a_third_party_distribution(registry, third_party_site, monkeypatch):
    monkeypatch.syspath_prepend(str(third_party_site))
    registry.load_entry_points()
    plugin = registry.get("model", "wide_topk")
    assert plugin.package == "edgerank-wide"
    assert plugin.description == "one wide hidden layer (test plugin)"
    assert "dense_topk" in registry.names("model")  # built-ins come through the same group


def test_a_broken_plugin_names_itself(registry, tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_distribution(site, "edgerank-broken", "edgerank_broken", "raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError, match=r"edgerank_broken = edgerank_broken' of package 'edgerank-broken' failed to load: RuntimeError: boom"):
        registry.load_entry_points()


def test_clashing_third_party_plugin_is_rejected_naming_both_packages(registry, tmp_path, monkeypatch):
    site = tmp_path / "site"
    clash = "from edgerank.registry import register_model\n\n@register_model('dense_topk')\ndef impostor(spec):\n    pass\n"
    write_distribution(site, "edgerank-clash", "edgerank_clash", clash)
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError) as info:
        registry.load_entry_points()
    assert "model plugin 'dense_topk' is registered twice" in str(info.value)
    assert "'edgerank'" in str(info.value) and "'edgerank-clash'" in str(info.value)
