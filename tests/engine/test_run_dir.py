"""The run directory: nothing of the user's is taken over, damaged checkpoints are survived, and
weights holding NaN are never saved."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch

from ganrestore import modelfile
from ganrestore.config import TrainConfig, load_config
from ganrestore.engine import checkpoint as ckpt
from ganrestore.engine.distributed import ProcessContext
from ganrestore.engine.trainer import Trainer, TrainingDivergedError
from ganrestore.errors import GanrestoreError
from ganrestore.models import build_generator
from ganrestore.registry import GENERATORS

from .conftest import train_cli

CPU = ProcessContext(device=torch.device("cpu"))


def tiny(tiny_config, *overrides: str, **values: object) -> TrainConfig:
    return load_config("denoise", tiny_config("denoise", **values), overrides)


def all_weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return {
        f"{name}:{key}": value
        for name in (modelfile.GENERATOR, modelfile.GENERATOR_RAW, modelfile.DISCRIMINATOR)
        for key, value in modelfile.load_tensors(checkpoint / name).items()
    }


class TestWhereARunMayStart:
    def test_out_inside_data_is_refused_before_anything_is_written(
        self, photo_folder: Path, tiny_config
    ) -> None:
        for out in (photo_folder / "runs" / "one", photo_folder):
            result = train_cli(
                "denoise", "--data", str(photo_folder), "--out", str(out),
                "--config", str(tiny_config()),
            )  # fmt: skip
            assert result.exit_code == 2, result.output
            assert f"--out {out} is inside --data {photo_folder}" in result.output
        assert not (photo_folder / "runs").exists()
        assert not (photo_folder / "config.json").exists()

    def test_data_inside_the_run_is_refused_on_resume_too(
        self, photo_folder: Path, tiny_config, tmp_path: Path
    ) -> None:
        run = tmp_path / "run"
        first = train_cli(
            "denoise", "--data", str(photo_folder), "--out", str(run),
            "--config", str(tiny_config()),
        )  # fmt: skip
        assert first.exit_code == 0, first.output
        inside = run / "photos"
        shutil.copytree(photo_folder, inside)
        before = sorted(p.name for p in (run / "checkpoints").iterdir())
        result = train_cli(
            "denoise", "--data", str(inside), "--out", str(run), "--resume", "--steps", "4",
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert f"--data {inside} is inside the run folder {run}" in result.output
        assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before

    def test_a_folder_of_the_users_is_refused_and_left_as_it_was(
        self, photo_folder: Path, tiny_config, tmp_path: Path
    ) -> None:
        mine = tmp_path / "mine"
        mine.mkdir()
        (mine / "notes.txt").write_text("my notes")

        with pytest.raises(GanrestoreError, match=r"mine is not empty and is not a ganrestore"):
            Trainer(tiny(tiny_config), photo_folder, mine, CPU)
        assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]

    def test_an_empty_folder_is_fine(self, photo_folder: Path, tiny_config, tmp_path) -> None:
        empty = tmp_path / "empty"
        empty.mkdir()

        summary = Trainer(tiny(tiny_config, steps=1), photo_folder, empty, CPU).fit()

        assert summary.end_step == 1 and (empty / "config.json").is_file()

    def test_a_run_that_begins_in_the_same_folder_meanwhile_is_never_overwritten(
        self, photo_folder: Path, tiny_config, tmp_path: Path
    ) -> None:
        run = tmp_path / "run"
        trainer = Trainer(tiny(tiny_config, steps=1), photo_folder, run, CPU)  # checked: free
        run.mkdir()
        (run / "config.json").write_text('{"task": "denoise", "seed": 7}')  # the other run

        with pytest.raises(GanrestoreError, match=r"another training run began there at the"):
            trainer.fit()
        assert (run / "config.json").read_text() == '{"task": "denoise", "seed": 7}'
        assert not (run / "checkpoints").exists()

    def test_a_run_stopped_before_its_first_checkpoint_is_not_started_over(
        self, photo_folder: Path, tiny_config, tmp_path: Path
    ) -> None:
        run = tmp_path / "run"
        run.mkdir()
        (run / "config.json").write_text('{"task": "denoise"}')
        (run / "metrics.jsonl").write_text('{"step": 2, "kind": "train"}\n')

        with pytest.raises(GanrestoreError, match=r"stopped before its first checkpoint, so "
                           "there is nothing to resume; choose another --out"):  # fmt: skip
            Trainer(tiny(tiny_config), photo_folder, run, CPU)
        assert (run / "config.json").read_text() == '{"task": "denoise"}'
        assert (run / "metrics.jsonl").read_text().count("\n") == 1


def test_resuming_a_run_at_or_past_its_last_step_says_to_raise_steps(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    Trainer(tiny(tiny_config, steps=2), photo_folder, run, CPU).fit()
    config_before = (run / "config.json").read_text()
    for steps in (2, 1):
        said = rf"at step 2 already and this run ends at step {steps}: nothing to train; pass "
        with pytest.raises(GanrestoreError, match=said + "--steps N with N above 2"):
            Trainer(tiny(tiny_config, steps=steps), photo_folder, run, CPU, resume=True)
    assert (run / "config.json").read_text() == config_before  # not rewritten
    summary = Trainer(tiny(tiny_config, steps=3), photo_folder, run, CPU, resume=True).fit()
    assert (summary.start_step, summary.end_step) == (2, 3)


def test_resuming_with_a_discriminator_the_run_never_had_is_no_damage(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    plain = tiny(tiny_config, "loss.adversarial_weight=0", steps=1)
    Trainer(plain, photo_folder, run, CPU).fit()
    assert not (run / "checkpoints" / "step-00000001" / modelfile.DISCRIMINATOR).exists()
    adversarial = tiny(tiny_config, "loss.adversarial_weight=1", steps=2)

    with pytest.raises(GanrestoreError) as caught:
        Trainer(adversarial, photo_folder, run, CPU, resume=True)
    said = str(caught.value)
    assert f"{run} was trained without a discriminator" in said and "a --set changed" in said
    assert f"--init {run} --out NEW_RUN" in said and "damaged" not in said
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if p.is_dir()) == [
        "step-00000001"
    ]  # nothing set aside


class TestResumeFromDamagedCheckpoints:
    def test_the_newest_intact_checkpoint_is_used_and_the_damaged_one_set_aside(
        self, photo_folder: Path, tiny_config, tmp_path: Path
    ) -> None:
        run = tmp_path / "run"
        Trainer(tiny(tiny_config, steps=6, checkpoint_every=3), photo_folder, run, CPU).fit()
        damaged = run / "checkpoints" / "step-00000006"
        raw = damaged / modelfile.GENERATOR_RAW
        raw.write_bytes(raw.read_bytes()[:200])  # truncated, as by a full disk

        trainer = Trainer(tiny(tiny_config, steps=8), photo_folder, run, CPU, resume=True)

        assert trainer.start_step == 3
        said = " ".join(trainer.resume_notes)
        assert f"{damaged} cannot be resumed from ({modelfile.GENERATOR_RAW} cannot be read" in said
        assert "step-00000003 (step 3)" in said
        assert not damaged.exists()
        assert (run / "checkpoints" / "damaged-step-00000006" / modelfile.GENERATOR_RAW).is_file()
        assert trainer.fit().end_step == 8

    def test_no_intact_checkpoint_is_a_clear_error_listing_each(
        self, photo_folder: Path, tiny_config, tmp_path: Path
    ) -> None:
        run = tmp_path / "run"
        Trainer(tiny(tiny_config, steps=6, checkpoint_every=3), photo_folder, run, CPU).fit()
        (run / "checkpoints" / "step-00000003" / ckpt.TRAINING_STATE).write_bytes(b"garbage")
        (run / "checkpoints" / "step-00000006" / modelfile.RECORD).write_text("{trunc")

        result = train_cli(
            "denoise", "--data", str(photo_folder), "--out", str(run), "--resume", "--steps", "9"
        )

        assert result.exit_code == 2, result.output
        message = " ".join(result.output.split())
        assert "no intact checkpoint" in message
        assert re.search(rf"step-00000006: \S*{modelfile.RECORD}", message)
        assert f"step-00000003: {ckpt.TRAINING_STATE} cannot be read" in message


class NaNAfter(torch.nn.Module):
    """A tiny U-Net whose training outputs turn NaN after ``good`` forward passes."""

    def __init__(self, in_channels: int, out_channels: int, good: int) -> None:
        super().__init__()
        self.net = build_generator("unet", in_channels, out_channels, depth=3, base_channels=8)
        self.good, self.calls = good, 0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls += 1
        output = self.net(images)
        return output * float("nan") if self.calls > self.good else output


def test_weights_holding_nan_are_never_saved(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    GENERATORS.register("nan_after")(NaNAfter)
    try:
        config = tiny(
            tiny_config,
            "generator.name=nan_after",
            "generator.params.good=4",
            "optim.max_nonfinite_steps=20",  # the NaN streak alone would stop it at step 24
            steps=40,
            checkpoint_every=2,
        )
        trainer = Trainer(config, photo_folder, tmp_path / "run", CPU)

        with pytest.raises(TrainingDivergedError) as caught:
            trainer.fit()
    finally:
        GENERATORS.unregister("nan_after")

    latest = modelfile.latest_checkpoint(tmp_path / "run")
    assert latest is not None and latest.name == "step-00000004"
    message = str(caught.value)
    assert "discriminator weights hold NaN or infinite values, so they were not saved" in message
    assert f"the last good checkpoint is {latest}" in message
    for checkpoint in (tmp_path / "run" / "checkpoints").glob("step-*"):
        for name, value in all_weights(checkpoint).items():
            assert torch.isfinite(value).all(), f"{checkpoint.name} {name} holds NaN"
    saved = json.loads((latest / modelfile.RECORD).read_text())
    assert saved["step"] == 4


def test_a_damaged_run_config_is_a_clear_error(photo_folder: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"task": "deno')  # cut short

    result = train_cli("denoise", "--data", str(photo_folder), "--out", str(run), "--resume")

    assert result.exit_code == 2, result.output
    assert "config.json cannot be read" in " ".join(result.output.split())


def test_more_loader_workers_than_cpus_start_one_per_cpu_and_say_so() -> None:
    from ganrestore.engine.trainer import TooManyWorkersWarning, loader_workers

    assert loader_workers(2, cpus=2) == 2 and loader_workers(0, cpus=1) == 0
    with pytest.warns(TooManyWorkersWarning, match=r"data.workers 100 is more than the 2 CPU"):
        assert loader_workers(100, cpus=2) == 2
