"""The official Anthropic SDK against Fireworks, with every request checked by fwcompat.

    pip install "fwcompat[anthropic]"
    export FIREWORKS_API_KEY=fw_...
    python examples/sdk_example.py

``FIREWORKS_BASE_URL`` overrides the base URL (default
``https://api.fireworks.ai/inference``, without ``/v1``).
"""

from __future__ import annotations

import logging
import os

import anthropic

import fwcompat
import fwcompat.anthropic
from fwcompat.usage import UsageMeter, usage_from_response

MODEL = "accounts/fireworks/models/kimi-k2p5"

logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")


def main() -> None:
    client = anthropic.Anthropic(
        base_url=os.environ.get("FIREWORKS_BASE_URL", "https://api.fireworks.ai/inference"),
        api_key=os.environ["FIREWORKS_API_KEY"],
        # The one line: every POST /v1/messages is checked and normalized before it is sent.
        http_client=fwcompat.anthropic.http_client(
            config={"model_map": {"claude-sonnet-4-6": MODEL}}
        ),
    )

    # 1. Unsupported fields are removed (logged as warnings on the "fwcompat" logger),
    #    and the Anthropic model name is mapped to a Fireworks model by model_map.
    message = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=256,
        messages=[{"role": "user", "content": "Name three prime numbers."}],
        extra_body={"service_tier": "auto", "inference_geo": "us"},
    )
    print("".join(block.text for block in message.content if block.type == "text"))
    print("usage:", usage_from_response(message))

    # 2. Streaming: message_start reports 0 tokens on Fireworks; the meter reads the
    #    counts from the one message_delta and flags a stream that breaks that shape.
    meter = UsageMeter()
    stream = client.messages.create(
        model=MODEL,
        max_tokens=256,
        stream=True,
        messages=[{"role": "user", "content": "Count from 1 to 5."}],
    )
    for event in stream:
        meter.feed(event)
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            print(event.delta.text, end="", flush=True)
    print()
    print("streamed usage:", meter.finish())
    for issue in meter.issues:
        print("stream issue:", issue)

    # 3. An incompatible request raises before anything is sent.
    try:
        client.messages.create(
            model=MODEL,
            max_tokens=1024,
            thinking={"type": "adaptive"},
            messages=[{"role": "user", "content": "Think hard."}],
        )
    except fwcompat.IncompatibleRequestError as exc:
        for diagnostic in exc.errors:
            print("rejected:", diagnostic)


if __name__ == "__main__":
    main()
