"""`ganrestore apply`'s progress on a terminal: the bar moves tile by tile within a photo."""

from __future__ import annotations

import io

from rich.console import Console

from ganrestore.cli.progress import ApplyProgress


def test_on_a_terminal_the_bar_advances_per_tile_and_each_file_once() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with ApplyProgress(console, total=2) as progress:
        completed = []
        for done in (4, 8, 12):
            progress.tiles(done, 12)
            completed.append(progress.bar.tasks[0].completed)
        assert completed[0] > 0 and completed == sorted(completed) and completed[-1] < 1
        assert progress.bar.tasks[0].fields["tiles"] == "tile 12/12"
        progress.files(1)
        assert progress.bar.tasks[0].completed == 1
        progress.tiles(3, 12)  # the second photo
        assert 1 < progress.bar.tasks[0].completed < 2
        progress.files(1)
        assert progress.bar.tasks[0].completed == 2
    assert "progress:" not in console.file.getvalue()  # lines are for logs, not terminals
