"""``init``: a run starts from trained weights (fine-tuning), and may add parts to the network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch

from ganrestore import modelfile
from ganrestore.config import ConfigError, TrainConfig, load_config
from ganrestore.engine.distributed import ProcessContext
from ganrestore.engine.trainer import Trainer

CPU = ProcessContext(device=torch.device("cpu"))
RESUNET = "generator.params={ widths = [8, 16], blocks = 1, residual = true, noise_map = %s }"


def tiny(tiny_config, *overrides: str, task: str = "denoise", **values: object) -> TrainConfig:
    """The tiny test config of ``task`` with ``--set`` style overrides."""
    return load_config(task, tiny_config(task, **values), overrides)


def train(config: TrainConfig, data: Path, run: Path) -> Path:
    Trainer(config, data, run, CPU).fit()
    return run


def resunet(tiny_config, noise_map: bool, *overrides: str) -> TrainConfig:
    sets = ["generator.name=resunet", RESUNET % str(noise_map).lower(), *overrides]
    return tiny(tiny_config, *sets, norm="none", dropout=0.0)


def test_a_run_starts_from_the_sources_generator_ema_and_discriminator(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    source = train(tiny(tiny_config, steps=3), photo_folder, tmp_path / "source")
    latest = modelfile.latest_checkpoint(source)
    config = tiny(tiny_config, f"init={source}", steps=2)

    trainer = Trainer(config, photo_folder, tmp_path / "finetuned", CPU)

    expected_g = modelfile.load_tensors(latest / modelfile.GENERATOR)  # the EMA weights: the model
    for weights in (trainer.parts.generator.state_dict(), trainer.parts.ema.state_dict()):
        assert all(torch.equal(weights[key], value) for key, value in expected_g.items())
    expected_d = modelfile.load_tensors(latest / modelfile.DISCRIMINATOR)
    own_d = trainer.parts.discriminator.state_dict()
    assert all(torch.equal(own_d[key], value) for key, value in expected_d.items())
    assert trainer.start_step == 0 and trainer.warm_start.discriminator
    summary = trainer.fit()
    assert summary.end_step == 2
    assert modelfile.read_record(summary.checkpoint).training.config["init"] == str(source)


def test_added_parts_start_at_zero_so_the_grown_network_restores_as_before(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    source = train(resunet(tiny_config, False), photo_folder, tmp_path / "plain")
    grown = Trainer(resunet(tiny_config, True, f"init={source}"), photo_folder, tmp_path / "g", CPU)

    assert grown.warm_start.added and all(
        key.startswith("noise_embedding.") for key in grown.warm_start.added
    )
    plain = Trainer(resunet(tiny_config, False), photo_folder, tmp_path / "p", CPU)
    plain.parts.generator.load_state_dict(modelfile.load_tensors(modelfile.generator_file(source)))
    photo = skimage.data.astronaut()[100:164, 200:264].astype(np.float32) / 127.5 - 1
    noisy = torch.from_numpy(photo).permute(2, 0, 1)[None] + 0.1 * torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(grown.parts.generator(noisy), plain.parts.generator(noisy))


def test_weights_that_do_not_fit_are_refused_naming_the_tensor(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    source = train(tiny(tiny_config, steps=1), photo_folder, tmp_path / "source")
    wider = tiny(tiny_config, f"init={source}", "generator.params.base_channels=16")

    misfit = r"do not fit this generator: '[\w.]+' is \(.+\) there and \(.+\) here"
    with pytest.raises(ConfigError, match=misfit):
        Trainer(wider, photo_folder, tmp_path / "wider", CPU)
    inpaint = tiny(tiny_config, f"init={source}", task="inpaint")
    with pytest.raises(ConfigError, match="a denoise model, not inpaint; start from an inpaint"):
        Trainer(inpaint, photo_folder, tmp_path / "inpaint", CPU)


@pytest.mark.slow  # the bundled model, in three processes
def test_the_cli_fine_tunes_a_bundled_model_by_name(
    photo_folder: Path, tmp_path: Path, run_cli
) -> None:
    small = ["--steps", "2", "--batch-size", "2", "--crop", "32", "--device", "cpu"]
    small += ["--set", "data.workers=0", "--set", "data.val_size=32", "--set", "data.val_images=1"]
    args = ["train", "denoise", "--data", str(photo_folder), *small]

    result = run_cli(*args, "--out", str(tmp_path / "mine"), "--init", "denoise")

    assert result.returncode == 0, result.stderr
    assert "init: generator from" in result.stderr
    record = modelfile.read_record(modelfile.latest_checkpoint(tmp_path / "mine"))
    assert Path(record.training.config["init"]).name == "denoise.safetensors"
    unknown = run_cli(*args, "--out", str(tmp_path / "x"), "--init", "no-such-model")
    assert unknown.returncode == 2
    assert "init no-such-model: no such file or folder" in unknown.stderr
    both = run_cli(*args, "--out", str(tmp_path / "mine"), "--resume", "--init", "denoise")
    assert both.returncode == 2 and "--init starts a new run" in both.stderr


def test_a_run_without_a_discriminator_is_not_told_one_starts_fresh(
    photo_folder: Path, tiny_config, tmp_path: Path
) -> None:
    source = train(tiny(tiny_config, steps=1), photo_folder, tmp_path / "source")
    plain = tiny(tiny_config, f"init={source}", "loss.adversarial_weight=0")
    told = Trainer(plain, photo_folder, tmp_path / "plain", CPU).warm_start.describe()
    assert told.startswith(f"init: generator from {modelfile.generator_file(source)}")
    assert "discriminator" not in told
    adversarial = Trainer(tiny(tiny_config, f"init={source}"), photo_folder, tmp_path / "a", CPU)
    assert adversarial.warm_start.describe().endswith("; discriminator too")
