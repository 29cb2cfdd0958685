import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shortlist.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CvSubmitted(_message.Message):
    __slots__ = ("application_id", "job_id", "candidate_id", "external_id", "candidate_name", "candidate_email", "filename", "content_type", "content", "text", "submitted_at")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_NAME_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_EMAIL_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    job_id: str
    candidate_id: str
    external_id: str
    candidate_name: str
    candidate_email: str
    filename: str
    content_type: str
    content: bytes
    text: str
    submitted_at: _timestamp_pb2.Timestamp
    def __init__(self, application_id: _Optional[str] = ..., job_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., external_id: _Optional[str] = ..., candidate_name: _Optional[str] = ..., candidate_email: _Optional[str] = ..., filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., text: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CvIngested(_message.Message):
    __slots__ = ("application_id", "job_id", "candidate_id", "text", "redacted_text", "sections", "pii", "hidden_text", "parse_quality", "content_hash", "content_type", "pages", "submitted_at", "extractor")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REDACTED_TEXT_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    PII_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_TEXT_FIELD_NUMBER: _ClassVar[int]
    PARSE_QUALITY_FIELD_NUMBER: _ClassVar[int]
    CONTENT_HASH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXTRACTOR_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    job_id: str
    candidate_id: str
    text: str
    redacted_text: str
    sections: _containers.RepeatedCompositeFieldContainer[_common_pb2.Section]
    pii: _containers.RepeatedCompositeFieldContainer[_common_pb2.PiiSpan]
    hidden_text: _containers.RepeatedCompositeFieldContainer[_common_pb2.HiddenText]
    parse_quality: float
    content_hash: str
    content_type: str
    pages: int
    submitted_at: _timestamp_pb2.Timestamp
    extractor: str
    def __init__(self, application_id: _Optional[str] = ..., job_id: _Optional[str] = ..., candidate_id: _Optional[str] = ..., text: _Optional[str] = ..., redacted_text: _Optional[str] = ..., sections: _Optional[_Iterable[_Union[_common_pb2.Section, _Mapping]]] = ..., pii: _Optional[_Iterable[_Union[_common_pb2.PiiSpan, _Mapping]]] = ..., hidden_text: _Optional[_Iterable[_Union[_common_pb2.HiddenText, _Mapping]]] = ..., parse_quality: _Optional[float] = ..., content_hash: _Optional[str] = ..., content_type: _Optional[str] = ..., pages: _Optional[int] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., extractor: _Optional[str] = ...) -> None: ...

class EvidenceChunk(_message.Message):
    __slots__ = ("chunk_id", "section", "span", "text", "similarity")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    chunk_id: str
    section: str
    span: _common_pb2.Span
    text: str
    similarity: float
    def __init__(self, chunk_id: _Optional[str] = ..., section: _Optional[str] = ..., span: _Optional[_Union[_common_pb2.Span, _Mapping]] = ..., text: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class RequirementEvidence(_message.Message):
    __slots__ = ("requirement", "chunks")
    REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    requirement: _common_pb2.Requirement
    chunks: _containers.RepeatedCompositeFieldContainer[EvidenceChunk]
    def __init__(self, requirement: _Optional[_Union[_common_pb2.Requirement, _Mapping]] = ..., chunks: _Optional[_Iterable[_Union[EvidenceChunk, _Mapping]]] = ...) -> None: ...

class CvEmbedded(_message.Message):
    __slots__ = ("application_id", "job_id", "job_version", "candidate_id", "evidence", "redacted_text", "sections", "hidden_text", "parse_quality", "chunk_count", "embedding_model", "submitted_at", "job_title", "advance_threshold", "reject_threshold")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_VERSION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    REDACTED_TEXT_FIELD_NUMBER: _ClassVar[int]
    SECTIONS_FIELD_NUMBER: _ClassVar[int]
    HIDDEN_TEXT_FIELD_NUMBER: _ClassVar[int]
    PARSE_QUALITY_FIELD_NUMBER: _ClassVar[int]
    CHUNK_COUNT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_MODEL_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    JOB_TITLE_FIELD_NUMBER: _ClassVar[int]
    ADVANCE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REJECT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    job_id: str
    job_version: int
    candidate_id: str
    evidence: _containers.RepeatedCompositeFieldContainer[RequirementEvidence]
    redacted_text: str
    sections: _containers.RepeatedCompositeFieldContainer[_common_pb2.Section]
    hidden_text: _containers.RepeatedCompositeFieldContainer[_common_pb2.HiddenText]
    parse_quality: float
    chunk_count: int
    embedding_model: str
    submitted_at: _timestamp_pb2.Timestamp
    job_title: str
    advance_threshold: float
    reject_threshold: float
    def __init__(self, application_id: _Optional[str] = ..., job_id: _Optional[str] = ..., job_version: _Optional[int] = ..., candidate_id: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[RequirementEvidence, _Mapping]]] = ..., redacted_text: _Optional[str] = ..., sections: _Optional[_Iterable[_Union[_common_pb2.Section, _Mapping]]] = ..., hidden_text: _Optional[_Iterable[_Union[_common_pb2.HiddenText, _Mapping]]] = ..., parse_quality: _Optional[float] = ..., chunk_count: _Optional[int] = ..., embedding_model: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., job_title: _Optional[str] = ..., advance_threshold: _Optional[float] = ..., reject_threshold: _Optional[float] = ...) -> None: ...

class CandidateErased(_message.Message):
    __slots__ = ("candidate_id", "application_ids", "erased_at")
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_IDS_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    candidate_id: str
    application_ids: _containers.RepeatedScalarFieldContainer[str]
    erased_at: _timestamp_pb2.Timestamp
    def __init__(self, candidate_id: _Optional[str] = ..., application_ids: _Optional[_Iterable[str]] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
