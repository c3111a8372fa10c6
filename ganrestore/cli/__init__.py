"""The ``ganrestore`` command line: one Typer module per command group."""
