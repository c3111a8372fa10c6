"""`ganrestore train` as a user meets it: layouts, ready configs by name, devices, the plan."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from ganrestore import modelfile
from ganrestore.config import load_config
from ganrestore.devices import resolve_device
from ganrestore.engine.distributed import ProcessContext
from ganrestore.engine.reporting import StepTimer, plan_message
from ganrestore.engine.trainer import Trainer
from ganrestore.errors import GanrestoreError

from .conftest import train_cli

SAMPLES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick")
TINY_NETWORKS = (
    "--set", "generator.name=unet",
    "--set", "generator.params={ depth = 3, base_channels = 8 }",
    "--set", "discriminator.params={ width = 8, n_layers = 2 }",
    "--set", "data.crop=32", "--set", "data.val_size=32", "--set", "data.batch_size=2",
    "--set", "data.workers=0", "--set", "data.val_images=2",
)  # fmt: skip


def crops(size: tuple[int, int] = (72, 80)) -> list[np.ndarray]:
    """Crops of scikit-image's sample photos, ``size`` = (height, width)."""
    height, width = size
    return [
        np.asarray(getattr(skimage.data, name)())[100 : 100 + height, 100 : 100 + width]
        for name in SAMPLES
    ]


@pytest.mark.slow
def test_inpaint_trains_on_a_plain_folder_of_photos_and_names_what_it_ignored(
    tmp_path: Path, tiny_config
) -> None:
    photos = tmp_path / "photos"
    (photos / "thumbs").mkdir(parents=True)
    for name, image in zip(SAMPLES, crops(), strict=True):
        Image.fromarray(image).save(photos / f"{name}.jpg", quality=95)
    for name, image in zip(SAMPLES[:2], crops((20, 20))[:2], strict=True):
        Image.fromarray(image).save(photos / "thumbs" / f"{name}.png")

    result = train_cli(
        "inpaint", "--data", str(photos), "--out", str(tmp_path / "run"),
        "--config", str(tiny_config("inpaint", steps=2, validate_every=2, checkpoint_every=2)),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"data: 6 clean photos in {photos} (plain folder); holes are drawn on the fly" in said
    assert f"ignored: {photos / 'thumbs'} (2 images)" in said
    assert modelfile.latest_checkpoint(tmp_path / "run").name == "step-00000002"


@pytest.mark.parametrize(("weight", "said"), [(0.0, "(no discriminator"), (0.5, " + patchgan")])
def test_the_banner_names_a_discriminator_only_when_one_is_trained(
    photo_folder: Path, tmp_path: Path, tiny_config, weight: float, said: str
) -> None:
    config = tiny_config("denoise", steps=1, validate_every=1, checkpoint_every=1)
    run = tmp_path / "run"
    result = train_cli(
        "denoise", "--data", str(photo_folder), "--out", str(run), "--config", str(config),
        "--set", f"loss.adversarial_weight={weight}", "--set", "discriminator.name=patchgan",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert said in " ".join(result.output.split())
    saved = modelfile.latest_checkpoint(run) / modelfile.DISCRIMINATOR
    assert saved.is_file() == (weight > 0)


def test_denoise_trains_on_pix2pix_side_by_side_pairs(tmp_path: Path, tiny_config) -> None:
    root = tmp_path / "facades"
    for split, images in (("train", crops((40, 40))[:5]), ("val", crops((40, 40))[5:])):
        (root / split).mkdir(parents=True)
        for i, photo in enumerate(images):
            noisy = np.clip(photo + np.random.default_rng(i).normal(0, 25, photo.shape), 0, 255)
            pair = np.concatenate([noisy.astype(np.uint8), photo], axis=1)  # A | B, 40 x 80
            Image.fromarray(pair).save(root / split / f"{i}.png")
    config = load_config("denoise", tiny_config(steps=2, validate_every=2, checkpoint_every=2))

    trainer = Trainer(config, root, tmp_path / "run", ProcessContext(torch.device("cpu")))
    summary = trainer.fit()

    assert trainer.layout.paired and len(trainer.layout.train) == 5
    assert {sample.clean_half for sample in trainer.layout.train} == {"right"}
    assert summary.end_step == 2
    assert summary.validation["input_psnr"] < 25  # the A halves are the noisy inputs


@pytest.mark.slow
def test_a_ready_config_is_found_by_name_from_any_folder(
    photo_folder: Path, tmp_path: Path, run_cli
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = run_cli(
        "train", "denoise", "--data", str(photo_folder), "--config", "pix2pix",
        "--out", str(tmp_path / "run"), "--steps", "1", "--device", "cpu",
        "--set", "generator.params.depth=3", "--set", "generator.params.base_channels=8",
        "--set", "discriminator.params.width=8", "--set", "data.crop=32",
        "--set", "data.val_size=32", "--set", "data.val_images=1", "--set", "data.workers=0",
        cwd=elsewhere,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["loss"]["adversarial"] == "vanilla" and saved["data"]["batch_size"] == 1
    assert saved["generator"]["params"]["norm"] == "batch"  # pix2pix's, kept beside the --set


def test_device_mps_is_accepted_as_apply_accepts_it(photo_folder: Path, tmp_path: Path) -> None:
    if torch.backends.mps.is_available():
        assert resolve_device("mps") == torch.device("mps")
        return
    with pytest.raises(GanrestoreError, match=r"no Apple GPU \(MPS\) is visible"):
        resolve_device("mps")
    result = train_cli(
        "denoise", "--data", str(photo_folder), "--out", str(tmp_path / "run"), "--device", "mps"
    )
    assert result.exit_code == 2
    assert (
        "no Apple GPU (MPS) is visible" in result.output and "must be one of" not in result.output
    )


def test_the_plan_comes_after_a_few_timed_steps_with_a_hint_on_a_cpu() -> None:
    timer = StepTimer(steps=3)
    timed = [timer.add(seconds) for seconds in (9.0, 1.0, 2.0, 3.0, 5.0)]
    assert timed == [None, None, None, 2.0, None]  # the warm-up step is left out

    on_cpu = plan_message(4, 40_000, 1.92, "cpu", default_steps=True)
    assert on_cpu[0].startswith("plan: steps 4->40000 at 1.92 s/step on cpu: about 21 h 19 min")
    assert on_cpu[1].startswith("hint: 40000 steps is the ready config's full schedule")
    assert "--steps 2000 first (about 1 h 4 min here)" in on_cpu[1]
    assert len(plan_message(4, 40_000, 1.92, "cpu", default_steps=False)) == 1
    far = plan_message(0, 10**12, 1.6, "cpu", default_steps=False)[0]  # no date overflow
    assert "(until over a century)" in far
    assert "(until 19 days from now)" in plan_message(0, 10**6, 1.6, "cpu", default_steps=False)[0]
    assert len(plan_message(4, 40_000, 0.05, "cuda", default_steps=True)) == 1


@pytest.mark.slow
def test_train_with_the_default_steps_on_a_cpu_shows_the_plan_and_the_hint(
    photo_folder: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    command = [sys.executable, "-m", "ganrestore", "train", "inpaint", "--data", str(photo_folder),
               "--out", str(run), "--device", "cpu", *TINY_NETWORKS]  # fmt: skip
    env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("hint:"):
            process.send_signal(signal.SIGINT)  # finish the step, save, stop
            break
    rest = process.communicate(timeout=300)[1]
    said = " ".join((" ".join(lines) + rest).split())

    assert process.returncode == 130, said  # saved, but not finished
    assert "plan: steps 6->40000 at " in said and "s/step on cpu: about " in said
    assert "hint: 40000 steps is the ready config's full schedule" in said
    assert "interrupted: saved step" in said and modelfile.latest_checkpoint(run) is not None


def test_an_out_that_cannot_be_created_is_one_line_not_a_traceback(
    photo_folder: Path, tmp_path: Path
) -> None:
    a_file = tmp_path / "afile"
    a_file.write_text("mine")
    result = train_cli("denoise", "--data", photo_folder, "--out", a_file / "run", *TINY_NETWORKS,
                       "--steps", "2")  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"--out {a_file / 'run'}: cannot write the run" in said
    assert "Traceback" not in result.output and a_file.read_text() == "mine"


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--set", "generator.params.scale=2"], "generator 'upnet' returns 3 channel(s) of 64x64"),
        (["--set", "generator.name=unet", "--set", "generator.params.depth=3"], "'unet' returns"),
    ],
)
def test_a_generator_that_does_not_upscale_by_the_task_scale_is_refused_before_the_run(
    photo_folder: Path, tmp_path: Path, options: list[str], named: str
) -> None:
    run = tmp_path / "run"
    result = train_cli("upscale-x4", "--data", photo_folder, "--out", run, "--steps", "2",
                       "--set", "data.workers=0", *options)  # fmt: skip
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and named in said, said
    assert "the task upscale-x4 needs 3 of 128x128" in said and "Traceback" not in said
    assert not run.exists()


def _no_file_over_64_kb() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))  # as a full disk fails a write


@pytest.mark.slow  # a real process: the start-up imports torch
def test_a_disk_that_refuses_a_checkpoint_stops_the_run_with_a_message(
    photo_folder: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "ganrestore", "train", "denoise", "--data", str(photo_folder),
         "--out", str(run), *TINY_NETWORKS, "--steps", "4",
         "--set", "checkpoint_every=2", "--set", "validate_every=2"],
        capture_output=True, text=True, timeout=300, preexec_fn=_no_file_over_64_kb,
    )  # fmt: skip
    said = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr
    assert "the checkpoint of step 2 could not be written" in said and "--resume" in said
    assert "Traceback" not in result.stderr
    left = [p.name for p in (run / "checkpoints").rglob("*") if p.name.endswith(".tmp")]
    assert left == []  # nothing half-written


def test_without_out_a_run_started_in_the_same_second_gets_the_next_free_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ganrestore.cli import train

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train.time, "strftime", lambda _: "20261208-024731")
    first = train._run_dir(None, "denoise", resume=False)
    assert first == Path("runs/denoise-20261208-024731")
    first.mkdir(parents=True)
    second = train._run_dir(None, "denoise", resume=False)
    assert second == Path("runs/denoise-20261208-024731-2")


def test_a_second_ctrl_c_says_what_was_kept_and_how_to_go_on(
    photo_folder: Path, tiny_config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ganrestore.cli.train import _say_stopped_at_once

    run = tmp_path / "run"
    resume = f"ganrestore train denoise --data {photo_folder} --out {run} --resume"
    _say_stopped_at_once(run, resume)
    assert "holds no checkpoint yet, so nothing was kept" in capsys.readouterr().err
    result = train_cli("denoise", "--data", photo_folder, "--out", run, "--config",
                       tiny_config("denoise"), "--steps", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    capsys.readouterr()
    _say_stopped_at_once(run, resume)
    said = " ".join(capsys.readouterr().err.split())
    assert said == (
        f"stopped at once: the steps after step-00000002 are lost; continue from it with "
        f"ganrestore train denoise --data {photo_folder} --out {run} --resume"
    )
