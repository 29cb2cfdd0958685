import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from shortlist.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_MET: _ClassVar[Verdict]
    VERDICT_PARTIAL: _ClassVar[Verdict]
    VERDICT_MISSING: _ClassVar[Verdict]
    VERDICT_UNVERIFIABLE: _ClassVar[Verdict]

class Recommendation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECOMMENDATION_UNSPECIFIED: _ClassVar[Recommendation]
    RECOMMENDATION_ADVANCE: _ClassVar[Recommendation]
    RECOMMENDATION_REVIEW: _ClassVar[Recommendation]
    RECOMMENDATION_REJECT: _ClassVar[Recommendation]
VERDICT_UNSPECIFIED: Verdict
VERDICT_MET: Verdict
VERDICT_PARTIAL: Verdict
VERDICT_MISSING: Verdict
VERDICT_UNVERIFIABLE: Verdict
RECOMMENDATION_UNSPECIFIED: Recommendation
RECOMMENDATION_ADVANCE: Recommendation
RECOMMENDATION_REVIEW: Recommendation
RECOMMENDATION_REJECT: Recommendation

class Quote(_message.Message):
    __slots__ = ("text", "span")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SPAN_FIELD_NUMBER: _ClassVar[int]
    text: str
    span: _common_pb2.Span
    def __init__(self, text: _Optional[str] = ..., span: _Optional[_Union[_common_pb2.Span, _Mapping]] = ...) -> None: ...

class RequirementScore(_message.Message):
    __slots__ = ("requirement", "score", "verdict", "quotes", "reason")
    REQUIREMENT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    requirement: _common_pb2.Requirement
    score: float
    verdict: Verdict
    quotes: _containers.RepeatedCompositeFieldContainer[Quote]
    reason: str
    def __init__(self, requirement: _Optional[_Union[_common_pb2.Requirement, _Mapping]] = ..., score: _Optional[float] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., quotes: _Optional[_Iterable[_Union[Quote, _Mapping]]] = ..., reason: _Optional[str] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ("input_tokens", "output_tokens", "calls", "retries", "latency_seconds")
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    LATENCY_SECONDS_FIELD_NUMBER: _ClassVar[int]
    input_tokens: int
    output_tokens: int
    calls: int
    retries: int
    latency_seconds: float
    def __init__(self, input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., calls: _Optional[int] = ..., retries: _Optional[int] = ..., latency_seconds: _Optional[float] = ...) -> None: ...

class CvScored(_message.Message):
    __slots__ = ("application_id", "job_id", "job_version", "candidate_id", "score", "recommendation", "requirements", "flags", "scorer", "model", "prompt_version", "input_hash", "usage", "summary", "scored_at", "submitted_at")
    APPLICATION_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_VERSION_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    SCORER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_VERSION_FIELD_NUMBER: _ClassVar[int]
    INPUT_HASH_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SCORED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    application_id: str
    job_id: str
    job_version: int
    candidate_id: str
    score: float
    recommendation: Recommendation
    requirements: _containers.RepeatedCompositeFieldContainer[RequirementScore]
    flags: _containers.RepeatedScalarFieldContainer[str]
    scorer: str
    model: str
    prompt_version: str
    input_hash: str
    usage: Usage
    summary: str
    scored_at: _timestamp_pb2.Timestamp
    submitted_at: _timestamp_pb2.Timestamp
    def __init__(self, application_id: _Optional[str] = ..., job_id: _Optional[str] = ..., job_version: _Optional[int] = ..., candidate_id: _Optional[str] = ..., score: _Optional[float] = ..., recommendation: _Optional[_Union[Recommendation, str]] = ..., requirements: _Optional[_Iterable[_Union[RequirementScore, _Mapping]]] = ..., flags: _Optional[_Iterable[str]] = ..., scorer: _Optional[str] = ..., model: _Optional[str] = ..., prompt_version: _Optional[str] = ..., input_hash: _Optional[str] = ..., usage: _Optional[_Union[Usage, _Mapping]] = ..., summary: _Optional[str] = ..., scored_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
