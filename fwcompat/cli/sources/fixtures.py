"""The fixture model: which documents are requests, which are envelopes
(``{body, headers, base_url, path}``) holding one, and where a diagnostic's pointer lives
in the file's document.

Before anything is reported or fixed, :func:`classify` decides whether a document is a
request at all: ``package.json`` or a workflow file is skipped, never reported on and
never written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

__all__ = ["ENVELOPE_KEYS", "REQUEST_KEYS", "classify", "file_tokens", "fixable", "split_envelope"]

Kind = Literal["request", "envelope"]
ENVELOPE_KEYS = ("body", "headers", "base_url", "path")
REQUEST_KEYS = frozenset(
    {
        "system",
        "tools",
        "tool_choice",
        "stop_sequences",
        "thinking",
        "container",
        "service_tier",
        "mcp_servers",
        "output_config",
        "context_management",
        "inference_geo",
        "speed",
    }
)
"""Top-level members only a Messages request has. Generic ones (``max_tokens``,
``temperature``, ``stream``, ``metadata``) are left out on purpose: an LLM config
file with ``model`` and ``temperature`` is not a request, and ``--fix`` must never
strip its other keys."""


def _looks_like_body(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "messages" in value:
        return True
    return "model" in value and any(key in REQUEST_KEYS for key in value)


def classify(document: Any) -> Kind | None:
    """Whether a document is a Messages request, an envelope holding one, or neither.

    - a **request** is an object with a ``messages`` member, or with ``model``
      plus a member only Messages requests have (``system``, ``tools``,
      ``thinking``, ``stop_sequences`` ... see :data:`REQUEST_KEYS`);
    - an **envelope** is an object with a ``body`` that is a request, no
      ``messages`` or ``model`` of its own, and only envelope members
      (``body``, ``headers``, ``base_url``, ``path``);
    - anything else (``package.json``, a CI workflow, a list, a scalar) is
      neither: it is skipped, never reported on and never written.
    """
    if not isinstance(document, dict):
        return None
    if _looks_like_body(document):
        return "request"
    if (
        "body" in document
        and all(isinstance(key, str) and key in ENVELOPE_KEYS for key in document)
        and _looks_like_body(document["body"])
    ):
        return "envelope"
    return None


def split_envelope(document: Any) -> tuple[bool, dict[str, Any]]:
    """``(is_envelope, check kwargs)`` for a parsed document (stdin is always a request)."""
    if (
        isinstance(document, dict)
        and "body" in document
        and "messages" not in document
        and "model" not in document
        and all(isinstance(key, str) and key in ENVELOPE_KEYS for key in document)
    ):
        return True, {k: document[k] for k in ENVELOPE_KEYS if k in document}
    return False, {"body": document}


def file_tokens(scope: str, tokens: Sequence[str], envelope: bool) -> list[str] | None:
    """Where a diagnostic's pointer lives in the file's document; None if not in the file."""
    if scope == "body":
        return ["body", *tokens] if envelope else list(tokens)
    if not envelope:
        return None
    if scope == "headers":
        return ["headers", *tokens]
    # url scope: the pointer names the base URL ("") or the request path.
    if tokens and tokens[0] in ("path", "base_url"):
        return [tokens[0]]
    return ["base_url"]


def fixable(diagnostic: Any, unsafe: bool) -> bool:
    """Whether ``--fix`` (with or without ``--unsafe-fixes``) applies this diagnostic."""
    fix = diagnostic.fix
    if fix is None or diagnostic.action not in ("removed", "replaced"):
        return False
    return bool(fix.applicability == "safe" or unsafe)
