"""Loading rule packs: YAML files validated against ``schemas/rule-file.schema.json``.

A pack is a folder of ``rules/`` with a ``pack.yaml`` (name, provider, source,
config tables, the ordered list of rule files). Everything here is data: the
loader compiles paths, conditions and schemas, and fails with a
:class:`~fwcompat.RuleFileError` naming the file, the rule and the field.
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal

from fwcompat._diagnostics import Severity
from fwcompat._exceptions import RuleFileError, did_you_mean
from fwcompat.engine._conditions import (
    ConditionError,
    compile_condition,
    referenced_fields,
)
from fwcompat.engine._model import CompiledRule, Rule, RuleAction, replacement_specs
from fwcompat.engine._paths import Selector
from fwcompat.engine._schema import CompiledSchema, SchemaCompileError

from . import _cache
from ._resources import schemas_dir

__all__ = ["compile_rule", "load_rule_file", "load_validated"]


_TEMPLATE_FIELDS = frozenset(
    {"value", "type", "name", "key", "pointer", "replacement", "where", "error"}
)
"""What a rule message may name: ``{value}`` (the value, as short JSON), ``{type}`` and
``{name}`` (its ``type`` and ``name`` members, as blocks and tools have), ``{key}``,
``{pointer}``, ``{where}``, ``{replacement}``, ``{error}``."""


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise RuleFileError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None


def _parse_yaml(raw: bytes, path: str) -> Any:
    import yaml  # imported here: a warm cache never needs it (start-up time of the CLI)

    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # both are safe loaders
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"not UTF-8 text: {exc}", file=str(path)) from None
    try:
        return yaml.load(text, Loader=loader)  # a safe loader: no tags that build objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError(f"invalid YAML{where}: {problem}", file=str(path)) from None
    except RecursionError:
        raise RuleFileError("YAML nested too deeply", file=str(path)) from None


def load_validated(path: str) -> tuple[Any, bool]:
    """A rule file's data, validated against the rule-file schema, and whether it came
    from the cache. The cache key hashes the file's bytes and the rule-file schema's,
    so a warm start skips YAML entirely and an edit is never missed."""
    raw = _read_bytes(path)
    key = _cache.digest(b"rule-file", raw, _schema_bytes())
    cached = _cache.get("rules", key)
    if cached is not _cache.MISSING:
        return cached, True
    data = _parse_yaml(raw, path)
    _check_shape(data, path)
    _cache.put("rules", key, data)  # skipped for data JSON cannot keep exactly (dates...)
    return data, False


@lru_cache(maxsize=1)
def _schema_bytes() -> bytes:
    """Every shipped schema's bytes, for cache keys: the rule-file schema shapes what a
    rule file validates to, and the request schemas are part of every pack."""
    folder = schemas_dir()
    names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    return b"\0".join(n.encode() + b"\0" + _read_bytes(os.path.join(folder, n)) for n in names)


@lru_cache(maxsize=1)
def _rule_file_schema() -> CompiledSchema:
    path = os.path.join(schemas_dir(), "rule-file.schema.json")
    return CompiledSchema(_read_json(path), name=os.path.basename(path))


@lru_cache(maxsize=16)
def _request_schema(path: str) -> CompiledSchema:
    """A schema for ``validate:`` rules, compiled once per process by jsonschema-rs."""
    return CompiledSchema(_read_json(path), name=os.path.basename(path))


def _schema_path(name: str, rule_file: str) -> str:
    """A schema next to the rule file wins over the shipped one of the same name."""
    local = os.path.join(os.path.dirname(rule_file), name)
    return local if os.path.isfile(local) else os.path.join(schemas_dir(), name)


def _read_json(path: str) -> Any:
    try:
        return json.loads(_read_bytes(path))
    except (ValueError, RecursionError) as exc:
        raise RuleFileError(f"cannot load schema: {exc}", file=str(path)) from None


def _unknown_keys(data: Any, path: str) -> None:
    """A misspelt key (``acton:``) is named, with "did you mean", before the schema's
    errors (which would only say that ``action`` is missing)."""
    if not isinstance(data, dict):
        return
    schema = _rule_file_schema().schema
    defs = schema.get("$defs", {})
    places: list[tuple[Any, Any, str]] = [(data, schema, "")]
    if isinstance(data.get("pack"), dict):
        places.append((data["pack"], defs.get("pack", {}), "pack"))
    rules = data.get("rules")
    if isinstance(rules, list):
        places.extend((entry, defs.get("rule", {}), f"#{i}") for i, entry in enumerate(rules))
    for value, part, where in places:
        known = part.get("properties")
        if not isinstance(value, dict) or not isinstance(known, dict):
            continue
        for key in value:
            if key in known or part.get("additionalProperties", True) is not False:
                continue
            rule = ""
            if where.startswith("#"):
                index = int(where[1:])
                code = value.get("code")
                rule = f"{code} (rules[{index}])" if isinstance(code, str) else f"rules[{index}]"
            raise RuleFileError(
                f"field {key!r} is not allowed here{did_you_mean(str(key), known)} "
                f"(allowed: {', '.join(known)})",
                file=str(path),
                rule=rule,
                field=where if where and not where.startswith("#") else "",
                line=_line_of_key(path, str(key)),
            )


def _line_of_key(path: str, key: str) -> int | None:
    """The first line of a YAML file that sets ``key:`` (block or flow style), if any."""
    import re

    pattern = re.compile(r"(?:^\s*(?:-\s+)?|[{,]\s*)[\"']?" + re.escape(key) + r"[\"']?\s*:")
    try:
        text = _read_bytes(path).decode("utf-8", "replace")
    except RuleFileError:
        return None
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.search(line):
            return number
    return None


def _check_shape(data: Any, path: str) -> None:
    """Validate a rule file against the rule-file schema; first error wins."""
    _unknown_keys(data, path)
    for err in _rule_file_schema().iter_errors(data):
        rule = ""
        if len(err.path) >= 2 and err.path[0] == "rules" and isinstance(err.path[1], int):
            index = err.path[1]
            entry = data["rules"][index]
            code = entry.get("code") if isinstance(entry, dict) else None
            rule = f"{code} (rules[{index}])" if isinstance(code, str) else f"rules[{index}]"
            where = ".".join(str(s) for s in err.path[2:])
        else:
            where = ".".join(str(s) for s in err.path)
        raise RuleFileError(err.message, file=str(path), rule=rule, field=where or "")


def _check_value_lookups(replace: Mapping[str, Any], when: Mapping[str, Any], fail: Any) -> None:
    """A replacement keyed by the matched value needs ``in_table`` for that table in the
    rule's condition: otherwise a value the table lacks would fail at check time."""
    by_value = [
        s["table"]
        for s in replacement_specs(replace)
        if "table" in s and "key" not in s and "key_tokens" not in s
    ]
    for table in by_value:
        if when.get("in_table") != table:
            raise fail(
                "replace",
                f"a replacement from the {table!r} table, keyed by the matched value, needs "
                f"`in_table: {table}` in the rule's `when` (so only values the table has match)",
            )


def _check_template(message: str, fail: Any) -> None:
    """Named placeholders only: no attribute or index access, no conversion, no format
    spec. Anything else would let a rule file read process memory into a diagnostic."""
    try:
        parts = list(string.Formatter().parse(message))
    except ValueError as exc:
        raise fail("message", f"bad template: {exc}") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in _TEMPLATE_FIELDS or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise fail(
                "message",
                f"unknown placeholder {shown}: use one of "
                + ", ".join("{" + f + "}" for f in sorted(_TEMPLATE_FIELDS))
                + " (no attribute, index, conversion or format spec)",
            )
    try:
        message.format_map(dict.fromkeys(_TEMPLATE_FIELDS, ""))
    except (ValueError, KeyError, IndexError) as exc:  # e.g. a positional {} or {0}
        raise fail("message", f"bad template: {exc}") from None


def _warns_only(entry: Mapping[str, Any]) -> bool:
    """What an inferred rule may do: note at warning or info. Or replace a value by the
    caller's own table entry (``replace: {table: model_map}`` with ``in_table``): that
    is the caller's instruction, not a claim about the provider."""
    if entry["severity"] == "error":
        return False
    if entry["action"] == "note":
        return True
    replace = entry.get("replace") or {}
    when = entry.get("when") or {}
    return (
        entry["action"] == "replace"
        and set(replace) == {"table"}
        and when.get("in_table") == replace["table"]
    )


_Fail = Callable[[str, str], RuleFileError]


def _check_action(entry: Mapping[str, Any], fail: _Fail) -> Literal["safe", "unsafe"] | None:
    """What an action allows: its fix (remove/replace default to safe), its scope, a
    catch-all, a replacement, and for an inferred rule only a warning. Returns the fix."""
    action: RuleAction = entry["action"]
    fix: Literal["safe", "unsafe"] | None = entry.get("fix")
    if entry.get("basis", "documented") == "inferred" and not _warns_only(entry):
        raise fail(
            "basis",
            f"an inferred rule (no sentence of the provider's documentation says it) may only "
            f"warn: action note at severity warning or info (or a replacement from a table "
            f"the caller fills, such as model_map), not {action} at {entry['severity']}",
        )
    if action in ("remove", "replace"):
        fix = fix or "safe"
        if entry.get("scope", "body") == "url":
            raise fail("action", "url rules can only reject or note (the URL is not rewritten)")
    elif fix is not None:
        raise fail("fix", f"only remove/replace rules carry a fix, not {action!r}")
    if entry.get("catch_all") and (action != "remove" or entry["path"].rsplit("/", 1)[-1] != "*"):
        raise fail(
            "catch_all", "a catch-all rule removes members: action remove, a path ending in /*"
        )
    if action == "replace" and not entry.get("replace"):
        raise fail("replace", "a replace rule needs replace: {value: ...} or {table: ...}")
    if action != "replace" and entry.get("replace") is not None:
        raise fail("replace", f"replace: only makes sense with action: replace, not {action!r}")
    return fix


def _validate_schema(entry: Mapping[str, Any], path: str, fail: _Fail) -> CompiledSchema | None:
    """The compiled schema of a ``validate:`` rule (which must reject), else None."""
    if entry.get("validate") is None:
        return None
    if entry["action"] != "reject":
        raise fail("validate", "a validate rule must have action: reject")
    try:
        return _request_schema(_schema_path(entry["validate"], path))
    except SchemaCompileError as exc:
        raise fail("validate", f"schema {entry['validate']!r}: {exc}") from None
    except RuleFileError as exc:
        raise fail("validate", str(exc)) from None


def compile_rule(
    entry: Mapping[str, Any], path: str, index: int, *, checked: bool = False
) -> CompiledRule:
    """One rule file entry, checked beyond its schema and compiled for the engine."""
    label = f"{entry['code']} (rules[{index}])"

    def fail(field_name: str, message: str) -> RuleFileError:
        return RuleFileError(message, file=str(path), rule=label, field=field_name)

    fix = _check_action(entry, fail)
    replace = entry.get("replace")
    if replace is not None:
        replace = _compile_replacement(replace, "replace", fail)
        _check_value_lookups(replace, entry.get("when") or {}, fail)
    try:
        selector = Selector(entry["path"])
    except ValueError as exc:
        raise fail("path", str(exc)) from None
    try:
        predicate, absent = compile_condition(entry.get("when"), lazy_regex=checked)
    except ConditionError as exc:
        raise fail(exc.field, str(exc)) from None
    if absent and entry["action"] in ("remove", "replace"):
        raise fail("when.present", "an absent member cannot be removed or replaced")
    schema = _validate_schema(entry, path, fail)
    _check_template(entry["message"], fail)
    rule = Rule(
        code=entry["code"],
        name=entry["name"],
        title=entry["title"],
        doc=entry["doc"],
        scope=entry.get("scope", "body"),
        path=entry["path"],
        severity=Severity(entry["severity"]),
        action=entry["action"],
        message=entry["message"],
        fix=fix,
        when=entry.get("when") or {},
        replace=replace,
        validate=entry.get("validate"),
        examples=tuple(entry.get("examples") or ()),
        source=str(path),
        opt_in=bool(entry.get("opt_in", False)),
        catch_all=bool(entry.get("catch_all", False)),
        basis=entry.get("basis", "documented"),
    )
    depends = referenced_fields(entry.get("when"))
    return CompiledRule(rule, selector, predicate, absent, schema, depends=depends)


def _compile_replacement(spec: Mapping[str, Any], where: str, fail: Any) -> dict[str, Any]:
    """Check a ``replace:`` spec; a ``key:`` pointer is parsed once, into ``key_tokens``."""
    from fwcompat.engine._conditions import compile_pointer

    out = dict(spec)
    if "from" in spec:
        if where == "replace" or set(spec) != {"from"}:
            raise fail(where, "from: copies another field into a member: alone, inside members:")
        try:
            out["from_tokens"] = compile_pointer(spec["from"], f"{where}.from")
        except ConditionError as exc:
            raise fail(exc.field, str(exc)) from None
        return out
    if ("value" in spec) == ("table" in spec):
        raise fail(where, "give either value: or table:")
    if "below" in spec:
        try:
            out["below_tokens"] = compile_pointer(spec["below"], f"{where}.below")
        except ConditionError as exc:
            raise fail(exc.field, str(exc)) from None
    if "value" in spec and ({"key", "default"} & set(spec)):
        raise fail(where, "key: and default: go with table:, not value:")
    if "key" in spec:
        if "default" not in spec:
            raise fail(where, "a table looked up by key: needs a default: entry")
        try:
            out["key_tokens"] = compile_pointer(spec["key"], f"{where}.key")
        except ConditionError as exc:
            raise fail(exc.field, str(exc)) from None
    members = spec.get("members")
    if members is not None:
        if "value" not in spec or not isinstance(spec["value"], dict):
            raise fail(where, "members: fills in an object given as value:")
        out["members"] = {
            name: _compile_replacement(sub, f"{where}.members.{name}", fail)
            for name, sub in members.items()
        }
    return out


def load_rule_file(path: str | os.PathLike[str]) -> tuple[CompiledRule, ...]:
    path = os.fspath(path)
    """Load and compile one rule file (a mapping with a ``rules:`` list)."""
    data, checked = load_validated(path)
    if not isinstance(data, dict) or "rules" not in data:
        raise RuleFileError("a rule file needs a top-level 'rules:' list", file=str(path))
    return tuple(
        compile_rule(entry, path, i, checked=checked) for i, entry in enumerate(data["rules"])
    )
