"""`ganrestore eval`, run as a user runs it: options, tables, files, errors and exit codes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.metrics import structural_similarity
from typer.testing import CliRunner

from ganrestore.cli.app import app

from .inference.conftest import save_tiny_run

TIMINGS = {"seconds_per_image", "megapixels_per_second"}


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    """Two 64×64 RGB photos and a gray one."""
    folder = tmp_path / "clean"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()[40:104, 160:224]).save(folder / "astronaut.png")
    Image.fromarray(skimage.data.chelsea()[60:124, 150:214]).save(folder / "chelsea.png")
    Image.fromarray(skimage.data.camera()[100:164, 200:264]).save(folder / "camera.png")
    return folder


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["eval", *map(str, args)], env={"COLUMNS": "160"})


def means(path: Path) -> dict:
    data = json.loads(path.read_text())
    data["results"] = [{k: v for k, v in r.items() if k not in TIMINGS} for r in data["results"]]
    data.pop("per_image_csv", None)
    return data


def test_help_lists_both_modes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option in (
        "--data",
        "--model",
        "--sigma",
        "--mask-kind",
        "--masks",
        "--restored",
        "--reference",
        "--json",
        "--csv",
        "--grid",
        "--save-outputs",
        "--seed",
    ):
        assert option in text
    assert "baseline:NAME" in text


def test_denoise_eval_prints_a_table_and_writes_identical_json_twice(clean, tmp_path) -> None:
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "15,50"]
    first = invoke(*args, "--json", tmp_path / "a.json")
    assert first.exit_code == 0, first.output
    assert "sigma15" in first.output and "sigma50" in first.output and "tv" in first.output
    second = invoke(*args, "--json", tmp_path / "b.json", "--csv", tmp_path / "b.csv")
    assert second.exit_code == 0, second.output
    assert means(tmp_path / "a.json") == means(tmp_path / "b.json")
    assert (tmp_path / "a.csv").read_text().count("\n") == 1 + 2 * 2 * 3  # beside --json
    data = json.loads((tmp_path / "a.json").read_text())
    assert [r["model"] for r in data["results"]] == ["input", "tv", "input", "tv"]
    if data["lpips"] is None:  # no AlexNet weights here: a reason, never a number
        assert "LPIPS unavailable" in first.output
        assert all(r["lpips"] is None and r["lpips_unavailable"] for r in data["results"])
    else:
        assert all(isinstance(r["lpips"], float) for r in data["results"])
    assert data["task"] == "denoise" and data["conditions"] == ["sigma15", "sigma50"]


def test_an_unreadable_image_is_skipped_and_said_and_the_rest_is_scored(clean, tmp_path) -> None:
    (clean / "broken.png").write_bytes(b"not a PNG at all")
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "15"]
    result = invoke(*args, "--json", tmp_path / "a.json")
    said = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert said.count("broken.png") == 1
    assert "1 image(s) skipped; the scores are over the rest" in said
    data = json.loads((tmp_path / "a.json").read_text())
    assert data["images"] == 3  # the three readable ones
    assert len(data["skipped"]) == 1 and "broken.png" in data["skipped"][0]


def test_what_data_holds_besides_images_is_named_as_not_scored(clean, tmp_path) -> None:
    Image.fromarray(skimage.data.camera()[:64, :64]).save(clean / "anim.gif")
    (clean / "later").mkdir()
    (clean / "notes.txt").write_text("not an image")
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "15"]
    result = invoke(*args)
    said = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert f"not scored: {clean / 'anim.gif'}: GIF image: not supported; convert it" in said
    assert f"not scored: {clean / 'later'}: sub-folder: eval scores the images of" in said
    assert "notes.txt" not in said


def test_a_folder_of_only_unreadable_images_is_an_error_naming_them(tmp_path) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a PNG")
    result = invoke("--task", "denoise", "--data", folder, "--model", "baseline:tv")
    said = " ".join(result.output.split())
    assert (
        result.exit_code == 2
        and "none of its 1 images could be read and scored" in said
        and "a.png" in said
    )
    assert "Traceback" not in result.output


def test_an_image_above_max_pixels_is_named_with_what_to_do(clean, tmp_path) -> None:
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "15"]
    result = invoke(*args, "--max-pixels", "100")
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "is not decoded" in said and "--max-pixels" in said
    assert "Traceback" not in result.output
    assert invoke(*args, "--max-pixels", "0").exit_code == 0  # no limit


def test_restored_and_reference_agree_with_an_independent_computation(clean, tmp_path) -> None:
    restored = tmp_path / "restored"
    restored.mkdir()
    for path in clean.iterdir():  # any restoration will do: a blur, saved as real files
        image = np.asarray(Image.open(path))
        Image.fromarray(cv2.GaussianBlur(image, (5, 5), 1.2)).save(restored / path.name)
    result = invoke("--restored", restored, "--reference", clean, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "s.csv").read_text().splitlines()[1:]
    assert len(rows) == 3
    for row in rows:
        _, _, name, psnr, ssim, *_ = row.split(",")
        reference = np.asarray(Image.open(clean / name)).astype(np.float64)
        output = np.asarray(Image.open(restored / name)).astype(np.float64)
        expected_psnr = 10 * math.log10(255**2 / np.mean((output - reference) ** 2))
        assert float(psnr) == pytest.approx(expected_psnr, abs=0.01)
        axis = -1 if reference.ndim == 3 else None
        expected_ssim = structural_similarity(reference, output, channel_axis=axis, data_range=255)
        assert float(ssim) == pytest.approx(expected_ssim, abs=1e-4)
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["mode"] == "restored" and data["results"][0]["images"] == 3


@pytest.mark.slow  # the bundled denoiser over 8 views
def test_self_ensemble_scores_the_bundled_denoiser_over_8_views_as_its_own_row(
    clean, tmp_path
) -> None:
    args = ["--data", clean, "--model", "denoise", "--model", "baseline:tv", "--sigma", "25"]
    plain = invoke(*args, "--json", tmp_path / "plain.json")
    ensembled = invoke(*args, "--self-ensemble", "--json", tmp_path / "x8.json")
    assert plain.exit_code == 0 and ensembled.exit_code == 0, plain.output + ensembled.output
    rows = {
        r["model"]: r
        for name in ("plain", "x8")
        for r in json.loads((tmp_path / f"{name}.json").read_text())["results"]
    }
    assert set(rows) == {"input", "denoise", "denoise+x8", "tv"}  # baselines run as they are
    assert "denoise+x8" in ensembled.output
    assert rows["denoise+x8"]["psnr"] > rows["denoise"]["psnr"]


def test_inpaint_compares_a_run_with_every_baseline_and_draws_a_grid(clean, tmp_path) -> None:
    run = save_tiny_run(tmp_path / "run", "inpaint")
    result = invoke(
        "--data",
        clean,
        "--model",
        run,
        "--model",
        "baselines",
        "--mask-kind",
        "free",
        "--grid",
        tmp_path / "grid.png",
        "--json",
        tmp_path / "i.json",
        "--no-lpips",
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "i.json").read_text())
    assert data["task"] == "inpaint"  # taken from the run
    labels = [r["model"] for r in data["results"]]
    assert labels == ["input", run.as_posix(), "biharmonic", "fsr_fast", "ns", "shiftmap", "telea"]
    assert all(r["psnr_hole"] is not None for r in data["results"])
    assert all(len([r[f"detail_{level}"] for level in range(3)]) == 3 for r in data["results"])
    assert data["results"][0]["detail_0"] == 0  # the input's holes are flat grey
    assert "detail 0/1/2" in result.output
    assert Image.open(tmp_path / "grid.png").width == 8 * 192
    assert f"picture: {tmp_path / 'grid.png'}" in " ".join(result.output.split())

    smooth = invoke(
        "--data", clean, "--model", run, "--json", tmp_path / "s.json", "--no-lpips", "--no-texture"
    )
    assert smooth.exit_code == 0, smooth.output
    labels = [r["model"] for r in json.loads((tmp_path / "s.json").read_text())["results"]]
    assert labels == ["input", run.as_posix() + "+smooth"] * 2  # box and free


def test_jpeg_and_shot_noise_sets_sit_beside_the_gaussian_one(clean, tmp_path) -> None:
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "25"]
    result = invoke(*args, "--jpeg", "none,90", "--peak", "none,30", "--json", tmp_path / "a.json")
    assert result.exit_code == 0, result.output
    conditions = json.loads((tmp_path / "a.json").read_text())["conditions"]
    assert conditions == ["sigma25", "sigma25_jpeg90", "sigma25_peak30", "sigma25_peak30_jpeg90"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{clean}"], "pass --model"),
        (["--model", "baseline:tv"], "pass --data"),
        (["--data", "{clean}", "--model", "baselines"], "needs --task"),
        (
            ["--data", "{clean}", "--model", "baseline:telea", "--sigma", "25"],
            "--sigma adds noise, but the inpaint task fills holes",
        ),
        (
            ["--data", "{clean}", "--model", "baseline:tv", "--mask-kind", "box"],
            "--mask-kind make holes",
        ),
        (["--data", "{clean}", "--model", "baseline:tv", "--sigma", "a,b"], "--sigma a,b"),
        (["--data", "{clean}", "--model", "baseline:tv", "--jpeg", "90.5"], "whole numbers"),
        (["--data", "{clean}", "--model", "baseline:tv", "--jpeg", "100"], "--jpeg"),
        (["--data", "{clean}", "--model", "baseline:telea", "--peak", "30"], "--peak adds noise"),
        (
            ["--task", "inpaint", "--data", "{clean}", "--model", "baseline:tv"],
            "made for denoise, but --task is inpaint",
        ),
        (["--data", "{clean}", "--model", "baseline:nope"], "unknown baseline 'nope'"),
        (["--data", "{clean}", "--model", "denoise"], "bundled 'denoise' model is not installed"),
        (["--restored", "{clean}"], "go together"),
        (["--restored", "{clean}", "--reference", "{clean}", "--sigma", "5"], "only scores"),
        (["--restored", "{clean}", "--reference", "{clean}", "--self-ensemble"], "only scores"),
        (["--restored", "{clean}", "--reference", "{clean}", "--precision", "bf16"], "only scores"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(clean, args, message, tmp_path, monkeypatch) -> None:
    from ganrestore.modelfile import source

    monkeypatch.setattr(source, "WEIGHTS_DIR", tmp_path)  # as if the weights were not installed
    result = invoke(*[a.format(clean=clean) for a in args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_grid_and_save_outputs_that_cannot_be_written_are_refused_before_scoring(
    clean, tmp_path
) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("mine")
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "15"]
    for option, path, message in (
        ("--grid", a_file / "grid.png", "is a file, not a folder"),
        ("--save-outputs", a_file, "is a file, not a folder"),
        ("--grid", tmp_path, "is a folder"),
    ):
        result = invoke(*args, option, path)
        said = " ".join(result.output.split())
        assert result.exit_code == 2 and f"{option} {path}" in said and message in said, said
        assert "Traceback" not in result.output and "[1/" not in said  # nothing scored
    assert a_file.read_text() == "mine"


def test_existing_files_are_refused_before_scoring_and_replaced_only_with_overwrite(
    clean, tmp_path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.csv").write_text("my notes")  # the CSV that --json would write beside it
    (mine / "photo.png").write_bytes((clean / "astronaut.png").read_bytes())
    kept = tmp_path / "saved"
    kept.mkdir()
    (kept / "readme.txt").write_text("mine too")
    args = ["--task", "denoise", "--data", clean, "--model", "baseline:tv", "--sigma", "15"]
    for option, path, message in (
        ("--json", mine / "notes.json", "--csv (beside --json) " + str(mine / "notes.csv")),
        ("--csv", mine / "photo.png", f"--csv {mine / 'photo.png'}: the file exists"),
        ("--grid", mine / "photo.png", f"--grid {mine / 'photo.png'}: the file exists"),
        ("--save-outputs", kept, f"--save-outputs {kept}: the folder is not empty"),
    ):
        result = invoke(*args, option, path)
        said = " ".join(result.output.split())
        assert result.exit_code == 2 and message in said and "--overwrite" in said, said
        assert "[1/" not in said  # refused before anything is scored
    assert (mine / "notes.csv").read_text() == "my notes"
    assert (mine / "photo.png").read_bytes() == (clean / "astronaut.png").read_bytes()

    replaced = invoke(*args, "--json", mine / "notes.json", "--save-outputs", kept, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert (mine / "notes.csv").read_text().startswith("model,condition,image,")
    assert (kept / "readme.txt").read_text() == "mine too"  # not a file eval writes
