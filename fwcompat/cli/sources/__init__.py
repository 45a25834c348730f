"""Reading request files: finding them (:mod:`.discover`), parsing each format with
positions (:mod:`.json_reader`, :mod:`.jsonl_reader`, :mod:`.yaml_reader`, over
:mod:`.json_positions`), the fixture model (:mod:`.fixtures`: requests and envelopes) and
inline suppressions (:mod:`.suppression`).

A *source* is one file (or stdin). It yields *units* (:mod:`.units`): one document each,
with a ``locate_all(pointers) -> [(line, col), ...]`` function that maps pointers into the
unit's document to 1-based positions in the file.
"""
