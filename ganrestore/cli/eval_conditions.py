"""What ``ganrestore eval`` degrades images with, from its options and what the task takes.

A task says which of the degradation options it takes and their defaults
(:attr:`~ganrestore.tasks.Task.eval_options`): noise levels (``--sigma``, ``--peak``,
``--jpeg``), holes (``--mask-kind``, ``--masks``), or none, and then its own degradation (that
of its validation items). An option the task does not take is refused by name, saying what it
does and what the task takes instead.

A ``--data`` folder holding ``clean/`` beside the task's pair folder (the layout ``ganrestore
train`` reads) is scored as real pairs, one condition: nothing is degraded, so every option
that shapes a degradation is refused when given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError

if TYPE_CHECKING:
    from ganrestore.cli.eval import EvalRequest
    from ganrestore.evaluation.degrade import Condition
    from ganrestore.tasks import Task

#: What each degradation option does, as the message that refuses it for a task says it.
OPTION_EFFECTS = {
    "--sigma": "--sigma adds noise",
    "--peak": "--peak adds noise",
    "--jpeg": "--jpeg adds noise",
    "--mask-kind": "--masks/--mask-kind make holes",
    "--masks": "--masks/--mask-kind make holes",
}


def numbers(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GanrestoreError(f"{option} {text}: expected numbers separated by commas") from None
    if not values:
        raise GanrestoreError(f"{option}: give at least one value")
    return values


def given_options(request: EvalRequest) -> dict[str, str | Path]:
    """The degradation options given on the command line, by option name, in a fixed order."""
    values = {
        "--sigma": request.sigma,
        "--peak": request.peak,
        "--jpeg": request.jpeg,
        "--mask-kind": request.mask_kind,
        "--masks": request.masks,
    }
    return {option: value for option, value in values.items() if value is not None}


def eval_conditions(request: EvalRequest, task: Task) -> list[Condition]:
    """The degradations asked for, within those ``task`` takes (its ``eval_options``, their
    defaults filling in the options not given): noise levels (and JPEG, shot noise), mask kinds
    or a mask folder, or the task's own degradation when it takes none of these options; or
    the real-pairs condition alone when ``--data`` holds ``clean/`` beside the task's pair
    folder.

    Raises:
        GanrestoreError: an option the task does not take, a degradation option given with
            real pairs, or a bad value; named.
    """
    from ganrestore.evaluation import mask_condition, real_pairs_condition, task_condition
    from ganrestore.evaluation.degrade import Condition
    from ganrestore.evaluation.real_pairs import pair_folder

    given = given_options(request)
    pairs = pair_folder(request.data, task) if request.data is not None else None
    if pairs is not None:
        refused = [*given, *_given_drawing_options(request)]
        if refused:
            raise GanrestoreError(
                f"{', '.join(refused)}: --data {request.data} holds real pairs (clean/ + "
                f"{pairs.name}/), whose own inputs are scored; drop these options, or pass "
                "--data a folder of clean images to degrade"
            )
        return [real_pairs_condition()]
    refused = [option for option in given if option not in task.eval_options]
    if refused:
        raise GanrestoreError(_refusal(refused, task))
    if not task.eval_options:
        return [task_condition(task.name)]
    defaults = {option: value for option, value in task.eval_options.items() if value is not None}
    values = {**defaults, **given}
    if "--masks" in given and "--mask-kind" in given:
        raise GanrestoreError("pass --masks DIR or --mask-kind, not both")
    conditions: list[Condition] = []
    if "--sigma" in values:
        conditions += _noise_conditions(values)
    if "--masks" in given:
        conditions.append(Condition(name="masks", masks_dir=Path(values["--masks"])))
    elif "--mask-kind" in values:
        kinds = (kind.strip() for kind in str(values["--mask-kind"]).split(","))
        conditions += [mask_condition(kind) for kind in kinds if kind]
    return list(dict.fromkeys(conditions))


def _given_drawing_options(request: EvalRequest) -> list[str]:
    """``--seed`` and ``--hole-ratio`` when given: they only shape degradations eval draws."""
    values = {"--seed": request.seed, "--hole-ratio": request.hole_ratio}
    return [option for option, value in values.items() if value is not None]


def _refusal(refused: list[str], task: Task) -> str:
    """Why the options ``refused`` mean nothing for ``task``, and what it takes instead."""
    if not task.eval_options:
        return (
            f"{', '.join(refused)}: the {task.name} task degrades images its own way; "
            "drop these options"
        )
    taken = list(task.eval_options)
    instead = taken[0] if len(taken) == 1 else f"{', '.join(taken[:-1])} or {taken[-1]}"
    return f"{OPTION_EFFECTS[refused[0]]}, but the {task.name} task {task.purpose}; use {instead}"


def _noise_conditions(values: dict[str, str | Path]) -> list[Condition]:
    """Every ``--sigma`` × ``--peak`` × ``--jpeg`` noise condition, peaks and qualities outer."""
    from ganrestore.evaluation import noise_condition

    sigmas = numbers(str(values["--sigma"]), "--sigma")
    peaks = _optional_numbers(_text(values.get("--peak")), "--peak")
    qualities = _optional_numbers(_text(values.get("--jpeg")), "--jpeg")
    if any(quality is not None and quality != int(quality) for quality in qualities):
        raise GanrestoreError(f"--jpeg {values['--jpeg']}: JPEG qualities are whole numbers")
    return [
        noise_condition(sigma, peak, None if quality is None else int(quality))
        for peak in peaks
        for quality in qualities
        for sigma in sigmas
    ]


def _text(value: str | Path | None) -> str | None:
    return None if value is None else str(value)


def _optional_numbers(text: str | None, option: str) -> list[float | None]:
    """``"none,90,75"`` -> ``[None, 90.0, 75.0]``; no option -> ``[None]``."""
    if text is None:
        return [None]
    parts = [part.strip() for part in text.split(",") if part.strip()]
    values: list[float | None] = []
    for part in parts:
        values.append(None if part.lower() == "none" else numbers(part, option)[0])
    if not values:
        raise GanrestoreError(f"{option} {text!r}: expected comma-separated numbers or none")
    return list(dict.fromkeys(values))
