"""Turn an uploaded document into text, sections and a parse-quality score.

The real type comes from the bytes (magic numbers); the file name and declared content type only tell
text flavours (Markdown, HTML) apart.
"""

import re
import unicodedata

from shortlist.ingest.markup import html_text, looks_like_html, looks_like_markdown, markdown_text
from shortlist.ingest.model import Extracted, ExtractionError, Hidden, Limits, RawText, Span
from shortlist.ingest.office import is_docx, read_docx
from shortlist.ingest.pdf import read_pdf
from shortlist.ingest.rtf import read_rtf
from shortlist.ingest.sections import find_sections

__all__ = ["Extracted", "ExtractionError", "Hidden", "Limits", "Span", "detect_type", "extract"]

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TEXT = "text/plain"
MARKDOWN = "text/markdown"
HTML = "text/html"
RTF = "application/rtf"

_BINARY_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF87a": "a GIF image",
    b"GIF89a": "a GIF image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"RIFF": "a RIFF file (an image or audio)",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "an executable",
    b"MZ": "an executable",
}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def detect_type(data: bytes, filename: str = "", content_type: str | None = None) -> str:
    """The document's real media type; raises ExtractionError for what cannot be read."""
    head = data[:1024]
    if b"%PDF-" in head:
        return PDF
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf"):
        return RTF
    if data.startswith(b"PK\x03\x04"):
        if is_docx(data):
            return DOCX
        raise ExtractionError("unsupported_media_type", "the file is a ZIP archive, not a DOCX document")
    if data.startswith(_OLE):
        if _ENCRYPTED_PACKAGE in data:
            raise ExtractionError("encrypted_document", "the Office document is protected by a password")
        raise ExtractionError("unsupported_media_type", "legacy Word (.doc) files are not accepted; use DOCX or PDF")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            raise ExtractionError("unsupported_media_type", f"the file is {what}, which is not accepted")
    name = filename.lower()
    declared = (content_type or "").split(";")[0].strip().lower()
    if name.endswith((".html", ".htm", ".xhtml")) or declared in (HTML, "application/xhtml+xml"):
        return HTML
    if name.endswith((".md", ".markdown")) or declared == MARKDOWN:
        return MARKDOWN
    return TEXT


def extract(
    data: bytes, filename: str = "", content_type: str | None = None, limits: Limits | None = None
) -> Extracted:
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise ExtractionError("too_large", f"the file has {len(data)} bytes; the limit is {limits.max_bytes}")
    if not data.strip():
        raise ExtractionError("empty_text", "the file is empty")
    kind = detect_type(data, filename, content_type)
    if kind == PDF:
        raw = read_pdf(data, limits)
    elif kind == DOCX:
        raw = read_docx(data, limits)
    elif kind == RTF:
        raw = read_rtf(data)
    else:
        raw = _read_text(data, kind)
    text = normalize(raw.text)
    if len(text) > limits.max_chars:
        raise ExtractionError("too_large", f"the document has {len(text)} characters; the limit is {limits.max_chars}")
    if not text.strip():
        raise ExtractionError("empty_text", "the document contains no text")
    sections = find_sections(text)
    hidden = [Hidden(h.reason, normalize(h.text), h.page) for h in raw.hidden_text]
    return Extracted(
        text=text,
        pages=raw.pages,
        extractor=raw.extractor,
        content_type=kind,
        sections=sections,
        hidden_text=hidden,
        parse_quality=parse_quality(text, sections),
    )


def _read_text(data: bytes, kind: str) -> RawText:
    source = decode_text(data)
    if kind == HTML or looks_like_html(source):
        text, hidden = html_text(source)
        return RawText(text, 1, "html.parser", hidden)
    if kind == MARKDOWN or looks_like_markdown(source):
        return RawText(markdown_text(source), 1, "markdown")
    return RawText(source, 1, "text")


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ExtractionError("unreadable_document", "the text is not valid UTF-16") from exc
    if b"\x00" in data[:8192]:
        raise ExtractionError("unsupported_media_type", "the file is binary data of an unknown type")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError("unreadable_document", "the text is not UTF-8") from exc


def normalize(text: str) -> str:
    """NFKC (ligatures, full-width forms), no control characters, single spaces, at most one blank line."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.replace("\t", " ").replace("\u00a0", " "))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def parse_quality(text: str, sections: list[Span]) -> float:
    """0..1: clean characters, enough words and recognisable sections."""
    if not text:
        return 0.0
    odd = sum(1 for c in text if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cn", "Cs"))
    odd += 5 * text.count("(cid:")
    clean = max(0.0, 1.0 - odd / len(text))
    letters = sum(c.isalpha() for c in text) / len(text)
    words = len(text.split())
    named = len({s.kind for s in sections if s.kind != "other"})
    score = 0.5 * clean * min(1.0, letters / 0.6) + 0.25 * min(1.0, words / 150) + 0.25 * min(1.0, named / 3)
    return round(max(0.0, min(1.0, score)), 3)
