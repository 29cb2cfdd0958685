"""DOCX text with python-docx: headers, paragraphs and tables in document order. Nothing external is loaded."""

import io
import zipfile
from typing import Any

import docx
from docx.document import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from shortlist.ingest.model import ExtractionError, Limits, RawText


def is_docx(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


MAX_ENTRIES = 2000


def read_docx(data: bytes, limits: Limits) -> RawText:
    # Zip-bomb guard from the central directory alone, before anything is inflated. A part whose header
    # understates its size cannot get past it either: zipfile stops inflating at the declared size and
    # fails the CRC check.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise ExtractionError("unreadable_document", "the DOCX archive is corrupt") from exc
    if len(entries) > MAX_ENTRIES:
        raise ExtractionError("too_large", f"the DOCX archive has {len(entries)} parts; the limit is {MAX_ENTRIES}")
    unzipped = sum(info.file_size for info in entries)
    if unzipped > limits.max_unzipped_bytes:
        raise ExtractionError(
            "too_large", f"the DOCX expands to {unzipped} bytes; the limit is {limits.max_unzipped_bytes}"
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except ValueError as exc:
        raise ExtractionError("unsupported_media_type", "only plain DOCX documents are accepted") from exc
    except Exception as exc:
        raise ExtractionError("unreadable_document", "the DOCX document cannot be read") from exc
    try:
        lines = _header_lines(document) + _body_lines(document)
    except Exception as exc:
        raise ExtractionError("unreadable_document", "the DOCX document's content cannot be read") from exc
    return RawText("\n".join(lines), 1, "python-docx")


def _header_lines(document: Document) -> list[str]:
    seen: set[str] = set()
    lines: list[str] = []
    for section in document.sections:
        for paragraph in section.header.paragraphs:
            text = paragraph.text.strip()
            if text and text not in seen:
                seen.add(text)
                lines.append(text)
    return lines


def _body_lines(document: Document) -> list[str]:
    lines: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            if item.text.strip():
                lines.append(item.text.strip())
        else:
            lines.extend(_table_lines(item))
    return lines


def _table_lines(table: Table) -> list[str]:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[Any] = set()
        for cell in row.cells:
            if cell._tc in seen:  # a merged cell repeats in every column it spans
                continue
            seen.add(cell._tc)
            text = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
            nested = [line for inner in cell.tables for line in _table_lines(inner)]
            if text:
                cells.append(text)
            if nested:
                cells.append(" ".join(nested))
        if cells:
            lines.append(" | ".join(cells))
    return lines
