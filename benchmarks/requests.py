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


_CODE = '''def settle(ledger: dict[str, float], payments: list[tuple[str, float]]):
    """Apply payments to a ledger; refuse overdrafts with a clear message."""
    balances = dict(ledger)
    for account, amount in payments:
        if account not in balances:
            raise KeyError(f"unknown account {account!r}")
        if balances[account] + amount < 0:
            raise ValueError(f"payment of {amount:.2f} would overdraw {account}")
        balances[account] = round(balances[account] + amount, 2)
    return balances


def report(balances: dict[str, float]) -> str:
    lines = [f"{name:<20} {value:>12,.2f}" for name, value in sorted(balances.items())]
    total = sum(balances.values())
    return "\\n".join([*lines, "-" * 33, f"{'total':<20} {total:>12,.2f}"])
'''
_CODE = (_CODE * 2)[:1500]
_THOUGHT = (
    "The user wants the settlement logic reviewed. The overdraft check happens before "
    "the update, which is right, but rounding only at the end could hide cents. "
)


def agent_turns(n_messages: int) -> dict[str, Any]:
    """Text-heavy agent turns (the shape Claude Code sends), no images: ``n_messages``
    messages alternating user (tool_result with ~1.5 KB of code, then text) and
    assistant (thinking with a signature, text, tool_use); five tools. With
    ``n_messages=1``: one short user message (about 116 bytes of JSON)."""
    if n_messages <= 1:
        return {
            "model": "accounts/fireworks/models/kimi-k2p5",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Summarise the ledger risks."}],
        }
    messages: list[dict[str, Any]] = []
    for i in range(n_messages):
        if i % 2 == 0:
            content: Any = (
                "Review settle() in ledger.py."
                if i == 0
                else [
                    {"type": "tool_result", "tool_use_id": f"toolu_{i - 1:04d}", "content": _CODE},
                    {"type": "text", "text": "Here is the file. What would you change?"},
                ]
            )
            messages.append({"role": "user", "content": content})
        else:
            messages.append(
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "thinking",
                            "thinking": _THOUGHT,
                            "signature": "EqQBCkYIBxgCKkA" * 8,
                        },
                        {"type": "text", "text": "Let me read the file first."},
                        {
                            "type": "tool_use",
                            "id": f"toolu_{i:04d}",
                            "name": "tool_1",
                            "input": {"id": "ledger.py", "region": "eu"},
                        },
                    ],
                }
            )
    if messages[-1]["role"] != "user":
        messages.append({"role": "user", "content": "Continue."})
    return {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 8192,
        "system": [{"type": "text", "text": "You are a careful code reviewer. " * 10}],
        "tools": TOOLS,
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "messages": messages,
    }


def dirty(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` plus 7 fields Fireworks does not take (7 removals), one of them a
    ``caller`` inside a message's tool_use block. The input is not modified."""
    out = {
        **body,
        "service_tier": "standard_only",
        "inference_geo": None,
        "speed": "fast",
        "container": "container_011CWxyz",
        "context_management": {"edits": []},
        "output_config": {"effort": "medium", "speed": "fast"},
    }
    messages = list(body["messages"])
    for i, message in enumerate(messages):
        if message["role"] == "assistant" and isinstance(message["content"], list):
            blocks = [
                {**b, "caller": {"type": "direct"}} if b.get("type") == "tool_use" else b
                for b in message["content"]
            ]
            messages[i] = {**message, "content": blocks}
            break
    out["messages"] = messages
    return out
