"""The restorer of each task, loaded once through :func:`ganrestore.load_restorer`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ganrestore.errors import GanrestoreError

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
    """

    def __init__(self, models: Mapping[str, str] | None = None, device: str = "auto") -> None:
        from ganrestore.tasks import task_names

        self.models = {**default_models(), **(models or {})}
        unknown = set(self.models) - set(task_names())
        if unknown:
            raise GanrestoreError(
                f"unknown task(s) {sorted(unknown)}; installed: {', '.join(task_names())}"
            )
        self.device = device
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

        return load_restorer(model, device=self.device)
