"""The parts of a chat completion the scorer reads, taken from the response body as it came.

Building the SDK's typed response model for every call costs more CPU than reading these few fields, which
matters at hundreds of calls per second.
"""

import json
from dataclasses import dataclass
from typing import Any


class InvalidOutput(Exception):
    """The model's answer is not JSON of the requested schema (asked again)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Completion:
    content: str
    finish_reason: str
    model: str
    input_tokens: int
    output_tokens: int


def parse_completion(body: bytes) -> Completion:
    """Raises ``InvalidOutput("invalid_json")`` when the body is not a chat completion at all."""
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidOutput("invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidOutput("invalid_json")
    choices = data.get("choices")
    choice: dict[str, Any] = (
        choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    )
    message = choice.get("message")
    usage = data.get("usage")
    return Completion(
        content=str((message.get("content") if isinstance(message, dict) else None) or ""),
        finish_reason=str(choice.get("finish_reason") or ""),
        model=str(data.get("model") or ""),
        input_tokens=_count(usage, "prompt_tokens"),
        output_tokens=_count(usage, "completion_tokens"),
    )


def _count(usage: object, name: str) -> int:
    value = usage.get(name) if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value >= 0 else 0


def conforms(value: Any, schema: dict[str, Any]) -> bool:
    """Enough of JSON Schema for the chain's own schemas."""
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return False
    if kind == "object":
        if not isinstance(value, dict) or any(k not in value for k in schema.get("required", [])):
            return False
        return all(conforms(value[k], s) for k, s in schema.get("properties", {}).items() if k in value)
    if kind == "array":
        if not isinstance(value, list) or len(value) > schema.get("maxItems", len(value)):
            return False
        return all(conforms(v, schema.get("items", {})) for v in value)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer" or kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if kind == "integer" and not float(value).is_integer():
            return False
        return bool(schema.get("minimum", value) <= value <= schema.get("maximum", value))
    return True
