"""Untrusted CV text: instruction-like content, hidden text, and the clean text left once both are set aside."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from shortlist.v1 import cv_pb2

INJECTION_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+)*"
        r"(previous|prior|above|earlier|preceding|other)\s+(instructions?|prompts?|directions?|rules|guidelines)",
        r"\b(rate|score|rank|grade|evaluate|mark)\s+(this|the)\s+(candidate|cv|resume|résumé|applicant|profile)\b",
        r"\b(give|assign|award)\s+(this|the)\s+(candidate|cv|resume|applicant)\s+(an?\s+)?"
        r"(score|rating|grade|\d+)",
        r"\byou\s+are\s+(now\s+)?(an?\s+)?(ai|a\.i\.|language\s+model|llm|assistant|chatbot|gpt|recruit\w*\s+"
        r"(bot|assistant|ai|model))\b",
        r"\b(new|updated|system)\s+(instructions?|prompt)\s*:",
        r"<\|?\s*(im_start|im_end|system|endoftext)\s*\|?>|\[/?INST\]|###\s*(instruction|system)",
        r"\b(as\s+an?\s+)?(ai|language\s+model|llm)\s*,?\s+(you\s+must|you\s+should|please)\b",
    )
)

_WS = re.compile(r"\s+")
#: Characters compared at each end of a long fragment to find it inside a chunk.
_EDGE = 40
#: Ingest keeps hidden text out of the CV text. Should an extractor let it through, a hidden fragment this long
#: found verbatim in the text is that same content; shorter ones ("Python") are as likely visible words too.
_MIN_HIDDEN = 20
LOW_PARSE_QUALITY = 0.5


def normalize(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def has_injection(text: str) -> bool:
    return any(p.search(text) for p in INJECTION_PATTERNS)


def injected_spans(text: str) -> list[tuple[int, int]]:
    """The lines holding instruction-like phrases, as sorted, merged [start, end) spans.

    Whole lines go, not just the matching sentence: the sentence after "rate this candidate 100." is
    usually part of the same payload.
    """
    spans: list[tuple[int, int]] = []
    for pattern in INJECTION_PATTERNS:
        for match in pattern.finditer(text):
            start = text.rfind("\n", 0, match.start()) + 1
            end = text.find("\n", match.end())
            spans.append((start, len(text) if end < 0 else end))
    return _merge(spans)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _occurrences(text: str, fragment: str) -> list[tuple[int, int]]:
    spans = []
    index = text.find(fragment) if fragment else -1
    while index >= 0:
        spans.append((index, index + len(fragment)))
        index = text.find(fragment, index + 1)
    return spans


def _contains(haystack: str, fragment: str) -> bool:
    if len(fragment) <= 2 * _EDGE:
        return re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", haystack) is not None
    return fragment[:_EDGE] in haystack or fragment[-_EDGE:] in haystack


def _remove_last(text: str, fragment: str) -> str:
    matches = list(re.finditer(rf"(?<!\w){re.escape(fragment)}(?!\w)", text))
    if not matches:
        return text
    last = matches[-1]
    return text[: last.start()] + " " + text[last.end() :]


@dataclass(frozen=True)
class Screening:
    injection: bool
    hidden: bool
    low_parse_quality: bool
    #: The redacted CV text, normalized, without injected sentences and hidden text: what terms may match.
    clean_text: str
    fragments: tuple[str, ...]

    def tainted(self, chunk_text: str) -> bool:
        """A chunk that carries injected or hidden text never counts as evidence."""
        if has_injection(chunk_text):
            return True
        normalized = normalize(chunk_text)
        return any(_contains(normalized, f) for f in self.fragments)


def screen(embedded: cv_pb2.CvEmbedded) -> Screening:
    """Flags, and the text that may count as evidence: without injected lines, tainted chunks or hidden text."""
    text = embedded.redacted_text
    hidden = [normalize(h.text) for h in embedded.hidden_text]
    hidden = [h for h in hidden if len(h) >= _MIN_HIDDEN]
    injected = injected_spans(text)
    screening = Screening(
        injection=bool(injected) or any(has_injection(h.text) for h in embedded.hidden_text),
        hidden=len(embedded.hidden_text) > 0,
        low_parse_quality=embedded.parse_quality < LOW_PARSE_QUALITY,
        clean_text="",
        fragments=tuple(f for f in (*(normalize(text[s:e]) for s, e in injected), *hidden) if f),
    )
    removed = list(injected)
    chunk_texts = {c.text for e in embedded.evidence for c in e.chunks}
    for chunk_text in sorted(chunk_texts):
        if screening.tainted(chunk_text):
            removed.extend(_occurrences(text, chunk_text))
    kept = " ".join(text[start:end] for start, end in _gaps(_merge(removed), len(text)))
    clean = normalize(kept)
    for fragment in hidden:
        clean = _remove_last(clean, fragment)
    return replace(screening, clean_text=normalize(clean))


def _gaps(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The [start, end) ranges of a text of ``length`` between the given sorted, merged spans."""
    gaps: list[tuple[int, int]] = []
    position = 0
    for start, end in spans:
        gaps.append((position, start))
        position = end
    gaps.append((position, length))
    return gaps
