"""optsupply's version: one place, read by the package, the output markers and ``pyproject.toml``."""

__version__ = "0.1.0"
