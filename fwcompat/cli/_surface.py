"""What one pack does with every part of the Anthropic request surface.

``schemas/anthropic-surface.yaml`` lists every top-level field, content block (also
inside ``tool_result`` content), tool type, header and endpoint of the Anthropic
Messages request, each with the smallest request that exercises it. :func:`surface`
runs a pack over every entry and names one outcome per entry:

- ``kept``: passed on unchanged (perhaps with an info note, such as "ignored");
- ``removed`` / ``replaced``: a documented fix was applied;
- ``rejected``: a documented rejection (the request must be fixed by hand);
- ``unsafe``: a documented fix that changes what the request asks for, refused
  because the caller did not opt in to unsafe fixes (an error);
- ``undocumented``: passed on with a warning that the provider's documentation does
  not mention it ("not in the provider's documentation; it may be rejected or ignored");
- ``warned``: passed on with another warning (what the provider does with it, as its
  notes restate: "DeepSeek ignores top_k").

Pure: it reads the data file and the pack, and checks requests.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from fwcompat._check import check, list_rules
from fwcompat._config import Config, coerce_config
from fwcompat._diagnostics import Diagnostic, Severity
from fwcompat.rulepacks import schemas_dir

__all__ = [
    "OUTCOMES",
    "UNDOCUMENTED",
    "SurfaceEntry",
    "SurfaceOutcome",
    "surface",
    "surface_entries",
]

Outcome = Literal["kept", "removed", "replaced", "rejected", "unsafe", "undocumented", "warned"]
OUTCOMES: tuple[Outcome, ...] = (
    "kept",
    "removed",
    "replaced",
    "rejected",
    "unsafe",
    "undocumented",
    "warned",
)
UNDOCUMENTED = "not in the provider's documentation; it may be rejected or ignored"
"""The words of every warning about a feature the provider's documentation does not mention."""
Kind = Literal["field", "block", "tool", "header", "endpoint"]


@dataclass(frozen=True)
class SurfaceEntry:
    """One part of the Anthropic request surface, with a request that exercises it."""

    id: str
    kind: Kind
    body: Mapping[str, Any]
    """The request body, without ``model`` (each pack supplies its own)."""
    headers: Mapping[str, str] | None = None
    path: str | None = None
    base_url: str | None = None


@dataclass(frozen=True)
class SurfaceOutcome:
    """What a pack does with one surface entry."""

    entry: str
    kind: Kind
    outcome: Outcome
    code: str
    """The rule that decided the outcome ("" when kept without a diagnostic)."""
    codes: tuple[str, ...] = ()
    """Every rule that reported on the entry, in report order."""
    diagnostics: tuple[Diagnostic, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "kind": self.kind,
            "outcome": self.outcome,
            "code": self.code,
            "codes": list(self.codes),
        }


def _build(raw: Mapping[str, Any], base: Mapping[str, Any]) -> SurfaceEntry:
    body: dict[str, Any] = copy.deepcopy(dict(base))
    if "content" in raw:
        body["messages"] = [{"role": "user", "content": raw["content"]}]
    if "assistant" in raw:
        body["messages"] = [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": raw["assistant"]},
            {"role": "user", "content": "Go on."},
        ]
    if "tool_result" in raw:
        result = {"type": "tool_result", "tool_use_id": "toolu_1", "content": [raw["tool_result"]]}
        body["messages"] = [
            {"role": "user", "content": "Hi"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}],
            },
            {
                "role": "user",
                "content": [result],
            },
        ]
    if "tool" in raw:
        body["tools"] = [raw["tool"]]
    body.update(copy.deepcopy(dict(raw.get("body") or {})))
    for name in raw.get("unset") or ():
        body.pop(name, None)
    return SurfaceEntry(
        id=raw["id"],
        kind=raw["kind"],
        body=body,
        headers=raw.get("headers"),
        path=raw.get("path"),
        base_url=raw.get("base_url"),
    )


@cache
def surface_entries() -> tuple[SurfaceEntry, ...]:
    """Every entry of ``schemas/anthropic-surface.yaml``, built into requests."""
    import os

    import yaml

    with open(os.path.join(schemas_dir(), "anthropic-surface.yaml"), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    base = data["base"]
    return tuple(_build(raw, base) for raw in data["entries"])


def pack_model(config: Config) -> str:
    """The model a pack's own examples use most when they expect no diagnostic: a
    model the pack accepts as it is."""
    counts: Counter[str] = Counter()
    for rule in list_rules(config):
        for example in rule.examples:
            body = example.get("body")
            if not example.get("expect") and isinstance(body, Mapping):
                model = body.get("model")
                if isinstance(model, str):
                    counts[model] += 1
    if not counts:
        raise ValueError(f"the {config.pack!r} pack has no example naming an accepted model")
    return counts.most_common(1)[0][0]


def _decide(diagnostics: Sequence[Diagnostic], unsafe: frozenset[str]) -> tuple[Outcome, str]:
    def first(test: Any) -> str | None:
        return next((d.code for d in diagnostics if test(d)), None)

    def refused(d: Diagnostic) -> bool:  # an unsafe fix not opted in to: an error, no edit
        return d.severity is Severity.ERROR and d.action == "rejected" and d.code in unsafe

    checks: list[tuple[Outcome, Any]] = [
        ("rejected", lambda d: d.severity is Severity.ERROR and not refused(d)),
        ("unsafe", refused),
        ("replaced", lambda d: d.action == "replaced"),
        ("removed", lambda d: d.action == "removed"),
    ]
    for outcome, test in checks:
        code = first(test)
        if code is not None:
            return outcome, code
    # Warnings only: the first one (in document order) decides, and names which kind it is.
    warning = next((d for d in diagnostics if d.severity is Severity.WARNING), None)
    if warning is not None:
        return ("undocumented" if UNDOCUMENTED in warning.message else "warned"), warning.code
    return "kept", diagnostics[0].code if diagnostics else ""


def surface(
    config: Config | Mapping[str, Any] | None = None,
    entries: Sequence[SurfaceEntry] | None = None,
    *,
    model: str | None = None,
) -> tuple[SurfaceOutcome, ...]:
    """Run one pack (the config's) over every surface entry; one outcome per entry.

    ``model`` is the model every request names (default: the one the pack's own
    examples accept). A diagnostic the bare base request already gets is not counted.
    """
    cfg = coerce_config(config)
    chosen = model if model is not None else pack_model(cfg)
    rules = list_rules(cfg)
    unsafe = frozenset(r.code for r in rules if r.fix == "unsafe")
    baseline = {
        (d.code, d.path)
        for d in check(
            {"model": chosen, "max_tokens": 4096, "messages": [{"role": "user", "content": "Hi"}]},
            config=cfg,
        ).diagnostics
    }
    out = []
    for entry in entries if entries is not None else surface_entries():
        body = {"model": chosen, **dict(entry.body)}
        result = check(
            body, headers=entry.headers, path=entry.path, base_url=entry.base_url, config=cfg
        )
        found = tuple(d for d in result.diagnostics if (d.code, d.path) not in baseline)
        outcome, code = _decide(found, unsafe)
        out.append(
            SurfaceOutcome(
                entry=entry.id,
                kind=entry.kind,
                outcome=outcome,
                code=code,
                codes=tuple(d.code for d in found),
                diagnostics=found,
            )
        )
    return tuple(out)
