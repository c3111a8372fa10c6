"""`ganrestore --version`, `plugins list` and `plugins show`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ganrestore.cli.plugins import parse_docstring_args

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PLUGIN = REPO_ROOT / "examples" / "ganrestore-plugin-example"


def test_version(run_cli) -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("ganrestore ")


def test_kind_takes_the_plural_and_the_singular_the_table_shows() -> None:
    from typer.testing import CliRunner

    from ganrestore.cli.app import app

    for kind in ("generators", "generator", "loss", "task"):
        result = CliRunner().invoke(app, ["plugins", "list", "--kind", kind])
        assert result.exit_code == 0, result.output
    assert " unet " in CliRunner().invoke(app, ["plugins", "list", "--kind", "generator"]).output
    refused = CliRunner().invoke(app, ["plugins", "list", "--kind", "gizmo"])
    assert refused.exit_code == 2 and "unknown kind 'gizmo'" in refused.output


@pytest.mark.slow  # each test from here on starts the CLI and imports torch: seconds each
def test_list_shows_the_built_ins_from_the_installed_distribution(run_cli) -> None:
    result = run_cli("plugins", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    unet = next(line for line in lines if " unet " in line)
    patchgan = next(line for line in lines if " patchgan " in line)
    for line, kind in ((unet, "generator"), (patchgan, "discriminator")):
        assert kind in line and "ganrestore" in line and "ok" in line


@pytest.mark.slow
def test_list_marks_broken_and_conflicting_plugins_and_still_lists_the_rest(
    make_distribution, run_cli
) -> None:
    group = "ganrestore.generators"
    broken = make_distribution(
        "broken-nets",
        {group: {"broken": "broken_nets:make"}},
        {"broken_nets": "raise RuntimeError('needs CUDA 99')\n"},
        on_sys_path=False,
    )
    clash = make_distribution(
        "clash-nets",
        {group: {"unet": "clash_nets:unet"}},
        {"clash_nets": "def unet(i, o):\n    return None\n"},
        on_sys_path=False,
    )
    result = run_cli("plugins", "list", extra_path=[broken, clash])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "broken generator 'broken': RuntimeError: needs CUDA 99" in out
    assert "conflict generator 'unet'" in out and "clash-nets" in out
    assert "patchgan" in out and "ok" in out

    build = run_cli("plugins", "show", "unet", extra_path=[clash])
    assert build.returncode == 2
    assert "clash_nets:unet" in build.stderr and "ganrestore_plugins.unet:unet" in build.stderr
    assert "Traceback" not in build.stderr


@pytest.mark.slow
def test_show_prints_the_docstring_and_every_parameter_with_its_default(run_cli) -> None:
    result = run_cli("plugins", "show", "unet")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "unet (generator) from ganrestore" in out
    assert "given by the task: in_channels, out_channels" in out
    for parameter, default in (("depth", "8"), ("base_channels", "64"), ("norm", "'batch'")):
        line = next(line for line in out.splitlines() if f" {parameter} " in line)
        assert default in line


@pytest.mark.slow
def test_show_unknown_name_is_one_clear_line_with_exit_code_2(run_cli) -> None:
    result = run_cli("plugins", "show", "patchgna")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: unknown plugin 'patchgna'. Did you mean 'patchgan'?")
    assert "Available:" in lines[0] and "unet" in lines[0]


def test_docstring_args_are_parsed_with_continuation_lines() -> None:
    doc = """Summary.

    Args:
        depth: number of down-samplings;
            the input is padded to a multiple of 2**depth.
        norm (str): "batch", "instance" or "none".

    Returns:
        A module.
    """
    assert parse_docstring_args(doc) == {
        "depth": "number of down-samplings; the input is padded to a multiple of 2**depth.",
        "norm": '"batch", "instance" or "none".',
    }


@pytest.mark.slow
def test_a_third_party_package_is_listed_and_built_without_changing_ganrestore(
    example_plugin_site: Path, run_cli
) -> None:
    example_before = set(EXAMPLE_PLUGIN.rglob("*"))
    target = example_plugin_site
    listed = run_cli("plugins", "list", "--kind", "generators", extra_path=[target])
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if "example_cnn" in line)
    assert "ganrestore-plugin-example" in row and "0.1.0" in row and "ok" in row

    shown = run_cli("plugins", "show", "example_cnn", extra_path=[target])
    assert shown.returncode == 0 and "width" in shown.stdout

    code = (
        "import torch, ganrestore\n"
        "net = ganrestore.build_generator('example_cnn', 4, 3, width=8, blocks=2)\n"
        "print(tuple(net(torch.zeros(1, 4, 21, 17)).shape))\n"
    )
    built = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(target)},
    )
    assert built.returncode == 0, built.stderr
    assert built.stdout.strip() == "(1, 3, 21, 17)"
    left = sorted(str(path) for path in set(EXAMPLE_PLUGIN.rglob("*")) - example_before)
    assert not left, f"installing the example left build outputs in its folder: {left[:3]}"
