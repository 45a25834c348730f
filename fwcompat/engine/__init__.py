"""The engine: a small pure interpreter that runs a compiled pack over one request.

Paths and pointers, conditions, JSON Schema validation, the native prefilter (the
gate), glob tables and the interpreter itself. No file I/O and no knowledge of
where packs come from: the layer above (:mod:`fwcompat.rulepacks`) hands it
compiled rules.
"""

from fwcompat.engine._model import Rule
from fwcompat.engine._paths import format_pointer, is_index, parse_pointer
from fwcompat.engine._tables import is_glob

__all__ = ["Rule", "format_pointer", "is_glob", "is_index", "parse_pointer"]
