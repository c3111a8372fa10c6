"""`ganrestore --help`: the commands in the order a user meets them, the defaults they show,
and placeholders that read as words (no `<bool>` after a flag, which reads as if it took one)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from ganrestore.cli.app import app


def test_help_lists_train_apply_eval_plugins_in_that_order() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    commands = result.output.split("Commands")[1]
    names = re.findall(r"^\W*(train|apply|eval|plugins)\s", commands, flags=re.MULTILINE)
    assert names == ["train", "apply", "eval", "plugins"]


def test_apply_tile_defaults_are_those_of_the_library() -> None:
    """`apply --tile/--overlap/--batch-size` default to TileSettings(), which load_restorer uses.

    The CLI states them as literals (it imports no torch to print its help), so this pins them.
    """
    import inspect

    from ganrestore.cli.apply import apply_command
    from ganrestore.inference import TileSettings

    parameters = inspect.signature(apply_command).parameters
    defaults = TileSettings()
    assert parameters["tile"].default == defaults.tile
    assert parameters["overlap"].default == defaults.overlap
    assert parameters["batch_size"].default == defaults.batch_size


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group of the app as the words a user types: (), ("train",), ..."""
    paths = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths.extend(_command_paths(sub, (*path, name)))
    return paths


COMMANDS = _command_paths(get_command(app))
#: Typer's raw type placeholders: <bool>, <str>, <list[str]>, <int range>, <dir>, {task}.
RAW_PLACEHOLDER = re.compile(r"<[a-z][a-z_\[\]| ,]*>|\{[a-z_]+\}")


def test_every_command_is_covered() -> None:
    assert {("train",), ("apply",), ("eval",), ("export",), ("serve",), ("plugins", "list")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("words", COMMANDS, ids=lambda words: " ".join(words) or "ganrestore")
def test_help_shows_no_raw_type_placeholders(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*words, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for raw in ("<bool>", "<list[", "<str>", "{task}"):
        assert raw not in result.output
    assert not RAW_PLACEHOLDER.findall(result.output)


def _row(help_text: str, option: str) -> str:
    """The line of ``option``'s row in the options table."""
    return next(
        line for line in help_text.splitlines() if line.lstrip("│ *").startswith(f"{option} ")
    )


def test_flags_show_no_value_and_values_show_a_readable_name() -> None:
    train = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"}).output
    apply = CliRunner().invoke(app, ["apply", "--help"], env={"COLUMNS": "200"}).output
    assert "Usage: ganrestore train [OPTIONS] TASK" in train
    assert re.search(r"--resume\s+Continue the run", _row(train, "--resume"))
    assert re.search(r"--overwrite\s+Replace existing outputs", _row(apply, "--overwrite"))
    assert re.search(r"--texture\s+--no-texture\s+Inpainting", _row(apply, "--texture"))
    assert re.search(r"--data\s+DIR\s", _row(train, "--data"))
    assert re.search(r"--steps\s+N\s", _row(train, "--steps"))
    assert re.search(r"--model\s+MODEL\s", _row(apply, "--model"))
    assert re.search(r"--device\s+auto\|cpu\|cuda\|mps\s", _row(apply, "--device"))
    assert re.search(r"--grow-mask\s+auto\|N\s", _row(apply, "--grow-mask"))  # its own metavar


@pytest.mark.parametrize(
    ("words", "written"),
    [
        (("apply", "--in", "{tmp}/photos", "--out", "{tmp}/out"), ["--overwrite", "true"]),
        (("apply", "--in", "{tmp}/photos", "--out", "{tmp}/out"), ["--overwrite=yes"]),
        (("export", "denoise", "--out", "{tmp}/out.onnx"), ["--overwrite", "False"]),
    ],
)
def test_a_flag_given_a_value_is_one_clear_line(
    words: tuple[str, ...], written: list[str], tmp_path: Path
) -> None:
    (tmp_path / "photos").mkdir()
    args = [word.format(tmp=tmp_path) for word in words]
    result = CliRunner().invoke(app, [*args, *written], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: --overwrite is a flag and takes no value: write --overwrite")
    assert " ".join(written) in lines[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["photos"]  # nothing was run


def test_a_flag_pair_given_a_value_names_both_spellings(tmp_path: Path) -> None:
    args = ["apply", "--in", str(tmp_path), "--out", str(tmp_path / "out"), "--texture", "off"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "write --texture or --no-texture alone (not '--texture off')" in result.stderr


def test_a_value_that_looks_like_a_word_for_yes_still_goes_to_its_option() -> None:
    """`--set yes` gives --set its value: only a flag's own value is refused."""
    from ganrestore.cli.readable_help import flag_given_a_value

    command = get_command(app).commands["train"]  # type: ignore[attr-defined]
    assert flag_given_a_value(command.params, ["denoise", "--set", "true", "--resume"]) is None
    assert flag_given_a_value(command.params, ["denoise", "--resume", "--", "true"]) is None
    assert "--resume is a flag" in (flag_given_a_value(command.params, ["--resume", "1"]) or "")


def test_ctrl_c_while_the_command_line_loads_is_one_line_and_exit_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    from ganrestore.cli import entry

    class StillImporting(types.ModuleType):
        def __getattr__(self, name: str) -> object:
            raise KeyboardInterrupt  # what Ctrl-C raises in the middle of importing torch

    monkeypatch.setitem(sys.modules, "ganrestore.cli.app", StillImporting("ganrestore.cli.app"))
    with pytest.raises(SystemExit) as stopped:
        entry.main()
    assert stopped.value.code == 130
    assert capsys.readouterr().err == "Interrupted while starting: nothing was done.\n"
