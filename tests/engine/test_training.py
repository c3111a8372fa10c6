"""Training runs end to end, as `ganrestore train` runs them: real folders, real processes.

The refusals (an occupied run folder, nothing to resume, no photos) run the same command in this
process: they do not depend on the start-up of one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganrestore import modelfile
from ganrestore.config import load_config
from ganrestore.engine import checkpoint as ckpt
from ganrestore.engine.distributed import ProcessContext
from ganrestore.engine.trainer import Trainer, TrainingDivergedError
from ganrestore.registry import LOSSES

from .conftest import train_cli


@pytest.mark.slow
@pytest.mark.parametrize("task", ["denoise", "inpaint"])
def test_train_writes_a_complete_run_directory(
    task: str, photo_folder: Path, tiny_config, tmp_path: Path, run_cli
) -> None:
    run = tmp_path / "run"
    result = run_cli(
        "train",
        task,
        "--data",
        str(photo_folder),
        "--config",
        str(tiny_config(task)),
        "--out",
        str(run),
        "--device",
        "cpu",
    )
    assert result.returncode == 0, result.stderr
    latest = modelfile.latest_checkpoint(run)
    assert latest is not None and latest.name == "step-00000006"
    record = modelfile.read_record(latest / modelfile.GENERATOR)  # the model file describes itself
    assert record.step == 6 and record.task == task
    assert record.generator.name == "unet"
    assert record.generator.params["depth"] == 3
    assert record.generator.distribution == "ganrestore"
    assert record.discriminator is not None and record.discriminator.name == "patchgan"
    assert record.training.config["data"]["crop"] == 32
    assert set(record.training.metrics) == {"psnr", "ssim", "input_psnr"}
    for name in (modelfile.GENERATOR_RAW, modelfile.DISCRIMINATOR, ckpt.TRAINING_STATE):
        assert (latest / name).is_file()
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {line["kind"] for line in lines} == {"train", "val"}
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "step-00000003.png",
        "step-00000006.png",
    ]
    assert "training summary" in result.stderr


def _weights(run: Path) -> dict[str, torch.Tensor]:
    latest = modelfile.latest_checkpoint(run)
    assert latest is not None
    return {
        name: modelfile.load_tensors(latest / name)
        for name in (modelfile.GENERATOR, modelfile.GENERATOR_RAW, modelfile.DISCRIMINATOR)
    }


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_to_identical_weights(
    photo_folder: Path, tiny_config, tmp_path: Path, run_cli, monkeypatch
) -> None:
    # Bit for bit needs a fixed split of every sum across threads: MKL may use fewer threads
    # than asked when the machine is busy (MKL_DYNAMIC), which changes the last bits.
    monkeypatch.setenv("MKL_DYNAMIC", "FALSE")
    config = tiny_config("denoise", steps=60, checkpoint_every=10, validate_every=30, workers=1)
    common = ["train", "denoise", "--data", str(photo_folder), "--device", "cpu"]

    straight = tmp_path / "straight"
    result = run_cli(*common, "--config", str(config), "--out", str(straight))
    assert result.returncode == 0, result.stderr

    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ganrestore",
            *common,
            "--config",
            str(config),
            "--out",
            str(killed),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while modelfile.latest_checkpoint(killed) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_at = modelfile.read_record(modelfile.latest_checkpoint(killed)).step
    assert interrupted_at < 60, "the run finished before it could be killed"

    resumed = run_cli(*common, "--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"steps {interrupted_at}->60" in resumed.stderr.replace("\n", " ")
    expected, actual = _weights(straight), _weights(killed)
    for name in expected:
        assert expected[name].keys() == actual[name].keys()
        for key in expected[name]:
            assert torch.equal(expected[name][key], actual[name][key]), f"{name}:{key} differs"


def test_an_existing_run_is_never_overwritten(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    args = ["denoise", "--data", str(photo_folder), "--out", str(run)]
    first = train_cli(*args, "--config", str(tiny_config(steps=3)))
    assert first.exit_code == 0, first.output
    before = (run / "checkpoints" / "step-00000003" / modelfile.GENERATOR).read_bytes()

    again = train_cli(*args, "--config", str(tiny_config(steps=3)))
    assert again.exit_code == 2, again.output
    assert "already holds a training run" in again.stderr and "--resume" in again.stderr
    assert (run / "checkpoints" / "step-00000003" / modelfile.GENERATOR).read_bytes() == before

    longer = train_cli(*args, "--resume", "--steps", "6")
    assert longer.exit_code == 0, longer.output
    assert modelfile.read_record(modelfile.latest_checkpoint(run)).step == 6


def test_resume_without_a_run_is_a_clear_error(photo_folder: Path, tmp_path: Path) -> None:
    result = train_cli(
        "denoise", "--data", str(photo_folder), "--out", str(tmp_path / "empty"), "--resume"
    )
    assert result.exit_code == 2, result.output
    assert "config.json is missing" in result.stderr and "Traceback" not in result.stderr


def test_resume_of_checkpoints_whose_config_was_deleted_says_where_a_copy_is(
    photo_folder: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    (run / "checkpoints" / "step-00000004").mkdir(parents=True)
    result = train_cli("denoise", "--data", str(photo_folder), "--out", str(run), "--resume")
    assert result.exit_code == 2, result.output
    said = " ".join(result.stderr.split())
    assert "config.json is missing, though" in said and "record.json holds a copy" in said
    assert "is not a ganrestore run" not in said


def test_bad_data_is_refused_naming_the_folder(tmp_path: Path) -> None:
    empty = tmp_path / "photos"
    empty.mkdir()
    result = train_cli("inpaint", "--data", str(empty), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2, result.output
    assert str(empty) in result.stderr and "clean" in result.stderr
    assert "Traceback" not in result.stderr


def test_training_stops_with_advice_when_losses_stay_nan(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    @LOSSES.register("always_nan")
    def always_nan() -> torch.nn.Module:
        class AlwaysNaN(torch.nn.Module):
            def forward(self, inputs) -> torch.Tensor:
                return inputs.output.sum() * float("nan")

        return AlwaysNaN()

    try:
        config = load_config(
            "denoise",
            tiny_config(steps=50),
            overrides=["loss.terms.always_nan=1.0", "optim.max_nonfinite_steps=3"],
        )
        trainer = Trainer(
            config, photo_folder, tmp_path / "run", ProcessContext(torch.device("cpu"))
        )
        with pytest.raises(TrainingDivergedError, match="NaN or infinite for 3 steps"):
            trainer.fit()
    finally:
        LOSSES.unregister("always_nan")


@pytest.mark.slow
def test_torchrun_trains_with_two_processes(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    run = tmp_path / "ddp"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "ganrestore",
            "train",
            "denoise",
            "--data",
            str(photo_folder),
            "--config",
            str(tiny_config(steps=4)),
            "--out",
            str(run),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "x2" in result.stderr  # the run reports two processes
    assert modelfile.read_record(modelfile.latest_checkpoint(run)).step == 4
