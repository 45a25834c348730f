"""Shared test data: a small user rule file, as a repository of one's own would keep."""

from __future__ import annotations

TOP_K_MESSAGE = '"top_k is dropped here; removed ({value})."'

TOP_K_RULE = f"""\
rules:
  - code: XX101
    name: no-top-k
    title: top_k is dropped by this gateway
    doc: "Our gateway drops top_k."
    path: /top_k
    severity: warning
    action: remove
    message: {TOP_K_MESSAGE}
    examples:
      - name: with top_k
        body: {{model: accounts/fireworks/models/kimi-k2p5, messages: [], top_k: 5}}
        expect: [{{code: XX101, path: /top_k}}]
        normalized: {{model: accounts/fireworks/models/kimi-k2p5, messages: []}}
      - name: without
        body: {{model: accounts/fireworks/models/kimi-k2p5, messages: []}}
        expect: []
"""
