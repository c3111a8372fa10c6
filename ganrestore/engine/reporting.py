"""What a training run tells its user: a progress bar, ``metrics.jsonl``, TensorBoard, a summary."""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ganrestore.engine.pace import StepPace


class RunReporter:
    """Progress, logs and metrics of one training process (silent unless ``enabled``).

    The speed (it/s) and the time left (ETA) come from a smoothed step rate
    (:class:`~ganrestore.engine.pace.StepPace`); on a terminal the bar shows them after every
    step, elsewhere each ``step N/T`` line (every ``log_every`` steps) carries them.

    Args:
        run_dir: where ``metrics.jsonl`` (and TensorBoard events, when installed) go.
        total_steps: the step the run ends at.
        start_step: the step it starts (or resumes) from.
        enabled: False on every process but rank 0.
        device: the device type the run trains on (``"cpu"``, ``"cuda"``, ...), for the plan.
        default_steps: ``total_steps`` is the ready config's; on a CPU the plan adds a hint.
        console: where the bar and the messages go (default: stderr).
    """

    def __init__(
        self,
        run_dir: Path,
        total_steps: int,
        start_step: int,
        enabled: bool,
        device: str = "cpu",
        default_steps: bool = False,
        console: Console | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.total_steps = total_steps
        self.start_step = start_step
        self.enabled = enabled
        self.device, self.default_steps = device, default_steps
        self._timer = StepTimer()
        self.pace = StepPace()
        self._last_step_end: float | None = None
        self.console = console if console is not None else Console(stderr=True)
        self.interactive = enabled and self.console.is_terminal
        self._sums: dict[str, float] = defaultdict(float)
        self._count = 0
        self._window_start = time.perf_counter()
        self._progress: Progress | None = None
        self._task_id: Any = None
        self._tensorboard = _tensorboard_writer(run_dir) if enabled else None

    def __enter__(self) -> RunReporter:
        if self.interactive:
            self._progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"),
                TextColumn("{task.fields[losses]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),
                console=self.console,
            )
            self._progress.start()
            self._task_id = self._progress.add_task(
                "train",
                total=self.total_steps,
                completed=self.start_step,
                speed="",
                losses="",
                eta="",
            )
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._tensorboard is not None:
            self._tensorboard.close()

    def step(self, step: int, losses: dict[str, float], seconds: float | None = None) -> None:
        """Record the losses of the step that just ended (``step`` = steps completed).

        ``seconds``: how long the step took (default: the time since the last one ended); the
        rest of the time since then was a pause (validation, checkpoints). Once the first few
        are timed, the time the rest of the run will take is shown (:func:`plan_message`).
        """
        for key, value in losses.items():
            self._sums[key] += value
        self._count += 1
        now = time.perf_counter()
        since = None if self._last_step_end is None else now - self._last_step_end
        self._last_step_end = now
        taken = seconds if seconds is not None else since
        if taken is not None:
            self.pace.add(taken, 0.0 if since is None else since - taken)
        if self._progress is not None:
            self._progress.update(
                self._task_id, completed=step, speed=self._speed(), eta=self._eta(step)
            )
        per_step = self._timer.add(seconds) if seconds is not None else None
        if per_step is not None and step < self.total_steps:
            plan = plan_message(step, self.total_steps, per_step, self.device, self.default_steps)
            for line in plan:
                self.message(line)

    def flush_train(self, step: int) -> dict[str, float]:
        """Write the mean losses since the last flush and the speed; returns them."""
        elapsed = time.perf_counter() - self._window_start
        means = {key: total / max(self._count, 1) for key, total in self._sums.items()}
        record = {"step": step, "kind": "train", **means}
        record["steps_per_s"] = self._count / elapsed if elapsed > 0 else 0.0
        self._sums.clear()
        self._count, self._window_start = 0, time.perf_counter()
        if not self.enabled:
            return record
        self.write(record)
        shown = "  ".join(f"{k}={v:.3g}" for k, v in means.items() if k in _SHOWN)
        if self._progress is not None:
            self._progress.update(self._task_id, losses=shown)
        else:
            pace = "  ".join(part for part in (self._speed(), self._eta(step)) if part)
            self.message(f"step {step}/{self.total_steps}  {pace}  {shown}")
        return record

    def _speed(self) -> str:
        """``"2.31 it/s"`` at the smoothed rate (``"0.52 it/s"`` on a slow CPU), or ``""``."""
        rate = self.pace.steps_per_second()
        return "" if rate is None else f"{rate:.2f} it/s"

    def _eta(self, step: int) -> str:
        """``"ETA 2 h 23 min"`` for the steps after ``step`` at the smoothed rate, or ``""``."""
        left = self.pace.seconds_left(self.total_steps - step)
        return "" if left is None else f"ETA {duration(left)}"

    def write(self, record: dict[str, Any]) -> None:
        """Append one record to ``metrics.jsonl`` (and TensorBoard)."""
        if not self.enabled:
            return
        with open(self.run_dir / "metrics.jsonl", "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self._tensorboard is not None:
            prefix = record.get("kind", "train")
            for key, value in record.items():
                if key not in ("step", "kind") and isinstance(value, int | float):
                    self._tensorboard.add_scalar(f"{prefix}/{key}", value, record["step"])

    def message(self, text: str) -> None:
        if self.enabled:
            self.console.print(text, highlight=False)

    def summary(self, rows: dict[str, str]) -> None:
        if not self.enabled:
            return
        table = Table(title="training summary", show_header=False)
        for key, value in rows.items():
            table.add_row(key, value)
        self.console.print(table)


_SHOWN = ("d_adv", "g_adv", "g_l1", "g_hole_l1", "g_total")


def _tensorboard_writer(run_dir: Path) -> Any:
    """A TensorBoard SummaryWriter when the tensorboard package is installed, else None."""
    if "tensorboard" not in sys.modules:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            return None
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


class StepTimer:
    """Times the first steps of a run to plan the rest; the very first step (warm-up) is left out.

    Args:
        steps: how many steps after the first to time.
    """

    def __init__(self, steps: int = 5) -> None:
        self.steps = steps
        self._seen = 0
        self._seconds = 0.0

    def add(self, seconds: float) -> float | None:
        """Record one step; returns the mean seconds per step once, when enough are timed."""
        self._seen += 1
        if self._seen == 1 or self._seen > self.steps + 1:
            return None
        self._seconds += seconds
        return self._seconds / self.steps if self._seen == self.steps + 1 else None


def duration(seconds: float) -> str:
    """``"21 h 20 min"``, ``"4 min 10 s"``, ``"12 s"``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


_A_WEEK = 7 * 86400
_A_YEAR = 365 * 86400
#: A first CPU run this long shows whether training works before a whole day is spent.
FIRST_RUN_STEPS = 2000


def plan_message(
    step: int, total: int, seconds_per_step: float, device: str, default_steps: bool
) -> list[str]:
    """What the rest of the run will take, and on a CPU with the default steps a hint.

    Args:
        step: steps done; total: the step the run ends at.
        seconds_per_step: measured on the first steps (validation and checkpoints excluded).
        device: ``"cpu"``, ``"cuda"``, ...
        default_steps: ``total`` is the ready config's step count, not one the user chose.
    """
    left = (total - step) * seconds_per_step
    if left < _A_WEEK:
        done_at = time.strftime("%a %H:%M", time.localtime(time.time() + left))
    else:  # a weekday means nothing then, and far dates overflow the C library's time
        done_at = f"{left / 86400:.0f} days from now" if left < _A_YEAR * 100 else "over a century"
    lines = [
        f"plan: steps {step}->{total} at {seconds_per_step:.2f} s/step on {device}: about "
        f"{duration(left)} (until {done_at}), plus validation and checkpoints"
    ]
    if device == "cpu" and default_steps and total - step > FIRST_RUN_STEPS:
        first = duration(FIRST_RUN_STEPS * seconds_per_step)
        lines.append(
            f"hint: {total} steps is the ready config's full schedule, not chosen with --steps. "
            f"On a CPU, try --steps {FIRST_RUN_STEPS} first (about {first} here), look at "
            "samples/ and the validation PSNR, then continue the same run with --resume "
            "--steps N (docs/training.md, 'How many steps')"
        )
    return lines
