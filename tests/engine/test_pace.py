"""The speed and ETA of a training run are smoothed and shown often; ``--time`` durations."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from ganrestore.engine.pace import StepPace, parse_duration
from ganrestore.engine.reporting import RunReporter


def test_one_slow_step_barely_moves_the_eta() -> None:
    pace = StepPace()
    for _ in range(200):
        pace.add(0.5)
    steady = pace.seconds_left(1000)
    assert steady == pytest.approx(500.0)
    pace.add(30.0)  # a step 60x slower: another program busy, a page-in
    assert pace.seconds_left(1000) < 1.5 * steady  # its 30 s spread over the 200 steps done
    for _ in range(2000):
        pace.add(0.5)
    assert pace.seconds_left(1000) == pytest.approx(steady, rel=0.03)  # 28 s over 2200 steps


def test_the_warm_up_step_is_left_out_and_the_rate_follows_a_real_change() -> None:
    pace = StepPace()
    assert pace.seconds_per_step is None and pace.seconds_left(10) is None
    pace.add(40.0)  # the first step: kernels compiled, workers started
    assert pace.seconds_per_step is None
    pace.add(2.0)
    assert pace.seconds_per_step == pytest.approx(2.0)  # no bias toward zero at the start
    for _ in range(150):
        pace.add(1.0)  # e.g. another job on the machine finished
    assert pace.seconds_per_step == pytest.approx(1.0, rel=0.01)
    assert pace.steps_per_second() == pytest.approx(1.0, rel=0.01)


def test_pauses_between_steps_are_spread_over_the_steps() -> None:
    pace = StepPace()
    pace.add(1.0)
    for step in range(1, 101):
        pace.add(1.0, pause=50.0 if step == 100 else 0.0)  # a validation pass at step 100
    assert pace.seconds_per_step == pytest.approx(1.5)  # 50 s over 100 steps
    assert pace.seconds_left(100) == pytest.approx(150.0)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("45m", 2700), ("2h", 7200), ("1h30m", 5400), ("2h30m", 9000),
     ("1h0m30s", 3630), ("1.5h", 5400), (" 2H ", 7200)],
)  # fmt: skip
def test_durations_in_hours_minutes_and_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "90", "2 hours", "30m2h", "1d", "-5m", "0s", "h", "2h30"])
def test_anything_else_is_refused_with_the_forms_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="90s, 45m, 2h or 1h30m"):
        parse_duration(text)


def reporter(tmp_path, terminal: bool) -> tuple[RunReporter, io.StringIO]:
    output = io.StringIO()
    console = Console(file=output, force_terminal=terminal, width=160, color_system=None)
    return RunReporter(tmp_path, 1000, 0, enabled=True, console=console), output


def test_on_a_terminal_the_bar_shows_speed_and_eta_from_the_first_steps(tmp_path) -> None:
    run, output = reporter(tmp_path, terminal=True)
    with run:
        for step in range(1, 11):  # well before the first log_every (50) flush
            run.step(step, {"g_l1": 0.1}, seconds=0.25)
    shown = output.getvalue()
    assert "4.00 it/s" in shown and "ETA 4 min 8 s" in shown  # 990 steps left at 0.25 s


def test_log_lines_carry_the_smoothed_speed_and_eta(tmp_path) -> None:
    run, output = reporter(tmp_path, terminal=False)
    with run:
        for step in range(1, 51):
            run.step(step, {"g_l1": 0.1}, seconds=0.5)
        run.flush_train(50)
    line = next(line for line in output.getvalue().splitlines() if line.startswith("step 50/"))
    assert re.search(r"step 50/1000  2\.00 it/s  ETA 7 min 55 s  g_l1=0\.1", line), line
