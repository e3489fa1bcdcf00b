"""Plugin registry: one mechanism for every plugin kind (model, ranker, data, ...).

Built-in plugins register exactly like third-party ones: the package declares its modules in
the ``edgerank.plugins`` entry-point group, and importing a module runs its ``@register``
decorators. See ``edgerank.registry.core`` for the registry itself.
"""

from edgerank.registry.core import (
    ENTRY_POINT_GROUP,
    REGISTRY,
    Plugin,
    Registry,
    build,
    get,
    load_plugins,
    register,
    register_data,
    register_model,
    register_ranker,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "Plugin",
    "Registry",
    "build",
    "get",
    "load_plugins",
    "register",
    "register_data",
    "register_model",
    "register_ranker",
]
