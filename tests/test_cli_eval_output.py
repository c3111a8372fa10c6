"""`ganrestore eval` output: model paths stay tellable apart, and unwritable files fail early."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import skimage.data
from PIL import Image
from typer.testing import CliRunner

from ganrestore.cli.app import app
from ganrestore.evaluation.report import short_labels

from .inference.conftest import save_tiny_run


@pytest.fixture
def one_photo(tmp_path: Path) -> Path:
    folder = tmp_path / "clean"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()[40:104, 160:224]).save(folder / "astronaut.png")
    return folder


def invoke(*args: str | Path, columns: int = 100):
    return CliRunner().invoke(app, ["eval", *map(str, args)], env={"COLUMNS": str(columns)})


def model_cells(output: str) -> str:
    """The text of the table's first column, cells of folded rows joined."""
    cells = [line.split("│")[1].strip() for line in output.splitlines() if line.count("│") > 2]
    return "".join(cells)


def test_short_labels_keep_the_path_parts_that_tell_runs_apart() -> None:
    labels = [
        "input",
        "/home/me/exp-a/runs/denoise",
        "/home/me/exp-b/runs/denoise",
        "runs/inpaint-1",
        "tv",
    ]
    assert short_labels(labels) == {
        "input": "input",
        "/home/me/exp-a/runs/denoise": ".../exp-a/runs/denoise",
        "/home/me/exp-b/runs/denoise": ".../exp-b/runs/denoise",
        "runs/inpaint-1": "runs/inpaint-1",
        "tv": "tv",
    }
    assert short_labels(["denoise", "runs/denoise"]) == {
        "denoise": "denoise",
        "runs/denoise": "runs/denoise",
    }
    assert short_labels(["/work/runs/x"]) == {"/work/runs/x": ".../runs/x"}  # not ".../x"


def test_the_table_tells_two_runs_with_long_paths_apart(one_photo: Path, tmp_path: Path) -> None:
    experiments = tmp_path / "a-long-folder-of-experiments" / "on-the-denoiser"
    first = save_tiny_run(experiments / "lr1e-4-batch16" / "runs" / "denoise-20250101", "denoise")
    second = save_tiny_run(experiments / "lr2e-4-batch16" / "runs" / "denoise-20250101", "denoise")
    result = invoke(
        "--data", one_photo, "--model", first, "--model", second, "--sigma", "25", "--no-lpips"
    )
    assert result.exit_code == 0, result.output
    shown = model_cells(result.output)
    assert ".../lr1e-4-batch16/runs/denoise-20250101" in shown
    assert ".../lr2e-4-batch16/runs/denoise-20250101" in shown


def test_json_under_a_file_is_refused_before_scoring(one_photo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "scores"
    blocker.write_text("a file, not a folder")
    result = invoke(
        "--data", one_photo, "--model", "baseline:tv", "--sigma", "25",
        "--json", blocker / "means.json",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert f"Error: --json {blocker / 'means.json'}" in text and "is a file" in text
    assert "ganrestore eval:" not in result.output  # refused before any image was scored
    assert blocker.read_text() == "a file, not a folder"


@pytest.mark.skipif(
    not Path("/proc/self").is_dir() or os.geteuid() != 0,
    reason="needs Linux /proc, which only root's permission check lets through",
)
def test_a_json_that_fails_to_write_at_the_end_keeps_the_printed_scores(one_photo: Path) -> None:
    target = Path("/proc/ganrestore-eval/means.json")  # looks writable to root; is not
    result = invoke(
        "--data", one_photo, "--model", "baseline:tv", "--sigma", "25", "--no-lpips",
        "--json", target,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "ganrestore eval:" in text and "sigma25" in text  # the table came first
    assert f"Error: --csv {target.with_suffix('.csv')}" in text or f"Error: --json {target}" in text
    assert "Traceback" not in result.output
