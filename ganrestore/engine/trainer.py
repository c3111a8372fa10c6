"""The training loop: data in, steps, validation, checkpoints, exact resume.

One loop serves every task. Randomness is a pure function of (seed, step): the sampler hands
each sample its own seed, and the global torch RNG (dropout) is saved in every checkpoint, so a
run resumed after a crash ends with the same weights as one that was never interrupted.

A run stops early, after saving, on Ctrl-C (``interrupted``) or at a wall-clock limit
(``--time``, :class:`~ganrestore.engine.pace.TimeLimit`): both at a step boundary, both
continued with ``--resume``.
"""

from __future__ import annotations

import json
import os
import signal
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ganrestore.config import TrainConfig
from ganrestore.data.datasets import TrainDataset, ValDataset
from ganrestore.data.io import write_image
from ganrestore.data.layout import DataLayout, discover
from ganrestore.data.sampler import StepSampler
from ganrestore.engine import checkpoint as ckpt
from ganrestore.engine.components import Components, build_components, model_record
from ganrestore.engine.distributed import ProcessContext, all_true, barrier
from ganrestore.engine.metrics import psnr, ssim
from ganrestore.engine.pace import TimeLimit
from ganrestore.engine.reporting import RunReporter
from ganrestore.engine.run_dir import (
    ResumePoint,
    check_outside_data,
    load_resume_point,
    nonfinite_weights,
    refuse_occupied,
    set_aside,
)
from ganrestore.engine.warm_start import WarmStart, warm_start
from ganrestore.errors import GanrestoreError
from ganrestore.modelfile import (
    DISCRIMINATOR,
    GENERATOR,
    GENERATOR_RAW,
    CheckpointError,
    latest_checkpoint,
)
from ganrestore.tasks import build_task


class TrainingDivergedError(GanrestoreError):
    """The losses stayed NaN or infinite for too many steps in a row."""


@dataclass
class TrainSummary:
    """The outcome of :meth:`Trainer.fit`."""

    run_dir: Path
    start_step: int
    end_step: int
    seconds: float
    checkpoint: Path | None
    validation: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False
    out_of_time: bool = False  # stopped at the --time limit before the last step (saved)


class Trainer:
    """Trains one run.

    Args:
        config: the resolved configuration.
        data_dir: the ``--data`` folder.
        run_dir: the run directory: a new run needs a new or empty folder outside
            ``data_dir`` (created if needed); a resumed one continues there.
        context: device, rank and world size of this process.
        resume: continue from the run directory's newest intact checkpoint.
        default_steps: ``config.steps`` is the ready config's, not chosen by the user; on a
            CPU the run then suggests a shorter first run once it has timed a few steps.
        time_limit: stop, saved, at the first step boundary after it (``--time``), or None.
    """

    def __init__(
        self,
        config: TrainConfig,
        data_dir: Path,
        run_dir: Path,
        context: ProcessContext,
        resume: bool = False,
        default_steps: bool = False,
        time_limit: TimeLimit | None = None,
    ) -> None:
        self.config = config
        self.data_dir, self.run_dir = data_dir, run_dir
        self.context = context
        self.default_steps = default_steps
        self.time_limit = time_limit
        check_outside_data(run_dir, data_dir)
        if not resume:  # every process checks: none writes before all have built their DDP
            refuse_occupied(run_dir)
        # The task as the config built it (once): the data layout and the networks share it.
        task = config.task_spec if config.task_spec is not None else build_task(config.task)
        self.layout: DataLayout = discover(
            data_dir,
            task,
            val_fraction=config.data.val_fraction,
            max_bad_fraction=config.data.max_bad_fraction,
            pair_dir=config.data.pair_dir,
            direction=config.data.direction,
            layout=config.data.layout,
            max_pixels=config.data.max_pixels,
            crop=config.data.crop,
        )
        torch.manual_seed(config.seed + context.rank)
        self.parts: Components = build_components(config, context, task)
        self.start_step = 0
        self.validation: dict[str, float] = {}
        self._stop_requested = False
        self.warm_start: WarmStart | None = None
        self.resume_notes: list[str] = []
        self.resumed = resume
        if resume:
            self._restore(load_resume_point(run_dir, list(self._networks())))
        elif config.init:
            self.warm_start = warm_start(self.parts, config.init, config.task)

    # ---------------------------------------------------------------------------------- loop
    def fit(self) -> TrainSummary:
        config, context, limit = self.config, self.context, self.time_limit
        if context.is_main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                # A new run claims the folder: created only if no other run wrote it meanwhile.
                with open(self.run_dir / "config.json", "w" if self.resumed else "x") as file:
                    file.write(json.dumps(config.to_dict(), indent=2))
            except FileExistsError:
                raise GanrestoreError(
                    f"--out {self.run_dir}: another training run began there at the same moment; "
                    "choose another --out, so neither overwrites the other"
                ) from None
            except OSError as exc:
                raise GanrestoreError(
                    f"--out {self.run_dir}: cannot write the run there "
                    f"({exc.strerror or exc}); pass --out on a writable disk"
                ) from None
        batches = self._batches()
        nonfinite_streak, last_saved, step, out_of_time = 0, None, self.start_step, False
        started = time.perf_counter()
        reporter = RunReporter(
            self.run_dir,
            config.steps,
            self.start_step,
            context.is_main,
            device=context.device.type,
            default_steps=self.default_steps,
        )
        previous_handler = self._catch_interrupts()
        try:
            with reporter:
                self._describe(reporter)
                while step < config.steps and not self._stop_requested and not out_of_time:
                    step_started = time.perf_counter()
                    result = self.parts.step(next(batches))
                    step += 1
                    nonfinite_streak = 0 if result.finite else nonfinite_streak + 1
                    if nonfinite_streak >= config.optim.max_nonfinite_steps:
                        streak = f"{nonfinite_streak} steps in a row"
                        raise self._diverged(step, f"losses were NaN or infinite for {streak}")
                    self.parts.advance()
                    reporter.step(step, result.losses, time.perf_counter() - step_started)
                    if step % config.log_every == 0:
                        reporter.flush_train(step)
                    if step % config.validate_every == 0 or step == config.steps:
                        self._validate(step, reporter)
                    if step % config.checkpoint_every == 0 or step == config.steps:
                        last_saved = self._save(step)
                    if limit is not None and step < config.steps:
                        out_of_time = limit.reached_anywhere(context)
                if (self._stop_requested or out_of_time) and last_saved != step:
                    last_saved = self._save(step)
                if self._stop_requested:
                    reporter.message(f"interrupted: saved step {step}; continue with --resume")
                elif out_of_time and limit is not None:
                    reporter.message(limit.stopped(step, config.steps, self.resume_command()))
                seconds = time.perf_counter() - started
                summary = TrainSummary(
                    self.run_dir,
                    self.start_step,
                    step,
                    seconds,
                    latest_checkpoint(self.run_dir) if context.is_main else None,
                    dict(self.validation),
                    self._stop_requested,
                    out_of_time and not self._stop_requested,
                )
                self._summarise(reporter, summary)
        finally:
            signal.signal(signal.SIGINT, previous_handler)
        return summary

    def _batches(self) -> Iterator[dict[str, torch.Tensor]]:
        config, context = self.config, self.context
        dataset = TrainDataset(
            self.layout.train,
            self.parts.task,
            config.data.crop,
            options=config.task_options,
            max_pixels=config.data.max_pixels,
        )
        sampler = StepSampler(
            len(dataset),
            config.data.batch_size,
            config.seed,
            start_step=self.start_step,
            rank=context.rank,
            world_size=context.world_size,
        )
        workers = loader_workers(config.data.workers)
        loader = DataLoader(
            dataset,
            batch_size=config.data.batch_size,
            sampler=sampler,
            num_workers=workers,
            pin_memory=context.device.type == "cuda",
            persistent_workers=workers > 0,
            generator=torch.Generator().manual_seed(config.seed),  # keeps the global RNG intact
        )
        memory_format = torch.channels_last if config.channels_last else torch.preserve_format
        for batch in loader:
            yield {
                key: value.to(context.device, non_blocking=True, memory_format=memory_format)
                if value.ndim == 4
                else value.to(context.device)
                for key, value in batch.items()
            }

    # ---------------------------------------------------------------------------- validation
    @torch.inference_mode()
    def _validate(self, step: int, reporter: RunReporter) -> None:
        if self.context.is_main and self.layout.val:
            samples = self.layout.val[: self.config.data.val_images]
            dataset = ValDataset(
                samples,
                self.parts.task,
                size=self.config.data.val_size,
                options=self.config.task_options,
                max_pixels=self.config.data.max_pixels,
            )
            loader = DataLoader(dataset, batch_size=4)
            generator, task = self.parts.inference_generator, self.parts.task
            was_training = generator.training
            generator.eval()
            scores: dict[str, list[float]] = {"psnr": [], "ssim": [], "input_psnr": []}
            grid_rows: list[np.ndarray] = []
            for batch in loader:
                batch = {key: value.to(self.context.device) for key, value in batch.items()}
                with self.parts.autocast():
                    raw = generator(task.network_input(batch))
                restored = task.restore(raw.float(), batch)
                scores["psnr"] += psnr(restored, batch["clean"]).tolist()
                scores["ssim"] += ssim(restored, batch["clean"]).tolist()
                shown = task.shown_input(batch)
                scores["input_psnr"] += psnr(shown, batch["clean"]).tolist()
                if len(grid_rows) < 4:
                    grid_rows += _grid_rows(shown, restored, batch["clean"])[: 4 - len(grid_rows)]
            generator.train(was_training)
            self.validation = {key: float(np.mean(values)) for key, values in scores.items()}
            reporter.write({"step": step, "kind": "val", **self.validation})
            reporter.message(
                f"validation at step {step}: PSNR {self.validation['psnr']:.2f} dB "
                f"(input {self.validation['input_psnr']:.2f} dB), "
                f"SSIM {self.validation['ssim']:.4f}"
            )
            grid = np.concatenate(grid_rows, axis=0)
            write_image(self.run_dir / "samples" / f"{ckpt.step_name(step)}.png", grid)
        barrier(self.context)

    # --------------------------------------------------------------------------- checkpoints
    def _networks(self) -> dict[str, dict[str, torch.Tensor]]:
        """Weight file name -> state dict, as a checkpoint holds them."""
        parts = self.parts
        networks = {GENERATOR: parts.inference_generator.state_dict()}
        networks[GENERATOR_RAW] = parts.generator.state_dict()
        if parts.discriminator is not None:
            networks[DISCRIMINATOR] = parts.discriminator.state_dict()
        return networks

    def _save(self, step: int) -> Path | None:
        """Save a checkpoint; weights holding NaN or infinity are never saved: the run stops."""
        context, networks = self.context, self._networks()
        broken = nonfinite_weights(networks)
        if not all_true(not broken, context):
            held = f"the {' and '.join(broken)} weights hold" if broken else "weights hold"
            raise self._diverged(step, f"{held} NaN or infinite values, so they were not saved")
        saved, failure = None, None
        if context.is_main:
            try:
                saved = ckpt.save_checkpoint(
                    self.run_dir,
                    step,
                    networks,
                    self._training_state(step),
                    model_record(self.config, self.parts, self.validation),
                    keep=self.config.keep_checkpoints,
                )
            except OSError as exc:  # a full or read-only disk: every process stops together
                failure = exc.strerror or str(exc)
        if not all_true(failure is None, context):
            raise GanrestoreError(
                f"the checkpoint of step {step} could not be written in "
                f"{self.run_dir / 'checkpoints'} ({failure or 'on the main process'}); nothing "
                "half-written was left: free space or fix the folder, then continue from the "
                "last checkpoint with --resume"
            )
        barrier(context)
        return saved

    def _training_state(self, step: int) -> dict[str, Any]:
        parts = self.parts
        state: dict[str, Any] = {
            "step": step,
            "optimizers": {k: v.state_dict() for k, v in parts.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in parts.schedulers.items()},
            "scalers": {k: v.state_dict() for k, v in parts.scalers.items()},
            "ema_updates": parts.ema.updates if parts.ema is not None else 0,
            "rng_cpu": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["rng_cuda"] = torch.cuda.get_rng_state_all()
        return state

    def _restore(self, point: ResumePoint) -> None:
        parts, checkpoint, state, tensors = self.parts, point.checkpoint, point.state, point.tensors
        if point.damaged:
            if self.context.is_main:
                self.resume_notes += set_aside(point.damaged)
            self.resume_notes.append(
                f"resuming from the newest intact checkpoint instead: {checkpoint} "
                f"(step {state['step']})"
            )
        try:
            parts.generator.load_state_dict(tensors[GENERATOR_RAW])
            if parts.ema is not None:
                parts.ema.load_state_dict(tensors[GENERATOR], state["ema_updates"])
            if parts.discriminator is not None:
                parts.discriminator.load_state_dict(tensors[DISCRIMINATOR])
            for group in ("optimizers", "schedulers", "scalers"):
                for name, component in getattr(parts, group).items():
                    component.load_state_dict(state[group][name])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(
                f"cannot resume from {checkpoint}: it does not match this run's networks or "
                f"losses ({type(exc).__name__}: {str(exc).splitlines()[0]}). Resume with the "
                "run's own config (the default) or start a new run with --out."
            ) from exc
        self.start_step = int(state["step"])
        if self.start_step >= self.config.steps:
            raise GanrestoreError(
                f"{self.run_dir} is at step {self.start_step} already and this run ends at step "
                f"{self.config.steps}: nothing to train; pass --steps N with N above "
                f"{self.start_step} to train on"
            )
        if self.context.is_main:
            torch.set_rng_state(state["rng_cpu"])
        else:
            torch.manual_seed(self.config.seed + self.context.rank + self.start_step)
        if "rng_cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng_cuda"])
        self.validation = dict(point.record.training.metrics)

    # --------------------------------------------------------------------------------- misc
    def _catch_interrupts(self) -> Any:
        """First Ctrl-C: finish the step, save, stop. Second: stop at once."""

        def request_stop(signum: int, frame: Any) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        try:
            return signal.signal(signal.SIGINT, request_stop)
        except ValueError:  # not the main thread (e.g. a notebook's worker thread)
            return signal.getsignal(signal.SIGINT)

    def resume_command(self) -> str:
        """The command that continues this run from its last checkpoint."""
        data, run = self.data_dir, self.run_dir
        return f"ganrestore train {self.config.task} --data {data} --out {run} --resume"

    def _diverged(self, step: int, cause: str) -> TrainingDivergedError:
        latest = latest_checkpoint(self.run_dir)
        where = f"the last good checkpoint is {latest}" if latest else "no checkpoint was saved"
        return TrainingDivergedError(
            f"training diverged at step {step}: {cause}; {where}. Lower optim.lr_g / "
            'optim.lr_d, set optim.grad_clip (e.g. 1.0) or use precision = "fp32".'
        )

    def _describe(self, reporter: RunReporter) -> None:
        layout, config = self.layout, self.config
        reporter.message(f"data: {layout.summary}")
        for note in self.resume_notes:
            reporter.message(f"note: {note}")
        for note in layout.notes:
            reporter.message(f"note: {note}")
        for path, reason in layout.skipped:
            reporter.message(f"skipped {path}: {reason}")
        if self.warm_start is not None:
            reporter.message(self.warm_start.describe())
        reporter.message(
            f"{config.task}: {len(layout.train)} training and {len(layout.val)} validation "
            f"images; {self._networks_said()} on "
            f"{self.context.device} x{self.context.world_size} in {self.parts.precision}; "
            f"steps {self.start_step}"
            f"->{config.steps}; run directory {self.run_dir}"
        )

    def _networks_said(self) -> str:
        """``resunet + patchgan``, or the generator alone when no loss needs a discriminator."""
        config = self.config
        if self.parts.discriminator is None:
            return f"{config.generator.name} (no discriminator: adversarial weight 0)"
        return f"{config.generator.name} + {config.discriminator.name}"

    def _summarise(self, reporter: RunReporter, summary: TrainSummary) -> None:
        rows = {
            "run directory": str(summary.run_dir),
            "steps": f"{summary.start_step} -> {summary.end_step}",
            "time": f"{summary.seconds:.1f} s",
            "checkpoint": str(summary.checkpoint),
        }
        if summary.out_of_time:
            rows["stopped"] = "at the --time limit; continue with --resume"
        elif summary.interrupted:
            rows["stopped"] = "interrupted (Ctrl-C); continue with --resume"
        rows.update({f"val {k}": f"{v:.4f}" for k, v in summary.validation.items()})
        reporter.summary(rows)


def _grid_rows(shown: torch.Tensor, restored: torch.Tensor, clean: torch.Tensor) -> list:
    """One ``input | output | target`` strip per image, (H, 3W, 3) float arrays; the three are
    ``(B, 3, H, W)`` (the input as its task shows it)."""
    strips = torch.cat([shown, restored, clean], dim=3)
    return [strip.permute(1, 2, 0).float().cpu().numpy() for strip in strips]


class TooManyWorkersWarning(UserWarning):
    """``data.workers`` asked for more loader processes than this process has CPUs."""


def loader_workers(asked: int, cpus: int | None = None) -> int:
    """The data-loader processes to start for ``data.workers = asked``: at most one per CPU this
    process may run on (``cpus``; None: read it), said when fewer than asked. The batches are
    the same whatever the count: each crop is drawn from its own seed."""
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = max(1, cpus or 1)
    if asked <= cpus:
        return asked
    warnings.warn(
        f"data.workers {asked} is more than the {cpus} CPU(s) this run may use: {cpus} loader "
        "process(es) are started instead (more would only compete for them)",
        TooManyWorkersWarning,
        stacklevel=2,
    )
    return cpus
