"""Settings shared by every front end (``fwcompat check`` and ``fwcompat serve``).

- :mod:`.file_selection`: which files a folder search takes (ruff's include/exclude keys);
- :mod:`.config_files`: finding and reading ``[tool.fwcompat]`` / ``fwcompat.toml``;
- :mod:`.options`: the configuration flags both commands take (``--pack``, ``--select`` ...);
- :mod:`.command_line`: those flags on top of each folder's config file;
- :mod:`.subcommand`: the record a front end registers its subcommand with.

This layer sits below ``fwcompat.cli`` and ``fwcompat.serve`` and imports neither.
"""
