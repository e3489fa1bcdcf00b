"""A registry of named plugin factories, in the spirit of timm's ``register_model``.

Improvements over timm that users of a plugin ecosystem need:
- one registry for every kind of plugin, so listing and error messages work the same way;
- an unknown name fails at once with close matches and the full list of known names;
- two different packages registering the same ``(kind, name)`` is an error naming both, instead
  of the last import silently winning;
- each plugin records the distribution it came from, so ``python -m edgerank.plugins`` can say
  where a model came from.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata as metadata
import inspect
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, TypeVar

from edgerank.errors import ConfigError, PluginError, did_you_mean
from edgerank.registry.option_types import check_option_types

ENTRY_POINT_GROUP = "edgerank.plugins"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Plugin:
    """One registered plugin: a factory (class or function) plus what to show about it."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    package: str
    options: type | None = None  # the dataclass of its options, when it declares one

    @property
    def origin(self) -> str:
        return f"{self.factory.__module__}.{self.factory.__qualname__}"


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0].strip() if (text or "").strip() else ""


class Registry:
    """Maps ``(kind, name)`` to a :class:`Plugin`."""

    def __init__(self) -> None:
        self._plugins: dict[str, dict[str, Plugin]] = {}
        self._loading_package: str | None = None
        self._loading_root: str | None = None  # top-level module of the entry point being loaded
        self._loaded_entry_points = False

    # -- registration -------------------------------------------------------------------------
    def register(
        self, kind: str, name: str | None = None, *, description: str | None = None, options: type | None = None
    ) -> Callable[[F], F]:
        """Decorator: register a factory under ``kind``/``name`` (default: the factory's name).

        ``options`` (default: the factory's ``Options`` attribute, if it is a dataclass) declares
        the plugin's options once: :meth:`build` accepts its fields, checks their types and calls
        ``factory(options=Options(**values), **context)``, so the dataclass validates them.
        """

        def decorator(factory: F) -> F:
            declared = options if options is not None else getattr(factory, "Options", None)
            plugin_name = name or factory.__name__
            # a module the plugin imports (edgerank's own ta_mmoe, through edgerank.models.api)
            # registers under its own package, not under the plugin being loaded
            root = factory.__module__.split(".")[0]
            loading = self._loading_package and self._loading_root in (None, root)
            package = self._loading_package if loading else root
            plugin = Plugin(
                kind=kind,
                name=plugin_name,
                factory=factory,
                description=description or _first_line(factory.__doc__),
                package=package,
                options=declared if dataclasses.is_dataclass(declared) else None,
            )
            existing = self._plugins.get(kind, {}).get(plugin_name)
            if existing is not None and existing.origin != plugin.origin:
                raise PluginError(
                    f"{kind} plugin '{plugin_name}' is registered twice: by package "
                    f"'{existing.package}' ({existing.origin}) and by package "
                    f"'{plugin.package}' ({plugin.origin}). Uninstall one of them or rename it."
                )
            if existing is None:
                self._plugins.setdefault(kind, {})[plugin_name] = plugin
            return factory

        return decorator

    # -- discovery ----------------------------------------------------------------------------
    @contextmanager
    def _attributing_to(self, package: str, root: str | None = None) -> Iterator[None]:
        previous = self._loading_package, self._loading_root
        self._loading_package, self._loading_root = package, root
        try:
            yield
        finally:
            self._loading_package, self._loading_root = previous

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import every module declared in the entry-point ``group`` (once per process).

        Built-ins are declared in edgerank's own ``pyproject.toml`` and go through this same
        path, so a third-party plugin is in no way second class.
        """
        if self._loaded_entry_points:
            return
        for entry_point in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
            package = entry_point.dist.name if entry_point.dist else entry_point.module
            with self._attributing_to(package, entry_point.value.split(":")[0].split(".")[0]):
                try:
                    entry_point.load()
                except PluginError:
                    raise
                except Exception as exc:  # a broken plugin must say which one it is
                    raise PluginError(
                        f"plugin entry point '{entry_point.name} = {entry_point.value}' "
                        f"of package '{package}' failed to load: {type(exc).__name__}: {exc}"
                    ) from exc
        self._loaded_entry_points = True

    # -- lookup -------------------------------------------------------------------------------
    def kinds(self) -> list[str]:
        return sorted(self._plugins)

    def names(self, kind: str) -> list[str]:
        return sorted(self._plugins.get(kind, {}))

    def plugins(self, kind: str | None = None) -> list[Plugin]:
        kinds = [kind] if kind else self.kinds()
        return [self._plugins[k][n] for k in kinds for n in self.names(k)]

    def get(self, kind: str, name: str) -> Plugin:
        """The plugin ``kind``/``name``, or a :class:`PluginError` listing what is known."""
        known = self.names(kind)
        if name in known:
            return self._plugins[kind][name]
        hint = did_you_mean(name, known)
        listing = ", ".join(known) if known else "(none registered)"
        raise PluginError(f"unknown {kind} plugin '{name}'.{hint} Known {kind} plugins: {listing}")

    def build(self, kind: str, cfg: Mapping[str, Any], **context: Any) -> Any:
        """Instantiate the plugin named by ``cfg['name']`` with the rest of ``cfg`` as options.

        ``context`` holds what the framework supplies rather than the user (e.g. the data
        spec a model is sized from). Unknown options and invalid values are reported under the
        config key the user wrote (``model.hidden``).
        """
        options = dict(cfg)
        if "name" not in options:
            raise ConfigError(f"{kind}.name", f"missing: say which {kind} plugin to use ({', '.join(self.names(kind))})")
        plugin = self.get(kind, options.pop("name"))
        accepted = _accepted_options(plugin.options or plugin.factory)
        if accepted is not None:
            unknown = sorted(set(options) - accepted)
            if unknown:
                raise ConfigError(
                    f"{kind}.{unknown[0]}",
                    f"not an option of {kind} plugin '{plugin.name}' "
                    f"(options: {', '.join(sorted(accepted - set(context)))})",
                )
        check_option_types(kind, plugin.options or plugin.factory, options)
        try:
            if plugin.options is not None:
                return plugin.factory(options=plugin.options(**options), **context)
            return plugin.factory(**options, **context)
        except ConfigError as exc:
            raise exc.under(kind) from None


def _accepted_options(factory: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``factory`` accepts, or None when it takes arbitrary ``**kwargs``.

    A class whose ``__init__`` forwards ``**kwargs`` to its base accepts the base's names too;
    an options dataclass accepts its fields.
    """
    if dataclasses.is_dataclass(factory):
        return {f.name for f in dataclasses.fields(factory)}
    callables = [c.__init__ for c in inspect.getmro(factory) if "__init__" in vars(c)] if inspect.isclass(factory) else [factory]
    accepted: set[str] = set()
    for function in callables:
        params = list(inspect.signature(function).parameters.values())
        accepted |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return accepted - {"self"}
    return None


REGISTRY = Registry()


def register(kind: str, name: str | None = None, *, description: str | None = None, options: type | None = None) -> Callable[[F], F]:
    """Register a plugin of any kind in the global registry."""
    return REGISTRY.register(kind, name, description=description, options=options)


def register_model(name: str | None = None, *, description: str | None = None, options: type | None = None) -> Callable[[F], F]:
    return REGISTRY.register("model", name, description=description, options=options)


def register_data(name: str | None = None, *, description: str | None = None, options: type | None = None) -> Callable[[F], F]:
    return REGISTRY.register("data", name, description=description, options=options)


def register_ranker(name: str | None = None, *, description: str | None = None, options: type | None = None) -> Callable[[F], F]:
    return REGISTRY.register("ranker", name, description=description, options=options)


def load_plugins() -> Registry:
    """Discover built-in and third-party plugins; returns the global registry."""
    REGISTRY.load_entry_points()
    return REGISTRY


def get(kind: str, name: str) -> Plugin:
    return load_plugins().get(kind, name)


def build(kind: str, cfg: Mapping[str, Any], **context: Any) -> Any:
    return load_plugins().build(kind, cfg, **context)
