"""``ganrestore plugins``: list the installed plugins and show one plugin's parameters."""

from __future__ import annotations

import inspect
import re
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ganrestore.cli.errors import user_errors
from ganrestore.registry import REGISTRIES, PluginInfo, Registry, UnknownPluginError, first_lines

app = typer.Typer(help="List installed plugins and show their parameters.", no_args_is_help=True)

#: How many leading positional arguments each kind's factory receives from the task
#: (e.g. a generator gets in_channels and out_channels), so `show` lists only the plugin's own.
CONTRACT_ARGS = {"generators": 2, "discriminators": 1, "baselines": 1}

STATUS_STYLE = {"ok": "green", "not loaded": "yellow", "broken": "bold red", "conflict": "bold red"}

KindOption = Annotated[
    str | None,
    typer.Option("--kind", help=f"Only this kind: {', '.join(REGISTRIES)}.", show_default=False),
]


def _selected(kind: str | None) -> dict[str, Registry[Any]]:
    """The registries ``--kind`` names: plural as listed, or singular as the table shows a
    plugin's kind (``generator``, ``task``, ``loss``)."""
    if kind is None:
        return dict(REGISTRIES)
    for name in (kind, f"{kind}s", f"{kind}es"):
        if name in REGISTRIES:
            return {name: REGISTRIES[name]}
    raise typer.BadParameter(f"unknown kind '{kind}'; choose one of: {', '.join(REGISTRIES)}")


@app.command("list")
def list_command(kind: KindOption = None) -> None:
    """Table of every plugin: name, kind, distribution, version, status and source."""
    rows: list[PluginInfo] = [
        row for registry in _selected(kind).values() for row in registry.info(load=True)
    ]
    table = Table(title="ganrestore plugins")
    for column in ("name", "kind", "distribution", "version", "status", "source"):
        table.add_column(column)
    for row in rows:
        style = STATUS_STYLE.get(row.status, "")
        table.add_row(
            row.name,
            row.kind,
            row.distribution,
            row.version or "",
            f"[{style}]{row.status}[/]" if style else row.status,
            row.target,
        )
    console = Console(width=max(Console().width, 120))
    console.print(table)
    for row in rows:
        if row.error:
            console.print(f"[bold red]{row.status}[/] {row.kind} '{row.name}': {row.error}")


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Plugin name, e.g. unet.")],
    kind: KindOption = None,
) -> None:
    """Print a plugin's documentation and its parameters with their defaults."""
    with user_errors():
        matches = {key: reg for key, reg in _selected(kind).items() if name in reg}
        if not matches:
            every = sorted({n for reg in _selected(kind).values() for n in reg.names()})
            raise UnknownPluginError(_unknown_any(name, every))
        console = Console()
        for key, registry in matches.items():
            _show_one(console, key, registry, name)


def _show_one(console: Console, key: str, registry: Registry[Any], name: str) -> None:
    factory = registry.get(name)
    source = registry.source(name)
    version = f" {source.version}" if source.version else ""
    console.print(f"[bold]{name}[/] ({registry.kind}) from {source.distribution}{version}")
    console.print(f"source: {source.target}")
    console.print(first_lines(factory.__doc__) or "(no description)")
    skip = CONTRACT_ARGS.get(key, 0)
    signature = list(inspect.signature(factory).parameters.values())
    if skip:
        given = ", ".join(p.name for p in signature[:skip])
        console.print(f"given by the task: {given}")
    described = parse_docstring_args(factory.__doc__)
    table = Table(title="parameters")
    for column in ("parameter", "default", "description"):
        table.add_column(column)
    for param in signature[skip:]:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = "required" if param.default is param.empty else repr(param.default)
        table.add_row(param.name, default, described.get(param.name, ""))
    console.print(table)


_ARG_LINE = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")


def parse_docstring_args(doc: str | None) -> dict[str, str]:
    """Map each parameter name to its description from a Google-style ``Args:`` section."""
    lines = inspect.cleandoc(doc or "").splitlines()
    described: dict[str, str] = {}
    in_args, current, indent = False, None, None
    for line in lines:
        stripped = line.strip()
        if stripped in ("Args:", "Arguments:", "Parameters:"):
            in_args, current, indent = True, None, None
            continue
        if not in_args:
            continue
        if stripped and not line.startswith(" "):  # next section, e.g. "Returns:"
            break
        if not stripped:
            continue
        depth = len(line) - len(line.lstrip())
        match = _ARG_LINE.match(stripped)
        if match and (indent is None or depth <= indent):
            indent, current = depth, match.group(1).lstrip("*")
            described[current] = match.group(3).strip()
        elif current is not None:
            described[current] = f"{described[current]} {stripped}".strip()
    return described


def _unknown_any(name: str, available: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, available, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return f"unknown plugin '{name}'.{hint} Available: {', '.join(available) or 'none'}."
