"""Configs: the ready ones load, and every mistake names its key and where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganrestore.config import (
    ConfigError,
    MovedKeyWarning,
    TrainConfig,
    bundled_config_path,
    load_config,
)
from ganrestore.registry import TASKS


@pytest.mark.parametrize("name", ["denoise", "inpaint", "pix2pix"])
def test_every_ready_config_loads(name: str) -> None:
    task = "inpaint" if name == "inpaint" else "denoise"
    config = load_config(task, bundled_config_path(name))
    assert isinstance(config, TrainConfig) and config.task == task


def test_pix2pix_config_is_the_canonical_setup() -> None:
    config = load_config("denoise", bundled_config_path("pix2pix"))
    assert config.generator.params["depth"] == 8 and config.generator.params["norm"] == "batch"
    assert config.discriminator.params["n_layers"] == 3
    assert config.loss.adversarial == "vanilla" and config.loss.terms == {"l1": 100.0}
    assert config.data.batch_size == 1 and config.data.crop == 256
    assert config.optim.lr_g == 2e-4 and config.optim.betas == (0.5, 0.999)


def test_cli_values_and_overrides_are_applied_with_toml_types() -> None:
    config = load_config(
        "denoise",
        overrides=["optim.lr_g=1e-4", "loss.terms.ssim=2", "denoise.sigma_range=[5, 25]"],
        steps=7,
        **{"data.batch_size": 3},
    )
    assert config.steps == 7 and config.data.batch_size == 3
    assert config.optim.lr_g == 1e-4
    assert config.loss.terms == {"l1": 100.0, "ssim": 2.0}
    assert config.task_options.sigma_range == (5.0, 25.0)


def test_task_settings_live_in_the_table_named_after_the_task() -> None:
    denoise, inpaint = load_config("denoise"), load_config("inpaint")

    assert denoise.task_options.clean_share > 0 and "clean_share" in denoise.to_dict()["denoise"]
    assert inpaint.task_options.hole_ratio == (0.05, 0.5) and "inpaint" in inpaint.to_dict()
    assert "hole_ratio" not in inpaint.to_dict()["data"]
    assert load_config("inpaint", saved=inpaint.to_dict()) == inpaint


def test_a_task_setting_under_data_is_moved_and_said(recwarn) -> None:
    with pytest.warns(MovedKeyWarning, match="'data.hole_ratio' is now 'inpaint.hole_ratio'"):
        config = load_config("inpaint", overrides=["data.hole_ratio=[0.1, 0.3]"])
    assert config.task_options.hole_ratio == (0.1, 0.3)


def test_an_unknown_task_lists_the_installed_ones() -> None:
    # Whatever is installed here (the built-ins, and e.g. the example plugin's deblur task).
    installed = TASKS.names()
    assert {"denoise", "inpaint"} <= set(installed)
    with pytest.raises(ConfigError, match=r"unknown task 'no_such_task'; choose one of: ") as error:
        load_config("no_such_task")
    assert str(error.value).endswith(f"choose one of: {', '.join(installed)}")


def test_unknown_key_names_its_path_and_lists_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'task = "denoise"\n[generator]\nname = "unet"\n[discriminator]\n'
        'name = "patchgan"\n[data]\ncrpo = 64\n'
    )
    with pytest.raises(ConfigError) as error:
        load_config("denoise", path)
    message = str(error.value)
    assert str(path) in message and "'data.crpo'" in message and "crop" in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.crop=big", "'data.crop' must be int, got str 'big'"),
        ("optim.schedule=steps", "'optim.schedule' must be one of"),
        ("denoise.sigma_range=[5]", "'denoise.sigma_range' must be a list of 2 values"),
        ("denoise.sigma_range=[30, 10]", "'denoise.sigma_range' must be 0 <= low <= high"),
        ("denoise.gray_share=1.5", "'denoise.gray_share' must be in [0, 1]"),
        ("denoise.hole_ratio=[0.1, 0.2]", "unknown key 'denoise.hole_ratio'"),
        ("optim.lr_g=0", "'optim.lr_g' must be positive"),
        ("steps", "--set expects key=value"),
        ("steps=true", "'steps' must be int"),
        ("optim.lr_g=inf", "'optim.lr_g' must be a finite number, got inf"),
        ("optim.lr_d=nan", "'optim.lr_d' must be a finite number, got nan"),
        ("denoise.sigma_range=[0, inf]", "'denoise.sigma_range[1]' must be a finite number"),
        ("loss.terms.l1=-inf", "'loss.terms.l1' must be a finite number, got -inf"),
        ("generator.params.dropout=nan", "'generator.params.dropout' must be a finite number"),
        ("data.pair_dir=../noisy", "'data.pair_dir' must be a folder name beside clean/"),
        ("data.direction=AB", "'data.direction' must be one of 'AtoB', 'BtoA'"),
        ("steps=100000000000000000000", "'steps' must be from 1 to 1e+12"),
        ("seed=100000000000000000000", "'seed' must be from 0 to 2**63 - 1"),
        ("seed=-1", "'seed' must be from 0"),
        ("seed=1e20", "'seed' must be int, got float"),
    ],
)
def test_bad_values_are_refused_with_the_key(override: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=None) as error:
        load_config("denoise", overrides=[override])
    assert expected in str(error.value)


def test_a_config_for_another_task_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config for task 'inpaint', not 'denoise'"):
        load_config("denoise", bundled_config_path("inpaint"))


def test_missing_and_invalid_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config("denoise", tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("steps = = 3\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config("denoise", broken)


def test_saved_config_round_trips_through_to_dict() -> None:
    config = load_config("inpaint", steps=11)
    again = load_config("inpaint", saved=config.to_dict())
    assert again == config


def test_renaming_a_network_starts_it_from_its_own_defaults() -> None:
    base = load_config("denoise")
    assert base.generator.name == "resunet" and base.generator.params  # the ready config's

    renamed = load_config("denoise", overrides=["generator.name=unet"])
    with_params = load_config(
        "denoise", overrides=["generator.params.depth=5", "generator.name=unet"]
    )
    same_name = load_config(
        "denoise", overrides=["generator.name=resunet", "generator.params.blocks=1"]
    )

    assert renamed.generator.params == {}
    assert with_params.generator.params == {"depth": 5}
    assert same_name.generator.params == {**base.generator.params, "blocks": 1}
    assert load_config("denoise", overrides=["discriminator.name=x"]).discriminator.params == {}


def test_mps_is_a_device_as_for_apply() -> None:
    assert load_config("denoise", device="mps").device == "mps"


def test_messages_name_a_ready_config_by_name_and_list_only_real_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config("denoise", overrides=["nope=1"])
    said = str(caught.value)
    assert said.startswith("the command-line options over the ready config 'denoise': ")
    assert "unknown key 'nope'" in said and "configs/" not in said
    assert "task_options" not in said and "task_spec" not in said
    with pytest.raises(ConfigError, match="pass a --config written for denoise"):
        load_config("denoise", bundled_config_path("inpaint"))
