"""PDF text with PyMuPDF: visible text in reading order, invisible text reported apart.

Invisible: outside the page, smaller than 3 pt, fully transparent or in render mode 3, in the colour of what
is filled behind it (white on a white page, blue on a blue box), or cut away by a clipping path.
"""

from dataclasses import dataclass
from typing import Any

import pymupdf

from shortlist.ingest.model import ExtractionError, Hidden, Limits, RawText

_FLAGS = pymupdf.TEXTFLAGS_DICT & ~pymupdf.TEXT_MEDIABOX_CLIP & ~pymupdf.TEXT_PRESERVE_IMAGES
TINY_POINTS = 3.0
#: Largest difference per colour channel (0..1) at which text counts as the colour of its background.
SAME_COLOUR = 0.07
_WHITE = (1.0, 1.0, 1.0)


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
        text = "\n\n".join(p for p in pages if p.strip())
        return RawText(text, doc.page_count, "pymupdf", _without_visible_repeats(hidden, text))


def _spans(page: Any, flags: int) -> list[tuple[tuple[float, float, float, float], list[list[dict[str, Any]]]]]:
    """(block bbox, lines of spans) of the page's text blocks."""
    content = page.get_text("dict", flags=flags, clip=pymupdf.INFINITE_RECT())
    return [(b["bbox"], [line["spans"] for line in b["lines"]]) for b in content["blocks"] if b.get("type", 0) == 0]


def _page_text(page: Any, number: int) -> tuple[str, list[Hidden]]:
    area = page.rect
    fills = _fills(page)
    blocks: list[_Block] = []
    hidden: list[Hidden] = []
    unclipped: dict[int, list[str]] = {}
    for bbox, lines in _spans(page, _FLAGS | pymupdf.TEXT_CLIP):
        kept: list[str] = []
        for spans in lines:
            visible: list[str] = []
            for span in spans:
                unclipped.setdefault(round(span["bbox"][1]), []).append(span["text"])
                reason = _hidden_reason(span, area, fills)
                if reason is None:
                    visible.append(span["text"])
                elif span["text"].strip():
                    _add_hidden(hidden, Hidden(reason, span["text"].strip(), number))
            joined = "".join(visible).strip()
            if joined:
                kept.append(joined)
        if kept:
            blocks.append(_Block(*bbox, "\n".join(kept)))
    for _, lines in _spans(page, _FLAGS):
        for spans in lines:
            for span in spans:
                text = span["text"].strip()
                if text and text not in " ".join(unclipped.get(round(span["bbox"][1]), ())):
                    _add_hidden(hidden, Hidden("clipped", text, number))
    return "\n".join(b.text for b in reading_order(blocks, area.width)), hidden


_Fill = tuple[float, float, float, float, tuple[float, ...]]


def _fills(page: Any) -> list[_Fill]:
    """Opaque filled areas in drawing order: x0, y0, x1, y1 and the RGB colour."""
    found = []
    for drawing in page.get_cdrawings():
        fill = drawing.get("fill")
        if fill is not None and len(fill) == 3 and (drawing.get("fill_opacity") or 1.0) >= 0.9:
            x0, y0, x1, y1 = drawing["rect"]
            found.append((x0, y0, x1, y1, tuple(fill)))
    return found


def _background(x: float, y: float, fills: list[_Fill]) -> tuple[float, ...]:
    for x0, y0, x1, y1, colour in reversed(fills):
        if x0 <= x <= x1 and y0 <= y <= y1:
            return colour
    return _WHITE


def _hidden_reason(span: dict[str, Any], area: Any, fills: list[_Fill]) -> str | None:
    box = pymupdf.Rect(span["bbox"])
    if not box.intersects(area):
        return "off_page"
    if span["size"] < TINY_POINTS:
        return "tiny_text"
    if span.get("alpha", 255) == 0:
        return "invisible"
    color = int(span.get("color", 0))
    rgb = tuple(((color >> shift) & 0xFF) / 255 for shift in (16, 8, 0))
    background = _background((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, fills)
    if max(abs(a - b) for a, b in zip(rgb, background, strict=True)) <= SAME_COLOUR:
        return "white_text" if background == _WHITE else "background_text"
    return None


def _add_hidden(hidden: list[Hidden], item: Hidden) -> None:
    last = hidden[-1] if hidden else None
    if last is not None and last.reason == item.reason and last.page == item.page:
        hidden[-1] = Hidden(item.reason, f"{last.text} {item.text}", item.page)
    else:
        hidden.append(item)


def _without_visible_repeats(hidden: list[Hidden], text: str) -> list[Hidden]:
    """Drop clipped text that is also visible, e.g. a line a converter repeats, cut off, at the next page's top."""
    visible = _letters(text)
    return [h for h in hidden if h.reason != "clipped" or _letters(h.text) not in visible]


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


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
