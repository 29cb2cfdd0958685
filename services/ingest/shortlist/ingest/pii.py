"""Personal data in CV text: e-mail addresses, phone numbers, URLs, postal addresses, dates of birth and the
candidate's name; and redaction."""

import re

from shortlist.ingest.model import Span
from shortlist.ingest.sections import heading_name

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "url": "[URL]",
    "birth_date": "[BIRTH_DATE]",
    "address": "[ADDRESS]",
    "phone": "[PHONE]",
    "name": "[NAME]",
}

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
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DAY_DATE = (
    rf"\d{{1,2}}[./-]\d{{1,2}}[./-](?:19|20)?\d{{2}}|(?:19|20)\d{{2}}-\d{{1,2}}-\d{{1,2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?:19|20)\d{{2}}|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}"
)
_BIRTH = re.compile(
    rf"\b(?:date\s+of\s+birth|birth\s*date|d\.?\s?o\.?\s?b\.?|born(?:\s+on)?|geburtsdatum|né(?:e)?\s+le)"
    rf"\s*[:\-–]?\s*(?P<date>{_DAY_DATE})",
    re.I,
)
_STREET_WORDS = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|square|sq|terrace|"
    r"close|crescent|parkway|pkwy|highway|hwy|circle|cir|row|mews|gardens|strasse|straße|str|weg|gasse|allee|platz"
)
_STREET = re.compile(
    rf"\b\d{{1,5}}[a-zA-Z]?,?[ \t]+(?:[A-Z][\w'’.-]*[ \t]+){{1,4}}?(?i:{_STREET_WORDS})\b\.?"
    rf"(?=[ \t]*(?:,|$|(?:[NSEW]|NE|NW|SE|SW)\b))"
    rf"|\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|gasse|allee|platz)[ \t]+\d{{1,4}}[a-z]?\b",
    re.M,
)
_POSTCODE_TAIL = re.compile(
    r"(?:,?[ \t]*(?i:apt|suite|unit|flat)\.?[ \t]*\w+)?(?:,?[ \t]*[A-Z][a-zA-Z'’.-]*(?![\w'’.-]))*"
    r"(?:,?[ \t]*(?:[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?[ \t]*\d[A-Z]{2}"
    r"|\d{4,5}(?:[ \t]+[A-Z][\w-]+)?))?"
)
_ADDRESS_LABEL = re.compile(r"^\s*(?:postal\s+|home\s+)?address\s*[:\-–]\s*(?P<value>\S.*)$", re.I | re.M)


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
    found += [Span("birth_date", m.start("date"), m.end("date")) for m in _BIRTH.finditer(text)]
    found += _address_spans(text)
    candidate = (name or "").strip() or guess_name(text)
    if candidate:
        found += _name_spans(text, candidate)
    return _without_overlaps(found)


def _address_spans(text: str) -> list[Span]:
    """A labelled address line, or a street with a house number and what follows on its line (city, postcode)."""
    spans = [Span("address", m.start("value"), m.end("value")) for m in _ADDRESS_LABEL.finditer(text)]
    for m in _STREET.finditer(text):
        tail = _POSTCODE_TAIL.match(text, m.end())
        end = tail.end() if tail else m.end()
        spans.append(Span("address", m.start(), end))
    return spans


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
