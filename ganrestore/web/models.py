"""The restorer of each task, loaded once through :func:`ganrestore.load_restorer`, and
messages about models without the paths of this installation."""

from __future__ import annotations

import sys
import sysconfig
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError

#: The installed ganrestore package: its absolute path is nobody's business on the page.
PACKAGE_DIR = Path(__file__).resolve().parents[1]

if TYPE_CHECKING:
    from ganrestore.inference import Restorer


def default_models() -> dict[str, str]:
    """Task -> its bundled model, for the tasks ``apply`` routes images to (one that fills
    painted holes, one that restores whole photos): what the page runs by default."""
    from ganrestore.tasks import routed_tasks

    found = {}
    for route in ("masked", "unmasked"):
        for task in routed_tasks(route)[:1]:
            found[task.name] = task.bundled_model or task.name
    return found


class ModelCache:
    """Loads the model of each task on first use and keeps it; safe to share between threads.

    Args:
        models: task -> what :func:`ganrestore.load_restorer` loads (a bundled name, a run
            directory, ``baseline:NAME``...); tasks left out get the bundled model.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
        trust_torchscript: load TorchScript files of ``ganrestore export`` (``.pt``, ``.ts``),
            which run code of their own (``serve --trust-torchscript``).
    """

    def __init__(
        self,
        models: Mapping[str, str] | None = None,
        device: str = "auto",
        trust_torchscript: bool = False,
    ) -> None:
        from ganrestore.tasks import task_names

        self.models = {**default_models(), **(models or {})}
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
            GanrestoreError: the model cannot be loaded, or restores neither task.
        """
        restorer = self._load(model)
        with self._lock:
            self.models[restorer.task] = model
            self._loaded[restorer.task] = restorer
        return restorer

    def get(self, task: str) -> Restorer:
        """The restorer of ``task``, loaded on the first call (which may take seconds).

        Raises:
            GanrestoreError: unknown task, or the model cannot be loaded.
        """
        if task not in self.models:
            raise GanrestoreError(f"unknown task '{task}'; choose {' or '.join(self.models)}")
        with self._lock:  # one load at a time: a second caller waits for the first
            if task not in self._loaded:
                restorer = self._load(self.models[task])
                if restorer.task != task:
                    raise GanrestoreError(
                        f"{restorer.description} restores '{restorer.task}', not '{task}'"
                    )
                self._loaded[task] = restorer
            return self._loaded[task]

    def is_loaded(self, task: str) -> bool:
        return task in self._loaded

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
