"""``ganrestore train TASK --data DIR``: train a restoration GAN on your own images."""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer

from ganrestore.cli.choices import BUNDLED_NAMES
from ganrestore.cli.entry import INTERRUPTED_EXIT_CODE
from ganrestore.cli.errors import user_errors
from ganrestore.config import (
    ConfigError,
    MovedKeyWarning,
    TrainConfig,
    bundled_config_path,
    is_ready_config,
    load_config,
    parse_override,
    ready_configs_dir,
)
from ganrestore.engine.pace import TimeLimit
from ganrestore.modelfile import CHECKPOINTS
from ganrestore.registry import TASKS

app = typer.Typer(help="Train a restoration model on a folder of your images.")

DATA_HELP = (
    "A folder of photos (degradations are synthesised), or clean/ (searched recursively) + "
    "degraded/ or noisy/ (denoise pairs) or masks/ (inpaint; white = hole), or pix2pix "
    "A/ + B/, trainA/ + trainB/ or side-by-side A|B images (denoise); optional val/. "
    "What was found, used and ignored is printed before training."
)


@app.command("train", no_args_is_help=True)
def train_command(
    task: Annotated[
        str,
        typer.Argument(help=f"What to learn: an installed task ({', '.join(TASKS.names())})."),
    ],
    data: Annotated[Path, typer.Option("--data", help=DATA_HELP, exists=True, file_okay=False)],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML config file, or a ready config by name from any folder: denoise, "
            "inpaint, pix2pix (default: the task's ready config).",
            dir_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Run directory (default: runs/TASK-YYYYmmdd-HHMMSS)."),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(help="Total training steps (on a CPU, see docs/training.md first)."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Images per step and process.")] = None,
    crop: Annotated[int | None, typer.Option(help="Square training crop size in pixels.")] = None,
    device: Annotated[
        str | None,
        typer.Option(help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps (Apple GPUs)."),
    ] = None,
    pair_dir: Annotated[
        str | None,
        typer.Option(
            "--pair-dir",
            help="Folder beside clean/ holding each image's pair: its degraded image (denoise) "
            "or mask (inpaint); default: the task's usual names (degraded/ or noisy/, masks/).",
            show_default=False,
        ),
    ] = None,
    direction: Annotated[
        str | None,
        typer.Option(
            help="pix2pix A/B pairs: AtoB (default: A is the degraded input, B the clean "
            "target) or BtoA.",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last checkpoint.")
    ] = False,
    time_limit: Annotated[
        str | None,
        typer.Option(
            "--time",
            help="Stop cleanly after this much wall-clock time, e.g. 90s, 45m, 2h or 1h30m: the "
            "step under way finishes, a checkpoint is saved and the run exits with 0; continue "
            "it with --resume.",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    max_pixels: Annotated[
        int | None,
        typer.Option(
            "--max-pixels",
            help="Photos with more pixels (width x height, read from the file header) are "
            "skipped, named, and never decoded; 0: no limit (config key data.max_pixels, "
            "default 100000000).",
            min=0,
            show_default=False,
        ),
    ] = None,
    init: Annotated[
        str | None,
        typer.Option(
            "--init",
            help="Start from trained weights (fine-tune): a run dir, checkpoint, model file or "
            f"bundled model name ({BUNDLED_NAMES}).",
            show_default=False,
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Override any config key, e.g. --set optim.lr_g=1e-4 (repeatable).",
        ),
    ] = None,
) -> None:
    """Train TASK (an installed task: ganrestore plugins list) on the images in --data;
    `--resume` continues a run."""
    limit = _time_limit(time_limit)  # counted from here: the whole command, set-up included
    with user_errors():
        from ganrestore.engine.distributed import setup_processes, teardown_processes
        from ganrestore.engine.trainer import Trainer

        run_dir = _run_dir(out, task, resume)
        saved = _saved_config(run_dir, config) if resume else None
        config = _config_file(config)
        with warnings.catch_warnings(record=True) as moved:
            warnings.simplefilter("always", MovedKeyWarning)
            train_config = load_config(
                task,
                config,
                overrides or (),
                saved=saved,
                steps=steps,
                device=device,
                init=init,
                **{
                    "data.batch_size": batch_size,
                    "data.crop": crop,
                    "data.pair_dir": pair_dir,
                    "data.direction": direction,
                    "data.max_pixels": max_pixels,
                },
            )
        for note in moved:
            typer.echo(f"note: {note.message}", err=True)
        chosen = steps is not None or any(parse_override(o)[0] == "steps" for o in overrides or ())
        default_steps = not resume and not chosen and _is_ready_config(config)
        if resume and init is not None:
            raise ConfigError("--init starts a new run; --resume continues one: drop one of them")
        if not resume:
            train_config = _resolve_init(train_config)
        context = setup_processes(train_config.device)
        try:
            trainer = Trainer(
                train_config,
                data,
                run_dir,
                context,
                resume=resume,
                default_steps=default_steps,
                time_limit=limit,
            )
            try:
                summary = trainer.fit()
            except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, without saving
                _say_stopped_at_once(run_dir, trainer.resume_command())
                raise typer.Exit(INTERRUPTED_EXIT_CODE) from None
        finally:
            teardown_processes(context)
        # Ctrl-C: saved, but not finished, and a script must be able to tell; a run stopped by
        # --time exits with 0: it stopped as planned.
        if summary.interrupted:
            raise typer.Exit(INTERRUPTED_EXIT_CODE)


def _say_stopped_at_once(run_dir: Path, resume_command: str) -> None:
    """After a second Ctrl-C: what is kept, and how to go on (``resume_command``)."""
    from ganrestore.modelfile import latest_checkpoint

    latest = latest_checkpoint(run_dir)
    if latest is None:
        typer.echo(
            f"stopped at once: {run_dir} holds no checkpoint yet, so nothing was kept; start "
            "again with another --out",
            err=True,
        )
        return
    typer.echo(
        f"stopped at once: the steps after {latest.name} are lost; continue from it with "
        f"{resume_command}",
        err=True,
    )


def _time_limit(text: str | None) -> TimeLimit | None:
    """``--time``: the limit from now, or None.

    Raises:
        typer.BadParameter: not a duration (the message names --time and the accepted forms).
    """
    if text is None:
        return None
    try:
        return TimeLimit.from_now(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--time") from None


def _run_dir(out: Path | None, task: str, resume: bool) -> Path:
    if out is not None:
        return out
    if resume:
        raise ConfigError("--resume needs --out RUN_DIR: the run to continue")
    base = Path("runs") / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir, number = base, 1
    while run_dir.exists():  # a run started earlier in the same second: the next free name
        number += 1
        run_dir = base.with_name(f"{base.name}-{number}")
    return run_dir


def _config_file(config: Path | None) -> Path | None:
    """``--config``: a TOML file as given, or a ready config by name (``pix2pix``)."""
    if config is None or config.is_file():
        return config
    ready = sorted(p.stem for p in ready_configs_dir().glob("*.toml"))
    if config.suffix == "" and len(config.parts) == 1:
        if config.name in ready:
            return bundled_config_path(config.name)
        raise ConfigError(
            f"--config {config}: no such file, and not a ready config ({', '.join(ready)})"
        )
    if not config.exists() and config.stem in ready:
        raise ConfigError(
            f"config file {config} does not exist; the ready config '{config.stem}' is "
            f"available from any folder as --config {config.stem}"
        )
    return config


def _is_ready_config(config: Path | None) -> bool:
    return config is None or is_ready_config(config)


def _resolve_init(config: TrainConfig) -> TrainConfig:
    """Read ``init`` as ``--model`` is read (before any data is listed); a bundled name
    becomes its weights file, so the run's config names the file it started from."""
    if not config.init:
        return config
    from ganrestore.modelfile import SourceKind, parse_model_source

    source = parse_model_source(config.init, what="init", baselines=False)
    if source.kind is SourceKind.BUNDLED:
        return dataclasses.replace(config, init=str(source.path))
    return config


def _saved_config(run_dir: Path, config_file: Path | None) -> dict:
    if config_file is not None:
        raise ConfigError(
            "--resume continues with the run's own config; drop --config "
            "(use --set key=value or --steps to change a setting)"
        )
    path = run_dir / "config.json"
    if not path.is_file():
        if (run_dir / CHECKPOINTS).is_dir():  # checkpoints without their run's config
            raise ConfigError(
                f"--resume: {path} is missing, though {run_dir / CHECKPOINTS} is there; each "
                'checkpoint\'s record.json holds a copy under "config": restore the file from '
                "it, or start a new run from a checkpoint with --init CHECKPOINT --out NEW_RUN"
            )
        raise ConfigError(f"--resume: {path} is missing, so {run_dir} is not a ganrestore run")
    try:
        saved = json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise ConfigError(
            f"--resume: {path} cannot be read ({exc}); each checkpoint's record.json holds a "
            'copy under "config": restore the file from it, or start a new run with another --out'
        ) from None
    if not isinstance(saved, dict):
        raise ConfigError(f"--resume: {path} is not a ganrestore run config")
    return saved
