"""Adds the config packages of installed edgerank plugins to Hydra's search path.

A third-party distribution declares its config package in the ``edgerank.configs`` entry-point
group (``my_plugin = my_plugin.conf``); its ``model/my_model.yaml`` then becomes selectable as
``model=my_model`` without any edit inside edgerank. Hydra imports this module at every start,
so it imports nothing but the standard library and Hydra.

The config package itself is imported here, before any config is read (Hydra would import it on
its first read anyway): its ``__init__`` stores the plugin's option defaults in Hydra's
ConfigStore (``edgerank.registry.defaults.store_defaults``), which its YAML files extend, and a
store made halfway through composing would come too late.
"""

from importlib import import_module
from importlib.metadata import entry_points

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

CONFIG_ENTRY_POINT_GROUP = "edgerank.configs"


class EdgeRankSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        for entry_point in sorted(entry_points(group=CONFIG_ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                import_module(entry_point.value)
            except Exception:  # noqa: BLE001 - left to Hydra's own read of the package, which reports it
                pass
            search_path.append(provider=f"edgerank-plugin:{entry_point.name}", path=f"pkg://{entry_point.value}")
