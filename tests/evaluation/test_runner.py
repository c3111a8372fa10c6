"""The evaluation loop on real files: determinism, saved outputs, rescoring, masks, the grid."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from ganrestore.errors import GanrestoreError
from ganrestore.evaluation import (
    EvalSettings,
    evaluate,
    mask_condition,
    noise_condition,
    resolve_models,
    score_folders,
    task_condition,
)
from ganrestore.evaluation.degrade import Condition
from ganrestore.evaluation.report import write_csv, write_json
from ganrestore.inference import ModelNotFoundError

from ..inference.conftest import save_tiny_run
from .conftest import SIZE, box_holes

TIMINGS = {"seconds_per_image", "megapixels_per_second"}


def quiet(message: str) -> None:
    pass


def without_timings(report) -> dict:
    data = report.to_json()
    data["results"] = [
        {k: v for k, v in row.items() if k not in TIMINGS} for row in data["results"]
    ]
    return data


def denoise_settings(clean_dir: Path, **changes) -> EvalSettings:
    conditions = [noise_condition(15), noise_condition(50)]
    return EvalSettings("denoise", clean_dir, conditions, seed=0, lpips=False, **changes)


@pytest.fixture(scope="module")
def denoise_models():
    return resolve_models(["baseline:tv", "baseline:nlm"], "denoise", "cpu").models


def test_every_model_and_condition_is_scored_with_the_input_row(clean_dir, denoise_models) -> None:
    report = evaluate(denoise_settings(clean_dir), denoise_models, quiet)
    rows = {(row.model, row.condition): row for row in report.summary()}
    assert set(rows) == {(m, c) for m in ("input", "tv", "nlm") for c in ("sigma15", "sigma50")}
    assert len(report.scores) == 3 * 2 * 3
    for condition in ("sigma15", "sigma50"):
        assert rows[("tv", condition)].psnr > rows[("input", condition)].psnr
        assert rows[("tv", condition)].images == 3
        assert rows[("tv", condition)].seconds_per_image > 0
    assert rows[("input", "sigma15")].psnr > rows[("input", "sigma50")].psnr
    assert rows[("input", "sigma15")].seconds_per_image is None


def test_two_runs_give_identical_numbers(clean_dir, denoise_models) -> None:
    first = evaluate(denoise_settings(clean_dir), denoise_models, quiet)
    second = evaluate(denoise_settings(clean_dir), denoise_models, quiet)
    assert without_timings(first) == without_timings(second)
    assert [(s.psnr, s.ssim) for s in first.scores] == [(s.psnr, s.ssim) for s in second.scores]


def test_saved_outputs_rescored_from_disk_agree_with_an_independent_computation(
    clean_dir, denoise_models, tmp_path
) -> None:
    saved = tmp_path / "saved"
    report = evaluate(denoise_settings(clean_dir, save_outputs=saved), denoise_models, quiet)
    assert sorted(p.name for p in saved.iterdir()) == ["degraded", "nlm", "tv"]
    in_memory = {s.image: s for s in report.scores if s.model == "tv" and s.condition == "sigma50"}
    rescored = score_folders(saved / "tv" / "sigma50", clean_dir, lpips=False, log=quiet)
    assert len(rescored.scores) == 3
    for score in rescored.scores:
        assert score.psnr == pytest.approx(in_memory[score.image].psnr, abs=1e-9)
        reference = np.asarray(Image.open(clean_dir / score.image))
        restored = np.asarray(Image.open(saved / "tv" / "sigma50" / score.image))
        mse = np.mean((restored.astype(np.float64) - reference.astype(np.float64)) ** 2)
        assert score.psnr == pytest.approx(10 * math.log10(255**2 / mse), abs=0.01)
        axis = -1 if reference.ndim == 3 else None
        expected = structural_similarity(reference, restored, channel_axis=axis, data_range=255)
        assert score.ssim == pytest.approx(expected, abs=1e-6)


def test_inpainting_with_a_network_and_a_baseline_scores_holes(clean_dir, tmp_path) -> None:
    run = save_tiny_run(tmp_path / "run", "inpaint")
    models = resolve_models([str(run), "baseline:telea"], "inpaint", "cpu").models
    settings = EvalSettings(
        "inpaint",
        clean_dir,
        [mask_condition("box"), mask_condition("free")],
        lpips=False,
        save_outputs=tmp_path / "saved",
        grid=tmp_path / "grid.png",
    )
    report = evaluate(settings, models, quiet)
    for score in report.scores:
        assert score.psnr_hole is not None and score.psnr_hole < score.psnr
    masks = sorted((tmp_path / "saved" / "masks" / "box").iterdir())
    assert [p.name for p in masks] == ["astronaut.png", "camera.png", "coffee.png"]
    grid = Image.open(tmp_path / "grid.png")
    assert grid.width == 4 * 192  # degraded | network | telea | reference
    assert grid.height > 6 * 192  # a row per image and condition, plus labels


def test_masks_from_a_folder_are_matched_by_stem_and_a_missing_one_is_named(
    clean_dir, tmp_path
) -> None:
    masks = tmp_path / "masks"
    masks.mkdir()
    for stem in ("astronaut", "coffee"):
        Image.fromarray(box_holes().astype(np.uint8) * 255).save(masks / f"{stem}.png")
    models = resolve_models(["baseline:ns"], "inpaint", "cpu").models
    condition = Condition(name="masks", masks_dir=masks)
    settings = EvalSettings("inpaint", clean_dir, [condition], lpips=False)
    with pytest.raises(GanrestoreError, match=r"no mask for camera\.png"):
        evaluate(settings, models, quiet)
    Image.fromarray(box_holes().astype(np.uint8) * 255).save(masks / "camera.jpg")
    report = evaluate(settings, models, quiet)
    assert len(report.scores) == 6 and all(s.psnr_hole is not None for s in report.scores)


def test_csv_and_json_files(clean_dir, denoise_models, tmp_path) -> None:
    report = evaluate(denoise_settings(clean_dir), denoise_models, quiet)
    write_csv(report, tmp_path / "scores.csv")
    write_json(report, tmp_path / "means.json")
    rows = list(csv.DictReader((tmp_path / "scores.csv").open()))
    assert len(rows) == 18 and rows[0]["model"] == "input" and rows[0]["psnr_hole"] == ""
    data = json.loads((tmp_path / "means.json").read_text())
    assert data["mode"] == "degrade" and data["images"] == 3 and data["seed"] == 0
    assert data["lpips"] is None and "--no-lpips" in data["lpips_unavailable"]
    tv = [r for r in data["results"] if r["model"] == "tv"]
    assert len(tv) == 2 and all(r["lpips"] is None and r["lpips_unavailable"] for r in tv)
    assert "psnr_hole" not in tv[0]


def test_score_folders_reports_mismatches_clearly(clean_dir, tmp_path, photos) -> None:
    restored = tmp_path / "restored"
    restored.mkdir()
    with pytest.raises(GanrestoreError, match="share no file stem"):
        score_folders(restored, clean_dir, lpips=False, log=quiet)
    Image.fromarray(photos["coffee"][: SIZE - 8]).save(restored / "coffee.png")
    nothing_fits = r"none of the 1 image\(s\) with a reference .*coffee\.png \(48x40 with 3"
    with pytest.raises(GanrestoreError, match=nothing_fits):
        score_folders(restored, clean_dir, lpips=False, log=quiet)
    Image.fromarray(photos["coffee"]).save(restored / "coffee.png")
    notes: list[str] = []
    report = score_folders(restored, clean_dir, lpips=False, log=notes.append)
    assert report.scores[0].psnr == math.inf and report.to_json()["results"][0]["psnr"] is None
    assert notes == ["2 reference image(s) without a restored, not scored: astronaut, camera"]


def test_a_pair_that_cannot_be_scored_is_named_and_skipped_and_the_rest_scored(
    clean_dir, tmp_path, photos
) -> None:
    restored = tmp_path / "restored"
    restored.mkdir()
    Image.fromarray(photos["coffee"]).save(restored / "coffee.png")
    Image.fromarray(photos["astronaut"][:, :, 0]).save(restored / "astronaut.png")  # gray
    Image.fromarray(photos["camera"][:20]).save(restored / "camera.png")  # not its size
    notes: list[str] = []
    report = score_folders(restored, clean_dir, lpips=False, log=notes.append)
    assert [score.image for score in report.scores] == ["coffee.png"]
    skipped = [note for note in notes if note.startswith("skipped: ")]
    assert len(skipped) == 2 and notes[-1] == "2 image(s) skipped; the scores are over the rest"
    assert f"{restored / 'astronaut.png'}: 48x48 with 1 channel(s) but its reference" in skipped[0]
    assert skipped[0].endswith("score outputs of their reference's size and channels "
                               "(an upscaling task's outputs: pass --task)")  # fmt: skip
    assert len(report.extra["skipped"]) == 2


def test_an_image_too_small_to_score_is_skipped_not_fatal(tmp_path, photos) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    Image.fromarray(photos["coffee"]).save(clean / "coffee.png")
    Image.fromarray(photos["camera"][:9, :12]).save(clean / "tiny.png")  # 9 rows: 2 + 5 + 2
    settings = EvalSettings("upscale-x2", clean, [task_condition("upscale-x2")], lpips=False)
    models = resolve_models(["baseline:bicubic"], "upscale-x2", "cpu").models
    notes: list[str] = []
    report = evaluate(settings, models, log=notes.append)
    assert {score.image for score in report.scores} == {"coffee.png"}
    assert any(
        "tiny.png: 12x9 is too small to score: SSIM needs 7x7 pixels once 2 pixels are cut "
        "from each side" in note
        for note in notes
    ), notes
    assert report.extra["skipped"] == [f"{clean / 'tiny.png'} (12x9 is too small to score: "
                                       "SSIM needs 7x7 pixels once 2 pixels are cut from each "
                                       "side)"]  # fmt: skip


def test_models_resolve_expand_and_refuse_the_wrong_task(tmp_path, monkeypatch) -> None:
    resolved = resolve_models(["baselines", "baseline:tv"], "denoise", "cpu")
    assert [m.label for m in resolved.models] == ["bm3d", "nlm", "tv", "wavelet"]
    assert resolved.models[0].spec == "baseline:bm3d"
    with pytest.raises(GanrestoreError, match="made for inpaint, but --task is denoise"):
        resolve_models(["baseline:telea"], "denoise", "cpu")
    run = save_tiny_run(tmp_path / "run", "denoise")
    with pytest.raises(GanrestoreError, match="denoise model"):
        resolve_models([str(run)], "inpaint", "cpu")
    with pytest.raises(ModelNotFoundError, match="no-such-run"):
        resolve_models(["no-such-run"], "denoise", "cpu")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bm3d" else real(name, *a)
    )
    resolved = resolve_models(["baselines"], "denoise", "cpu")
    assert "bm3d" not in [m.label for m in resolved.models]
    assert any(
        "baseline:bm3d" in note and "ganrestore[baselines]" in note for note in resolved.notes
    )


def test_inpainting_networks_are_scored_on_the_exact_masks_and_that_is_said() -> None:
    from ganrestore.evaluation.models import EXACT_MASKS_NOTE

    resolved = resolve_models(["inpaint", "baselines"], "inpaint", "cpu")
    network = resolved.models[0].restorer
    assert network.settings.grow == 0  # apply grows holes by 2 pixels; eval's masks are exact
    assert resolved.notes.count(EXACT_MASKS_NOTE) == 1
    assert EXACT_MASKS_NOTE not in resolve_models(["denoise"], "denoise", "cpu").notes
