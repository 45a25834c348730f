"""Hypothesis strategies: Anthropic-shaped requests with Fireworks-incompatible parts mixed in."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

MODELS = (
    st.sampled_from(
        [
            "accounts/fireworks/models/kimi-k2p5",
            "accounts/alice/routers/r1",
            "accounts/alice/deployments/12345678",
            "accounts/fireworks/models/mixtral-8x7b#accounts/alice/deployments/12345678",
            "alice/custom-model#alice/12345678",
            "claude-sonnet-4-6",
            "gpt-4o",
            "",
        ]
    )
    | JSON
)

TOOL_TYPES = [
    "web_search_20250305",
    "web_fetch_20260209",
    "code_execution_20250825",
    "memory_20250818",
    "tool_search_tool_regex",
    "bash_20250124",
    "custom",
]
TOOL_EXTRAS = [
    "eager_input_streaming",
    "cache_control",
    "allowed_callers",
    "defer_loading",
    "input_examples",
]


@st.composite
def tools(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        tool: dict[str, Any] = {
            "name": draw(st.sampled_from(["get_weather", "lookup", "bad name"])),
            "input_schema": {"type": "object"},
        }
        if draw(st.booleans()):
            tool["description"] = "A tool."
        for extra in draw(st.lists(st.sampled_from(TOOL_EXTRAS), unique=True)):
            tool[extra] = draw(JSON)
        return tool
    kind = draw(st.sampled_from(TOOL_TYPES))
    return {"type": kind, "name": kind.split("_2")[0]}


@st.composite
def blocks(draw: st.DrawFn) -> Any:
    kind = draw(
        st.sampled_from(["text", "tool_use", "tool_result", "image", "thinking", "weird", "json"])
    )
    if kind == "json":
        return draw(JSON)
    block: dict[str, Any] = {"type": kind}
    if kind == "text":
        block["text"] = draw(st.text(max_size=20))
    elif kind == "tool_use":
        block.update(id="toolu_1", name="lookup", input={"q": draw(st.text(max_size=5))})
    elif kind == "tool_result":
        block.update(tool_use_id="toolu_1", content=draw(st.text(max_size=10)))
    elif kind == "image":
        block["source"] = {"type": "url", "url": "https://example.com/a.png"}
    elif kind == "thinking":
        block.update(thinking="hm", signature="sig")
    if draw(st.booleans()):
        block["caller"] = draw(st.sampled_from([{"type": "direct"}, None, "x"]))
    if draw(st.integers(0, 4)) == 0:
        block["cache_control"] = {"type": "ephemeral"}
    return block


@st.composite
def messages(draw: st.DrawFn) -> Any:
    role = draw(st.sampled_from(["user", "assistant", "user", "system"]))
    if draw(st.booleans()):
        content: Any = draw(st.text(max_size=20))
    else:
        content = draw(st.lists(blocks(), max_size=3))
    return {"role": role, "content": content}


TOP_LEVEL_EXTRAS: dict[str, Any] = {
    "service_tier": st.sampled_from(["auto", "standard_only", None]),
    "inference_geo": st.sampled_from(["us", None]),
    "speed": st.sampled_from(["fast", "standard"]),
    "container": st.sampled_from(["container_1", {"id": None}]),
    "raw_output": st.booleans() | JSON,
    "context_management": JSON,
    "mcp_servers": JSON,
    "cache_control": st.just({"type": "ephemeral"}),
    "temperature": st.floats(0, 2),
    "max_tokens": st.integers(-5, 5000),
    "stream": st.booleans(),
    "thinking": st.sampled_from(
        [
            {"type": "enabled", "budget_tokens": 2048},
            {"type": "adaptive"},
            {"type": "disabled"},
            {"type": "between_tools"},
        ]
    ),
    "output_config": st.fixed_dictionaries(
        {},
        optional={
            "effort": st.sampled_from(["low", "medium", "high", "max", "xhigh", None, 3]),
            "speed": st.just("fast"),
        },
    ),
    "tools": st.lists(tools(), max_size=4),
}


@st.composite
def requests(draw: st.DrawFn) -> Any:
    """A request dict: mostly Anthropic-shaped, sometimes broken anywhere."""
    body: dict[str, Any] = {}
    if draw(st.integers(0, 9)) > 0:
        body["model"] = draw(MODELS)
    body["messages"] = draw(st.lists(messages(), max_size=4) | JSON)
    for key in draw(st.lists(st.sampled_from(sorted(TOP_LEVEL_EXTRAS)), unique=True, max_size=6)):
        body[key] = draw(TOP_LEVEL_EXTRAS[key])
    if draw(st.integers(0, 5)) == 0:
        body[draw(st.text(max_size=6))] = draw(JSON)
    return body


ANY_BODY = requests() | JSON
