"""Personal data in CV text: e-mail addresses, phone numbers, URLs and the candidate's name; and redaction."""

import re

from shortlist.ingest.model import Span
from shortlist.ingest.sections import heading_name

PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "url": "[URL]", "name": "[NAME]"}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_URL = re.compile(
    r"(?:\bhttps?://|\bwww\.)[^\s<>\"')\]]+"
    r"|\b(?:linkedin|github|gitlab|bitbucket|twitter|x|stackoverflow|behance|dribbble|medium|kaggle)\.com/[^\s<>\"')\]]+",
    re.I,
)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,4}(?![\w])")
_DATE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$|^(?:19|20)\d{2}\s*[-–]\s*(?:19|20)\d{2}$")
_NAME_WORD = re.compile(r"^[A-ZÀ-Þ][a-zß-ÿ'’]*(?:[-'’]?[A-ZÀ-Þ]?[a-zß-ÿ'’]+)*\.?$")
_NOT_NAMES = {"curriculum vitae", "resume", "résumé", "cv"}


def guess_name(text: str) -> str | None:
    """The candidate's name when the first non-empty line looks like one."""
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        words = line.split()
        if line.lower() in _NOT_NAMES or heading_name(line) or not 2 <= len(words) <= 4:
            return None
        return line if all(_NAME_WORD.match(w) for w in words) else None
    return None


def find_pii(text: str, name: str | None = None) -> list[Span]:
    """PII spans into ``text``, sorted and never overlapping (e-mail before URL before phone before name)."""
    found: list[Span] = []
    for kind, pattern in (("email", _EMAIL), ("url", _URL)):
        found += [Span(kind, m.start(), m.end()) for m in pattern.finditer(text)]
    for m in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in m.group())
        international = m.group().startswith(("+", "("))
        if (digits >= 9 or (international and digits >= 7)) and digits <= 15 and not _DATE.match(m.group()):
            found.append(Span("phone", m.start(), m.end()))
    candidate = (name or "").strip() or guess_name(text)
    if candidate:
        found += _name_spans(text, candidate)
    return _without_overlaps(found)


def _name_spans(text: str, name: str) -> list[Span]:
    spans = [Span("name", m.start(), m.end()) for m in re.finditer(re.escape(name), text, re.I)]
    for part in {w for w in re.split(r"\s+", name) if len(w.strip(".")) >= 2}:
        spans += [Span("name", m.start(), m.end()) for m in re.finditer(rf"(?<!\w){re.escape(part)}(?!\w)", text)]
    return spans


def _without_overlaps(spans: list[Span]) -> list[Span]:
    priority = {kind: index for index, kind in enumerate(PLACEHOLDERS)}
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (priority[s.kind], s.start, -(s.end - s.start))):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def redact(text: str, spans: list[Span]) -> str:
    parts: list[str] = []
    position = 0
    for span in spans:
        parts.append(text[position : span.start])
        parts.append(PLACEHOLDERS.get(span.kind, "[REDACTED]"))
        position = span.end
    parts.append(text[position:])
    return "".join(parts)
