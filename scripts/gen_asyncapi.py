"""Generate the AsyncAPI 3 document of every topic from the event table in code and the proto files.

``python -m scripts.gen_asyncapi`` writes ``docs/asyncapi.json`` and the copy the services serve at
``/asyncapi.json`` (``libs/shortlist/v1/asyncapi.json``). Channels, message types and ce_types come from
``shortlist.runtime.events.EVENT_TYPES``; payload schemas from the compiled protobuf descriptors (the proto3
JSON mapping, with field numbers); descriptions and record keys from the comments in ``proto/``.
"""

import json
import re
import sys
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from shortlist.runtime.events import EVENT_TYPES
from shortlist.runtime.topics import (
    CANDIDATES_ERASED,
    CV_EMBEDDED,
    CV_INGESTED,
    CV_SCORED,
    CV_SUBMITTED,
    JOBS_POSTED,
    NOTIFY_DELIVERED,
    dlt,
)

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUTPUTS = (ROOT / "docs" / "asyncapi.json", ROOT / "libs" / "shortlist" / "v1" / "asyncapi.json")

#: Who publishes and who consumes each topic (the consumers are the ``service.consume`` calls of each app.py
#: and ingest's ``IngestHandlers.routes``); a test compares this table with those sources.
PUBLISHERS: dict[str, list[str]] = {
    CV_SUBMITTED: ["upstream systems (ATS, careers page)"],
    CV_INGESTED: ["ingest"],
    JOBS_POSTED: ["ingest"],
    CV_EMBEDDED: ["embed"],
    CV_SCORED: ["score"],
    NOTIFY_DELIVERED: ["notify"],
    CANDIDATES_ERASED: ["ingest"],
}
CONSUMERS: dict[str, list[str]] = {
    CV_SUBMITTED: ["ingest"],
    CV_INGESTED: ["embed", "ingest"],
    JOBS_POSTED: ["embed"],
    CV_EMBEDDED: ["score", "ingest"],
    CV_SCORED: ["notify", "ingest", "downstream consumers"],
    NOTIFY_DELIVERED: ["ingest"],
    CANDIDATES_ERASED: ["ingest", "embed", "score", "notify"],
}
#: Dead letters ingest reads to mark the application failed at that step.
SERVICES = ("ingest", "embed", "score", "notify")
READ_BY_INGEST = frozenset({CV_SUBMITTED, CV_INGESTED, CV_EMBEDDED, CV_SCORED})

_SCALARS = {
    FieldDescriptor.TYPE_DOUBLE: {"type": "number"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "uint32"},
    FieldDescriptor.TYPE_INT64: {"type": "string", "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "format": "uint64"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}


def proto_comments() -> dict[str, str]:
    """The comment above each message or enum in proto/, by name."""
    found: dict[str, str] = {}
    for path in sorted(PROTO_DIR.rglob("*.proto")):
        comment: list[str] = []
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("//"):
                comment.append(stripped[2:].strip())
                continue
            match = re.match(r"(message|enum)\s+(\w+)", stripped)
            if match and comment and not line.startswith(" "):
                found[match.group(2)] = " ".join(comment)
            comment = []
    return found


def _field(field: FieldDescriptor, schemas: dict[str, Any], comments: dict[str, str]) -> dict[str, Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        message_type = field.message_type
        assert message_type is not None
        if message_type.full_name == "google.protobuf.Timestamp":
            schema: dict[str, Any] = {"type": "string", "format": "date-time"}
        else:
            schema = {"$ref": f"#/components/schemas/{_message(message_type, schemas, comments)}"}
    elif field.type == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        schema = {"$ref": f"#/components/schemas/{_enum(field.enum_type, schemas, comments)}"}
    else:
        schema = dict(_SCALARS[field.type])
    if field.is_repeated:
        schema = {"type": "array", "items": schema}
    return {**schema, "x-protobuf-field": field.number}


def _enum(enum: EnumDescriptor, schemas: dict[str, Any], comments: dict[str, str]) -> str:
    if enum.name not in schemas:
        schemas[enum.name] = {"type": "string", "enum": [v.name for v in enum.values]}
        if enum.name in comments:
            schemas[enum.name]["description"] = comments[enum.name]
    return enum.name


def _message(message: Descriptor, schemas: dict[str, Any], comments: dict[str, str]) -> str:
    if message.name not in schemas:
        schemas[message.name] = {}
        properties = {f.json_name: _field(f, schemas, comments) for f in message.fields}
        schema: dict[str, Any] = {"type": "object", "x-protobuf-message": message.full_name, "properties": properties}
        if message.name in comments:
            schema["description"] = comments[message.name]
        schemas[message.name] = schema
    return message.name


def _key(comment: str) -> str:
    match = re.search(r"Key: (\w+)", comment)
    return match.group(1) if match else "application_id"


def _headers(ce_type: str) -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "type": "object",
        "required": ["content-type", "ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time"],
        "properties": {
            "content-type": {"const": "application/protobuf"},
            "ce_specversion": {"const": "1.0"},
            "ce_id": {**text, "description": "unique event id: the idempotency key (deduplicate by it)"},
            "ce_type": {"const": ce_type},
            "ce_source": {**text, "description": "/shortlist/<service>"},
            "ce_time": {**text, "format": "date-time"},
            "traceparent": {**text, "description": "W3C trace context"},
            "tracestate": text,
        },
    }


_DLT_HEADERS = {
    "type": "object",
    "description": "The original record unchanged (key, value, headers) plus why it was dead-lettered.",
    "properties": {
        name: {"type": "string"}
        for name in (
            "dlt-original-topic",
            "dlt-original-partition",
            "dlt-original-offset",
            "dlt-exception-type",
            "dlt-exception-message",
        )
    },
}


def document() -> dict[str, Any]:
    comments = proto_comments()
    schemas: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for cls, (ce_type, topic) in sorted(EVENT_TYPES.items(), key=lambda item: item[1][1]):
        descriptor: Descriptor = cls.DESCRIPTOR  # type: ignore[assignment]
        name = descriptor.name
        comment = comments.get(name, "")
        key = _key(comment)
        messages[name] = {
            "name": name,
            "title": ce_type,
            "summary": comment,
            "contentType": "application/protobuf",
            "headers": _headers(ce_type),
            "payload": {"$ref": f"#/components/schemas/{_message(descriptor, schemas, comments)}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": key}, "bindingVersion": "0.5.0"}},
            "x-protobuf-message": cls.DESCRIPTOR.full_name,
            "x-proto-file": f"proto/{cls.DESCRIPTOR.file.name}",
        }
        channel_id = topic.replace(".", "_")
        channels[channel_id] = {
            "address": topic,
            "description": f"{comment} Publishers: {', '.join(PUBLISHERS[topic])}. "
            f"Consumers: {', '.join(CONSUMERS[topic])}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "x-key": key,
            "x-publishers": PUBLISHERS[topic],
            "x-consumers": CONSUMERS[topic],
        }
        for action, who in (("send", PUBLISHERS[topic]), ("receive", CONSUMERS[topic])):
            operations[f"{action}_{channel_id}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "summary": f"{', '.join(who)} {'publish' if action == 'send' else 'consume'} {topic}",
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
            }
        # Every consumer dead-letters what it can never handle.
        if writers := [c for c in CONSUMERS[topic] if c in SERVICES]:
            dead = dlt(topic)
            readers = " Read by ingest (the application's failure)." if topic in READ_BY_INGEST else ""
            dead_id = dead.replace(".", "_").replace("-", "_")
            dead_name = f"{name}DeadLetter"
            messages[dead_name] = {
                **messages[name],
                "name": dead_name,
                "summary": f"A {name} record that could never be handled.",
                "headers": _DLT_HEADERS,
            }
            channels[dead_id] = {
                "address": dead,
                "description": f"Dead letters of {topic}, written by {', '.join(writers)}.{readers}",
                "messages": {dead_name: {"$ref": f"#/components/messages/{dead_name}"}},
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Shortlist events",
            "version": "1",
            "description": "Every Kafka topic of Shortlist. Records follow the CloudEvents Kafka binding in binary "
            "mode: the value is the protobuf message, the attributes are ce_* headers. Delivery is at least once; "
            "deduplicate by ce_id. Generated by scripts/gen_asyncapi.py; see docs/consuming-scores.md.",
        },
        "defaultContentType": "application/protobuf",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    text = render()
    for path in OUTPUTS:
        path.write_text(text)
    sys.stdout.write(f"wrote {', '.join(str(p.relative_to(ROOT)) for p in OUTPUTS)}\n")
