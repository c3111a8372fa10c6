"""A plugin that exits or raises a BaseException at import is listed as broken, never fatal.

Only a real Ctrl-C (SIGINT) during a plugin's import stops the program; a plugin whose module
raises ``KeyboardInterrupt`` by itself is one more broken plugin."""

from __future__ import annotations

import signal

import pytest

from ganrestore.registry import PluginLoadError, Registry

GROUP = "ganrestore.generators"
GOOD_MODULE = "def tiny(in_channels, out_channels):\n    return 'tiny'\n"
EXITING_MODULE = "import sys\nsys.exit(3)\n"
BASE_EXCEPTION_MODULE = (
    "class Abort(BaseException):\n    pass\n\nraise Abort('licence server unreachable')\n"
)
INTERRUPTED_MODULE = "raise KeyboardInterrupt\n"
# What a user pressing Ctrl-C while the module imports looks like: SIGINT reaches the process.
CTRL_C_MODULE = "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(30)\n"
UNPRINTABLE_MODULE = (
    "class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError('no')\n\n"
    "raise Odd()\n"
)


def test_a_plugin_calling_sys_exit_at_import_is_broken_and_the_others_still_load(
    make_distribution,
) -> None:
    make_distribution(
        "exiting-nets",
        {GROUP: {"exiting": "exiting_nets:make", "abort": "abort_nets:make"}},
        {"exiting_nets": EXITING_MODULE, "abort_nets": BASE_EXCEPTION_MODULE},
    )
    make_distribution("good-nets", {GROUP: {"tiny": "good_nets:tiny"}}, {"good_nets": GOOD_MODULE})
    registry: Registry[str] = Registry("generator", GROUP)

    with pytest.raises(PluginLoadError, match=r"'exiting' from exiting-nets.*exit\(3\)"):
        registry.get("exiting")
    with pytest.raises(PluginLoadError, match="Abort: licence server unreachable"):
        registry.get("abort")
    rows = {row.name: row for row in registry.info(load=True)}
    assert rows["exiting"].status == "broken" and "SystemExit" in (rows["exiting"].error or "")
    assert rows["abort"].status == "broken"
    assert rows["tiny"].status == "ok" and registry.build("tiny", 3, 3) == "tiny"


def test_an_exception_that_cannot_print_itself_is_still_reported(make_distribution) -> None:
    make_distribution(
        "odd-nets", {GROUP: {"odd": "odd_nets:make"}}, {"odd_nets": UNPRINTABLE_MODULE}
    )
    registry: Registry[str] = Registry("generator", GROUP)
    with pytest.raises(PluginLoadError, match=r"Odd \(its message could not be read\)"):
        registry.get("odd")
    rows = {row.name: row for row in registry.info(load=True)}
    assert rows["odd"].status == "broken"


@pytest.mark.usefixtures("ctrl_c_interrupts")
def test_ctrl_c_while_a_plugin_imports_still_interrupts(make_distribution) -> None:
    make_distribution(
        "slow-nets", {GROUP: {"slow": "slow_nets:make"}}, {"slow_nets": CTRL_C_MODULE}
    )
    registry: Registry[str] = Registry("generator", GROUP)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        registry.get("slow")
    assert signal.getsignal(signal.SIGINT) is handler  # the watch is undone


def test_a_plugin_raising_keyboard_interrupt_by_itself_is_broken_and_the_others_load(
    make_distribution,
) -> None:
    make_distribution(
        "interrupting-nets",
        {GROUP: {"interrupting": "interrupting_nets:make"}},
        {"interrupting_nets": INTERRUPTED_MODULE},
    )
    make_distribution("good-nets", {GROUP: {"tiny": "good_nets:tiny"}}, {"good_nets": GOOD_MODULE})
    registry: Registry[str] = Registry("generator", GROUP)

    with pytest.raises(PluginLoadError, match=r"'interrupting' from interrupting-nets.*Keyboard"):
        registry.get("interrupting")
    rows = {row.name: row for row in registry.info(load=True)}
    assert rows["interrupting"].status == "broken"
    assert "its import raised KeyboardInterrupt" in (rows["interrupting"].error or "")
    assert rows["tiny"].status == "ok" and registry.build("tiny", 3, 3) == "tiny"


@pytest.mark.slow
def test_plugins_list_survives_a_plugin_that_exits_at_import(make_distribution, run_cli) -> None:
    exiting = make_distribution(
        "exiting-nets",
        {GROUP: {"exiting": "exiting_nets:make"}},
        {"exiting_nets": EXITING_MODULE},
        on_sys_path=False,
    )
    result = run_cli("plugins", "list", extra_path=[exiting])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken generator 'exiting': SystemExit" in result.stdout
    assert "exit(3)" in result.stdout
    assert "unet" in result.stdout and "patchgan" in result.stdout  # the others are still listed


@pytest.mark.slow
def test_plugins_list_reports_a_plugin_raising_keyboard_interrupt_and_lists_the_rest(
    make_distribution, run_cli
) -> None:
    interrupting = make_distribution(
        "interrupting-nets",
        {GROUP: {"interrupting": "interrupting_nets:make"}},
        {"interrupting_nets": INTERRUPTED_MODULE},
        on_sys_path=False,
    )
    result = run_cli("plugins", "list", extra_path=[interrupting])
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if " interrupting " in line)
    assert "interrupting-nets" in row and "broken" in row
    assert (
        "broken generator 'interrupting': KeyboardInterrupt: its import raised KeyboardInterrupt"
        in result.stdout
    )
    assert "unet" in result.stdout and "patchgan" in result.stdout  # the others are still listed


@pytest.mark.slow
@pytest.mark.usefixtures("ctrl_c_interrupts")
def test_ctrl_c_during_plugins_list_still_stops_it(make_distribution, run_cli) -> None:
    slow = make_distribution(
        "slow-nets",
        {GROUP: {"slow": "slow_nets:make"}},
        {"slow_nets": CTRL_C_MODULE},
        on_sys_path=False,
    )
    result = run_cli("plugins", "list", extra_path=[slow])
    assert result.returncode == 130  # 128 + SIGINT, as shells report a stopped command
    assert "slow-nets" not in result.stdout  # stopped: no table was printed
