"""Adds the config packages of installed edgerank plugins to Hydra's search path.

A third-party distribution declares its config package in the ``edgerank.configs`` entry-point
group (``my_plugin = my_plugin.conf``); its ``model/my_model.yaml`` then becomes selectable as
``model=my_model`` without any edit inside edgerank. Hydra imports this module at every start,
so it imports nothing but the standard library and Hydra.
"""

from importlib.metadata import entry_points

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

CONFIG_ENTRY_POINT_GROUP = "edgerank.configs"


class EdgeRankSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        for entry_point in sorted(entry_points(group=CONFIG_ENTRY_POINT_GROUP), key=lambda e: e.name):
            search_path.append(provider=f"edgerank-plugin:{entry_point.name}", path=f"pkg://{entry_point.value}")
