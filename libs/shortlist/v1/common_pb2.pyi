import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RequirementKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REQUIREMENT_KIND_UNSPECIFIED: _ClassVar[RequirementKind]
    REQUIREMENT_KIND_MUST: _ClassVar[RequirementKind]
    REQUIREMENT_KIND_NICE: _ClassVar[RequirementKind]
REQUIREMENT_KIND_UNSPECIFIED: RequirementKind
REQUIREMENT_KIND_MUST: RequirementKind
REQUIREMENT_KIND_NICE: RequirementKind

class Span(_message.Message):
    __slots__ = ("start", "end")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Section(_message.Message):
    __slots__ = ("name", "span")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    name: str
    span: Span
    def __init__(self, name: _Optional[str] = ..., span: _Optional[_Union[Span, _Mapping]] = ...) -> None: ...

class PiiSpan(_message.Message):
    __slots__ = ("kind", "span")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    kind: str
    span: Span
    def __init__(self, kind: _Optional[str] = ..., span: _Optional[_Union[Span, _Mapping]] = ...) -> None: ...

class HiddenText(_message.Message):
    __slots__ = ("reason", "text", "page")
    REASON_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    text: str
    page: int
    def __init__(self, reason: _Optional[str] = ..., text: _Optional[str] = ..., page: _Optional[int] = ...) -> None: ...

class Requirement(_message.Message):
    __slots__ = ("id", "text", "kind", "weight")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    kind: RequirementKind
    weight: float
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., kind: _Optional[_Union[RequirementKind, str]] = ..., weight: _Optional[float] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("code", "message", "step", "at")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    step: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ..., step: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
