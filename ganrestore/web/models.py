"""The restorer of each task, loaded once through :func:`ganrestore.load_restorer`, what the
page is told about every installed task, and messages about models without the paths of this
installation."""

from __future__ import annotations

import logging
import sys
import sysconfig
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError
from ganrestore.tasks import task_model
from ganrestore.web.controls import model_controls

logger = logging.getLogger(__name__)
#: The installed ganrestore package: its absolute path is nobody's business on the page.
PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: The order of the page's task list: the task ``apply`` gives masked images, the one it gives
#: the others, then the tasks only run when asked for (by name within each).
ROUTE_ORDER = ("masked", "unmasked", "never")

if TYPE_CHECKING:
    from ganrestore.inference import Restorer
    from ganrestore.tasks import Task


def installed_tasks() -> dict[str, Task]:
    """Every installed task that builds, by name, in the page's order (:data:`ROUTE_ORDER`);
    a broken third-party task is left out (``ganrestore plugins list`` reports it)."""
    from ganrestore.tasks import build_task, task_names

    tasks = []
    for name in task_names():
        try:
            tasks.append(build_task(name))
        except Exception:  # a broken plugin must not stop the page
            continue
    tasks.sort(key=lambda task: (ROUTE_ORDER.index(task.route), task.name))
    return {task.name: task for task in tasks}


def default_models(tasks: Mapping[str, Task] | None = None) -> dict[str, str]:
    """Task -> its bundled model, for every installed task (of ``tasks``, default
    :func:`installed_tasks`) whose bundled model is installed: what the page runs by default."""
    from ganrestore.modelfile.source import BUNDLED_MODELS

    tasks = installed_tasks() if tasks is None else tasks
    return {
        name: task.bundled_model
        for name, task in tasks.items()
        if task.bundled_model is not None and task.bundled_model in BUNDLED_MODELS
    }


class ModelCache:
    """Loads the model of each task on first use and keeps it; safe to share between threads.

    Args:
        models: task -> what :func:`ganrestore.load_restorer` loads (a bundled name, a run
            directory, ``baseline:NAME``...); tasks left out get their bundled model, if it is
            installed (:func:`default_models`).
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        trust_torchscript: load TorchScript files of ``ganrestore export`` (``.pt``, ``.ts``),
            which run code of their own (``serve --trust-torchscript``).

    Attributes:
        tasks: every installed task, in the page's order (:func:`installed_tasks`).
        models: task -> its model, for the tasks that have one.
    """

    def __init__(
        self,
        models: Mapping[str, str] | None = None,
        device: str = "auto",
        trust_torchscript: bool = False,
    ) -> None:
        from ganrestore.tasks import task_names

        self.tasks = installed_tasks()
        self.models = {**default_models(self.tasks), **(models or {})}
        unknown = set(self.models) - set(task_names())
        if unknown:
            raise GanrestoreError(
                f"unknown task(s) {sorted(unknown)}; installed: {', '.join(task_names())}"
            )
        self.device = device
        self.trust_torchscript = trust_torchscript
        self._loaded: dict[str, Restorer] = {}
        self._lock = threading.Lock()

    def use_model(self, model: str) -> Restorer:
        """Load ``model`` now (``--model``) and make it the model of its own task.

        Raises:
            GanrestoreError: the model cannot be loaded.
        """
        restorer = self._load(model)
        with self._lock:
            self.models[restorer.task] = model
            self._loaded[restorer.task] = restorer
        return restorer

    def task(self, name: str) -> Task:
        """The installed task ``name``, if a model here restores it.

        Raises:
            GanrestoreError: no such task, or no model for it.
        """
        if name not in self.models:
            if name in self.tasks:
                raise GanrestoreError(
                    f"no model restores '{name}' here: restart ganrestore serve with "
                    f"--model and {task_model(name)} (a run directory of ganrestore train)"
                )
            raise GanrestoreError(f"unknown task '{name}'; choose {' or '.join(self.models)}")
        if name not in self.tasks:  # a --model of a task that does not build
            from ganrestore.tasks import build_task

            self.tasks[name] = build_task(name)
        return self.tasks[name]

    def get(self, task: str) -> Restorer:
        """The restorer of ``task``, loaded on the first call (which may take seconds).

        Raises:
            GanrestoreError: unknown task, no model for it, or the model cannot be loaded.
        """
        self.task(task)
        with self._lock:  # one load at a time: a second caller waits for the first
            if task not in self._loaded:
                restorer = self._load(self.models[task])
                if restorer.task != task:
                    raise GanrestoreError(
                        f"{restorer.description} restores '{restorer.task}', not '{task}'"
                    )
                self._loaded[task] = restorer
            return self._loaded[task]

    def controls(self, task: str) -> tuple[str, ...]:
        """What the page asks for before the model of ``task`` restores a photo (it is loaded
        first): :func:`~ganrestore.web.controls.model_controls`.

        Raises:
            GanrestoreError: as :meth:`get`.
        """
        return model_controls(self.task(task), self.get(task))

    def is_loaded(self, task: str) -> bool:
        return task in self._loaded

    def report(self) -> list[dict[str, object]]:
        """Every installed task as the page shows it, in order; loads every model (once).

        Each: ``name``; ``summary`` (one line on what it does); ``scale`` (output side / input
        side); ``model`` (what was given, or None: no model restores it here); ``description``
        (where the model came from, or None); ``controls`` (what the page asks for: the model's
        when it loads, else the task's own); ``precision`` (the number format a network runs
        in, ``"fp32"``, ``"bf16"`` or ``"fp16"``; None: a classical method, or not loaded);
        ``error`` (why it cannot run, or None).
        """
        from ganrestore.registry import TASKS, first_lines

        described = []
        for name, task in list(self.tasks.items()):
            entry: dict[str, object] = {
                "name": name,
                "summary": first_lines(TASKS.get(name).__doc__),
                "scale": task.scale,
                "model": self.models.get(name),
                "description": None,
                "controls": list(task.controls),
                "precision": None,
                "error": None,
            }
            try:
                restorer = self.get(name)
                entry["controls"] = list(model_controls(task, restorer))
                entry["description"] = without_install_paths(restorer.description)
                entry["precision"] = getattr(restorer, "precision", None)
            except GanrestoreError as exc:
                entry["error"] = without_install_paths(str(exc))
            except Exception as exc:  # a bug of one model: the others still run
                logger.exception("loading the model of %s failed", name)
                entry["error"] = without_install_paths(f"{type(exc).__name__}: {exc}")
            described.append(entry)
        return described

    def _load(self, model: str) -> Restorer:
        from ganrestore import load_restorer  # imports torch: only when a model is needed
        from ganrestore.modelfile.source import BUNDLED_MODELS

        restorer = load_restorer(
            model, device=self.device, trust_torchscript=self.trust_torchscript
        )
        if model in BUNDLED_MODELS and not Path(model).exists():  # named, not a path
            restorer.description = f"the bundled {model} model"
        return restorer


def without_install_paths(message: str) -> str:
    """``message`` for the page: the bundled models' files become "the bundled NAME model",
    other paths inside the installed package or Python's own folders lose their folders.

    A message may come from anywhere below the page (a model, PyTorch, a bug); the page shows
    it to whoever uses the server, who has no business knowing where it is installed.
    """
    from ganrestore.modelfile.source import BUNDLED_MODELS, bundled_path

    for name in BUNDLED_MODELS:
        message = message.replace(str(bundled_path(name)), f"the bundled {name} model")
    roots = {str(PACKAGE_DIR): "ganrestore"}
    for folder in (sys.prefix, sys.base_prefix, *sysconfig.get_paths().values()):
        roots.setdefault(str(Path(folder)), "…")
    for root in sorted(roots, key=len, reverse=True):  # the most specific first
        if len(root) > 1:
            message = message.replace(root, roots[root])
    return message
