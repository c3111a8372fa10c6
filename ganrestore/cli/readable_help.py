"""Help and usage lines that read like a manual, for every command at once.

Typer 0.29 renders each value's Python type as a raw placeholder: ``--overwrite <bool>`` for a
flag (which reads as if it took a value, so users write ``--overwrite true``), ``--set
<list[str]>``, ``--data <dir>``, and ``{task}`` for a required argument in the usage line.
:func:`use_readable_help` makes every command of the app show instead:

* nothing after a flag (``--overwrite``, ``--texture / --no-texture``);
* an upper-case name after a value: ``--data DIR``, ``--config FILE``, ``--out PATH``,
  ``--steps N``, ``--device auto|cpu|cuda|mps``, ``--model MODEL``, ``TASK``;
* and, for a flag given a value (``--overwrite true``, ``--overwrite=yes``), one clear line:
  ``Error: --overwrite is a flag and takes no value: ...`` with exit code 2.

An option that states its own ``metavar`` (``--grow-mask auto|N``) keeps it. Older Typer
versions (which print Click's ``TEXT``, ``PATH``, ``INTEGER``) are left as they print.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, get_args, get_origin

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import DefaultPlaceholder

from ganrestore.cli.errors import USER_ERROR_EXIT_CODE, print_error

#: What users write after a flag that they take for a yes/no option.
FLAG_VALUE_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0"})

#: Placeholders for values whose name says less than their type.
PATH_PLACEHOLDERS = {"dir": "DIR", "file": "FILE", "path": "PATH"}
NUMBER_PLACEHOLDERS = {int: "N", float: "NUMBER"}


def use_readable_help(app: typer.Typer) -> None:
    """Make every command and group of ``app`` (sub-apps included) use the readable classes.

    Call it once, after the last ``add_typer``; a command or group that names its own ``cls``
    keeps it.
    """
    if _is_plain(app.info.cls, TyperGroup):
        app.info.cls = ReadableGroup
    for command in app.registered_commands:
        if _is_plain(command.cls, TyperCommand):
            command.cls = ReadableCommand
    for group in app.registered_groups:
        if _is_plain(group.cls, TyperGroup):
            group.cls = ReadableGroup
        if group.typer_instance is not None:
            use_readable_help(group.typer_instance)


def _is_plain(cls: Any, typer_class: type) -> bool:
    """Whether ``cls`` is Typer's own class or unset (``None`` or Typer's default marker)."""
    return cls is None or cls is typer_class or isinstance(cls, DefaultPlaceholder)


class ReadableArgument(TyperArgument):
    """A positional argument shown as ``TASK`` (``[TASK]`` when optional), with no type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        choices = _choices(self)
        return choices or None

    def _usage_display_name(self) -> str:
        name = self.metavar or (self.name or "").upper()
        if not self.required:
            name = f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name


class _ReadableParams:
    """Shared by commands and groups: give every parameter a readable placeholder."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            _make_readable(param)
        return params


class ReadableCommand(_ReadableParams, TyperCommand):
    """A command with readable help that refuses a value given to a flag in one line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        misuse = flag_given_a_value(self.params, args)
        if misuse is not None and not ctx.resilient_parsing:
            print_error(misuse)
            raise typer.Exit(USER_ERROR_EXIT_CODE)
        return super().parse_args(ctx, args)


class ReadableGroup(_ReadableParams, TyperGroup):
    """A group (``ganrestore``, ``ganrestore plugins``) with readable help."""


def _make_readable(param: Any) -> None:
    """Set ``param``'s placeholder once; idempotent, and only where Typer would print a type."""
    if getattr(param, "type_descriptor", None) is None:
        return  # an older Typer: Click's own metavars (TEXT, PATH) already read well
    if isinstance(param, TyperArgument):
        if not isinstance(param, ReadableArgument):
            # Typer builds its arguments itself and offers no hook for their class; the
            # subclass only overrides how the argument is displayed and adds no state.
            param.__class__ = ReadableArgument
        if param.metavar is None:
            param.metavar = (param.name or "").upper()
        return
    if not isinstance(param, TyperOption) or param.metavar is not None:
        return
    if param.is_flag or param.count:
        param.metavar = ""  # a flag takes no value: nothing after its name
    else:
        param.metavar = _placeholder(param)


def _placeholder(option: TyperOption) -> str:
    """``DIR``/``FILE``/``PATH``, ``N``, ``a|b|c``, else the option's long name in capitals."""
    choices = _choices(option)
    if choices:
        return choices
    descriptor = option.type_descriptor
    if descriptor.is_path:
        return PATH_PLACEHOLDERS.get(str(descriptor.path_type), "PATH")
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    if annotation in NUMBER_PLACEHOLDERS:
        return NUMBER_PLACEHOLDERS[annotation]
    longest = max(option.opts, key=len)
    return longest.lstrip("-").replace("-", "_").upper()


def _choices(param: Any) -> str:
    descriptor = param.type_descriptor
    if not descriptor.is_choice or not descriptor.choices:
        return ""
    return "|".join(str(c.value if isinstance(c, Enum) else c) for c in descriptor.choices)


def flag_given_a_value(params: list[Any], args: list[str]) -> str | None:
    """The message for the first flag in ``args`` given a value (``--overwrite true``), if any.

    Args:
        params: the command's own parameters (``--help`` is not among them).
        args: the command line after the command's name.

    Returns:
        ``"--overwrite is a flag and takes no value: ..."``, or ``None`` when no flag has one.
    """
    flags: dict[str, TyperOption] = {}
    takes_value: set[str] = set()
    for param in params:
        if not isinstance(param, TyperOption):
            continue
        names = [*param.opts, *param.secondary_opts]
        if param.is_flag or param.count:
            flags.update(dict.fromkeys(names, param))
        else:
            takes_value.update(names)
    skip_next = False
    for index, token in enumerate(args):
        if token == "--":
            break
        if skip_next:  # the value of the option before it, whatever it looks like
            skip_next = False
            continue
        name, equals, value = token.partition("=")
        if name in flags:
            following = args[index + 1] if index + 1 < len(args) else None
            if equals:
                return _flag_message(name, flags[name], f"{name}={value}")
            if following is not None and following.lower() in FLAG_VALUE_WORDS:
                return _flag_message(name, flags[name], f"{name} {following}")
        elif name in takes_value and not equals:
            skip_next = True
    return None


def _flag_message(name: str, flag: TyperOption, written: str) -> str:
    if flag.secondary_opts:
        pair = " or ".join([*flag.opts, *flag.secondary_opts])
        how = f"write {pair} alone"
    else:
        how = f"write {name} alone to turn it on, or leave it out"
    return f"{name} is a flag and takes no value: {how} (not '{written}')."
