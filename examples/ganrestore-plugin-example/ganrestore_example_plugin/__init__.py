"""An example ganrestore plugin package (see docs/plugins.md in ganrestore)."""
