"""Plugin registries: one :class:`Registry` per kind of plugin (generator, discriminator, loss).

A plugin is a factory function that returns an object (for networks an ``nn.Module``). It reaches a
registry in one of two ways:

* in-process, with the :meth:`Registry.register` decorator and an explicit name;
* from an installed distribution, through an entry point in the registry's group, e.g.
  ``[project.entry-points."ganrestore.generators"] unet = "ganrestore_plugins.unet:unet"``.

Discovery is lazy: constructing a registry imports nothing, listing names reads only package
metadata, and building ``unet`` imports only the module that holds ``unet``. One plugin whose
import fails never hides the others; two different factories under one name are reported with
both sources when the name is used.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from ganrestore.errors import GanrestoreError

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

IN_PROCESS = "<in-process>"


class PluginError(GanrestoreError):
    """Base class of every plugin problem a user can see."""


class UnknownPluginError(PluginError):
    """No plugin of that kind is registered under the requested name."""


class PluginConflictError(PluginError):
    """Two different factories are registered under one name."""


class PluginLoadError(PluginError):
    """The plugin's module could not be imported, or its target is not callable."""


class PluginParamsError(PluginError):
    """The plugin was given parameters it does not accept, or rejected their values."""


@dataclass(frozen=True)
class PluginSource:
    """Where one registration of a name came from.

    Attributes:
        target: ``"module:attr"`` of the factory.
        distribution: the installed distribution that declared or holds it, or ``"<in-process>"``.
        version: that distribution's version, or ``None`` when unknown.
    """

    target: str
    distribution: str
    version: str | None = None

    def describe(self) -> str:
        version = f" {self.version}" if self.version else ""
        return f"{self.target} (from {self.distribution}{version})"


@dataclass(frozen=True)
class PluginInfo:
    """One row of :func:`Registry.info`: what a user sees in ``ganrestore plugins list``.

    ``status`` is ``"ok"`` (loads and is callable), ``"not loaded"`` (not imported yet),
    ``"broken"`` (its import failed; ``error`` says why) or ``"conflict"`` (several sources).
    """

    name: str
    kind: str
    distribution: str
    version: str | None
    target: str
    status: str
    error: str | None = None


@dataclass
class _Entry:
    name: str
    sources: list[PluginSource] = field(default_factory=list)
    loaders: list[Callable[[], Any]] = field(default_factory=list)
    loaded: Any = None
    error: str | None = None

    def add(self, source: PluginSource, loader: Callable[[], Any]) -> None:
        if any(existing.target == source.target for existing in self.sources):
            # The same factory seen twice (editable + regular install, or a module re-imported
            # in a notebook) is one plugin, not a conflict; the newest in-process object wins.
            index = [s.target for s in self.sources].index(source.target)
            if source.distribution == IN_PROCESS:
                self.loaders[index] = loader
                self.loaded = None
            return
        self.sources.append(source)
        self.loaders.append(loader)


class Registry(Generic[T]):
    """Named factories of one kind, filled by decorator and by entry points.

    Args:
        kind: singular human name used in messages, e.g. ``"generator"``.
        group: entry-point group scanned for installed plugins, e.g. ``"ganrestore.generators"``;
            ``None`` for a registry filled only in-process.

    Example:
        >>> GENERATORS = Registry("generator", "ganrestore.generators")
        >>> @GENERATORS.register("tiny")
        ... def tiny(in_channels: int, out_channels: int, width: int = 8): ...
    """

    def __init__(self, kind: str, group: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, _Entry] = {}
        self._discovered = False

    # ----------------------------------------------------------------------------- registration
    def register(self, name: str) -> Callable[[F], F]:
        """Decorator that registers ``factory`` under ``name`` in this process."""
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} plugin needs a non-empty string name, got {name!r}")

        def decorator(factory: F) -> F:
            self.add(name, factory)
            return factory

        return decorator

    def add(self, name: str, factory: Callable[..., Any]) -> None:
        """Register ``factory`` under ``name`` without the decorator syntax."""
        if not callable(factory):
            raise PluginLoadError(f"{self.kind} '{name}': {factory!r} is not callable")
        target = f"{factory.__module__}:{factory.__qualname__}"
        distribution = _distribution_of_module(factory.__module__)
        source = PluginSource(target, distribution, _version_of(distribution))
        self._entry(name).add(source, lambda: factory)

    def unregister(self, name: str) -> None:
        """Forget ``name`` (in-process and discovered sources alike) until the next refresh."""
        self._entries.pop(name, None)

    @contextlib.contextmanager
    def isolated(self) -> Iterator[Registry[T]]:
        """A block whose registrations and removals are undone on exit (tests, notebooks)."""
        self.discover()
        saved = {
            name: _Entry(e.name, list(e.sources), list(e.loaders), e.loaded, e.error)
            for name, e in self._entries.items()
        }
        try:
            yield self
        finally:
            self._entries = saved

    def _entry(self, name: str) -> _Entry:
        if name not in self._entries:
            self._entries[name] = _Entry(name)
        return self._entries[name]

    # -------------------------------------------------------------------------------- discovery
    def discover(self, refresh: bool = False) -> None:
        """Read the entry points of this registry's group (metadata only, nothing imported)."""
        if self.group is None or (self._discovered and not refresh):
            return
        for entry_point in metadata.entry_points(group=self.group):
            dist = getattr(entry_point, "dist", None)
            source = PluginSource(
                target=entry_point.value,
                distribution=dist.metadata["Name"] if dist is not None else "<unknown>",
                version=dist.version if dist is not None else None,
            )
            self._entry(entry_point.name).add(source, entry_point.load)
        self._discovered = True

    def names(self) -> list[str]:
        """Every registered name, sorted; broken and conflicting plugins included."""
        self.discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    # ---------------------------------------------------------------------------------- loading
    def get(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name``, importing its module on first use.

        Raises:
            UnknownPluginError: nothing is registered under ``name``.
            PluginConflictError: several different factories claim ``name``.
            PluginLoadError: importing the plugin failed.
        """
        self.discover()
        entry = self._entries.get(name)
        if entry is None:
            raise UnknownPluginError(self._unknown_message(name))
        if len(entry.sources) > 1:
            claims = "; ".join(source.describe() for source in entry.sources)
            raise PluginConflictError(
                f"{self.kind} '{name}' is registered by {len(entry.sources)} different sources: "
                f"{claims}. Uninstall or rename one of them."
            )
        if entry.loaded is None:
            source = entry.sources[0]
            with _CtrlCWatch() as ctrl_c:
                try:
                    factory = entry.loaders[0]()
                except BaseException as exc:  # a plugin may fail in any way, even sys.exit()
                    if isinstance(exc, KeyboardInterrupt) and ctrl_c.pressed:
                        raise  # the user pressed Ctrl-C while the plugin imported: stop
                    entry.error = _load_failure(exc)
                    raise PluginLoadError(
                        f"{self.kind} '{name}' from {source.distribution} ({source.target}) "
                        f"could not be loaded: {entry.error}. Reinstall or fix that package; "
                        "other plugins still work."
                    ) from exc
            if not callable(factory):
                entry.error = f"{source.target} is not callable"
                raise PluginLoadError(
                    f"{self.kind} '{name}' from {source.distribution}: {entry.error}"
                )
            entry.loaded, entry.error = factory, None
        return entry.loaded

    def build(self, name: str, /, *args: Any, **params: Any) -> T:
        """Call the factory ``name`` with ``args`` and ``params`` after checking the params.

        Raises:
            PluginParamsError: a parameter is not accepted (the message lists the accepted ones),
                or the factory rejected a value with ``ValueError``/``TypeError``.
        """
        factory = self.get(name)
        check_params(self.kind, name, factory, len(args), params)
        try:
            return factory(*args, **params)
        except (TypeError, ValueError) as exc:
            raise PluginParamsError(f"{self.kind} '{name}': {exc}") from exc

    # -------------------------------------------------------------------------------- reporting
    def source(self, name: str) -> PluginSource:
        """Where ``name`` comes from (the first source if it is in conflict)."""
        self.discover()
        if name not in self._entries:
            raise UnknownPluginError(self._unknown_message(name))
        return self._entries[name].sources[0]

    def info(self, load: bool = True) -> list[PluginInfo]:
        """One :class:`PluginInfo` per name; ``load=True`` imports each plugin to check it."""
        rows = []
        for name in self.names():
            entry = self._entries[name]
            if load and len(entry.sources) == 1 and entry.loaded is None:
                with contextlib.suppress(PluginLoadError):
                    self.get(name)
            rows.append(self._info_row(entry))
        return rows

    def _info_row(self, entry: _Entry) -> PluginInfo:
        first = entry.sources[0]
        if len(entry.sources) > 1:
            status, error = "conflict", "; ".join(s.describe() for s in entry.sources)
            distribution = ", ".join(s.distribution for s in entry.sources)
            target = ", ".join(s.target for s in entry.sources)
        else:
            distribution, target = first.distribution, first.target
            status = "broken" if entry.error else ("ok" if entry.loaded else "not loaded")
            error = entry.error
        return PluginInfo(entry.name, self.kind, distribution, first.version, target, status, error)

    def _unknown_message(self, name: str) -> str:
        available = self.names()
        close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        listing = ", ".join(available) if available else "none installed"
        return f"unknown {self.kind} '{name}'.{hint} Available: {listing}."


class _CtrlCWatch:
    """Tells a real Ctrl-C apart from a ``KeyboardInterrupt`` that a plugin's own code raises.

    Both arrive as ``KeyboardInterrupt``, but only the first comes through the SIGINT handler.
    For the length of a ``with`` block (one plugin's import) the handler in place is wrapped so
    that it also records the signal (``pressed``); the wrapped handler still runs, so Ctrl-C
    raises ``KeyboardInterrupt`` exactly as before. A ``KeyboardInterrupt`` with no SIGINT
    behind it is the plugin's doing (``raise KeyboardInterrupt`` at import), and is reported
    like any other failing plugin: one broken plugin never stops ``plugins list`` or a run.

    Outside the main thread no handler can be set, and none is needed: Python delivers SIGINT
    to the main thread only, so a ``KeyboardInterrupt`` there is always raised by code. Where
    SIGINT is ignored or left to the system (``SIG_IGN``, ``SIG_DFL``), Ctrl-C raises nothing.
    """

    def __init__(self) -> None:
        self.pressed = False
        self._previous: Any = None
        self._handler: Any = None

    def __enter__(self) -> _CtrlCWatch:
        if threading.current_thread() is not threading.main_thread():
            return self
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous):
            return self

        def record_and_pass_on(signum: int, frame: Any) -> None:
            self.pressed = True
            previous(signum, frame)

        try:
            signal.signal(signal.SIGINT, record_and_pass_on)
        except (ValueError, OSError):  # not the main interpreter: as outside the main thread
            return self
        self._previous, self._handler = previous, record_and_pass_on
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Put the handler back unless the plugin installed one of its own meanwhile.
        if self._handler is not None and signal.getsignal(signal.SIGINT) is self._handler:
            signal.signal(signal.SIGINT, self._previous)


def _load_failure(exc: BaseException) -> str:
    """Why importing a plugin failed, in one line (``SystemExit`` and a plugin's own
    ``KeyboardInterrupt`` are said as such)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit: its module called exit({exc.code!r}) while being imported"
    if isinstance(exc, KeyboardInterrupt):
        return (
            "KeyboardInterrupt: its import raised KeyboardInterrupt by itself "
            "(no Ctrl-C was pressed)"
        )
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # a plugin's exception may even fail to print itself
        return f"{type(exc).__name__} (its message could not be read)"


def accepted_params(factory: Callable[..., Any], skip: int) -> dict[str, Any]:
    """Keyword parameters of ``factory`` after its first ``skip`` positional ones, with defaults.

    Parameters without a default map to ``inspect.Parameter.empty``.
    """
    params = list(inspect.signature(factory).parameters.values())[skip:]
    return {
        p.name: p.default for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def check_params(
    kind: str, name: str, factory: Callable[..., Any], n_args: int, params: dict[str, Any]
) -> None:
    """Raise :class:`PluginParamsError` if ``factory`` cannot take ``params`` by keyword."""
    signature = inspect.signature(factory)
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return
    accepted = accepted_params(factory, n_args)
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        listing = ", ".join(
            key if default is inspect.Parameter.empty else f"{key}={default!r}"
            for key, default in accepted.items()
        )
        raise PluginParamsError(
            f"{kind} '{name}' does not accept {', '.join(map(repr, unknown))}. "
            f"Accepted parameters: {listing or 'none'}."
        )


def _distribution_of_module(module: str) -> str:
    top = module.split(".")[0]
    if top == "__main__" or top not in sys.modules:
        return IN_PROCESS
    names = _packages_distributions().get(top)
    return names[0] if names else IN_PROCESS


def _version_of(distribution: str) -> str | None:
    if distribution == IN_PROCESS:
        return None
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


_PACKAGE_DISTRIBUTIONS: dict[str, list[str]] | None = None


def _packages_distributions() -> dict[str, list[str]]:
    global _PACKAGE_DISTRIBUTIONS
    if _PACKAGE_DISTRIBUTIONS is None:
        _PACKAGE_DISTRIBUTIONS = metadata.packages_distributions()
    return _PACKAGE_DISTRIBUTIONS


def first_lines(doc: str | None) -> str:
    """The summary paragraph of a docstring, on one line."""
    text = inspect.cleandoc(doc or "")
    return text.split("\n\n")[0].replace("\n", " ")


# The registries ganrestore itself reads. Later kinds (tasks, restorers) are added here.
GENERATORS: Registry[Any] = Registry("generator", "ganrestore.generators")
DISCRIMINATORS: Registry[Any] = Registry("discriminator", "ganrestore.discriminators")
ADVERSARIAL_LOSSES: Registry[Any] = Registry("adversarial loss", "ganrestore.adversarial_losses")
LOSSES: Registry[Any] = Registry("loss", "ganrestore.losses")
TASKS: Registry[Any] = Registry("task", "ganrestore.tasks")
BASELINES: Registry[Any] = Registry("baseline", "ganrestore.baselines")

#: Every registry by the plural name used in the CLI, in display order.
REGISTRIES: dict[str, Registry[Any]] = {
    "generators": GENERATORS,
    "discriminators": DISCRIMINATORS,
    "adversarial_losses": ADVERSARIAL_LOSSES,
    "losses": LOSSES,
    "tasks": TASKS,
    "baselines": BASELINES,
}
