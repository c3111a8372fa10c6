"""Imports point one way: the model file is a leaf, and inference never imports the engine.

The static checks read every import statement of a package (those inside functions too); the
slow one loads a bundled model in a fresh process and looks at what it imported.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ganrestore

PACKAGE = Path(ganrestore.__file__).parent


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """File name -> the ``ganrestore`` modules it imports, anywhere in the file."""
    found: dict[str, set[str]] = {}
    for file in sorted(folder.glob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[file.name] = {name for name in names if name.split(".")[0] == "ganrestore"}
    return found


def test_the_model_file_package_imports_only_leaves() -> None:
    allowed = (
        "ganrestore.errors",
        "ganrestore.registry",
        "ganrestore.models",
        "ganrestore.modelfile",
    )
    for file, modules in imported_modules(PACKAGE / "modelfile").items():
        outside = sorted(m for m in modules if not m.startswith(allowed))
        assert not outside, f"modelfile/{file} imports {outside}"


def test_inference_imports_neither_the_engine_nor_the_baselines() -> None:
    for file, modules in imported_modules(PACKAGE / "inference").items():
        wrong = sorted(
            m for m in modules if m.startswith(("ganrestore.engine", "ganrestore.baselines"))
        )
        assert not wrong, f"inference/{file} imports {wrong}"


@pytest.mark.slow  # a fresh process and a bundled model
def test_restoring_with_a_bundled_model_loads_no_training_code() -> None:
    code = """
import sys
import numpy as np
import ganrestore
image = np.zeros((24, 32, 3), np.uint8)
ganrestore.load_restorer("denoise", device="cpu").restore(image)
print(sorted(m for m in sys.modules if m.startswith(("ganrestore.engine", "ganrestore.baselines"))))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
