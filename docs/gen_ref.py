"""Run by mkdocs-gen-files during `mkdocs build`: the rule reference, the compatibility
matrix and the serve settings table, generated from the packs (fwcompat/cli/_docs.py)."""

import mkdocs_gen_files

from fwcompat.cli._docs import reference_pages

for path, text in reference_pages().items():
    with mkdocs_gen_files.open(path, "w") as handle:
        handle.write(text)
