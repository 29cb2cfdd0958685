"""Extraction speed and quality on a folder of real CV PDFs, two PDF libraries side by side.

``python -m scripts.bench_ingest <folder>`` reads every PDF under the folder (recursively) and extracts
each one in this single process, pinned to one core, with

- ``pymupdf``: PyMuPDF's plain text layer, then ingest's normalisation and section finder;
- ``pypdfium2``: PDFium's plain text layer, the same way;
- ``ingest``: ingest's whole PDF extraction (PyMuPDF, reading order, hidden-text checks: colours,
  sizes, clipping), which is what the service runs;

then prints PDFs per second per core, the p95 time per file, and how many files gave non-empty text with
at least three sections. The figures go to the ``bench-ingest`` section of docs/benchmarks.md.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf
import pypdfium2

from scripts.benchmarks_doc import write_section
from shortlist.ingest.extraction import extract, find_sections, normalize
from shortlist.ingest.model import ExtractionError, Span

MIN_SECTIONS = 3
TARGET_PER_SECOND = 20.0


def with_ingest(data: bytes) -> tuple[str, list[Span]]:
    result = extract(data, "cv.pdf", "application/pdf")
    return result.text, result.sections


def with_pymupdf(data: bytes) -> tuple[str, list[Span]]:
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        text = normalize("\n\n".join(page.get_text() for page in pdf))
    return text, find_sections(text)


def with_pypdfium2(data: bytes) -> tuple[str, list[Span]]:
    pdf = pypdfium2.PdfDocument(data)
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range())
            textpage.close()
            page.close()
    finally:
        pdf.close()
    text = normalize("\n\n".join(pages))
    return text, find_sections(text)


LIBRARIES: dict[str, Callable[[bytes], tuple[str, list[Span]]]] = {
    "pymupdf": with_pymupdf,
    "pypdfium2": with_pypdfium2,
    "ingest": with_ingest,
}
LIBRARY_ROWS = ("pymupdf", "pypdfium2")
DESCRIPTIONS = {
    "pymupdf": "PyMuPDF text layer",
    "pypdfium2": "pypdfium2 text layer",
    "ingest": "ingest's extraction (PyMuPDF + reading order + hidden-text checks)",
}


@dataclass
class Run:
    library: str
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.seconds) / sum(self.seconds) if self.seconds else 0.0

    @property
    def p95_ms(self) -> float:
        if len(self.seconds) < 2:
            return 1000 * (self.seconds[0] if self.seconds else 0.0)
        return 1000 * statistics.quantiles(self.seconds, n=20, method="inclusive")[18]

    @property
    def passed(self) -> int:
        return len(self.seconds) - len(self.failures)


def measure(library: str, documents: list[tuple[Path, bytes]], root: Path) -> Run:
    run = Run(library)
    function = LIBRARIES[library]
    for path, data in documents:
        started = time.perf_counter()
        try:
            text, sections = function(data)
            problem = None
        except ExtractionError as exc:
            text, sections, problem = "", [], exc.code
        run.seconds.append(time.perf_counter() - started)
        named = {s.kind for s in sections}
        if problem is None and not text.strip():
            problem = "empty text"
        elif problem is None and len(named) < MIN_SECTIONS:
            problem = f"{len(named)} section kinds ({', '.join(sorted(named)) or 'none'})"
        if problem:
            run.failures.append(f"{path.relative_to(root)}: {problem}")
    return run


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0] or not Path(argv[0]).is_dir():
        print("usage: python -m scripts.bench_ingest <folder of PDFs>  (make bench-ingest PATH=<folder>)")
        return 2
    root = Path(argv[0]).resolve()
    paths = sorted(root.rglob("*.pdf")) + sorted(root.rglob("*.PDF"))
    if not paths:
        print(f"no PDF files under {root}")
        return 2
    documents = [(p, p.read_bytes()) for p in paths]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for library in LIBRARIES:  # warm-up: imports, font caches
        measure(library, documents[:3], root)
    runs = [measure(library, documents, root) for library in LIBRARIES]

    print(f"{len(documents)} PDFs from {root}, one process (one core)\n")
    print(f"{'extractor':<10} {'PDFs/s/core':>12} {'p95 ms/file':>12} {'ok (text, >=3 sections)':>26}")
    for run in runs:
        print(f"{run.library:<10} {run.per_second:>12.1f} {run.p95_ms:>12.1f} {run.passed:>20}/{len(documents)}")
    for run in runs:
        for failure in run.failures:
            print(f"  {run.library} fails {failure}")
    complete = [r for r in runs if not r.failures and r.library in LIBRARY_ROWS]
    kept = max(complete, key=lambda r: r.per_second) if complete else None
    service = next(r for r in runs if r.library == "ingest")
    target = "met" if service.per_second >= TARGET_PER_SECOND and not service.failures else "NOT met"
    verdict = (
        f"faster library that extracts every file with >= {MIN_SECTIONS} sections: {kept.library}; "
        f"ingest's whole extraction: {service.per_second:.1f} PDFs/s/core, target {TARGET_PER_SECOND:g} {target}"
        if kept
        else "no library extracted every file with enough sections"
    )
    print("\n" + verdict)

    rows = "\n".join(
        f"| {DESCRIPTIONS[r.library]} | {r.per_second:.1f} | {r.p95_ms:.1f} | {r.passed}/{len(documents)} |"
        for r in runs
    )
    body = (
        f"{len(documents)} real CV PDFs, extracted one after another in one process (one core). "
        f"A file passes with non-empty text and at least {MIN_SECTIONS} kinds of section found.\n\n"
        "| extractor | PDFs/s per core | p95 ms per file | files passing |\n|---|---:|---:|---:|\n"
        f"{rows}\n\n{verdict}.\n"
    )
    failures = [f"- {r.library}: {f}" for r in runs for f in r.failures]
    if failures:
        body += "\nFiles that did not pass:\n\n" + "\n".join(failures) + "\n"
    write_section("bench-ingest", "make bench-ingest PATH=<folder>", body)
    return 0 if kept else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
