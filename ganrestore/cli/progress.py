"""Progress of ``ganrestore apply``: a bar on a terminal, plain lines in logs and pipes."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

#: Without a terminal, the longest wait between two progress lines while something moves.
PROGRESS_LINE_SECONDS = 10.0
#: Without a terminal, a line also every this fraction of the files.
PROGRESS_LINE_FRACTION = 0.1


class ApplyProgress:
    """Shows the runner's file and tile counts (``files`` and ``tiles`` are its callbacks).

    On a terminal: a bar over the files that also moves within a photo, tile by tile, with
    ``tile 12/48`` beside it. Elsewhere (a log file, a pipe, CI): a line
    ``progress: 10/40 image(s) done`` at every tenth of the files, and at most
    :data:`PROGRESS_LINE_SECONDS` apart while files or tiles advance, so a single large photo
    still shows its tiles.

    Args:
        console: where the bar and the lines go (stderr).
        total: the files of the run (restored, skipped and failed alike).
    """

    def __init__(self, console: Console, total: int) -> None:
        self.console, self.total, self.done = console, total, 0
        self.interactive = console.is_terminal
        self.bar = Progress(
            TextColumn("restoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[tiles]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not self.interactive,
        )
        self.task = self.bar.add_task("apply", total=total, tiles="")
        self.step = max(1, round(total * PROGRESS_LINE_FRACTION))
        self.next_line = self.step
        self.start = self.last_line = time.monotonic()

    def __enter__(self) -> ApplyProgress:
        self.bar.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.bar.__exit__(kind, error, trace)

    def files(self, count: int) -> None:
        """``count`` more files are finished (any outcome)."""
        if count <= 0:
            return
        self.done += count
        self.bar.update(self.task, completed=self.done, tiles="")
        if self.interactive:
            return
        if self.done >= self.next_line or self._line_due():
            self.next_line = (self.done // self.step + 1) * self.step
            self._line(f"progress: {self.done}/{self.total} image(s) done")

    def tiles(self, done: int, total: int) -> None:
        """``done`` of the ``total`` tiles of the images being restored are finished."""
        if total <= 1:
            return
        if self.interactive:
            within = min(done / total, 0.99)  # the file itself counts once it is written
            completed = max(self.bar.tasks[0].completed, self.done + within)
            self.bar.update(self.task, completed=completed, tiles=f"tile {done}/{total}")
        elif self._line_due():
            self._line(f"progress: {self.done}/{self.total} image(s) done, tile {done}/{total}")

    def _line_due(self) -> bool:
        return time.monotonic() - self.last_line >= PROGRESS_LINE_SECONDS

    def _line(self, text: str) -> None:
        self.last_line = time.monotonic()
        elapsed = self.last_line - self.start
        self.console.print(f"{text}, {elapsed:.0f} s", highlight=False, markup=False)
