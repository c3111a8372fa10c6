"""An apply run over several processes: each file in exactly one share, and one summary."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from ganrestore.inference import ApplyOptions, NetworkRestorer, plan_folder, run_folder, run_plan
from ganrestore.inference.ranks import (
    FILE_COST_PIXELS,
    file_costs,
    merge_summaries,
    share_by_cost,
    split_plan,
)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Six real images of five sizes (PNG, JPEG, gray), a corrupt one and a note."""
    folder = tmp_path / "photos"
    folder.mkdir()
    astronaut, camera = skimage.data.astronaut(), skimage.data.camera()
    Image.fromarray(astronaut[:64, :96]).save(folder / "a.png")
    Image.fromarray(astronaut[100:180, 100:160]).save(folder / "b.jpg", quality=95)
    Image.fromarray(camera[:48, :80]).save(folder / "c.png")
    Image.fromarray(skimage.data.coffee()[:70, :50]).save(folder / "d.png")
    Image.fromarray(skimage.data.chelsea()[:40, :40]).save(folder / "e.png")
    Image.fromarray(skimage.data.chelsea()[40:80, :40]).save(folder / "f.png")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a PNG")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_a_share_is_the_costliest_file_first_to_the_least_loaded_process() -> None:
    # 5 -> rank 0, 4 -> 1, 3 -> 1 (4 < 5), 2 -> 0 (5 < 7), 1 -> 0 (7 = 7: the lower rank).
    assert share_by_cost([5, 1, 4, 2, 3], 2) == [[0, 1, 3], [2, 4]]
    assert share_by_cost([7, 7, 7, 7, 7], 2) == [[0, 2, 4], [1, 3]]  # equal: in index order
    assert share_by_cost([0, 0, 0], 2) == [[0, 2], [1]]
    assert share_by_cost([3, 1], 4) == [[0], [1], [], []]  # more processes than files
    assert share_by_cost([], 3) == [[], [], []]
    assert share_by_cost([2, 9, 4], 1) == [[0, 1, 2]]


@pytest.mark.parametrize("world_size", [2, 3, 5, 8])
def test_shares_are_disjoint_cover_every_file_and_balance_the_work(world_size: int) -> None:
    rng = np.random.default_rng(world_size)
    costs = [int(c) for c in rng.integers(0, 5_000_000, size=61)]  # photos of mixed sizes
    shares = share_by_cost(costs, world_size)
    assert len(shares) == world_size
    assert sorted(i for share in shares for i in share) == list(range(len(costs)))
    assert all(share == sorted(share) for share in shares)
    loads = [sum(costs[i] for i in share) for share in shares]
    assert max(loads) - min(loads) <= max(costs)
    assert share_by_cost(list(costs), world_size) == shares  # the same on every process


def test_a_world_of_no_process_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        share_by_cost([1, 2], 0)


def test_a_file_costs_its_pixels_from_the_header_plus_a_fixed_part(photos: Path) -> None:
    jobs = plan_folder(ApplyOptions(photos, photos.parent / "out"), takes_masks=False).jobs
    costs = dict(zip((job.source.name for job in jobs), file_costs(jobs), strict=True))
    assert costs["a.png"] == 64 * 96 + FILE_COST_PIXELS
    assert costs["b.jpg"] == 80 * 60 + FILE_COST_PIXELS
    assert costs["corrupt.png"] == FILE_COST_PIXELS  # fails at once: only the fixed part
    over_limit = file_costs(jobs, max_pixels=5000)  # a.png (6144 pixels) fails at once too
    assert dict(zip((job.source.name for job in jobs), over_limit, strict=True))["a.png"] == (
        FILE_COST_PIXELS
    )


def test_each_job_goes_to_one_process_and_planning_outcomes_stay_with_rank_0(
    photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "c.png").write_bytes(b"the user's own file")
    plan = plan_folder(ApplyOptions(photos, out), takes_masks=False)
    shares = split_plan(plan, file_costs(plan.jobs), 3)
    assert len(shares) == 3
    jobs = [job for share in shares for job in share.jobs]
    assert sorted(jobs, key=lambda job: job.source) == sorted(plan.jobs, key=lambda j: j.source)
    assert all(share.jobs for share in shares)
    assert [source.name for source, _ in shares[0].skipped] == ["c.png"]
    assert [source.name for source, _ in shares[0].ignored] == ["notes.txt"]
    assert all(not s.skipped and not s.failed and not s.ignored for s in shares[1:])
    assert sum(share.total for share in shares) == plan.total


def test_the_shares_run_one_by_one_give_the_outputs_and_summary_of_one_run(
    photos: Path, tmp_path: Path, denoiser: NetworkRestorer
) -> None:
    single = run_folder(denoiser, ApplyOptions(photos, tmp_path / "single"))
    options = ApplyOptions(photos, tmp_path / "shared")
    plan = plan_folder(options, denoiser.takes_masks)
    summaries = [
        run_plan(denoiser, share, options, remove_stale=False)
        for share in split_plan(plan, file_costs(plan.jobs), 2)
    ]
    merged = merge_summaries(summaries)
    assert sorted(merged.restored) == sorted(single.restored)
    assert merged.failed == single.failed and [p.name for p, _ in merged.failed] == ["corrupt.png"]
    assert merged.ignored == single.ignored and merged.skipped == single.skipped == []
    assert merged.megapixels == pytest.approx(single.megapixels)
    assert merged.seconds == max(summary.seconds for summary in summaries)
    assert {task: sorted(paths) for task, paths in merged.by_task.items()} == {
        "denoise": sorted(single.restored)
    }
    assert merged.exit_code == 1
    for name in (path.name for path in single.restored):
        shared, alone = tmp_path / "shared" / name, tmp_path / "single" / name
        assert shared.read_bytes() == alone.read_bytes()


def test_only_the_process_told_to_removes_temporaries_left_by_a_killed_run(
    photos: Path, tmp_path: Path, denoiser: NetworkRestorer
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".a.png.0123abcd.tmp"
    stale.write_bytes(b"half an image")
    old = time.time() - 300
    os.utime(stale, (old, old))
    options = ApplyOptions(photos, out)
    plan = plan_folder(options, denoiser.takes_masks)
    plan.jobs = plan.jobs[:1]
    run_plan(denoiser, plan, options, remove_stale=False)
    assert stale.exists()
    lines: list[str] = []
    plan.jobs, plan.failed, plan.ignored = [], [], []
    run_plan(denoiser, plan, options, lines.append)
    assert not stale.exists()
    assert any("removed 1 temporary file(s)" in line for line in lines)
