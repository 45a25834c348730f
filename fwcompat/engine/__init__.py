"""The engine: a small pure interpreter that runs a compiled pack over one request.

Paths and pointers, conditions, JSON Schema validation, the native prefilter (the
gate), glob tables and the interpreter itself. No file I/O and no knowledge of
where packs come from: the layer above (:mod:`fwcompat.rulepacks`) hands it
compiled rules.
"""
