"""How fast a training run goes, and when it has to stop: the smoothed rate, the ETA, ``--time``.

The rate is an exponential moving average of each step's seconds (the first, warm-up step left
out). Pauses between steps (validation, checkpoints), and what a step takes beyond
:data:`OUTLIER` times the average (another program busy for a moment, a page-in), are not
averaged in: they are spread over all the steps done so far and added, so the ETA counts
them without swinging from minutes to hours at each one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from ganrestore.engine.distributed import ProcessContext, all_true

#: Steps the moving average mostly remembers: a weight of 2 / (SPAN + 1) for the newest step.
SPAN = 50
#: A step slower than this many times the average counts the excess as a pause.
OUTLIER = 4.0


class StepPace:
    """A run's smoothed seconds per step and what the rest of it will take.

    Args:
        span: the moving average weighs the newest step ``2 / (span + 1)``.
    """

    def __init__(self, span: int = SPAN) -> None:
        self.keep = 1.0 - 2.0 / (span + 1)
        self._seen = 0
        self._average = 0.0
        self._weight = 0.0  # 1 - keep ** steps: the bias correction of a zero-started average
        self._paused = 0.0

    def add(self, seconds: float, pause: float = 0.0) -> None:
        """Record one step of ``seconds``, after ``pause`` seconds spent between steps."""
        self._seen += 1
        if self._seen == 1:  # warm-up: compiling kernels, starting the data-loader workers
            return
        if self._weight > 0.0 and seconds > OUTLIER * self._average / self._weight:
            usual = OUTLIER * self._average / self._weight
            pause, seconds = pause + seconds - usual, usual
        self._average = self.keep * self._average + (1.0 - self.keep) * seconds
        self._weight = self.keep * self._weight + (1.0 - self.keep)
        self._paused += max(pause, 0.0)

    @property
    def seconds_per_step(self) -> float | None:
        """The smoothed seconds per step, pauses included; None before two steps are done."""
        if self._weight == 0.0:
            return None
        return self._average / self._weight + self._paused / (self._seen - 1)

    def steps_per_second(self) -> float | None:
        per_step = self.seconds_per_step
        return None if per_step is None else 1.0 / max(per_step, 1e-9)

    def seconds_left(self, steps_left: int) -> float | None:
        """What ``steps_left`` more steps will take at the smoothed rate; None: not known yet."""
        per_step = self.seconds_per_step
        return None if per_step is None else max(steps_left, 0) * per_step


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
DURATION_FORMS = "90s, 45m, 2h or 1h30m"


def parse_duration(text: str) -> float:
    """``"2h30m"`` -> 9000.0 seconds; hours ``h``, minutes ``m`` and seconds ``s``, in order.

    Raises:
        ValueError: anything else, or no time at all (the message says what is accepted).
    """
    match = _DURATION.fullmatch(text.strip().lower().replace(" ", ""))
    if match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration: use a form like {DURATION_FORMS}")
    hours, minutes, seconds = (float(group or 0) for group in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        raise ValueError(f"{text!r} is no time at all: use a form like {DURATION_FORMS}")
    return total


@dataclass(frozen=True)
class TimeLimit:
    """``ganrestore train --time``: stop at the first step boundary after ``deadline``.

    Attributes:
        text: the limit as the user gave it (``"2h30m"``), for messages.
        deadline: ``time.monotonic()`` at which it is reached.
    """

    text: str
    deadline: float

    @classmethod
    def from_now(cls, text: str) -> TimeLimit:
        """The limit ``text`` (see :func:`parse_duration`), counted from now. Raises ValueError."""
        return cls(text, time.monotonic() + parse_duration(text))

    def reached(self) -> bool:
        return time.monotonic() >= self.deadline

    def reached_anywhere(self, context: ProcessContext) -> bool:
        """Whether any process of the run is past the limit: then all stop after this step."""
        return not all_true(not self.reached(), context)

    def stopped(self, step: int, total: int, resume: str) -> str:
        """Why the run stopped after ``step`` of ``total``, and the ``resume`` command."""
        return (
            f"time limit reached (--time {self.text}): stopped after step {step} of {total} "
            f"and saved it; continue with `{resume}` (add --time again to limit that part too)"
        )
