"""What ``ganrestore eval`` degrades images with, from its options and the task's kind.

Noise levels (``--sigma``, ``--peak``, ``--jpeg``) for a task that removes noise, holes
(``--mask-kind``, ``--masks``) for one that fills them, or the task's own degradation
(``Task.evaluation``); options that mean nothing for the task are refused by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError

if TYPE_CHECKING:
    from ganrestore.cli.eval import EvalRequest
    from ganrestore.evaluation.degrade import Condition

DEFAULT_SIGMAS = "15,25,50"
DEFAULT_MASK_KINDS = "box,free"


def numbers(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise GanrestoreError(f"{option} {text}: expected numbers separated by commas") from None
    if not values:
        raise GanrestoreError(f"{option}: give at least one value")
    return values


def eval_conditions(request: EvalRequest, task_name: str) -> list[Condition]:
    """The degradations asked for: noise levels (and JPEG, shot noise), mask kinds or a mask
    folder, or the task's own degradation, as the task says (``Task.evaluation``)."""
    from ganrestore.evaluation import mask_condition, noise_condition, task_condition
    from ganrestore.evaluation.degrade import Condition

    evaluation = evaluation_kind(task_name)
    if evaluation == "own":
        given = [
            option
            for option, value in (
                ("--sigma", request.sigma),
                ("--peak", request.peak),
                ("--jpeg", request.jpeg),
                ("--mask-kind", request.mask_kind),
                ("--masks", request.masks),
            )
            if value is not None
        ]
        if given:
            raise GanrestoreError(
                f"{', '.join(given)}: the {task_name} task degrades images its own way; "
                "drop these options"
            )
        return [task_condition(task_name)]
    if evaluation == "noise":
        if request.masks is not None or request.mask_kind is not None:
            raise GanrestoreError(
                f"--masks/--mask-kind make holes, but the {task_name} task removes noise; "
                "use --sigma"
            )
        sigmas = numbers(request.sigma or DEFAULT_SIGMAS, "--sigma")
        peaks = _optional_numbers(request.peak, "--peak")
        qualities = _optional_numbers(request.jpeg, "--jpeg")
        if any(quality is not None and quality != int(quality) for quality in qualities):
            raise GanrestoreError(f"--jpeg {request.jpeg}: JPEG qualities are whole numbers")
        conditions = [
            noise_condition(sigma, peak, None if quality is None else int(quality))
            for peak in peaks
            for quality in qualities
            for sigma in sigmas
        ]
    else:
        for option, value in (
            ("--sigma", request.sigma),
            ("--peak", request.peak),
            ("--jpeg", request.jpeg),
        ):
            if value is not None:
                raise GanrestoreError(
                    f"{option} adds noise, but the {task_name} task fills holes; use --mask-kind "
                    "or --masks"
                )
        if request.masks is not None and request.mask_kind is not None:
            raise GanrestoreError("pass --masks DIR or --mask-kind, not both")
        if request.masks is not None:
            return [Condition(name="masks", masks_dir=request.masks)]
        kinds = (kind.strip() for kind in (request.mask_kind or DEFAULT_MASK_KINDS).split(","))
        conditions = [mask_condition(kind) for kind in kinds if kind]
    return list(dict.fromkeys(conditions))


def evaluation_kind(task_name: str) -> str:
    """How ``eval`` degrades images for the task ``task_name``: noise, holes or its own way."""
    from ganrestore.tasks import build_task

    return build_task(task_name).evaluation


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
