"""The plugin registry: registration, entry-point discovery, and every error a user can meet."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ganrestore.registry import (
    PluginConflictError,
    PluginLoadError,
    PluginParamsError,
    Registry,
    UnknownPluginError,
)

GROUP = "ganrestore.generators"

GOOD_MODULE = '''
def tiny(in_channels, out_channels, *, width=8):
    """A tiny test generator."""
    return ("tiny", in_channels, out_channels, width)
'''

OTHER_MODULE = """
def tiny(in_channels, out_channels):
    return ("other", in_channels, out_channels)
"""

BROKEN_MODULE = "raise ImportError('libfoo.so: cannot open shared object file')\n"


def test_decorator_registers_and_builds_with_params() -> None:
    registry: Registry[tuple] = Registry("generator")

    @registry.register("double")
    def double(in_channels: int, out_channels: int, *, scale: int = 2) -> tuple:
        return (in_channels * scale, out_channels)

    assert registry.names() == ["double"]
    assert registry.build("double", 3, 1, scale=4) == (12, 1)
    assert registry.source("double").distribution == "<in-process>"


def test_reregistering_the_same_function_is_not_a_conflict() -> None:
    registry: Registry[int] = Registry("generator")

    def make() -> int:
        return 1

    registry.add("one", make)
    registry.add("one", make)
    assert registry.build("one") == 1
    assert [row.status for row in registry.info()] == ["ok"]


def test_entry_point_of_an_installed_distribution_is_discovered(make_distribution) -> None:
    make_distribution("acme-nets", {GROUP: {"tiny": "acme_nets:tiny"}}, {"acme_nets": GOOD_MODULE})
    registry: Registry[tuple] = Registry("generator", GROUP)

    assert "tiny" in registry.names()
    assert "unet" in registry.names()  # ganrestore's own built-in, declared the same way
    source = registry.source("tiny")
    assert (source.distribution, source.version, source.target) == (
        "acme-nets",
        "1.0",
        "acme_nets:tiny",
    )
    assert registry.build("tiny", 4, 3, width=16) == ("tiny", 4, 3, 16)


def test_two_distributions_claiming_one_name_fail_on_use_naming_both(make_distribution) -> None:
    make_distribution("acme-nets", {GROUP: {"tiny": "acme_nets:tiny"}}, {"acme_nets": GOOD_MODULE})
    make_distribution(
        "other-nets", {GROUP: {"tiny": "other_nets:tiny"}}, {"other_nets": OTHER_MODULE}
    )
    registry: Registry[tuple] = Registry("generator", GROUP)

    with pytest.raises(PluginConflictError) as error:
        registry.get("tiny")
    message = str(error.value)
    for part in ("'tiny'", "acme-nets", "acme_nets:tiny", "other-nets", "other_nets:tiny"):
        assert part in message
    rows = {row.name: row for row in registry.info()}
    assert rows["tiny"].status == "conflict"
    assert "acme-nets" in rows["tiny"].distribution and "other-nets" in rows["tiny"].distribution
    assert rows["unet"].status == "ok"  # everything else keeps working


def test_a_broken_plugin_is_reported_and_others_keep_working(make_distribution) -> None:
    make_distribution(
        "broken-nets", {GROUP: {"broken": "broken_nets:make"}}, {"broken_nets": BROKEN_MODULE}
    )
    registry: Registry[object] = Registry("generator", GROUP)

    with pytest.raises(PluginLoadError) as error:
        registry.get("broken")
    message = str(error.value)
    assert "'broken'" in message and "broken-nets" in message and "libfoo.so" in message
    rows = {row.name: row for row in registry.info()}
    assert rows["broken"].status == "broken" and "libfoo.so" in (rows["broken"].error or "")
    assert rows["unet"].status == "ok"


def test_an_entry_point_to_a_missing_attribute_is_broken_not_fatal(make_distribution) -> None:
    make_distribution("typo-nets", {GROUP: {"typo": "typo_nets:tinyy"}}, {"typo_nets": GOOD_MODULE})
    registry: Registry[object] = Registry("generator", GROUP)
    with pytest.raises(PluginLoadError, match="tinyy"):
        registry.get("typo")


def test_unknown_name_lists_available_and_the_closest_match() -> None:
    registry: Registry[object] = Registry("generator", GROUP)
    with pytest.raises(UnknownPluginError) as error:
        registry.get("unte")
    message = str(error.value)
    assert "unknown generator 'unte'" in message
    assert "Did you mean 'unet'?" in message
    assert "Available: " in message and "unet" in message


def test_parameters_a_factory_does_not_accept_list_the_accepted_ones(make_distribution) -> None:
    make_distribution("acme-nets", {GROUP: {"tiny": "acme_nets:tiny"}}, {"acme_nets": GOOD_MODULE})
    registry: Registry[object] = Registry("generator", GROUP)
    with pytest.raises(PluginParamsError) as error:
        registry.build("tiny", 3, 3, widht=4)
    assert "'widht'" in str(error.value) and "width=8" in str(error.value)


def test_value_errors_of_a_factory_become_params_errors_naming_the_plugin() -> None:
    registry: Registry[object] = Registry("generator")

    @registry.register("picky")
    def picky(in_channels: int, out_channels: int, *, norm: str = "batch") -> object:
        raise ValueError(f"unknown norm '{norm}'; choose batch, instance or none")

    with pytest.raises(PluginParamsError, match="generator 'picky': unknown norm 'foo'"):
        registry.build("picky", 3, 3, norm="foo")


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_import_is_lazy_and_building_one_plugin_imports_only_that_one() -> None:
    code = (
        "import sys, ganrestore\n"
        "assert not any(m.startswith('ganrestore_plugins') for m in sys.modules), 'eager plugins'\n"
        "assert 'torch' not in sys.modules, 'import ganrestore imported torch'\n"
        "ganrestore.build_generator('unet', 3, 3, depth=3, base_channels=4)\n"
        "assert 'ganrestore_plugins.unet' in sys.modules\n"
        "assert 'ganrestore_plugins.patchgan' not in sys.modules, 'patchgan imported'\n"
        "print('lazy ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "lazy ok" in result.stdout


def test_isolated_undoes_registrations_and_removals() -> None:
    registry: Registry[int] = Registry("generator", GROUP)
    with registry.isolated():
        registry.add("temporary", lambda: 1)
        registry.unregister("unet")
        assert "temporary" in registry.names() and "unet" not in registry.names()
    assert "temporary" not in registry.names() and "unet" in registry.names()


def test_list_plugins_lists_every_kind_of_built_in_from_entry_points_alone() -> None:
    """In a fresh process, before anything registers by import, every kind is listed."""
    code = (
        "import ganrestore\n"
        "rows = ganrestore.list_plugins(load=False)\n"
        "own = {(r.kind, r.name) for r in rows if r.distribution == 'ganrestore'}\n"
        "print(sorted(own))\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    listed = found.stdout
    for kind, name in [
        ("generator", "unet"),
        ("discriminator", "patchgan"),
        ("loss", "l1"),
        ("adversarial loss", "lsgan"),
        ("task", "denoise"),
        ("task", "inpaint"),
        ("baseline", "bm3d"),
        ("baseline", "telea"),
    ]:
        assert f"('{kind}', '{name}')" in listed
