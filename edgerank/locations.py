"""Where the cloud-side stores live by default, in one place so every CLI agrees.

Everything is embedded (a directory and SQLite files) so a researcher needs no server:

- ``$EDGERANK_HOME`` (default ``~/.edgerank``) is the root;
- the model registry is ``$EDGERANK_STORE`` or ``$EDGERANK_HOME/registry`` (versions under its
  ``models/NAME/vN/``);
- the monitoring event log is ``$EDGERANK_MONITOR_DB`` or ``$EDGERANK_HOME/monitor.sqlite``;
- a device's cache of models downloaded from ``edgerank.serve`` is ``$EDGERANK_CACHE`` or
  ``$EDGERANK_HOME/cache``.

Each CLI also takes an explicit ``--store`` / ``--db`` that wins over the environment.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "EDGERANK_HOME"
STORE_ENV = "EDGERANK_STORE"
MONITOR_ENV = "EDGERANK_MONITOR_DB"
CACHE_ENV = "EDGERANK_CACHE"


def home() -> Path:
    return Path(os.environ.get(HOME_ENV) or Path.home() / ".edgerank").expanduser()


def default_store() -> Path:
    """The model registry directory used when no ``--store`` is given."""
    value = os.environ.get(STORE_ENV)
    return Path(value).expanduser() if value else home() / "registry"


def default_monitor_db() -> Path:
    """The monitoring SQLite file used when no ``--db`` is given."""
    value = os.environ.get(MONITOR_ENV)
    return Path(value).expanduser() if value else home() / "monitor.sqlite"


def default_cache() -> Path:
    """Where a device keeps the versions it downloaded from the service (``rank --server``)."""
    value = os.environ.get(CACHE_ENV)
    return Path(value).expanduser() if value else home() / "cache"
