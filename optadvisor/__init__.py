"""optadvisor: find where Python code is slow or wasteful, and say what to write instead."""

__version__ = "0.1.0"
