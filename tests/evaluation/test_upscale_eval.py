"""Evaluating upscaling models: the task owns the protocol. The photo is cut to a multiple of the
scale, the input is its bicubic downscale, every output is compared with the cut photo inside a
border of the scale, the detail ratio is taken over the whole image, and pictures and saved files
show the input at the outputs' size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from typer.testing import CliRunner

import ganrestore
from ganrestore.cli.app import app
from ganrestore.data.io import ImageTooLargeError
from ganrestore.engine.checkpoint import save_checkpoint
from ganrestore.evaluation import EvalSettings, evaluate, resolve_models, task_condition
from ganrestore.evaluation.metrics import psnr
from ganrestore.evaluation.report import folder_name
from ganrestore.modelfile import (
    GENERATOR,
    GENERATOR_RAW,
    ModelRecord,
    NetworkRecord,
    TrainingSummary,
)
from ganrestore.models.networks import build_generator
from ganrestore.registry import GENERATORS
from ganrestore.tasks.upscale import bicubic_downscale, bicubic_upscale

#: Sides that are no multiple of 4 (nor of 2 for the chelsea crop's height): the task cuts them.
PHOTOS = {
    "astronaut": lambda: skimage.data.astronaut()[40:110, 160:226],  # 70 x 66
    "chelsea": lambda: skimage.data.chelsea()[60:125, 150:214],  # 65 x 64
}


def quiet(message: str) -> None:
    pass


def save_upscale_run(run_dir: Path, scale: int, seed: int = 0) -> Path:
    """A checkpoint of a tiny ``upnet`` saved as the trainer saves one, its last convolution
    made non-zero (seeded) so that it adds detail of its own to its bicubic base."""
    params = {"scale": scale, "width": 8, "blocks": 1}
    torch.manual_seed(seed)
    generator = build_generator("upnet", 3, 3, **params)
    with torch.no_grad():
        for parameter in generator.upsample.parameters():
            parameter.normal_(0.0, 0.02)
    state = generator.state_dict()
    record = ModelRecord(
        f"upscale-x{scale}",
        NetworkRecord.of_plugin(GENERATORS, "upnet", params),
        training=TrainingSummary(
            ema=False, ganrestore_version=ganrestore.__version__, torch_version=torch.__version__
        ),
    )
    save_checkpoint(run_dir, 10, {GENERATOR: state, GENERATOR_RAW: state}, {}, record)
    return run_dir


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Two real photos whose sides are not multiples of the scale."""
    folder = tmp_path / "clean"
    folder.mkdir()
    for name, crop in PHOTOS.items():
        Image.fromarray(np.ascontiguousarray(crop())).save(folder / f"{name}.png")
    return folder


def test_a_network_and_both_baselines_are_scored_on_the_cut_photo(photos, tmp_path) -> None:
    run = save_upscale_run(tmp_path / "run", 4)
    models = resolve_models([str(run), "baselines"], "upscale-x4", "cpu").models
    assert [m.label for m in models] == [run.as_posix(), "bicubic", "lanczos"]
    settings = EvalSettings("upscale-x4", photos, [task_condition("upscale-x4")], lpips=False)
    report = evaluate(settings, models, quiet)
    rows = {row.model: row for row in report.summary()}
    assert set(rows) == {"input", run.as_posix(), "bicubic", "lanczos"}
    for row in rows.values():
        assert row.images == 2 and 20 < row.psnr < 40 and 0.5 < row.ssim < 1
        assert 0 < row.detail_0 < 1.5 and row.detail_1 is None and row.psnr_hole is None
    assert rows[run.as_posix()].psnr != pytest.approx(rows["input"].psnr, abs=1e-3)
    sizes = {s.image: s.megapixels for s in report.scores if s.model == "bicubic"}
    assert sizes == {"astronaut.png": 68 * 64 / 1e6, "chelsea.png": 64 * 64 / 1e6}
    data = report.to_json()["results"][0]
    assert "detail_0" in data and "detail_1" not in data and "psnr_hole" not in data


def test_the_input_row_is_the_bicubic_upscale_of_the_input_inside_the_border(photos) -> None:
    settings = EvalSettings("upscale-x2", photos, [task_condition("upscale-x2")], lpips=False)
    report = evaluate(settings, [], quiet)
    clean = np.asarray(Image.open(photos / "chelsea.png"))[:64, :64]
    small = bicubic_downscale(clean / 255.0, 2)
    shown = bicubic_upscale(torch.from_numpy(small).permute(2, 0, 1)[None], 2)
    shown = np.rint(shown[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    expected = psnr(shown[2:-2, 2:-2], clean[2:-2, 2:-2])
    score = next(s for s in report.scores if s.image == "chelsea.png")
    assert score.model == "input" and score.psnr == pytest.approx(expected, abs=1e-9)


def test_max_pixels_counts_the_outputs_not_the_small_inputs(photos) -> None:
    """The references are the outputs' size: a limit below them stops the run, although the
    inputs the network gets are 16 times smaller."""
    condition = [task_condition("upscale-x4")]
    within = EvalSettings("upscale-x4", photos, condition, lpips=False, max_pixels=70 * 66)
    assert evaluate(within, [], quiet).scores
    below = EvalSettings("upscale-x4", photos, condition, lpips=False, max_pixels=70 * 66 - 1)
    with pytest.raises(ImageTooLargeError, match=r"astronaut\.png is not decoded: 66x70"):
        evaluate(below, [], quiet)


def invoke(*args: str | Path):
    return CliRunner().invoke(app, ["eval", *map(str, args)], env={"COLUMNS": "160"})


def test_cli_eval_of_an_upscale_run_and_the_baselines_prints_the_table_and_saves_pictures(
    photos, tmp_path
) -> None:
    run = save_upscale_run(tmp_path / "run", 2)
    saved, grid = tmp_path / "saved", tmp_path / "grid.png"
    result = invoke(
        "--data", photos, "--model", run, "--model", "baselines", "--no-lpips",
        "--json", tmp_path / "m.json", "--save-outputs", saved, "--grid", grid,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "PSNR dB" in line)
    assert "SSIM" in header and "detail" in header and "holes" not in header
    table = [line for line in result.output.splitlines() if "│ upscale-x2" in line]
    assert len(table) == 4  # input, the run, bicubic, lanczos
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["task"] == "upscale-x2" and data["conditions"] == ["upscale-x2"]  # from the run
    assert [r["model"] for r in data["results"]] == ["input", run.as_posix(), "bicubic", "lanczos"]
    assert all(r["psnr"] > 20 and r["ssim"] > 0.5 and r["detail_0"] > 0 for r in data["results"])
    for name, (height, width) in {"astronaut": (70, 66), "chelsea": (64, 64)}.items():
        assert Image.open(saved / "degraded" / "upscale-x2" / f"{name}.png").size == (
            width // 2,
            height // 2,
        )
        for folder in ("input", "bicubic", "lanczos", folder_name(run.as_posix())):
            output = Image.open(saved / folder / "upscale-x2" / f"{name}.png")
            assert output.size == (width, height), folder
    assert Image.open(grid).width == 5 * 192  # input at the outputs' size | 3 models | truth


def test_saved_outputs_scored_with_the_task_score_as_its_eval_does(photos, tmp_path) -> None:
    run = save_upscale_run(tmp_path / "run", 2)
    saved = tmp_path / "saved"
    evaluated = invoke(
        "--data", photos, "--model", run, "--no-lpips", "--json", tmp_path / "eval.json",
        "--save-outputs", saved,
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.output
    outputs = saved / folder_name(run.as_posix()) / "upscale-x2"

    scored = invoke(
        "--restored", outputs, "--reference", photos, "--task", "upscale-x2", "--no-lpips",
        "--json", tmp_path / "scored.json",
    )  # fmt: skip
    plain = invoke("--restored", outputs, "--reference", photos, "--no-lpips")

    assert scored.exit_code == 0, scored.output
    by_eval = json.loads((tmp_path / "eval.json").read_text())["results"][1]
    scored_json = json.loads((tmp_path / "scored.json").read_text())
    assert scored_json["mode"] == "restored" and scored_json["task"] == "upscale-x2"
    by_score = scored_json["results"][0]
    assert by_score["psnr"] == pytest.approx(by_eval["psnr"], abs=1e-6)
    assert by_score["detail_0"] == pytest.approx(by_eval["detail_0"], abs=1e-6)
    # Without the task the reference with odd rows does not fit its output: named and skipped.
    said = " ".join(plain.output.split())
    assert plain.exit_code == 0 and "chelsea.png: 64x64 with 3 channel(s) but its reference" in said
    assert "(an upscaling task's outputs: pass --task)" in said and "1 image(s) skipped" in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "baseline:bicubic"], "made for upscale-x2 and upscale-x4: pass --task"),
        (
            ["--task", "denoise", "--model", "baseline:lanczos"],
            "baseline:lanczos is made for upscale-x2 and upscale-x4, but --task is denoise",
        ),
        (
            ["--task", "upscale-x4", "--model", "baseline:bicubic", "--sigma", "25"],
            "--sigma: the upscale-x4 task degrades images its own way",
        ),
        (
            ["--task", "upscale-x4", "--model", "baseline:tv"],
            "made for denoise, but --task is upscale-x4",
        ),
        (["--model", "baselines"], "--model baselines needs --task, one of: denoise, inpaint"),
    ],
)
def test_usage_errors_of_upscale_evaluation_are_one_line(photos, args, message) -> None:
    result = invoke("--data", photos, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output
