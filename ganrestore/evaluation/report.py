"""Evaluation results and how they are written: per-image CSV, JSON of the means, a picture grid.

Identical images have an infinite PSNR: the CSV says ``inf`` and the JSON ``null`` (JSON has
no infinity); a PSNR over holes of an image without holes is empty / ``null`` likewise. The
JSON leaves out the metrics no image of the report has (the PSNR over holes without holes, the
detail ratio where the task scores none).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ganrestore.data.atomic import why_unwritable
from ganrestore.data.io import write_image
from ganrestore.errors import GanrestoreError

#: The detail-ratio fields, pyramid levels 0, 1 and 2 (``metrics.detail_ratio``).
DETAIL_FIELDS = ("detail_0", "detail_1", "detail_2")
METRICS = ("psnr", "ssim", "psnr_hole", *DETAIL_FIELDS, "lpips")


@dataclass(frozen=True)
class ImageScore:
    """Scores of one model on one image under one condition.

    Attributes:
        psnr: dB over every pixel; ssim: mean SSIM; psnr_hole: dB over the holes (inpainting);
        detail_0, detail_1, detail_2: detail ratio over the holes at pyramid levels 0, 1, 2
            (``metrics.detail_ratio``; 1.0 = the truth's detail; nan where the truth is flat);
            without holes ``detail_0`` over the whole image where the task scores it
            (``Task.eval_scoring``: upscaling), else None; lpips: LPIPS distance or None when
            unavailable; seconds: restore time; megapixels: the output's size. Every metric is
            taken inside the task's border (``Scoring.border``).
    """

    model: str
    condition: str
    image: str
    psnr: float
    ssim: float
    psnr_hole: float | None
    lpips: float | None
    seconds: float | None
    megapixels: float
    detail_0: float | None = None
    detail_1: float | None = None
    detail_2: float | None = None


@dataclass(frozen=True)
class SummaryRow:
    """Means of one model under one condition; ``seconds_per_image`` and throughput too.

    The detail ratios are means over the images where the truth is not flat in the holes.
    """

    model: str
    condition: str
    images: int
    psnr: float
    ssim: float
    psnr_hole: float | None
    lpips: float | None
    seconds_per_image: float | None
    megapixels_per_second: float | None
    detail_0: float | None = None
    detail_1: float | None = None
    detail_2: float | None = None


@dataclass
class EvalReport:
    """Everything an evaluation produced, in the order it was computed.

    ``task`` is None when scoring saved outputs (``--restored``) without ``--task``. ``mode``
    says what was scored: ``"degrade"`` (clean images degraded and restored), ``"real-pairs"``
    (real degraded files restored) or ``"restored"`` (saved outputs).
    """

    task: str | None
    source: str
    seed: int | None
    conditions: list[str]
    models: list[dict[str, str]]
    lpips_reason: str | None
    mode: str = "degrade"
    scores: list[ImageScore] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_holes(self) -> bool:
        """Whether the PSNR over holes is part of this report (inpainting, or masks given)."""
        return any(s.psnr_hole is not None for s in self.scores)

    @property
    def detail_fields(self) -> tuple[str, ...]:
        """The detail-ratio fields some score of this report has: the three levels over holes,
        ``detail_0`` alone for a task scored on the whole image's detail, or none."""
        return tuple(
            f for f in DETAIL_FIELDS if any(getattr(s, f) is not None for s in self.scores)
        )

    def summary(self) -> list[SummaryRow]:
        """One row per (model, condition), conditions in order, models in order within each."""
        rows = []
        for condition in self.conditions:
            for model in self.models:
                scores = [
                    s for s in self.scores if s.model == model["label"] and s.condition == condition
                ]
                if scores:
                    rows.append(_summarise(model["label"], condition, scores))
        return rows

    def to_json(self) -> dict[str, Any]:
        """The means, settings and models, ready for ``json.dumps`` (no NaN/inf)."""
        results = []
        absent = [key for key in DETAIL_FIELDS if key not in self.detail_fields]
        if not self.has_holes:
            absent.append("psnr_hole")
        for row in self.summary():
            entry = {key: _finite(value) for key, value in asdict(row).items()}
            for key in absent:
                entry.pop(key)
            if self.lpips_reason is not None:
                entry["lpips_unavailable"] = self.lpips_reason
            results.append(entry)
        return {
            "mode": self.mode,
            "task": self.task,
            "data": self.source,
            "seed": self.seed,
            "images": len({s.image for s in self.scores}),
            "conditions": self.conditions,
            "models": self.models,
            "lpips": None if self.lpips_reason else "alex (lpips v0.1)",
            "lpips_unavailable": self.lpips_reason,
            **self.extra,
            "results": results,
        }


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return math.fsum(present) / len(present) if present else None


def _summarise(model: str, condition: str, scores: list[ImageScore]) -> SummaryRow:
    timed = [s for s in scores if s.seconds is not None]
    seconds = math.fsum(s.seconds for s in timed) if timed else None
    megapixels = math.fsum(s.megapixels for s in timed)
    return SummaryRow(
        model=model,
        condition=condition,
        images=len(scores),
        psnr=_mean([s.psnr for s in scores]),
        ssim=_mean([s.ssim for s in scores]),
        psnr_hole=_mean([s.psnr_hole for s in scores]),
        lpips=_mean([s.lpips for s in scores]),
        seconds_per_image=None if seconds is None else seconds / len(timed),
        megapixels_per_second=megapixels / seconds if seconds else None,
        **{key: _mean([getattr(s, key) for s in scores]) for key in DETAIL_FIELDS},
    )


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return "inf" if math.isinf(value) else repr(value)
    return str(value)


def csv_text(report: EvalReport) -> str:
    """Per-image scores, one row per (model, condition, image)."""
    buffer = io.StringIO()
    columns = list(ImageScore.__dataclass_fields__)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for score in report.scores:
        writer.writerow([_cell(getattr(score, column)) for column in columns])
    return buffer.getvalue()


def write_csv(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(report))


def write_json(report: EvalReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n")


def checked_output_paths(
    json_file: Path | None, csv_file: Path | None, overwrite: bool = False
) -> tuple[Path | None, Path | None]:
    """``--json`` and ``--csv`` (default beside the JSON), checked writable before any scoring.

    Raises:
        GanrestoreError: a file or its folder cannot be written, or a file exists and
            ``overwrite`` is False; nothing has been scored yet.
    """
    options = [("--json", json_file), ("--csv", csv_file)]
    if csv_file is None and json_file is not None:
        csv_file = json_file.with_suffix(".csv")
        options[1] = ("--csv (beside --json)", csv_file)
    for option, path in options:
        if path is not None:
            _check_file(option, path, overwrite)
    return json_file, csv_file


def check_writable_outputs(
    grid: Path | None, save_outputs: Path | None, overwrite: bool = False
) -> None:
    """``--grid`` (a file) and ``--save-outputs`` (a folder), checked before any scoring.

    Without ``overwrite`` an existing grid file, or a --save-outputs folder that already holds
    anything, is refused: eval replaces the files it writes, and a user's own are never lost.

    Raises:
        GanrestoreError: one cannot be written, or holds files already; nothing has been scored
            yet.
    """
    if grid is not None:
        _check_file("--grid", grid, overwrite)
    if save_outputs is not None:
        if save_outputs.exists() and not save_outputs.is_dir():
            raise GanrestoreError(
                f"--save-outputs {save_outputs}: is a file, not a folder; pass a folder"
            )
        if not overwrite and save_outputs.is_dir() and any(save_outputs.iterdir()):
            raise GanrestoreError(
                f"--save-outputs {save_outputs}: the folder is not empty; pass a new or empty "
                "folder, or --overwrite to replace the files eval writes there (others are kept)"
            )
        # An existing folder is checked as the folder of a file to come in it.
        target = save_outputs / "probe" if save_outputs.is_dir() else save_outputs
        problem = _unwritable(target)
        if problem:
            raise GanrestoreError(f"--save-outputs {save_outputs}: {problem}; pass another folder")


def _check_file(option: str, path: Path, overwrite: bool) -> None:
    """Refuse ``path`` for ``option`` when it cannot be written, or exists without ``overwrite``."""
    problem = _unwritable(path)
    if problem:
        raise GanrestoreError(f"{option} {path}: {problem}; pass another path")
    if path.exists() and not overwrite:
        raise GanrestoreError(
            f"{option} {path}: the file exists; pass --overwrite to replace it, or another path"
        )


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written as a file (created with its folders), or None."""
    return "is a folder" if path.is_dir() else why_unwritable(path)


def write_outputs(
    report: EvalReport,
    json_file: Path | None,
    csv_file: Path | None,
    log: Callable[[str], None],
) -> None:
    """Write per-image scores to ``csv_file`` and the means to ``json_file``.

    Raises:
        GanrestoreError: writing failed after all (the table is already printed).
    """
    for option, path, write in (("--csv", csv_file, write_csv), ("--json", json_file, write_json)):
        if path is None:
            continue
        try:
            write(report, path)
        except OSError as exc:
            raise GanrestoreError(
                f"{option} {path}: could not write it ({exc.strerror or exc}); the scores are "
                "in the table above. Pass another path"
            ) from None
        if option == "--csv":
            report.extra["per_image_csv"] = str(path)
            log(f"per-image scores: {path}")
        else:
            log(f"means: {path}")


def short_labels(labels: list[str]) -> dict[str, str]:
    """Each label shortened to the fewest trailing path parts that still tell it apart.

    ``/home/me/exp-a/runs/denoise`` and ``/home/me/exp-b/runs/denoise`` become
    ``.../exp-a/runs/denoise`` and ``.../exp-b/runs/denoise``; a path keeps at least its last two
    parts (``.../runs/x``, never ``.../x``, which reads like a bundled name); labels without a
    ``/`` (baselines, bundled names) stay as they are. For tables and pictures; files keep the
    full labels.
    """
    parts = {label: label.rstrip("/").split("/") for label in labels}
    shortened = {}
    for label, own in parts.items():
        others = [other for key, other in parts.items() if key != label]
        keep = min(2, len(own))
        while keep < len(own) and any(other[-keep:] == own[-keep:] for other in others):
            keep += 1
        tail = "/".join(own[-keep:])
        shortened[label] = tail if keep >= len(own) else f".../{tail}"
    return shortened


def folder_name(label: str) -> str:
    """A model label made safe as one folder name (``runs/x`` -> ``runs_x``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "model"
    return f"{name}-model" if name in ("degraded", "masks", "input") else name


# ----------------------------------------------------------------------------------- the grid
CELL = 192  # longest side of a thumbnail, in pixels
HEADER = 22  # height of the label strips


def _thumbnail(image: np.ndarray) -> np.ndarray:
    """``(H, W[, C])`` uint8 -> ``(CELL, CELL, 3)`` uint8, aspect kept, padded with white."""
    image = image[..., None] if image.ndim == 2 else image
    image = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    height, width = image.shape[:2]
    scale = CELL / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST
    small = cv2.resize(image, size, interpolation=interpolation)
    cell = np.full((CELL, CELL, 3), 255, np.uint8)
    cell[: small.shape[0], : small.shape[1]] = small
    return cell


def _strip(width: int, text: str) -> np.ndarray:
    strip = np.full((HEADER, width, 3), 255, np.uint8)
    cv2.putText(
        strip, text[:40], (4, HEADER - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA
    )
    return strip


class GridBuilder:
    """Collects thumbnails row by row: degraded | each model | reference."""

    def __init__(self, labels: list[str]) -> None:
        self.labels = labels
        self.rows: list[np.ndarray] = []

    def add_row(self, title: str, reference: np.ndarray, outputs: dict[str, np.ndarray]) -> None:
        """One row: ``outputs`` (uint8, by label, in ``labels`` order) then the reference."""
        reference8 = (
            reference if reference.dtype == np.uint8 else (reference // 257).astype(np.uint8)
        )
        cells = [_thumbnail(outputs[label]) for label in self.labels] + [_thumbnail(reference8)]
        row = np.concatenate(cells, axis=1)
        self.rows.append(np.concatenate([_strip(row.shape[1], title), row], axis=0))

    def write(self, path: Path) -> None:
        short = short_labels(self.labels)
        titles = [("degraded" if i == 0 else short[label]) for i, label in enumerate(self.labels)]
        header = np.concatenate([_strip(CELL, title) for title in [*titles, "reference"]], axis=1)
        picture = np.concatenate([header, *self.rows], axis=0)
        write_image(path, picture.astype(np.float32) / 255.0)
