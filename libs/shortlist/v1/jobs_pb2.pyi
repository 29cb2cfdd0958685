import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shortlist.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobPosted(_message.Message):
    __slots__ = ("job_id", "version", "title", "description", "requirements", "posted_at", "advance_threshold", "reject_threshold")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    POSTED_AT_FIELD_NUMBER: _ClassVar[int]
    ADVANCE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REJECT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    version: int
    title: str
    description: str
    requirements: _containers.RepeatedCompositeFieldContainer[_common_pb2.Requirement]
    posted_at: _timestamp_pb2.Timestamp
    advance_threshold: float
    reject_threshold: float
    def __init__(self, job_id: _Optional[str] = ..., version: _Optional[int] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., requirements: _Optional[_Iterable[_Union[_common_pb2.Requirement, _Mapping]]] = ..., posted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., advance_threshold: _Optional[float] = ..., reject_threshold: _Optional[float] = ...) -> None: ...
