"""Split a CV into chunks the model can embed whole, by section, keeping exact character offsets.

all-MiniLM-L6-v2 reads at most 256 word pieces; ~150 words stay near 200 of them. Chunks never cross a
section boundary, prefer to end at a line break, and overlap their neighbour by a few words so a sentence
cut in two is still whole in one of them. Text outside every section (a header with the candidate's
contact details, say) is chunked as section ``other`` so nothing is lost.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\S+")

OTHER = "other"


@dataclass(frozen=True)
class SectionSpan:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    index: int
    """Order of the chunk in the CV, from 0."""
    section: str
    start: int
    """Character offsets [start, end) into the CV text."""
    end: int
    text: str


@dataclass(frozen=True)
class PiiRange:
    kind: str
    start: int
    end: int


def chunk_text(
    text: str, sections: Sequence[SectionSpan], max_words: int = 150, overlap_words: int = 20
) -> list[Chunk]:
    """Chunks of ``text`` in reading order; ``text[chunk.start:chunk.end] == chunk.text`` for each."""
    if max_words < 1 or not 0 <= overlap_words < max_words:
        raise ValueError("need max_words >= 1 and 0 <= overlap_words < max_words")
    chunks: list[Chunk] = []
    for section in _cover(len(text), sections):
        for start, end in _windows(text, section.start, section.end, max_words, overlap_words):
            chunks.append(Chunk(len(chunks), section.name, start, end, text[start:end]))
    return chunks


def redact(text: str, start: int, end: int, pii: Sequence[PiiRange]) -> str:
    """``text[start:end]`` with every PII span in it replaced by ``[KIND]`` (a span cut by the range too)."""
    parts: list[str] = []
    position = start
    for item in sorted(pii, key=lambda p: p.start):
        lo, hi = max(item.start, position), min(item.end, end)
        if lo >= hi:
            continue
        parts.append(text[position:lo])
        parts.append(f"[{item.kind.upper() or 'PII'}]")
        position = hi
    parts.append(text[position:end])
    return "".join(parts)


def _cover(length: int, sections: Sequence[SectionSpan]) -> list[SectionSpan]:
    """The sections clipped to the text and to each other, with the gaps between them as ``other``."""
    covered: list[SectionSpan] = []
    position = 0
    for section in sorted(sections, key=lambda s: (s.start, s.end)):
        start, end = max(section.start, position), min(section.end, length)
        if start >= end:
            continue
        if start > position:
            covered.append(SectionSpan(OTHER, position, start))
        covered.append(SectionSpan(section.name or OTHER, start, end))
        position = end
    if position < length:
        covered.append(SectionSpan(OTHER, position, length))
    return covered


def _windows(text: str, start: int, end: int, max_words: int, overlap_words: int) -> list[tuple[int, int]]:
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    windows: list[tuple[int, int]] = []
    first = 0
    while first < len(words):
        last = min(first + max_words, len(words))
        if last < len(words):
            last = _line_break_before(text, words, first, last, overlap_words)
        windows.append((words[first][0], words[last - 1][1]))
        if last == len(words):
            break
        first = max(first + 1, last - overlap_words)
    return windows


def _line_break_before(text: str, words: list[tuple[int, int]], first: int, last: int, overlap_words: int) -> int:
    """Move the window's end back to a line break among its last words, if there is one."""
    lowest = max(first + overlap_words + 1, last - max(overlap_words, (last - first) // 4))
    for candidate in range(last, lowest - 1, -1):
        if candidate < len(words) and "\n" in text[words[candidate - 1][1] : words[candidate][0]]:
            return candidate
    return last
