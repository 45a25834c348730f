"""Rule packs: reading rule files, composing packs (``extends:``), their sources and examples.

This layer turns the YAML in ``rules/`` into compiled packs for the engine below it,
and caches validated rule files as data (never code) keyed on their content.
"""
