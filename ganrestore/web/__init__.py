"""``ganrestore serve``: a local web page to paint masks, restore photos and compare.

The page (``static/``: plain HTML, JavaScript modules and CSS, nothing loaded from the
internet) talks to a small FastAPI app served by uvicorn on this machine only
(``127.0.0.1`` unless asked otherwise). Restoration goes through the same code as
``ganrestore apply``: :func:`ganrestore.load_restorer` and ``Restorer.restore``, images read and
written by :mod:`ganrestore.data.io` (EXIF, ICC profile, bit depth and alpha kept).

Modules, one job each:

* :mod:`.config` what the server was asked to serve (folders, models, token, limits);
* :mod:`.security` which requests are refused (Host, Origin, token), and the headers sent back;
* :mod:`.bodies` request bodies bounded before a route reads them;
* :mod:`.budget` the memory the open photos and the requests in progress may use together;
* :mod:`.folders` the files of ``--in`` that may be read and the names ``--out`` may receive;
* :mod:`.uploads` files to decoded images, size, pixel count and memory checked first;
* :mod:`.photos` the photos being edited, each as a list of versions, and their encodings;
* :mod:`.jobs` restorations, one at a time on a worker thread, with progress;
* :mod:`.models` each restorer loaded once, every installed task as the page shows it, and
  messages without the install paths;
* :mod:`.controls` what a task and its model ask the user for, and a job's settings;
* :mod:`.session` what the routes share; :mod:`.app` the HTTP routes; :mod:`.errors` their
  refusals, each with its HTTP status;
* :mod:`.server` the listening socket and uvicorn.

FastAPI and uvicorn are an optional extra (``pip install "ganrestore[web]"``): importing this
package imports neither, so :func:`missing_modules` can say what to install.
"""

from __future__ import annotations

import importlib

#: The modules the server needs beyond ganrestore's own dependencies.
REQUIRED_MODULES = ("fastapi", "uvicorn")
#: What installs them, from a source checkout and from PyPI.
INSTALL_COMMANDS = ('pip install -e ".[web]"', 'pip install "ganrestore[web]"')


def missing_modules() -> list[str]:
    """The modules of :data:`REQUIRED_MODULES` that cannot be imported here."""
    missing = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def install_hint(missing: list[str]) -> str:
    """One line saying what is missing and the commands that install it."""
    checkout, registry = INSTALL_COMMANDS
    return (
        f"`ganrestore serve` needs {' and '.join(missing)}, which are not installed: run "
        f"`{checkout}` in a source checkout, or `{registry}`"
    )
