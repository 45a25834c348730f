"""Realistic request bodies of a given size, shared by the benchmarks and tests."""

from __future__ import annotations

from typing import Any

TOOLS = [
    {
        "name": f"tool_{i}",
        "description": "Look up records in the warehouse by id, date range and region. " * 2,
        "input_schema": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "since": {"type": "string", "format": "date"},
                "region": {"type": "string", "enum": ["eu", "us", "apac"]},
            },
            "required": ["id"],
        },
    }
    for i in range(5)
]

_TEXT = (
    "Here is the next part of the report. Revenue grew in every region, with the "
    "strongest quarter in APAC; costs were flat. Please summarise the risks in three "
    "bullet points and suggest one follow-up query. "
)


def conversation(n_messages: int) -> dict[str, Any]:
    """A tool-using conversation of ``n_messages`` messages (about 600 bytes each)."""
    messages: list[dict[str, Any]] = []
    for i in range(n_messages):
        if i % 2 == 0:
            if i % 4 == 2:
                content: Any = [
                    {"type": "tool_result", "tool_use_id": f"toolu_{i - 1}", "content": _TEXT},
                    {"type": "text", "text": _TEXT},
                ]
            else:
                content = _TEXT * 2
            messages.append({"role": "user", "content": content})
        else:
            messages.append(
                {
                    "role": "assistant",
                    "content": [
                        {"type": "text", "text": _TEXT},
                        {
                            "type": "tool_use",
                            "id": f"toolu_{i}",
                            "name": "tool_1",
                            "input": {"id": f"r-{i}", "region": "eu"},
                        },
                    ],
                }
            )
    if messages and messages[-1]["role"] != "user":
        messages.append({"role": "user", "content": "Continue."})
    return {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 2048,
        "system": [{"type": "text", "text": "You are a careful analyst. " * 10}],
        "tools": TOOLS,
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "output_config": {"effort": "medium"},
        "messages": messages[:n_messages] if n_messages else messages,
    }
