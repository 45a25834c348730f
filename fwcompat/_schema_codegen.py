"""Generate the fast ``is_valid`` path of a schema as Python source.

Closures cost a function call per keyword; on a 2,000-message request that is
slower than serializing it. This module emits one plain function per schema
node that needs one (objects, arrays, unions, refs) and inlines leaf checks
(type, const, enum, string and number bounds) as expressions, the way
fastjsonschema does. It produces booleans only; readable errors come from the
closure compiler in ``_schema``, which runs only when this says "invalid".
The generated source is built from the schema's own structure; values from
the schema enter the code only as names bound in a private namespace, never
as spliced text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ._cache import compile_cached
from ._schema import _ANNOTATIONS as _IGNORED
from ._schema import _is_integer, _is_number, _json_equal, _pins_type

__all__ = ["compile_fast"]

_LEAF_KEYS = frozenset(
    {"type", "const", "enum", "minLength", "maxLength", "pattern", "minimum", "maximum",
     "exclusiveMinimum", "exclusiveMaximum"}
)  # fmt: skip
_PY = {
    "object": "dict",
    "array": "(list, tuple)",
    "string": "str",
    "boolean": "bool",
    "null": "type(None)",
}


def _in_others(x: Any, values: list[Any]) -> bool:
    return any(_json_equal(x, v) for v in values)


class _Gen:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.lines: list[str] = []
        self.ns: dict[str, Any] = {
            "_A": object(),
            "_is_integer": _is_integer,
            "_is_number": _is_number,
            "_equal": _json_equal,
            "_in_others": _in_others,
        }
        self.refs: dict[str, str] = {}
        self.tables: list[tuple[str, dict[str, str]]] = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"_{prefix}{self.count}"

    def const(self, value: Any, prefix: str = "c") -> str:
        n = self.name(prefix)
        self.ns[n] = value
        return n

    def deref(self, schema: Any) -> Any:
        while isinstance(schema, Mapping) and set(schema) - _IGNORED == {"$ref"}:
            schema = self._target(schema["$ref"])
        return schema

    def _target(self, ref: str) -> Any:
        node: Any = self.root
        for token in ref[2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    # An expression testing variable `v` against `schema`.
    def expr(self, schema: Any, v: str) -> str:
        if schema is True or schema == {}:
            return "True"
        if schema is False:
            return "False"
        keys = set(schema) - _IGNORED
        if keys <= _LEAF_KEYS:
            return self.leaf(schema, v)
        if keys == {"anyOf"} and self.discriminator(schema["anyOf"]) is None:
            # Inlined: `content` is "a string or an array of blocks" on every message.
            return "(" + " or ".join(self.expr(b, v) for b in schema["anyOf"]) + ")"
        return f"{self.function(schema)}({v})"

    def union_table(self, schema: Any) -> dict[str, Any] | None:
        """The dispatch table when ``schema`` is only a union discriminated on ``type``."""
        s = self.deref(schema)
        if not isinstance(s, Mapping):
            return None
        keys = set(s) - _IGNORED
        if len(keys) != 1 or not keys <= {"anyOf", "oneOf"}:
            return None
        return self.discriminator(s[next(iter(keys))])

    def type_expr(self, types: Any, v: str) -> str:
        names = [types] if isinstance(types, str) else list(types)
        parts = []
        py = [_PY[t] for t in names if t in _PY]
        if py:
            parts.append(f"isinstance({v}, ({', '.join(py)},))")
        if "integer" in names and "number" not in names:
            parts.append(f"_is_integer({v})")
        if "number" in names:
            parts.append(f"_is_number({v})")
        return "(" + " or ".join(parts) + ")"

    def leaf(self, schema: Mapping[str, Any], v: str) -> str:
        parts: list[str] = []
        types = schema.get("type")
        if types is not None:
            parts.append(self.type_expr(types, v))
        if "const" in schema:
            c = schema["const"]
            if isinstance(c, str):
                parts.append(f"({v} == {self.const(c)} and isinstance({v}, str))")
            else:
                parts.append(f"_equal({v}, {self.const(c)})")
        if "enum" in schema:
            values = schema["enum"]
            strings = frozenset(x for x in values if isinstance(x, str))
            others = [x for x in values if not isinstance(x, str)]
            s = self.const(strings, "e")
            if others:
                o = self.const(others, "o")
                parts.append(
                    f"((isinstance({v}, str) and {v} in {s})"
                    f" or (not isinstance({v}, str) and _in_others({v}, {o})))"
                )
            else:
                parts.append(f"(isinstance({v}, str) and {v} in {s})")
        text: list[str] = []
        if "minLength" in schema:
            text.append(f"len({v}) >= {int(schema['minLength'])}")
        if "maxLength" in schema:
            text.append(f"len({v}) <= {int(schema['maxLength'])}")
        if "pattern" in schema:
            text.append(f"{self.const(re.compile(schema['pattern']), 'r')}.search({v}) is not None")
        if text:
            parts.append(f"(not isinstance({v}, str) or ({' and '.join(text)}))")
        num: list[str] = []
        for key, op in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("exclusiveMinimum", ">"),
            ("exclusiveMaximum", "<"),
        ):
            if key in schema:
                num.append(f"{v} {op} {self.const(schema[key])}")
        if num:
            parts.append(f"(not _is_number({v}) or ({' and '.join(num)}))")
        return "(" + " and ".join(parts) + ")" if parts else "True"

    def function(self, schema: Any) -> str:
        if isinstance(schema, Mapping) and set(schema) - _IGNORED == {"$ref"}:
            ref = schema["$ref"]
            if ref not in self.refs:
                self.refs[ref] = self.name("f")
                self.emit(self.refs[ref], self._target(ref))
            return self.refs[ref]
        fname = self.name("f")
        self.emit(fname, schema)
        return fname

    def emit(self, fname: str, schema: Any) -> None:
        body: list[str] = []
        add = body.append
        if schema is True or schema == {}:
            add("return True")
        elif schema is False:
            add("return False")
        else:
            self.body(schema, add)
            add("return True")
        self.lines.append(f"def {fname}(x):")
        self.lines.extend("    " + line for line in body)
        self.lines.append("")

    def body(self, schema: Mapping[str, Any], add: Callable[[str], None]) -> None:
        types = schema.get("type")
        names = [types] if isinstance(types, str) else list(types or [])
        if types is not None:
            add(f"if not {self.type_expr(types, 'x')}: return False")
        leaf = {k: schema[k] for k in schema if k in _LEAF_KEYS and k != "type"}
        if leaf:
            add(f"if not {self.leaf(leaf, 'x')}: return False")
        obj_keys = {
            "properties",
            "required",
            "additionalProperties",
            "minProperties",
            "maxProperties",
        }
        if obj_keys & schema.keys():
            ind = ""
            if names != ["object"]:
                add("if isinstance(x, dict):")
                ind = "    "
            props: Mapping[str, Any] = schema.get("properties", {})
            required = list(schema.get("required", ()))
            if required:
                cond = " or ".join(f"{self.const(k, 'k')} not in x" for k in required)
                add(f"{ind}if {cond}: return False")
            addl = schema.get("additionalProperties", True)
            allowed = self.const(frozenset(props), "a")
            if addl is False:
                add(f"{ind}if not x.keys() <= {allowed}: return False")
            for key, sub in props.items():
                sub_expr = self.expr(sub, "v")
                if sub_expr == "True":
                    continue
                add(f"{ind}v = x.get({self.const(key, 'k')}, _A)")
                add(f"{ind}if v is not _A and not {sub_expr}: return False")
            if addl is not True and addl is not False:
                sub_expr = self.expr(addl, "v")
                add(f"{ind}for k, v in x.items():")
                add(f"{ind}    if k not in {allowed} and not {sub_expr}: return False")
            if "minProperties" in schema:
                add(f"{ind}if len(x) < {int(schema['minProperties'])}: return False")
            if "maxProperties" in schema:
                add(f"{ind}if len(x) > {int(schema['maxProperties'])}: return False")
        if {"items", "minItems", "maxItems"} & schema.keys():
            ind = ""
            if names != ["array"]:
                add("if isinstance(x, (list, tuple)):")
                ind = "    "
            if "minItems" in schema:
                add(f"{ind}if len(x) < {int(schema['minItems'])}: return False")
            if "maxItems" in schema:
                add(f"{ind}if len(x) > {int(schema['maxItems'])}: return False")
            table = self.union_table(schema["items"]) if "items" in schema else None
            if table is not None:
                # Dispatch each element on its `type` right in the loop: one call per block.
                tname = self.name("d")
                self.tables.append((tname, {c: self.function(b) for c, b in table.items()}))
                add(f"{ind}for v in x:")
                add(f"{ind}    t = v.get('type') if isinstance(v, dict) else None")
                add(f"{ind}    f = {tname}.get(t) if isinstance(t, str) else None")
                add(f"{ind}    if f is None or not f(v): return False")
            elif "items" in schema:
                item = schema["items"]
                item_expr = self.expr(item, "v")
                if item_expr != "True":
                    if item_expr.endswith("(v)") and item_expr.startswith("_f"):
                        add(f"{ind}if not all(map({item_expr[:-3]}, x)): return False")
                    else:
                        add(f"{ind}for v in x:")
                        add(f"{ind}    if not {item_expr}: return False")
        if "$ref" in schema:
            add(f"if not {self.function({'$ref': schema['$ref']})}(x): return False")
        for key in ("anyOf", "oneOf"):
            if key not in schema:
                continue
            branches = schema[key]
            table = self.discriminator(branches)
            if table is not None:
                tname = self.name("d")
                self.tables.append((tname, {c: self.function(b) for c, b in table.items()}))
                add("t = x.get('type') if isinstance(x, dict) else None")
                add(f"f = {tname}.get(t) if isinstance(t, str) else None")
                add("if f is None or not f(x): return False")
            elif key == "anyOf":
                add(f"if not ({' or '.join(self.expr(b, 'x') for b in branches)}): return False")
            else:
                count = " + ".join(f"(1 if {self.expr(b, 'x')} else 0)" for b in branches)
                add(f"if ({count}) != 1: return False")
        if "allOf" in schema:
            for b in schema["allOf"]:
                add(f"if not {self.expr(b, 'x')}: return False")
        if "not" in schema:
            add(f"if {self.expr(schema['not'], 'x')}: return False")

    def discriminator(self, branches: list[Any]) -> dict[str, Any] | None:
        table: dict[str, Any] = {}
        for b in branches:
            s = self.deref(b)
            if not _pins_type(s):
                return None
            c = s["properties"]["type"]["const"]
            if c in table:
                return None
            table[c] = b
        return table


def compile_fast(schema: Any) -> Callable[[Any], bool]:
    """Compile ``schema`` (already checked by the closure compiler) to one fast predicate."""
    if not isinstance(schema, Mapping):  # a boolean schema
        value = bool(schema)
        return lambda x: value
    gen = _Gen(schema)
    entry = gen.function(schema)
    source = "\n".join(gen.lines)
    code = compile_cached(source, "<fwcompat schema>")
    exec(code, gen.ns)
    for tname, table in gen.tables:
        gen.ns[tname] = {c: gen.ns[f] for c, f in table.items()}
    fn: Callable[[Any], bool] = gen.ns[entry]
    return fn
