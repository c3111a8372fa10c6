"""A job's settings hold for that job only; the model's own settings come back unchanged."""

from __future__ import annotations

from ganrestore.inference import NetworkRestorer
from ganrestore.models.networks import build_generator
from ganrestore.tasks import MAX_GROW, build_task
from ganrestore.web.controls import JobSettings, settings_applied

TINY = {"depth": 2, "base_channels": 4, "norm": "none", "dropout": 0.0}


def _network(task: str) -> NetworkRestorer:
    spec = build_task(task)
    generator = build_generator("unet", spec.in_channels, spec.out_channels, **TINY)
    return NetworkRestorer(generator, spec, device="cpu")


def test_a_jobs_grow_holds_for_that_job_only() -> None:
    restorer = _network("inpaint")
    own = restorer.settings
    own.feather = 1  # the model's own, set before the job
    with settings_applied(restorer, ("mask", "grow"), JobSettings(grow=5)):
        assert (restorer.settings.grow, restorer.settings.grow_where) == (5, "all")
        assert restorer.settings.feather == 1
    assert restorer.settings is own
    assert (own.grow, own.grow_where, own.feather) == (2, "halos", 1)


def test_a_strength_job_leaves_a_model_without_task_settings_as_it_was() -> None:
    restorer = _network("denoise")
    with settings_applied(restorer, ("strength",), JobSettings(strength=0.5)):
        assert (restorer.strength, restorer.settings) == (0.5, None)
    assert (restorer.strength, restorer.settings) == (1.0, None)


def test_a_setting_outside_its_range_is_named_with_the_range() -> None:
    assert JobSettings(grow=MAX_GROW, strength=0.0, noise_sigma=255).out_of_range() is None
    too_wide = JobSettings(grow=MAX_GROW + 1).out_of_range()
    assert too_wide == f"grow must be from 0 to {MAX_GROW} pixels, not {MAX_GROW + 1}"
    assert JobSettings(strength=float("nan")).out_of_range() == (
        "strength must be from 0 to 1, not nan"
    )
    assert "noise_sigma must be from 0 to 255" in str(JobSettings(noise_sigma=-3).out_of_range())
