"""Property: ``check --fix`` leaves every file correctly fixed or byte-identical (issues 8, 11).

Generated JSON, JSONL and YAML files hold requests and non-requests, with big
integers, deep members, aliases, comments and duplicate keys. The oracle is the
library: ``fwcompat.check(document).request`` is the fixed request. After
``--fix`` (run in process through the real ``main``):

- a file that holds no request is byte-identical;
- any other file is byte-identical or reads back as exactly the fixed request,
  is never truncated, and differs from the original only in the lines that held
  removed members (YAML: every other line, every comment, stays; JSON: every
  line of the result was a line of the original, give or take a comma).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fwcompat
from fwcompat.cli import main
from fwcompat.cli._fix import same_document
from fwcompat.cli.sources.fixtures import classify
from fwcompat.cli.sources.yaml_reader import load_yaml

MODEL = "accounts/fireworks/models/kimi-k2p5"
NAMED = ("cache_control", "ephemeral", "caller", "direct", "service_tier", "effort")
"""Text of the members the generated files' diagnostics name (removed or replaced)."""
words = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    tools = []
    for i in range(draw(st.integers(1, 3))):
        tool: dict[str, Any] = {"name": f"t{i}", "input_schema": {"type": "object"}}
        if draw(st.booleans()):
            tool["cache_control"] = {"type": "ephemeral"}
        tools.append(tool)
    depth = draw(st.sampled_from([0, 0, 30, 1200]))
    if depth:
        deep: Any = draw(words)
        for _ in range(depth):
            deep = [deep]
        tools[0]["input_schema"]["default"] = deep
    content: Any = draw(words)
    if draw(st.booleans()):
        block: dict[str, Any] = {"type": "text", "text": content}
        if draw(st.booleans()):
            block["caller"] = {"type": "direct"}  # removed by FW701
        content = [block]
    body: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": draw(st.integers(1, 4096)),
        "messages": [{"role": "user", "content": content}],
        "tools": tools,
    }
    if draw(st.booleans()):
        body["service_tier"] = "auto"  # removed by FW401
    if draw(st.booleans()):
        body["output_config"] = {"effort": "max"}  # replaced by "high" (FW502)
    if draw(st.booleans()):
        # the same tool object again as free-form tool_use input: YAML writes an alias
        body["messages"].append(
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "x", "name": "t0", "input": tools[0]}],
            }
        )
    return body


not_requests = st.fixed_dictionaries(
    {"name": words, "version": st.just("1.0.0")},
    optional={"scripts": st.dictionaries(words, words, max_size=2), "on": st.just(["push"])},
)
documents = st.one_of(requests(), requests(), not_requests)


def dump_json(document: Any, indent: int | None) -> str:
    try:
        return json.dumps(document, indent=indent) + "\n"
    except RecursionError:
        return json.dumps(document) + "\n"


@st.composite
def files(draw: st.DrawFn) -> tuple[str, str, list[Any]]:
    fmt = draw(st.sampled_from(["json", "jsonl", "yaml"]))
    docs = draw(st.lists(documents, min_size=1, max_size=3 if fmt == "jsonl" else 1))
    if fmt == "jsonl":
        lines = [dump_json(doc, None) for doc in docs]
        text = "".join(lines)
    elif fmt == "json":
        text = dump_json(docs[0], draw(st.sampled_from([None, 2, 4])))
    else:
        try:
            text = yaml.safe_dump(docs[0], sort_keys=False)
        except RecursionError:
            text = json.dumps(docs[0]) + "\n"  # JSON is YAML
        lines = text.splitlines(keepends=True)
        out = []
        for line in lines:
            if draw(st.integers(0, 4)) == 0:
                indent = len(line) - len(line.lstrip(" -"))
                out.append(" " * indent + "# a comment\n")
            if draw(st.integers(0, 5)) == 0 and line.rstrip().endswith(("]", "}")) is False:
                line = line.rstrip("\n") + "  # trailing\n"
            out.append(line)
        text = "".join(out)
        if draw(st.booleans()):
            text = "# header\n---\n" + text
    if draw(st.integers(0, 5)) == 0:
        digits = "9" * 5000
        pattern = r'("max_tokens": |max_tokens: )\d+'
        text = re.sub(pattern, lambda m: m.group(1) + digits, text, count=1)
    if fmt != "yaml" and draw(st.integers(0, 5)) == 0:
        text = text.replace("{", '{"model": "claude-opus-4", ', 1)  # a duplicate key
    return fmt, text, docs


def _run_fix(path: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["check", "--fix", "--no-progress", "--isolated", path])


def _lines(text: str) -> set[str]:
    return {line.rstrip().rstrip(",") for line in text.splitlines()}


def _expected(document: Any) -> Any:
    return fwcompat.check(document).request


def _check_document(old: str, new: str, fmt: str, parse: Any) -> None:
    try:
        before = parse(old)
    except Exception:
        assert new == old  # not readable: never touched
        return
    if classify(before) is None:
        assert new == old  # not a request: never written
        return
    if new == old:
        return  # left alone (nothing to fix, or the fix was refused)
    after = parse(new)
    assert same_document(after, _expected(before))
    if "\n" in old.rstrip("\n"):  # line by line; one-line JSON is checked by the parse
        for line in _lines(old) - _lines(new):
            member = any(name in line for name in NAMED)
            assert member or line.strip() in ("", "}", "]", "# a comment"), line
    if fmt == "yaml":
        new_lines = new.splitlines()
        for line in old.splitlines():
            member = any(name in line for name in NAMED)
            if "#" in line and not member and line.strip() != "# a comment":
                assert line in new_lines, line  # header, `---`, trailing comments
        lost = old.count("# a comment\n") - new.count("# a comment\n")
        removed_members = sum(old.count(n) - new.count(n) for n in NAMED) + old.count("max")
        assert 0 <= lost <= removed_members  # only comments inside a removed member go


@settings(
    max_examples=int(os.environ.get("FWCOMPAT_FIX_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files())
def test_fix_leaves_files_fixed_or_identical(case: tuple[str, str, list[Any]]) -> None:
    fmt, text, _ = case
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"case.{fmt}")
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        _run_fix(path)
        with open(path, encoding="utf-8", newline="") as handle:
            new = handle.read()
    assert new, "truncated"
    if fmt == "jsonl":
        old_lines = text.splitlines(keepends=True)
        new_lines = new.splitlines(keepends=True)
        assert len(new_lines) == len(old_lines), "lines lost"
        for old_line, new_line in zip(old_lines, new_lines, strict=True):
            _check_document(old_line, new_line, "json", _strict_json)
    elif fmt == "json":
        _check_document(text, new, "json", _strict_json)
    else:
        _check_document(text, new, "yaml", lambda t: load_yaml(t).document)


def _strict_json(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items):
            raise ValueError("duplicate key")
        return dict(items)

    return json.loads(text, object_pairs_hook=pairs)
