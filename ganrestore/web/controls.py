"""What a restoration on the page asks the user for, and the settings a job gives its model.

A task declares its controls (:attr:`ganrestore.tasks.Task.controls`: ``"mask"``, ``"grow"``,
``"strength"``); the model that runs it adds or removes some: a trained network that is told
the noise level of its input (``takes_noise_sigma``) adds ``"noise_sigma"``, and a classical
baseline takes none of the settings, only the mask its task needs. The page shows those
controls, and a job refuses a setting that is not among them. Nothing here names a task.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError
from ganrestore.tasks import MAX_GROW

if TYPE_CHECKING:
    from ganrestore.inference import Restorer
    from ganrestore.tasks import Task

#: The control of a task whose restoration needs holes drawn by the user (1 = hole).
MASK = "mask"
#: The control a trained network adds when it can be told the noise level of its input.
NOISE_SIGMA = "noise_sigma"
#: The settings of a job, by control (and query parameter) name, with what they are called on
#: the page; only trained networks take them.
SETTING_NAMES = {"grow": "grow", "strength": "strength", NOISE_SIGMA: "noise level"}
#: The range a job's setting must lie in, both ends included, by control name, with its unit;
#: the page sets its fields from it (``GET /api/config``).
SETTING_RANGES: dict[str, tuple[float, float, str]] = {
    "grow": (0, MAX_GROW, "pixels"),
    "strength": (0.0, 1.0, ""),
    NOISE_SIGMA: (0.0, 255.0, ""),
}


@dataclass(frozen=True)
class JobSettings:
    """What the page asks of one restoration besides its mask; None: not asked.

    Attributes:
        grow: pixels a network widens every drawn hole by (None: its default, 2 pixels for the
            holes whose outline shows a halo).
        strength: share of the restoration applied, 0 to 1 (None: all of it).
        noise_sigma: noise σ (0-255 scale) a network is told the photo holds (None: it
            measures it).
    """

    grow: int | None = None
    strength: float | None = None
    noise_sigma: float | None = None

    def asked(self) -> dict[str, float]:
        """The settings given, by control name; a strength of 1 (all of it, the default) asks
        nothing."""
        given = {"grow": self.grow, "strength": self.strength, NOISE_SIGMA: self.noise_sigma}
        return {
            name: value
            for name, value in given.items()
            if value is not None and not (name == "strength" and value == 1)
        }

    def out_of_range(self) -> str | None:
        """What is wrong with the first setting outside :data:`SETTING_RANGES`, or None."""
        for name, value in self.asked().items():
            low, high, unit = SETTING_RANGES[name]
            if not low <= value <= high:
                bounds = f"from {low:g} to {high:g}" + (f" {unit}" if unit else "")
                return f"{name} must be {bounds}, not {value:g}"
        return None


def model_controls(task: Task, restorer: Restorer) -> tuple[str, ...]:
    """What the page asks for before ``restorer`` restores a photo for ``task``, in order.

    The task's own controls, without the settings (:data:`SETTING_NAMES`) for a model that is
    not a trained network, and :data:`NOISE_SIGMA` last for a network told its noise level.
    """
    from ganrestore.inference import NetworkRestorer

    if not isinstance(restorer, NetworkRestorer):  # a classical baseline: run as it is
        return tuple(control for control in task.controls if control not in SETTING_NAMES)
    controls: tuple[str, ...] = tuple(task.controls)
    if getattr(restorer.generator, "takes_noise_sigma", False):
        controls += (NOISE_SIGMA,)
    return controls


@contextlib.contextmanager
def settings_applied(
    restorer: Restorer, controls: tuple[str, ...], settings: JobSettings
) -> Iterator[None]:
    """``settings`` on ``restorer`` for one restoration; its own ones again afterwards.

    One job runs at a time, so no other restoration sees them. A grow the page asks for widens
    every drawn hole (apply's default judges each hole's outline instead).

    Args:
        controls: what the model takes (:func:`model_controls`).

    Raises:
        GanrestoreError: a setting that is not among ``controls``, or out of the model's range.
    """
    from ganrestore.inference import NetworkRestorer

    asked = settings.asked()
    network = isinstance(restorer, NetworkRestorer)
    refused = [SETTING_NAMES[name] for name in asked if name not in controls or not network]
    if refused:
        raise GanrestoreError(f"{restorer.description} takes no {' or '.join(refused)}")
    if not asked or not isinstance(restorer, NetworkRestorer):
        yield
        return
    previous = (restorer.settings, restorer.strength, restorer.noise_sigma)
    try:
        if settings.grow is not None:  # a task with the "grow" control: settings.set_grow
            restorer.settings = copy.copy(restorer.settings)  # the job's own; its own kept
            restorer.settings.set_grow(settings.grow)
        if settings.strength is not None:
            restorer.set_strength(settings.strength)
        if settings.noise_sigma is not None:
            restorer.set_noise_sigma(settings.noise_sigma)
        yield
    finally:
        restorer.settings, restorer.strength = previous[:2]
        if NOISE_SIGMA in controls:
            restorer.set_noise_sigma(previous[2])
