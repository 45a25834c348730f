"""Packs as data: finding, inheriting and describing rule packs.

A pack is a folder with a ``pack.yaml``. It may ``extends:`` a shipped pack (or
``extends_dir:`` a folder, relative to the ``pack.yaml``) and then inherits its
rules, schemas and tables. Its own rule files are merged into the inherited list
by file name (``45-more.yaml`` runs between ``40-...`` and ``50-...``). A rule with
``override: true`` replaces the inherited rule of the same code, in place; codes
listed under ``retired:`` are dropped and may never be used again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from fwcompat._config import Config
from fwcompat._exceptions import ConfigError, RuleFileError, did_you_mean
from fwcompat.engine._conditions import (
    ConditionError,
    Context,
    Predicate,
    compile_condition,
)
from fwcompat.engine._interpreter import Plan, make_plan
from fwcompat.engine._model import CompiledRule, Pack, replacement_specs
from fwcompat.engine._paths import Segment
from fwcompat.engine._tables import pack_tables

from . import _cache
from ._resources import rules_dir, schemas_dir
from ._rules import compile_rule, load_validated

__all__ = [
    "PackInfo",
    "basis_counts",
    "build_pack",
    "pack_inputs",
    "packs",
    "plan_for_config",
    "remember_config",
    "shipped_pack_dir",
    "shipped_pack_names",
    "source_sentences",
]

_NO_CONTEXT = Context({})


@dataclasses.dataclass(frozen=True)
class PackInfo:
    """What ``fwcompat.packs()`` says about a shipped pack."""

    name: str
    title: str
    provider: str
    endpoint: str
    source: str
    revision: str
    extends: str | None
    rules: int
    source_date: str = ""
    """When the pack's source text was retrieved (YYYY-MM-DD), or its revision label."""
    basis: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """How many rules are ``documented``, ``code`` or ``inferred``."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@cache
def shipped_pack_names() -> tuple[str, ...]:
    folder = rules_dir()
    return tuple(
        sorted(
            n for n in os.listdir(folder) if os.path.isfile(os.path.join(folder, n, "pack.yaml"))
        )
    )


def shipped_pack_dir(name: str) -> str:
    """A shipped pack's folder. Only names: a local folder never shadows a shipped pack."""
    known = shipped_pack_names()
    if name not in known:
        raise ConfigError(
            f"config.pack: unknown rule pack {name!r}{did_you_mean(name, known)} (shipped "
            f"packs: {', '.join(known) or 'none'}; a folder of your own goes in pack_dir)"
        )
    return os.path.join(rules_dir(), name)


def packs() -> tuple[PackInfo, ...]:
    """The shipped packs, with title, provider, endpoint, source and revision."""

    out = []
    for name in shipped_pack_names():
        pack = load_pack(name)
        out.append(
            PackInfo(
                name=pack.name, title=pack.title, provider=pack.provider,
                endpoint=pack.endpoint, source=pack.source, revision=pack.revision,
                extends=pack.extends, rules=len(pack.rules), source_date=pack.source_date,
                basis=basis_counts(pack),
            )
        )  # fmt: skip
    return tuple(out)


def basis_counts(pack: Pack) -> dict[str, int]:
    """How many of a pack's rules are documented, code or inferred."""
    counts = dict.fromkeys(("documented", "code", "inferred"), 0)
    for compiled in pack.rules:
        counts[compiled.rule.basis] += 1
    return counts


def source_sentences(path: str) -> str:
    """A pack's source text, header lines (``# ...``) left out, whitespace runs collapsed:
    what a ``doc:`` is looked up in."""
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle.read().splitlines() if not line.startswith("# ")]
    return " ".join(" ".join(lines).split())


@dataclasses.dataclass
class _Layer:
    """A pack being assembled: rule files in run order, tables, retired codes."""

    info: Mapping[str, Any]
    folder: str
    files: list[tuple[str, list[CompiledRule]]]
    tables: dict[str, Mapping[str, Any]]
    table_files: dict[str, str]
    retired: dict[str, str]
    usage: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    dates: dict[str, str] = dataclasses.field(default_factory=dict)
    """Each layer's folder and the date (or revision label) of its source text."""


def _pack_info(folder: str, stack: tuple[str, ...]) -> tuple[str, Mapping[str, Any]]:
    """A pack folder's ``pack.yaml``: its path and its ``pack:`` mapping, checked."""
    meta_path = os.path.join(folder, "pack.yaml")
    if not os.path.isfile(meta_path):
        raise RuleFileError(f"no pack.yaml in pack folder {folder}", file=meta_path)
    if folder in stack:
        chain = " -> ".join([*stack, folder])
        raise RuleFileError(f"packs extend each other in a cycle: {chain}", file=meta_path)
    meta, _ = load_validated(meta_path)
    if not isinstance(meta, dict) or "pack" not in meta:
        raise RuleFileError("pack.yaml needs a top-level 'pack:' mapping", file=meta_path)
    info: Mapping[str, Any] = meta["pack"]
    if info["name"] != os.path.basename(folder):
        raise RuleFileError(
            f"the pack is named {info['name']!r} but its folder is "
            f"{os.path.basename(folder)!r}; they must agree",
            file=meta_path,
            field="pack.name",
        )
    if "extends" in info and "extends_dir" in info:
        raise RuleFileError("give extends or extends_dir, not both", file=meta_path, field="pack")
    if "source_text" in info and not os.path.isfile(os.path.join(folder, info["source_text"])):
        raise RuleFileError(
            f"source_text {info['source_text']!r} is not a file in the pack folder",
            file=meta_path,
            field="pack.source_text",
        )
    return meta_path, info


def _parent_layer(
    folder: str, meta_path: str, info: Mapping[str, Any], stack: tuple[str, ...]
) -> _Layer | None:
    """The layer a pack ``extends`` (a shipped pack) or ``extends_dir`` (a folder)."""
    if "extends" in info:
        try:
            parent_dir = shipped_pack_dir(info["extends"])
        except ConfigError as exc:
            message = str(exc).removeprefix("config.pack: ")
            raise RuleFileError(message, file=meta_path, field="pack.extends") from None
        return _layer(parent_dir, (*stack, folder))
    if "extends_dir" in info:
        return _layer(os.path.join(folder, info["extends_dir"]), (*stack, folder))
    if not info.get("files"):
        raise RuleFileError("a pack that extends nothing needs files:", file=meta_path)
    return None


_Files = list[tuple[str, list[CompiledRule]]]


def _positions(files: _Files) -> dict[str, tuple[int, int]]:
    """Where each rule code sits: (file index, rule index)."""
    return {r.rule.code: (i, j) for i, (_, rules) in enumerate(files) for j, r in enumerate(rules)}


def _own_rules(
    path: str, files: _Files, where: dict[str, tuple[int, int]], retired: Mapping[str, str]
) -> list[CompiledRule]:
    """Compile one of the pack's own rule files. An ``override: true`` rule takes its
    inherited rule's place in ``files``; the rest are returned, in file order."""
    data, checked = load_validated(path)
    if not isinstance(data, dict) or "rules" not in data:
        raise RuleFileError("a rule file needs a top-level 'rules:' list", file=path)
    added: list[CompiledRule] = []
    for index, entry in enumerate(data["rules"]):
        compiled = compile_rule(entry, path, index, checked=checked)
        code = compiled.rule.code
        label = f"{code} (rules[{index}])"
        if code in retired:
            raise RuleFileError(
                f"code {code} is retired ({retired[code]}); codes are never reused",
                file=path, rule=label, field="code",
            )  # fmt: skip
        if entry.get("override"):
            if code not in where:
                raise RuleFileError(
                    f"override: true, but no inherited rule has code {code}",
                    file=path, rule=label, field="override",
                )  # fmt: skip
            i, j = where[code]
            files[i][1][j] = compiled
            continue
        if code in where:
            i, j = where[code]
            raise RuleFileError(
                f"duplicate rule code (also defined in {files[i][1][j].rule.source}; "
                "to replace an inherited rule, add override: true)",
                file=path, rule=label, field="code",
            )  # fmt: skip
        added.append(compiled)
    return added


def _layer(folder: str, stack: tuple[str, ...]) -> _Layer:
    """One pack folder composed over what it extends: files merged by name into the
    inherited order, retired codes dropped, tables and usage inherited unless redefined."""
    folder = os.path.abspath(folder)
    meta_path, info = _pack_info(folder, stack)
    parent = _parent_layer(folder, meta_path, info, stack)
    own_retired = info.get("retired") or {}
    retired = {**(parent.retired if parent else {}), **own_retired}
    files: _Files = [
        (base, [r for r in rules if r.rule.code not in own_retired])
        for base, rules in (parent.files if parent else ())
    ]
    for name in info.get("files") or ():
        added = _own_rules(os.path.join(folder, name), files, _positions(files), retired)
        position = len(files)
        if parent:  # merged by file name into the inherited order
            position = next((k for k, (b, _) in enumerate(files) if b > name), len(files))
        files.insert(position, (name, added))
    tables = dict(parent.tables) if parent else {}
    table_files = dict(parent.table_files) if parent else {}
    for tname, spec in (info.get("tables") or {}).items():
        tables[tname] = spec
        table_files[tname] = meta_path
    usage = info.get("usage") or (parent.usage if parent else {})
    dates = {**(parent.dates if parent else {}), folder: str(info.get("source_date", ""))}
    return _Layer(info, folder, files, tables, table_files, retired, usage, dates)


def _table_checks(layer: _Layer) -> dict[str, tuple[Predicate, Predicate]]:
    checks: dict[str, tuple[Predicate, Predicate]] = {}
    for tname, spec in layer.tables.items():
        try:
            keys, _ = compile_condition(
                {"present": True, **(spec.get("keys") or {})}, f"tables.{tname}.keys"
            )
            values, _ = compile_condition(
                {"present": True, **(spec.get("values") or {})}, f"tables.{tname}.values"
            )
        except ConditionError as exc:
            raise RuleFileError(
                str(exc), file=layer.table_files[tname], field=f"pack.{exc.field}"
            ) from None
        for key, value in (spec.get("entries") or {}).items():
            if not keys(key, key, _NO_CONTEXT) or not values(value, key, _NO_CONTEXT):
                raise RuleFileError(
                    f"entry {key!r}: {value!r} does not fit the table's keys/values",
                    file=layer.table_files[tname],
                    field=f"pack.tables.{tname}.entries",
                )
        checks[tname] = (keys, values)
    return checks


def _handles(rule: CompiledRule, catch_all: CompiledRule) -> str | None:
    """The member name a removing rule handles at the catch-all's level, if any."""
    tokens, mine = rule.selector.tokens, catch_all.selector.tokens
    if len(tokens) != len(mine) or tokens[-1] == "*":
        return None
    for a, b in zip(tokens[:-1], mine[:-1], strict=True):
        if a != b and "*" not in (a, b):
            return None
    return tokens[-1]


def _structural(rules: list[CompiledRule]) -> list[CompiledRule]:
    """ "Ignored means passed through", in one place.

    A catch-all rule leaves alone every member that another removing rule of the
    pack handles by name, and a ``validate`` rule does not report a member a removing
    rule handles: so ignoring that rule lets its member through, with no hand-kept
    allow-list.
    """
    removing = [r for r in rules if r.rule.action == "remove"]
    out = []
    # (a catch-all and the rules it yields to share a scope: same selector depth and tokens)
    for compiled in rules:
        if compiled.rule.catch_all:
            names = frozenset(
                n for r in removing if not r.rule.catch_all and r.rule.scope == compiled.rule.scope
                for n in [_handles(r, compiled)] if n is not None
            )  # fmt: skip
            inner = compiled.predicate
            when = compiled.rule.when
            predicate: Predicate
            if set(when) == {"key_not_in"}:  # the usual shape: one set test per member
                allowed = frozenset(when["key_not_in"]) | names
                predicate = _not_in(allowed)
            else:
                # Object members only (never array elements), and not those another rule handles.
                def predicate(
                    v: Any, k: Segment, t: Context, inner: Predicate = inner, names: Any = names
                ) -> bool:
                    return isinstance(k, str) and k not in names and inner(v, k, t)

            effective = {"all_of": [{"key_not_in": sorted(names)}, dict(when)]}
            compiled = dataclasses.replace(compiled, predicate=predicate, effective_when=effective)
        elif compiled.schema is not None:
            scope = compiled.rule.scope
            same = tuple(r for r in removing if r.rule.scope == scope)
            compiled = dataclasses.replace(compiled, passthrough=same)
        out.append(compiled)
    # The catch-alls seen by validate rules must be the wrapped ones.
    wrapped = {r.rule.code: r for r in out if r.rule.catch_all}
    return [
        dataclasses.replace(
            r, passthrough=tuple(wrapped.get(p.rule.code, p) for p in r.passthrough)
        )
        if r.passthrough
        else r
        for r in out
    ]


def _not_in(allowed: frozenset[str]) -> Predicate:
    """An object member (never an array element) whose name is not in ``allowed``."""
    return lambda v, k, t: isinstance(k, str) and k not in allowed


def build_pack(name: str, extra_files: tuple[str, ...] = (), pack_dir: str | None = None) -> Pack:
    """Assemble a pack (with what it extends) and extra rule files, compiled."""
    folder = pack_dir if pack_dir is not None else shipped_pack_dir(name)
    layer = _layer(folder, ())
    info = layer.info
    rules = [r for _, rs in layer.files for r in rs]
    seen = {r.rule.code: r.rule.source for r in rules}
    for extra in extra_files:
        data, checked = load_validated(extra)
        if not isinstance(data, dict) or "rules" not in data:
            raise RuleFileError("a rule file needs a top-level 'rules:' list", file=str(extra))
        for index, entry in enumerate(data["rules"]):
            compiled = compile_rule(entry, extra, index, checked=checked)
            code = compiled.rule.code
            label = f"{code} (rules[{index}])"
            if code in layer.retired:
                raise RuleFileError(
                    f"code {code} is retired in the {info['name']!r} pack "
                    f"({layer.retired[code]}); codes are never reused",
                    file=extra, rule=label, field="code",
                )  # fmt: skip
            if code in seen:
                raise RuleFileError(
                    f"duplicate rule code (also defined in {seen[code]})",
                    file=extra, rule=label, field="code",
                )  # fmt: skip
            seen[code] = extra
            rules.append(compiled)
    revision = info.get("revision", "")
    rules = [
        dataclasses.replace(
            r,
            rule=dataclasses.replace(
                r.rule,
                pack=info["name"],
                revision=revision,
                source_date=layer.dates.get(os.path.dirname(os.path.abspath(r.rule.source)), ""),
            ),
        )
        for r in _structural(rules)
    ]
    source_text = info.get("source_text")
    return Pack(
        name=info["name"],
        title=info["title"],
        source=info.get("source", ""),
        revision=revision,
        provider=info.get("provider", ""),
        endpoint=info.get("endpoint", ""),
        tables={n: dict(spec) for n, spec in layer.tables.items()},
        rules=tuple(rules),
        table_checks=_table_checks(layer),
        extends=info.get("extends") or info.get("extends_dir"),
        retired=dict(layer.retired),
        table_defaults={n: dict(s.get("entries") or {}) for n, s in layer.tables.items()},
        folder=layer.folder,
        usage=dict(layer.usage),
        source_text=os.path.join(layer.folder, source_text) if source_text else "",
        source_date=str(info.get("source_date", "")),
    )


@lru_cache(maxsize=16)
def load_pack(
    pack: str = "fireworks", extra_files: tuple[str, ...] = (), pack_dir: str | None = None
) -> Pack:
    """Load a shipped pack by name (or the pack in ``pack_dir``) plus extra rule files,
    with what it ``extends``, compiled and cached."""
    return build_pack(pack, extra_files, pack_dir)


@lru_cache(maxsize=64)
def plan_for_config(config: Config) -> Plan:
    """The engine's plan for a config: its pack, loaded and checked against the config.
    Cached per config, so examples that share one (most of a pack's) share the plan."""
    pack = load_pack(config.pack, config.rule_files, config.pack_dir)
    check_config_against(pack, config)
    return make_plan(pack, config)


def check_config_against(pack: Pack, config: Config) -> None:
    """Config tables must be tables of this pack, with accepted keys and values; codes
    in select/ignore/severity must match a rule."""
    for name, table in config.tables.items():
        if name not in pack.tables:
            declared = ", ".join(sorted(pack.tables)) or "none"
            raise ConfigError(
                f"config.{name}: the {pack.name!r} pack has no {name} table "
                f"(its tables: {declared})"
            )
        key_ok, value_ok = pack.table_checks[name]
        description = pack.tables[name].get("description", "")
        for key, value in table.items():
            if not key_ok(key, key, _NO_CONTEXT):
                raise ConfigError(f"config.{name}: key {key!r} is not accepted: {description}")
            if not value_ok(value, key, _NO_CONTEXT):
                raise ConfigError(
                    f"config.{name}.{key}: value {value!r} is not accepted: {description}"
                )
    tables = pack_tables(pack, config)
    for compiled in pack.rules:
        named = (s.get("table") for s in replacement_specs(compiled.rule.replace or {}))
        for table_name in (t for t in named if isinstance(t, str)):
            if table_name not in pack.tables:
                raise RuleFileError(
                    f"replaces from the {table_name!r} table, which the {pack.name!r} pack does "
                    f"not declare (its tables: {', '.join(sorted(pack.tables)) or 'none'})",
                    file=compiled.rule.source,
                    rule=compiled.rule.code,
                    field="replace.table",
                )
        for spec in _lookups(compiled.rule.replace or {}):
            if spec["default"] not in tables.get(spec["table"], {}):
                raise ConfigError(
                    f"{compiled.rule.code} looks up {spec['table']}[{spec['default']!r}] by "
                    f"default, but the {spec['table']} table has no such entry"
                )
    selected = (*config.select, *config.extend_select, *config.ignore)
    for code in (*selected, *(c for c, _ in config.severity_items)):
        if code in pack.retired:
            continue  # retired here, as the pack documents: selecting it is a no-op
        if not any(r.rule.code.startswith(code) for r in pack.rules):
            key = next(
                (k for k in ("select", "extend_select", "ignore") if code in getattr(config, k)),
                "severity",
            )
            hint = did_you_mean(code, (r.rule.code for r in pack.rules))
            raise ConfigError(
                f"config.{key}: {code!r} matches no rule of the {pack.name!r} pack{hint}"
            )


def _lookups(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The lookups keyed by another field (``key:``), each with its ``default``."""
    return [s for s in replacement_specs(spec) if "key_tokens" in s]


def pack_inputs(config: Config) -> list[str]:
    """Every file a config's pack is built from, for cache keys: each layer's
    ``pack.yaml``, rule files and source text, the extra rule files, each ``validate:``
    schema next to a rule file (present or not: one may appear and shadow the shipped
    one) and every shipped schema."""
    paths: list[str] = []
    folder: str | None = config.pack_dir if config.pack_dir is not None else None
    folder = folder or shipped_pack_dir(config.pack)
    seen: set[str] = set()
    while folder is not None and os.path.abspath(folder) not in seen:
        folder = os.path.abspath(folder)
        seen.add(folder)
        meta_path = os.path.join(folder, "pack.yaml")
        paths.append(meta_path)
        meta, _ = load_validated(meta_path)
        info: Mapping[str, Any] = (meta.get("pack") or {}) if isinstance(meta, dict) else {}
        own = [*(info.get("files") or ()), info.get("source_text")]
        paths.extend(os.path.join(folder, name) for name in own if name)
        if "extends" in info:
            folder = shipped_pack_dir(info["extends"])
        elif "extends_dir" in info:
            folder = os.path.join(folder, info["extends_dir"])
        else:
            folder = None
    paths.extend(os.path.abspath(path) for path in config.rule_files)
    for compiled in load_pack(config.pack, config.rule_files, config.pack_dir).rules:
        if compiled.rule.validate:
            local = os.path.dirname(os.path.abspath(compiled.rule.source))
            paths.append(os.path.join(local, compiled.rule.validate))
    shipped = schemas_dir()
    paths.extend(os.path.join(shipped, n) for n in sorted(os.listdir(shipped)))
    return paths


def remember_config(config: Config) -> str:
    """Record the files a (valid) config's pack is built from; returns the fingerprint
    :func:`~._cache.config_fingerprint` gives while none of them changes."""
    return _cache.remember_inputs(_cache.config_key(config), pack_inputs(config))
