"""`ganrestore --help`: the commands in the order a user meets them."""

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
