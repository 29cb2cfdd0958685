"""PDF text with PyMuPDF: visible text in reading order, invisible text reported apart."""

from dataclasses import dataclass
from typing import Any

import pymupdf

from shortlist.ingest.model import ExtractionError, Hidden, Limits, RawText

_FLAGS = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_MEDIABOX_CLIP & ~pymupdf.TEXT_PRESERVE_IMAGES
TINY_POINTS = 3.0
_NEAR_WHITE = 0xF0


@dataclass
class _Block:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def read_pdf(data: bytes, limits: Limits) -> RawText:
    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        raise ExtractionError("unreadable_document", "the PDF is corrupt or truncated") from exc
    with doc:
        if doc.needs_pass:
            raise ExtractionError("encrypted_document", "the PDF is protected by a password")
        if doc.page_count == 0:
            raise ExtractionError("unreadable_document", "the PDF has no pages")
        if doc.page_count > limits.max_pages:
            raise ExtractionError("too_large", f"the PDF has {doc.page_count} pages; the limit is {limits.max_pages}")
        pages: list[str] = []
        hidden: list[Hidden] = []
        has_images = False
        try:
            for index in range(doc.page_count):
                page = doc.load_page(index)
                text, page_hidden = _page_text(page, index + 1)
                pages.append(text)
                hidden.extend(page_hidden)
                has_images = has_images or bool(page.get_images())
        except ExtractionError:
            raise
        except Exception as exc:
            raise ExtractionError("unreadable_document", "the PDF's content cannot be read") from exc
        if not any(p.strip() for p in pages) and not hidden and has_images:
            raise ExtractionError("no_text_layer", "the PDF has no text layer (a scan?); OCR is not offered")
        return RawText("\n\n".join(p for p in pages if p.strip()), doc.page_count, "pymupdf", hidden)


def _page_text(page: Any, number: int) -> tuple[str, list[Hidden]]:
    area = page.rect
    content = page.get_text("dict", flags=_FLAGS, clip=pymupdf.INFINITE_RECT())
    blocks: list[_Block] = []
    hidden: list[Hidden] = []
    for block in content["blocks"]:
        if block.get("type", 0) != 0:
            continue
        lines: list[str] = []
        for line in block["lines"]:
            visible: list[str] = []
            for span in line["spans"]:
                reason = _hidden_reason(span, area)
                if reason is None:
                    visible.append(span["text"])
                elif span["text"].strip():
                    _add_hidden(hidden, Hidden(reason, span["text"].strip(), number))
            joined = "".join(visible).strip()
            if joined:
                lines.append(joined)
        if lines:
            x0, y0, x1, y1 = block["bbox"]
            blocks.append(_Block(x0, y0, x1, y1, "\n".join(lines)))
    return "\n".join(b.text for b in reading_order(blocks, area.width)), hidden


def _hidden_reason(span: dict[str, Any], area: Any) -> str | None:
    if not pymupdf.Rect(span["bbox"]).intersects(area):
        return "off_page"
    if span["size"] < TINY_POINTS:
        return "tiny_text"
    color = int(span.get("color", 0))
    if all((color >> shift) & 0xFF >= _NEAR_WHITE for shift in (16, 8, 0)) or span.get("alpha", 255) == 0:
        return "white_text"
    return None


def _add_hidden(hidden: list[Hidden], item: Hidden) -> None:
    last = hidden[-1] if hidden else None
    if last is not None and last.reason == item.reason and last.page == item.page:
        hidden[-1] = Hidden(item.reason, f"{last.text} {item.text}", item.page)
    else:
        hidden.append(item)


def reading_order(blocks: list[_Block], width: float) -> list[_Block]:
    """Top to bottom; when a page has two columns, the left column before the right one."""
    ordered = sorted(blocks, key=lambda b: (round(b.y0), b.x0))
    gutter = _gutter(ordered, width)
    if gutter is None:
        return ordered
    result: list[_Block] = []
    left: list[_Block] = []
    right: list[_Block] = []
    for block in ordered:
        if block.x1 <= gutter:
            left.append(block)
        elif block.x0 >= gutter:
            right.append(block)
        else:
            result += left + right
            left, right = [], []
            result.append(block)
    return result + left + right


def _gutter(blocks: list[_Block], width: float) -> float | None:
    """An x that splits the page into two real columns (not a title with right-aligned dates)."""
    if len(blocks) < 4:
        return None
    best: tuple[int, float, float] | None = None
    for step in range(30, 71):
        x = width * step / 100
        crossing = sum(1 for b in blocks if b.x0 < x < b.x1)
        candidate = (crossing, abs(x - width / 2), x)
        if best is None or candidate < best:
            best = candidate
    assert best is not None
    crossing, _, x = best
    left = [b for b in blocks if b.x1 <= x]
    right = [b for b in blocks if b.x0 >= x]
    if crossing > len(blocks) // 3 or len(left) < 2 or len(right) < 2:
        return None
    right_chars = sum(len(b.text) for b in right)
    total = sum(len(b.text) for b in blocks)
    if right_chars < 0.2 * total or right_chars / len(right) < 25:
        return None
    return x
