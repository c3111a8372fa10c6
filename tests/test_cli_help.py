"""`ganrestore --help`: the commands in the order a user meets them, and the defaults they show."""

from __future__ import annotations

import re

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
