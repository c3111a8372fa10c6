"""Evaluation: trained models and classical baselines scored on the same degraded images.

* :func:`evaluate` degrades a folder of clean images deterministically as the task says (noise
  levels, hole masks, or the task's own degradation: an upscaling task's bicubic downscale),
  restores them with every model and scores them as the task says (PSNR, SSIM, LPIPS; over
  the holes PSNR and the detail ratio; for upscaling inside a border of the scale, with the
  detail ratio over the whole image);
* under :func:`real_pairs_condition`, :func:`evaluate` scores real pairs instead: ``clean/``
  beside the task's pair folder, as ``ganrestore train`` reads them;
* :func:`score_folders` scores outputs already on disk against references matched by stem;
* :mod:`ganrestore.evaluation.metrics` holds the metrics on integer images.

``ganrestore eval`` (``docs/evaluation.md``) is the command-line face of this package.
"""

from __future__ import annotations

from ganrestore.evaluation.degrade import (
    Condition,
    mask_condition,
    noise_condition,
    real_pairs_condition,
    task_condition,
)
from ganrestore.evaluation.metrics import Lpips, psnr, ssim
from ganrestore.evaluation.models import ALL_BASELINES, EvalModel, model_task, resolve_models
from ganrestore.evaluation.report import EvalReport, ImageScore, SummaryRow, write_csv, write_json
from ganrestore.evaluation.runner import EvalSettings, evaluate
from ganrestore.evaluation.scoring import score_folders

__all__ = [
    "ALL_BASELINES",
    "Condition",
    "EvalModel",
    "EvalReport",
    "EvalSettings",
    "ImageScore",
    "Lpips",
    "SummaryRow",
    "evaluate",
    "mask_condition",
    "model_task",
    "noise_condition",
    "psnr",
    "real_pairs_condition",
    "resolve_models",
    "score_folders",
    "ssim",
    "task_condition",
    "write_csv",
    "write_json",
]
