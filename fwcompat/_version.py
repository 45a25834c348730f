"""The version, in one place (package metadata, caches, reports)."""

__version__ = "0.1.0"
