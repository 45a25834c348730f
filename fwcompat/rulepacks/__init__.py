"""Rule packs: reading rule files, composing packs (``extends:``), their sources and examples.

This layer turns the YAML in ``rules/`` into compiled packs for the engine below it,
and caches validated rule files as data (never code) keyed on their content.
"""

from fwcompat.rulepacks._examples import iter_outcomes, own_rules
from fwcompat.rulepacks._packs import load_pack, packs
from fwcompat.rulepacks._resources import schemas_dir
from fwcompat.rulepacks._rules import load_validated

__all__ = [
    "iter_outcomes",
    "load_pack",
    "load_validated",
    "own_rules",
    "packs",
    "schemas_dir",
]
