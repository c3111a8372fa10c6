"""The ``ganrestore`` command's entry point, light enough to catch Ctrl-C while the rest loads.

Loading the command line imports PyTorch, which takes a second or two; Ctrl-C in that time
would otherwise end in a page of traceback from the middle of an import.
"""

from __future__ import annotations

import sys

#: The exit status of every command stopped with Ctrl-C, as shells give 128 + SIGINT.
INTERRUPTED_EXIT_CODE = 130


def main() -> None:
    """Console-script entry point (``ganrestore``, ``python -m ganrestore``)."""
    try:
        from ganrestore.cli.app import app
    except KeyboardInterrupt:
        print("Interrupted while starting: nothing was done.", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT_CODE)
    app()
